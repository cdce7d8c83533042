#!/usr/bin/env bash
# Fetches uPlot (the fleet page's charting library, MIT) from the npm registry into a cache folder and verifies the
# package's sha256, like fetch-chdb.sh. Idempotent. Prints the folder holding uPlot.iife.min.js and uPlot.min.css.
set -euo pipefail

UPLOT_VERSION="1.6.32"
UPLOT_SHA256="4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d"

cache_root="${STREAMPIPELINE_CACHE:-$HOME/.cache/streampipeline}"
dir="$cache_root/uplot/$UPLOT_VERSION"
mkdir -p "$dir"

exec 9>"$dir/.lock"
flock 9
if [ -f "$dir/.verified" ] && [ -f "$dir/uPlot.iife.min.js" ] && [ -f "$dir/uPlot.min.css" ]; then echo "$dir"; exit 0; fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-uplot: npm is not installed; install Node.js 20+ and npm (apt-get install -y nodejs npm), then run 'make uplot'." >&2
  exit 1
fi
work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null)
actual=$(sha256sum "$work/uplot-$UPLOT_VERSION.tgz" | cut -d' ' -f1)
if [ "$actual" != "$UPLOT_SHA256" ]; then
  echo "fetch-uplot: sha256 mismatch for uplot-$UPLOT_VERSION.tgz: expected $UPLOT_SHA256, got $actual. The package on the registry is not the one we pinned; do not use it." >&2
  exit 1
fi
tar -xzf "$work/uplot-$UPLOT_VERSION.tgz" -C "$work" package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE
mv "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" "$dir/"
mv "$work/package/LICENSE" "$dir/LICENSE"
touch "$dir/.verified"
echo "$dir"
