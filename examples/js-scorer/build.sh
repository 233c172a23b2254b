#!/usr/bin/env bash
# Build the JavaScript scorer into a leadwire plugin component.
#
#   examples/js-scorer/build.sh [OUTPUT.wasm]
#
# Default output: target/plugins/js_scorer.wasm. Installs componentize-js
# (pinned in package.json, locked in package-lock.json) with `npm ci` into
# target/guest-tools/js, once. Needs node 18+ and npm, and the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
tools="$target/guest-tools/js"
out="${1:-$target/plugins/js_scorer.wasm}"

# (Re)install when the lock changed since the tools were installed.
# package.json pins @bytecodealliance/preview2-shim beside componentize-js:
# componentize-js 0.23.0 imports it when it runs but lists it only among its
# devDependencies, so a clean `npm ci` would not install it.
mkdir -p "$tools"
if [ ! -x "$tools/node_modules/.bin/componentize-js" ] || ! cmp -s "$here/package-lock.json" "$tools/package-lock.json"; then
    cp "$here/package.json" "$here/package-lock.json" "$tools/"
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
fi

# componentize-js reads one WIT folder: this example's world, with the
# leadwire:plugin package in its deps/.
wit="$tools/wit"
rm -rf "$wit"
mkdir -p "$wit/deps/leadwire-plugin"
cp "$here/wit/world.wit" "$wit/"
cp "$root"/wit/v0.1.0/*.wit "$wit/deps/leadwire-plugin/"

mkdir -p "$(dirname "$out")"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
# Every WASI feature off: no stdio (console.log goes nowhere), no Math.random
# entropy, no clocks (the plugin's "now" is event.at), no fetch. The engine's
# remaining WASI imports are stubbed out, so the component imports only
# leadwire:plugin/{types,log,config}.
node "$tools/node_modules/.bin/componentize-js" "$here/scorer.js" \
    --wit "$wit" --world-name example:js-scorer/scorer \
    --disable stdio random clocks http fetch-event \
    -o "$out"
echo "built $out ($(wc -c <"$out") bytes)"
