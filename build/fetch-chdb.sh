#!/usr/bin/env bash
# Fetches libchdb.so (the ClickHouse engine as a library) from the npm registry into a cache folder
# and verifies its sha256. Idempotent: a verified library already in the cache is kept.
# Prints the library's path on stdout.
set -euo pipefail

CHDB_PACKAGE="@chdb/lib-linux-x64-gnu"
CHDB_VERSION="26.7.3-stable.1"
CHDB_SHA256="36ad4e999882821ef13cf2d0f52c93f48e6ee1b4498b35a201c23ce4b8d15bf5"

cache_root="${STREAMPIPELINE_CACHE:-$HOME/.cache/streampipeline}"
dir="$cache_root/chdb/$CHDB_VERSION"
lib="$dir/libchdb.so"
mkdir -p "$dir"

verify() { [ -f "$lib" ] && [ "$(sha256sum "$lib" | cut -d' ' -f1)" = "$CHDB_SHA256" ]; }

exec 9>"$dir/.lock"
flock 9
if [ -f "$dir/.verified" ] && [ -f "$lib" ]; then echo "$lib"; exit 0; fi
if verify; then touch "$dir/.verified"; echo "$lib"; exit 0; fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-chdb: npm is not installed; install Node.js 20+ and npm (apt-get install -y nodejs npm), then run 'make chdb'." >&2
  exit 1
fi
work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch-chdb: downloading $CHDB_PACKAGE@$CHDB_VERSION (178 MB) with npm pack..." >&2
(cd "$work" && npm pack --silent "$CHDB_PACKAGE@$CHDB_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/libchdb.so
actual=$(sha256sum "$work/package/libchdb.so" | cut -d' ' -f1)
if [ "$actual" != "$CHDB_SHA256" ]; then
  echo "fetch-chdb: sha256 mismatch for libchdb.so: expected $CHDB_SHA256, got $actual. The package on the registry is not the one we pinned; do not use it." >&2
  exit 1
fi
mv "$work/package/libchdb.so" "$lib"
touch "$dir/.verified"
echo "$lib"
