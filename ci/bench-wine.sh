#!/usr/bin/env bash
# The Windows back ends under Wine, served by xpr-echo.exe and driven by the
# native Linux xpr-echo bench (Wine sockets are real sockets). The numbers
# are Wine's, not Windows': Wine runs every socket call through wineserver.
#
# Usage: ci/bench-wine.sh [BACKEND...]  (default: floor iocp select libevent
#        libevent-bev libevent-iocp); DURATION, WORKLOADS, REPEAT, PIN as in
#        ci/bench.sh (default workloads here: 1x64 100x4K 10+2000i). The row
#        floor is examples/floor/iocp_echo.c: GetQueuedCompletionStatus on one
#        thread with pre-posted AcceptEx, the reference the other rows are
#        divided by in the "vs floor" column.
#
# With PIN (the default) the wineserver runs on the server's CPU, beside
# xpr-echo.exe: it is Wine's kernel, and every Winsock call the server makes
# is a synchronous request to it. On Windows a system call runs on the
# caller's CPU; a wineserver left to float is woken on the client's CPU
# instead, so each request pays a cross-CPU wake-up (an IPI, costly in a
# VM), and the server's throughput is set by how many requests it can have
# in flight at once rather than by how many it makes. WINESERVER_PIN=0
# leaves it floating (README: both ways measured).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ci/win-deps.sh >/dev/null
# shellcheck source=ci/wine-env.sh
. ci/wine-env.sh
xpr_wine_start
# XPR_WINE_KEEP=1 leaves the wineserver running (another run shares it)
[ "${XPR_WINE_KEEP:-0}" = 1 ] || trap xpr_wine_stop EXIT
note="wineserver floating"
if [ "${PIN:-1}" = 1 ] && [ "${WINESERVER_PIN:-1}" = 1 ] &&
    command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    ws_pid=$(xpr_wineserver_pid)
    if [ -n "$ws_pid" ] && taskset -a -p -c 0 "$ws_pid" >/dev/null; then
        note="wineserver pinned to the server's CPU"
    fi
fi
if [ ! -f build-win/build.ninja ]; then
    meson setup build-win --cross-file "${XPR_DEPS_DIR:-build-deps}/mingw-w64-x86_64.txt" >/dev/null
fi
ninja -C build-win examples/echo/xpr-echo.exe examples/floor/iocp-echo.exe >&2

[ $# -gt 0 ] || set -- floor iocp select libevent libevent-bev libevent-iocp
BENCH_NOTE="Windows server under Wine 8 (Wine's numbers, not Windows'); $note" \
SERVER_WRAPPER=ci/cross/wine-run \
SERVER_BIN=build-win/examples/echo/xpr-echo.exe \
FLOOR_BIN=build-win/examples/floor/iocp-echo.exe \
WORKLOADS=${WORKLOADS:-1x64 100x4K 10+2000i} \
    ci/bench.sh "$@"
