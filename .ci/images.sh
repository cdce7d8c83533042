#!/usr/bin/env bash
# Issue 11: build the three service images where no container registry is reachable, and run the pipeline on them.
#   1. Debian's docker.io and debootstrap (apt), and a Docker engine: dockerd is started here when none answers (overlay2,
#      cgroup v1) and stopped again at the end, so the machine is left as it was found.
#   2. The base image streampipeline/base:SUITE: `debootstrap --variant=minbase` + what a self-contained .NET app needs
#      (ca-certificates, libssl3, libsasl2-2 for librdkafka, tzdata; no ICU: InvariantGlobalization), `docker import`.
#      Kept between runs; rebuilt when its package list changes.
#   3. Each service: `dotnet publish --self-contained -r linux-x64` on the host, then its own Dockerfile with
#      APP_SOURCE=prebuilt and RUNTIME_IMAGE=the base (BuildKit skips the SDK stage, which would need a registry).
#   4. The pipeline on the images: `make infra`'s process (embedded Kafka, Schema Registry, ClickHouse) on the host, the
#      three containers with --network host configured only by StreamPipeline__ environment variables (docs/deploy.md),
#      each waited for until Docker reports it healthy (the image's own HEALTHCHECK), then 3 simulated agents through the
#      connector container: metrics rows must reach ClickHouse through the sink container, and one `spctl send --wait`
#      must come back through the dispatcher container. Then `docker stop` each: exit code 0 (the SIGTERM drain).
#   Also: KafkaFixtureTests while the engine answers (the fixture must not try to pull a broker image).
# Every step has a deadline. Ends with a dotnet-test-style summary line (counted by .ci/run); exits 1 when a check failed.
# Heavy steps (debootstrap, publish, image builds) hold /tmp/sp-heavy.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 UseSharedCompilation=false MSBUILDDISABLENODEREUSE=1
work=${IMAGES_WORK:-/var/tmp/streampipeline-images}
tag=${IMAGES_TAG:-ci}
# Ports on 127.0.0.1 (the containers share the host's network): agents, then the three ops ports.
agent_port=${IMAGES_AGENT_PORT:-28443}
connector_ops=${IMAGES_CONNECTOR_OPS_PORT:-28080}
dispatcher_ops=${IMAGES_DISPATCHER_OPS_PORT:-28081}
sink_ops=${IMAGES_SINK_OPS_PORT:-28082}
base_packages=ca-certificates,libssl3,libsasl2-2,tzdata
started=$(date +%s)
passed=0 failed=0

lock_wait=0
say() { printf '[images %3ss] %s\n' "$(($(date +%s) - started))" "$*"; }
pass() { passed=$((passed + 1)); say "PASS $*"; }
# "  Failed images.sh: ..." and the summary's "Passed!/Failed!  - Failed: F, Passed: P" are dotnet test's formats, so
# .ci/run names the failed checks and counts these in its final "tests: N passed, N failed" line.
fail() { failed=$((failed + 1)); say "FAIL $*"; echo "  Failed images.sh: $*"; }
summary() {
  say "images: $passed passed, $failed failed in $(($(date +%s) - started)) s ($lock_wait s of it waiting for /tmp/sp-heavy.lock)"
  printf '%s  - Failed: %5d, Passed: %5d, Skipped:     0, Total: %5d - .ci/images.sh (service images)\n' \
    "$([ "$failed" -eq 0 ] && echo Passed! || echo Failed!)" "$failed" "$passed" "$((passed + failed))"
}
# Heavy steps take turns on the shared machine; the time spent waiting for the lock is reported apart.
heavy() {
  local asked rc=0
  asked=$(date +%s)
  rm -f "$work/.lock-acquired"
  flock -w 900 /tmp/sp-heavy.lock bash -c 'date +%s >"$0"; exec nice -n 10 "$@"' "$work/.lock-acquired" "$@" || rc=$?
  [ -f "$work/.lock-acquired" ] && lock_wait=$((lock_wait + $(cat "$work/.lock-acquired") - asked))
  return "$rc"
}

# --- 1. Tools and the engine -------------------------------------------------------------------------------------------
need_apt=()
[ -x /usr/bin/docker ] || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v curl >/dev/null || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian's CLI, the engine's own version: it runs BuildKit builds without the buildx plugin.
docker=/usr/bin/docker
export DOCKER_BUILDKIT=1

mkdir -p "$work"
dockerd_pid=""
infra_pid=""
simulator_pid=""
containers=(sp-images-edge-connector sp-images-dispatcher sp-images-sink)
cleanup() {
  set +e
  [ -n "$simulator_pid" ] && kill "$simulator_pid" 2>/dev/null && wait "$simulator_pid" 2>/dev/null
  for c in "${containers[@]}"; do $docker rm -f "$c" >/dev/null 2>&1; done
  if [ -n "$infra_pid" ]; then kill -TERM "$infra_pid" 2>/dev/null; timeout 40 tail --pid="$infra_pid" -f /dev/null; kill -KILL "$infra_pid" 2>/dev/null; fi
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    timeout 30 tail --pid="$dockerd_pid" -f /dev/null || kill -KILL "$dockerd_pid" 2>/dev/null
    say "dockerd (started here) stopped"
  fi
}
trap cleanup EXIT

if ! timeout 10 $docker info >/dev/null 2>&1; then
  say "starting dockerd (overlay2; log $work/dockerd.log)"
  setsid dockerd --storage-driver=overlay2 >"$work/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 60); do timeout 5 $docker info >/dev/null 2>&1 && break; sleep 1; done
fi
if timeout 10 $docker info >/dev/null 2>&1; then
  pass "Docker engine answers ($($docker version --format '{{.Server.Version}}'), $($docker info --format '{{.Driver}}, cgroup v{{.CgroupVersion}}'))"
else
  fail "no Docker engine (tail of $work/dockerd.log below)"
  tail -20 "$work/dockerd.log" 2>/dev/null || true
  summary
  exit 1
fi

# --- The test fixture with an engine answering (the trap: a fixture that pulls a broker image) -------------------------
# KafkaFixture must stay on the embedded cluster unless the broker image is present locally, and say so.
fixture_tests=tests/StreamPipeline.Embedded.Kafka.Tests
[ -f "$fixture_tests/bin/Release/net10.0/StreamPipeline.Embedded.Kafka.Tests.dll" ] ||
  heavy timeout 300 dotnet build "$fixture_tests" -c Release -nologo -v quiet >"$work/fixture-build.log" 2>&1 || true
if timeout 120 dotnet test "$fixture_tests" -c Release --no-build --filter "FullyQualifiedName~KafkaFixtureTests" -nologo \
     --logger "console;verbosity=detailed" >"$work/fixture-test.log" 2>&1; then
  pass "KafkaFixture with a Docker engine answering: $(grep -m1 -o 'Kafka for tests: .*' "$work/fixture-test.log" | head -c 300)"
else
  fail "KafkaFixtureTests with a Docker engine answering (tail of $work/fixture-test.log below)"
  tail -20 "$work/fixture-test.log"
fi

# --- 2. The base image --------------------------------------------------------------------------------------------------
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
mirror=$(grep -h -m1 -E '^URIs: .*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
base=streampipeline/base:$suite
if [ "$($docker image inspect --format '{{index .Config.Labels "org.streampipeline.packages"}}' "$base" 2>/dev/null)" = "$base_packages" ]; then
  pass "base image $base present (packages: $base_packages)"
else
  say "debootstrap --variant=minbase $suite from $mirror (+ $base_packages)"
  rootfs=$(mktemp -d "$work/rootfs.XXXXXX")
  t0=$(date +%s)
  if heavy timeout 420 debootstrap --variant=minbase --include="$base_packages" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    tar -C "$rootfs" -c . | $docker import -c "LABEL org.streampipeline.packages=$base_packages" -c 'ENV LANG=C.UTF-8' - "$base" >/dev/null
    pass "base image $base built in $(($(date +%s) - t0)) s ($($docker image inspect --format '{{.Size}}' "$base" | awk '{printf "%d MB", $1/1e6}'))"
  else
    fail "debootstrap (tail of $work/debootstrap.log below)"
    tail -20 "$work/debootstrap.log"
  fi
  rm -rf "$rootfs"
fi

# --- 3. The service images ----------------------------------------------------------------------------------------------
declare -A project=([edge-connector]=StreamPipeline.EdgeConnector [dispatcher]=StreamPipeline.Dispatcher [sink]=StreamPipeline.Sink)
for name in edge-connector dispatcher sink; do
  p=${project[$name]}
  t0=$(date +%s)
  out="$work/publish/$name"
  rm -rf "$out"
  if ! heavy timeout 300 dotnet publish "src/$p" -c Release -r linux-x64 --self-contained --artifacts-path "$work/artifacts" -o "$out" -nologo -v quiet >"$work/publish-$name.log" 2>&1; then
    fail "publish $p (tail of $work/publish-$name.log below)"
    tail -20 "$work/publish-$name.log"
    continue
  fi
  if heavy timeout 300 $docker build -q -f "src/$p/Dockerfile" --build-arg APP_SOURCE=prebuilt --build-arg RUNTIME_IMAGE="$base" \
       -t "streampipeline/$name:$tag" "$out" >"$work/build-$name.log" 2>&1; then
    user=$($docker image inspect --format '{{.Config.User}}' "streampipeline/$name:$tag")
    health=$($docker image inspect --format '{{json .Config.Healthcheck.Test}}' "streampipeline/$name:$tag")
    pass "image streampipeline/$name:$tag built in $(($(date +%s) - t0)) s (user $user, healthcheck $health)"
    case "$user:$health" in
      10001:10001:'["CMD","/app/'"$p"'","healthcheck"]') pass "$name: non-root, exec-form health check (no shell)";;
      *) fail "$name: expected user 10001:10001 and an exec-form health check, got $user $health";;
    esac
  else
    fail "docker build $name (tail of $work/build-$name.log below)"
    tail -20 "$work/build-$name.log"
  fi
done

# --- 4. The pipeline on the images --------------------------------------------------------------------------------------
for c in "${containers[@]}"; do $docker rm -f "$c" >/dev/null 2>&1 || true; done
run="$work/run"
rm -rf "$run"
mkdir -p "$run/connector"
# The host's tools: make infra's process, the agent simulator, spctl. `make test` has just built them (Release); built
# here only when missing, since they drive the images and are not what is tested.
missing=()
for t in StreamPipeline.LocalStack/StreamPipeline.LocalStack StreamPipeline.AgentSimulator/StreamPipeline.AgentSimulator StreamPipeline.Cli/spctl; do
  [ -f "src/${t%/*}/bin/Release/net10.0/${t#*/}.dll" ] || missing+=("${t%/*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "building host tools: ${missing[*]}"
  for t in "${missing[@]}"; do
    heavy timeout 300 dotnet build -c Release "src/$t" -nologo -v quiet >>"$work/host-build.log" 2>&1 ||
      { fail "host build of $t (tail of $work/host-build.log below)"; tail -20 "$work/host-build.log"; summary; exit 1; }
  done
fi
build/fetch-chdb.sh >/dev/null

# make infra, on ephemeral ports (other pipelines may run on this machine).
setsid dotnet src/StreamPipeline.LocalStack/bin/Release/net10.0/StreamPipeline.LocalStack.dll infra \
  --LocalStack:DataPath="$run/data" --LocalStack:ClickHouseDataPath="$run/data/clickhouse" --LocalStack:InfraEnvFile="$run/infra.env" \
  --LocalStack:SchemaRegistryPort=0 --LocalStack:ClickHousePort=0 >"$run/infra.log" 2>&1 </dev/null &
infra_pid=$!
for _ in $(seq 120); do [ -f "$run/infra.env" ] && break; kill -0 "$infra_pid" 2>/dev/null || break; sleep 1; done
if [ ! -f "$run/infra.env" ]; then
  fail "make infra: no $run/infra.env within 120 s (tail of $run/infra.log below)"
  tail -20 "$run/infra.log"
  summary
  exit 1
fi
set -a; . "$run/infra.env"; set +a
pass "infrastructure up: Kafka $StreamPipeline__Kafka__BootstrapServers, registry $StreamPipeline__Kafka__SchemaRegistryUrl"

# Three agents' tokens: the simulator's token for agent A is hex(sha256("SEED:A")), the store keeps sha256 of that.
seed=images-ci
: >"$run/connector/tokens.txt"
for i in 1 2 3; do
  id=$(printf 'img-%06d' "$i")
  token=$(printf '%s' "$seed:$id" | sha256sum | cut -d' ' -f1)
  echo "$id sha256:$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" >>"$run/connector/tokens.txt"
done
chmod 0777 "$run/connector"   # the container's user (10001) writes its development certificate there

common=(--network host --health-interval 2s --health-start-period 60s
  -e StreamPipeline__Kafka__BootstrapServers -e StreamPipeline__Kafka__SchemaRegistryUrl
  -e StreamPipeline__Kafka__Client__fetch.wait.max.ms=10)
$docker run -d --name sp-images-edge-connector "${common[@]}" -v "$run/connector:/data" \
  -e StreamPipeline__EdgeConnector__ConnectorId=edge-image-1 -e StreamPipeline__EdgeConnector__ListenAddress=127.0.0.1 \
  -e StreamPipeline__EdgeConnector__Port="$agent_port" -e StreamPipeline__EdgeConnector__OpsListenAddress=127.0.0.1 \
  -e StreamPipeline__EdgeConnector__OpsPort="$connector_ops" -e StreamPipeline__EdgeConnector__CertificatePath=/data/tls.crt \
  -e StreamPipeline__EdgeConnector__CertificateKeyPath=/data/tls.key -e StreamPipeline__EdgeConnector__GenerateDevelopmentCertificate=true \
  -e StreamPipeline__EdgeConnector__TokenStorePath=/data/tokens.txt -e StreamPipeline__EdgeConnector__DrainWindow=00:00:02 \
  "streampipeline/edge-connector:$tag" >/dev/null || fail "docker run edge-connector"
$docker run -d --name sp-images-dispatcher "${common[@]}" \
  -e StreamPipeline__Dispatcher__DispatcherId=dispatcher-image-1 -e StreamPipeline__Dispatcher__ListenAddress=127.0.0.1 \
  -e StreamPipeline__Dispatcher__OpsPort="$dispatcher_ops" \
  "streampipeline/dispatcher:$tag" >/dev/null || fail "docker run dispatcher"
$docker run -d --name sp-images-sink "${common[@]}" -e StreamPipeline__ClickHouse__ConnectionString \
  -e StreamPipeline__Sink__ClientId=sink-image-1 -e StreamPipeline__Sink__OpsAddress=127.0.0.1 \
  -e StreamPipeline__Sink__OpsPort="$sink_ops" -e StreamPipeline__Sink__CreateDeadLetterTopic=false \
  "streampipeline/sink:$tag" >/dev/null || fail "docker run sink"

# Healthy = the image's own HEALTHCHECK passed; deadline 120 s for all three.
deadline=$(($(date +%s) + 120))
for c in "${containers[@]}"; do
  status=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    status=$($docker inspect --format '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$c" 2>/dev/null || echo missing)
    case "$status" in running/healthy | exited/* | missing) break;; esac
    sleep 1
  done
  if [ "$status" = running/healthy ]; then pass "$c healthy"; else
    fail "$c not healthy within the deadline: $status (its log below)"
    $docker logs --tail 20 "$c" 2>&1 || true
  fi
done

# Three agents through the connector container.
setsid dotnet src/StreamPipeline.AgentSimulator/bin/Release/net10.0/StreamPipeline.AgentSimulator.dll \
  --Simulator:AgentCount=3 --Simulator:AgentIdPrefix=img- --Simulator:TokenSeed="$seed" \
  --Simulator:ServerUrl="wss://127.0.0.1:$agent_port/agent" --Simulator:TrustedCertificatePath="$run/connector/tls.crt" \
  --Simulator:MetricsInterval=00:00:01 >"$run/simulator.log" 2>&1 </dev/null &
simulator_pid=$!

# Metrics rows in ClickHouse, written by the sink container.
ch_host=$(sed -E 's/.*Host=([^;]*).*/\1/' <<<"$StreamPipeline__ClickHouse__ConnectionString")
ch_port=$(sed -E 's/.*Port=([^;]*).*/\1/' <<<"$StreamPipeline__ClickHouse__ConnectionString")
ch_user=$(sed -nE 's/.*Username=([^;]*).*/\1/p' <<<"$StreamPipeline__ClickHouse__ConnectionString")
ch_password=$(sed -nE 's/.*Password=([^;]*).*/\1/p' <<<"$StreamPipeline__ClickHouse__ConnectionString")
rows=0
deadline=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$deadline" ]; do
  rows=$(curl -sf -m 5 -u "${ch_user:-default}:$ch_password" "http://$ch_host:$ch_port/" \
    --data-binary "SELECT count() FROM streampipeline.metrics_samples WHERE connector_id = 'edge-image-1'" 2>/dev/null || echo 0)
  [ "${rows:-0}" -gt 0 ] 2>/dev/null && break
  sleep 1
done
if [ "${rows:-0}" -gt 0 ] 2>/dev/null; then pass "metrics rows in ClickHouse from the agents through the connector and sink containers: $rows"; else
  fail "no metrics rows in ClickHouse within 60 s (simulator log tail below)"
  tail -10 "$run/simulator.log"
  $docker logs --tail 10 sp-images-sink 2>&1 || true
fi

# One command round trip: spctl -> Kafka -> dispatcher container -> connector container -> agent -> result.
if timeout 90 dotnet src/StreamPipeline.Cli/bin/Release/net10.0/spctl.dll send --agent img-000001 --action get-process \
     --payload '{"pid":1}' --deadline 30s --wait --wait-timeout 60s >"$run/spctl.log" 2>&1; then
  pass "command round trip through the dispatcher and connector containers: $(head -c 200 "$run/spctl.log" | tr '\n' ' ')"
else
  fail "spctl send --wait failed (output below)"
  tail -10 "$run/spctl.log"
  $docker logs --tail 10 sp-images-dispatcher 2>&1 || true
fi

# SIGTERM (docker stop): the drain, exit code 0, within each service's grace period (docs/deploy.md).
kill "$simulator_pid" 2>/dev/null && wait "$simulator_pid" 2>/dev/null || true
simulator_pid=""
for c in "${containers[@]}"; do
  t0=$(date +%s)
  $docker stop -t 45 "$c" >/dev/null 2>&1 || true
  code=$($docker inspect --format '{{.State.ExitCode}}' "$c" 2>/dev/null || echo none)
  if [ "$code" = 0 ]; then pass "$c stopped by SIGTERM: exit 0 after $(($(date +%s) - t0)) s"; else
    fail "$c exit code $code after docker stop (its log below)"
    $docker logs --tail 20 "$c" 2>&1 || true
  fi
done

summary
[ "$failed" -eq 0 ]
