#!/usr/bin/env bash
# The Windows leg: cross-builds xpr with mingw-w64 (warnings as errors) and
# runs the same CMocka suite under Wine for every Windows back end. Timings
# under Wine are Wine's, not Windows'.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "Windows dependencies (libevent, CMocka for x86_64-w64-mingw32)"
ci/win-deps.sh
cross_file=${XPR_DEPS_DIR:-build-deps}/mingw-w64-x86_64.txt

# shellcheck source=ci/wine-env.sh
. ci/wine-env.sh
xpr_wine_start
trap xpr_wine_stop EXIT

step "cross build (mingw-w64 gcc, -Werror)"
if [ -f build-win/build.ninja ]; then
    meson configure build-win --werror >/dev/null
else
    meson setup build-win --cross-file "$cross_file" --werror >/dev/null
fi
ninja -C build-win

step "test suite under Wine, every Windows back end"
# One test at a time: one wineserver holds the sockets of every process.
meson test -C build-win --print-errorlogs --num-processes 1 \
    --timeout-multiplier 3
