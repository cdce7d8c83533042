# StreamPipeline: two commands on a fresh machine.
#   make run    the whole pipeline on embedded defaults (Kafka mock, Schema Registry, ClickHouse/chDB)
#   make test   every test
SHELL := /bin/bash
CONFIG ?= Release
DOTNET ?= dotnet

.PHONY: all chdb uplot restore build run test bench clean

all: build

chdb:
	@build/fetch-chdb.sh >/dev/null

# The fleet page's charting library (make run serves it; the browser test loads it).
uplot:
	@build/fetch-uplot.sh >/dev/null

restore:
	$(DOTNET) restore StreamPipeline.sln

build: chdb uplot
	$(DOTNET) build StreamPipeline.sln -c $(CONFIG)

run: chdb uplot
	$(DOTNET) build -c $(CONFIG) src/StreamPipeline.LocalStack -v quiet -nologo
	$(DOTNET) run --no-build -c $(CONFIG) --project src/StreamPipeline.LocalStack -- --LocalStack:DataPath=$(CURDIR)/data --LocalStack:ClickHouseDataPath=$(CURDIR)/data/clickhouse $(ARGS)

# Test assemblies run one after another (-m:1): the suites start real engines and load the 2 cores on their own.
test: chdb uplot
	$(DOTNET) build StreamPipeline.sln -c $(CONFIG) -nologo
	$(DOTNET) test StreamPipeline.sln -c $(CONFIG) --no-build -m:1 -nologo

bench: chdb
	$(DOTNET) run -c Release --project tests/StreamPipeline.Benchmarks -- $(ARGS)

clean:
	$(DOTNET) clean StreamPipeline.sln -c $(CONFIG)
	rm -rf data
