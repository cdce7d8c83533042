# StreamPipeline: two commands on a fresh machine.
#   make run    the whole pipeline on embedded defaults (Kafka mock, Schema Registry, ClickHouse/chDB)
#   make test   every test
#   make infra  only the embedded Kafka, Schema Registry and ClickHouse; writes data/infra.env for services run on their own
#   make token AGENT=id [STORE=data/tokens.txt]   issue an agent token (printed once; only its hash is stored)
#   make spctl ARGS="agents"                      the operator CLI against the endpoints in data/infra.env
SHELL := /bin/bash
CONFIG ?= Release
DOTNET ?= dotnet

.PHONY: all chdb uplot restore build run infra token spctl test bench clean

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

LOCALSTACK_DLL = src/StreamPipeline.LocalStack/bin/$(CONFIG)/net10.0/StreamPipeline.LocalStack.dll
CONNECTOR_DLL = src/StreamPipeline.EdgeConnector/bin/$(CONFIG)/net10.0/StreamPipeline.EdgeConnector.dll
SPCTL_DLL = src/StreamPipeline.Cli/bin/$(CONFIG)/net10.0/spctl.dll
LOCAL_PATHS = --LocalStack:DataPath=$(CURDIR)/data --LocalStack:ClickHouseDataPath=$(CURDIR)/data/clickhouse --LocalStack:InfraEnvFile=$(CURDIR)/data/infra.env
STORE ?= data/tokens.txt

# `exec`: the pipeline process replaces the recipe's shell, so SIGTERM/SIGINT sent to make (which forwards them) or to
# the process itself start the same drain as Ctrl-C. Exit codes: docs/deploy.md.
run: chdb uplot
	$(DOTNET) build -c $(CONFIG) src/StreamPipeline.LocalStack -v quiet -nologo
	exec $(DOTNET) $(LOCALSTACK_DLL) $(LOCAL_PATHS) $(ARGS)

infra: chdb
	$(DOTNET) build -c $(CONFIG) src/StreamPipeline.LocalStack -v quiet -nologo
	exec $(DOTNET) $(LOCALSTACK_DLL) infra $(LOCAL_PATHS) $(ARGS)

token:
	@test -n "$(AGENT)" || { echo 'Usage: make token AGENT=agent-id [STORE=data/tokens.txt]' >&2; exit 2; }
	@$(DOTNET) build -c $(CONFIG) src/StreamPipeline.EdgeConnector -v quiet -nologo >&2
	@$(DOTNET) $(CONNECTOR_DLL) tokens issue $(AGENT) --store $(abspath $(STORE))

spctl:
	@$(DOTNET) build -c $(CONFIG) src/StreamPipeline.Cli -v quiet -nologo >&2
	@set -a; if [ -f data/infra.env ]; then . ./data/infra.env; fi; set +a; exec $(DOTNET) $(SPCTL_DLL) $(ARGS)

# Test assemblies run one after another (-m:1): the suites start real engines and load the 2 cores on their own.
test: chdb uplot
	$(DOTNET) build StreamPipeline.sln -c $(CONFIG) -nologo
	$(DOTNET) test StreamPipeline.sln -c $(CONFIG) --no-build -m:1 -nologo

bench: chdb
	$(DOTNET) run -c Release --project tests/StreamPipeline.Benchmarks -- $(ARGS)

clean:
	$(DOTNET) clean StreamPipeline.sln -c $(CONFIG)
	rm -rf data
