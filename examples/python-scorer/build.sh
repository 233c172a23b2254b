#!/usr/bin/env bash
# Build the Python scorer into a leadwire plugin component.
#
#   examples/python-scorer/build.sh [OUTPUT.wasm]
#
# Default output: target/plugins/python_scorer.wasm. Installs componentize-py
# (pinned in requirements.txt) into a venv under the repo's target dir, once.
# Needs python3 (3.9+) with venv and pip, and PyPI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/guest-tools/py"
out="${1:-$target/plugins/python_scorer.wasm}"
python="${PYTHON:-python3}"

# (Re)install when the pin changed since the venv was made.
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/componentize-py" ] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$stamp"
fi

mkdir -p "$(dirname "$out")"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
# The app is copied out of the source tree: componentize-py's pre-init writes
# __pycache__ beside the modules it imports.
src="$target/guest-tools/python-scorer-src"
rm -rf "$src"
mkdir -p "$src"
cp "$here/app.py" "$src/"
cd "$src"
# The leadwire:plugin package first, then this example's world, which uses it.
# Not inside the venv (no VIRTUAL_ENV): the app needs nothing from site-packages.
env -u VIRTUAL_ENV "$venv/bin/componentize-py" \
    -d "$root/wit/v0.1.0" -d "$here/wit" -w example:python-scorer/scorer \
    componentize app -p "$src" -o "$out"
echo "built $out ($(wc -c <"$out") bytes)"
