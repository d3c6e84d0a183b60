#!/usr/bin/env bash
# The Windows leg: cross-builds xpr with mingw-w64 (warnings as errors) and
# runs the same CMocka suite under Wine for every Windows back end and
# xpr-echo compare --quick (server and client both under Wine), then the
# fault leg (a fault-injection build: the faults suite, and tcp, close and
# flow with transparent faults), the consumers of the DLL and static
# installs (ci/consumers.sh windows) and the clang build
# (ci/clang-mingw.sh). Timings under Wine are Wine's, not
# Windows'.
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
# Test programs that Wine fails to start are started again (ci/cross/wine-run).
export XPR_WINE_RETRY_START=1

# Wine's sockets are host sockets: the 4,000-connection rows leave some
# 8,000 loopback connections each in TIME_WAIT for a minute, and sockets
# bound to port 0 before ConnectEx cannot reuse those ports. Widen the
# ephemeral range where this machine lets us (root, or passwordless sudo).
widen_ephemeral_ports() {
    local range="10000 65000" f=/proc/sys/net/ipv4/ip_local_port_range
    if [ -w "$f" ]; then
        echo "$range" >"$f" 2>/dev/null || true
    elif command -v sudo >/dev/null; then
        sudo -n sysctl -q -w net.ipv4.ip_local_port_range="$range" || true
    fi
    echo "ephemeral ports: $(cat "$f" 2>/dev/null || echo unknown)"
}
widen_ephemeral_ports

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

step "xpr-echo compare --quick under Wine: every Windows back end, client in Wine too"
# Fails on an error (a server that does not start or dies, a malformed stats
# line, a load with errors), not on the numbers.
ci/cross/wine-run build-win/examples/echo/xpr-echo.exe compare --quick \
    --out build-win/compare-quick
grep -q '</svg>' build-win/compare-quick/throughput-cpu.svg
grep -q '</svg>' build-win/compare-quick/memory.svg

step "fault leg under Wine: the faults suite, every Windows back end"
if [ -f build-win-fault/build.ninja ]; then
    meson configure build-win-fault --werror -Dfault_injection=true >/dev/null
else
    meson setup build-win-fault --cross-file "$cross_file" --werror \
        -Dfault_injection=true >/dev/null
fi
ninja -C build-win-fault
meson test -C build-win-fault --print-errorlogs --num-processes 1 \
    --timeout-multiplier 3 --suite faults

step "fault leg under Wine: tcp, close and flow with transparent faults"
# Failed waits and short reads and writes must change nothing the
# application sees. This meson takes test names, not patterns: list them.
mapfile -t transparent_tests < <(meson introspect build-win-fault --tests |
    python3 -c 'import json, sys
for t in json.load(sys.stdin):
    if t["name"].split("/")[0] in ("tcp", "close", "flow"):
        print(t["name"])')
XPR_FAULT_SITES=wait XPR_FAULT_RATE=0.05 XPR_FAULT_SHORT=0.3 \
    meson test -C build-win-fault --print-errorlogs --num-processes 1 \
    --timeout-multiplier 3 "${transparent_tests[@]}"

step "consumers under Wine: pkg-config, CMake and Meson subproject, DLL and static"
ci/consumers.sh windows

step "second Windows compiler: clang for x86_64-w64-mingw32, -Werror"
ci/clang-mingw.sh
