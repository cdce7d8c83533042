#!/usr/bin/env bash
# Issue 11 item 4: the rolling restart under load (docs/deploy.md "The rolling restart under load"). Every service its
# own process, 2 connectors behind HAProxy, 2 dispatchers, 2 sinks, 2,000 simulated agents and 20 commands/s; each
# service restarted with SIGTERM, then one of each SIGKILLed; exactly-once checks on metrics, results and executions.
# Installs HAProxy if missing, builds what the harness runs, runs it under a hard time limit. Exit 0 only when every
# check passed. Last line: "rolling-restart: PASSED ..." or "rolling-restart: FAILED ...".
#   ROLLING_RESTART_AGENTS (default 2000), ROLLING_RESTART_TIMEOUT seconds (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${ROLLING_RESTART_AGENTS:-2000}
limit=${ROLLING_RESTART_TIMEOUT:-600}

if ! command -v haproxy >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy
fi

export UseSharedCompilation=false MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
make chdb
# The harness starts the services from their own build output (src/*/bin/Release), LocalStack's `infra` included.
for project in src/StreamPipeline.LocalStack tests/StreamPipeline.Benchmarks; do
  dotnet build "$project" -c Release -nologo -v quiet
done

# The shared lock (other load runs on a shared machine) is waited for outside the time limit and held only during the
# run (fd 9, closed for the harness so no service inherits it). timeout runs in its own process group and signals the
# whole group at the limit; whatever of it is still alive afterwards (a service still draining without Kafka) is
# killed by that group id, so nothing outlives the run.
exec 9>/tmp/sp-heavy.lock
flock -w 1800 9 || { echo "rolling-restart: FAILED: /tmp/sp-heavy.lock still held by another run after 30 min"; exit 1; }
started=$(date +%s)
status=0
timeout -k 30 "$limit" \
  dotnet tests/StreamPipeline.Benchmarks/bin/Release/net10.0/StreamPipeline.Benchmarks.dll rolling-restart --agents "$agents" 9>&- &
run=$!
wait "$run" || status=$?
kill -KILL -- "-$run" 2>/dev/null || true
exec 9>&-
elapsed=$(( $(date +%s) - started ))
if [ "$status" -eq 0 ]; then
  echo "rolling-restart: PASSED ($agents agents, ${elapsed} s)"
elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "rolling-restart: FAILED: not done within ${limit} s ($agents agents)"
else
  echo "rolling-restart: FAILED (exit $status, $agents agents, ${elapsed} s): see the FAILED lines above"
fi
exit "$status"
