#!/usr/bin/env bash
# The Windows back ends under Wine, served by xpr-echo.exe and driven by the
# native Linux xpr-echo bench (Wine sockets are real sockets). The numbers
# are Wine's, not Windows': Wine runs every socket call through wineserver.
#
# Usage: ci/bench-wine.sh [BACKEND...]  (default: iocp select libevent
#        libevent-bev libevent-iocp); DURATION, WORKLOADS, REPEAT as in
#        ci/bench.sh (default workloads here: 1x64 100x4K 10+2000i).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ci/win-deps.sh >/dev/null
# shellcheck source=ci/wine-env.sh
. ci/wine-env.sh
xpr_wine_start
# XPR_WINE_KEEP=1 leaves the wineserver running (another run shares it)
[ "${XPR_WINE_KEEP:-0}" = 1 ] || trap xpr_wine_stop EXIT
if [ ! -f build-win/build.ninja ]; then
    meson setup build-win --cross-file "${XPR_DEPS_DIR:-build-deps}/mingw-w64-x86_64.txt" >/dev/null
fi
ninja -C build-win examples/echo/xpr-echo.exe >&2

[ $# -gt 0 ] || set -- iocp select libevent libevent-bev libevent-iocp
SERVER_WRAPPER=ci/cross/wine-run \
SERVER_BIN=build-win/examples/echo/xpr-echo.exe \
WORKLOADS=${WORKLOADS:-1x64 100x4K 10+2000i} \
    ci/bench.sh "$@"
