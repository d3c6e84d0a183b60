#!/usr/bin/env bash
# Connections held by a Windows back end under Wine with the client outside
# it (issue 4: "10,000 connections are held"): starts
# `wine xpr-echo.exe server --backend BACKEND --stats 1000` and runs the
# native Linux `xpr-echo bench` with ACTIVE active + IDLE idle connections
# against it, then checks that the bench saw no error or mismatch, that it
# had every connection open, and that the server's own count (its --stats
# lines) reached them all. Prints the bench summary, the server's peak and
# its last stats line under load.
#
# Usage: ci/hold-wine.sh [BACKEND]   (default iocp)
# Environment: IDLE (default 10000), ACTIVE (10), DURATION seconds (15),
# XPR_WINE_KEEP=1 to leave the wineserver running, XPR_DEPS_DIR as in
# ci/win-deps.sh. Needs about IDLE + ACTIVE + 100 descriptors in this shell
# (the script raises the soft limit up to the hard one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

backend=${1:-iocp}
IDLE=${IDLE:-10000}
ACTIVE=${ACTIVE:-10}
DURATION=${DURATION:-15}
total=$((IDLE + ACTIVE))

want_fds=$((total + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want_fds" ]; then
    echo "hold-wine: the hard descriptor limit ($hard) is below $want_fds" >&2
    exit 1
fi
ulimit -n "$want_fds"

ci/win-deps.sh >/dev/null
# shellcheck source=ci/wine-env.sh
. ci/wine-env.sh
xpr_wine_start
if [ ! -f build-win/build.ninja ]; then
    meson setup build-win --cross-file "${XPR_DEPS_DIR:-build-deps}/mingw-w64-x86_64.txt" >/dev/null
fi
ninja -C build-win examples/echo/xpr-echo.exe >&2
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build examples/echo/xpr-echo >&2

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true # no console for Ctrl-C
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    [ "${XPR_WINE_KEEP:-0}" = 1 ] || xpr_wine_stop
}
trap cleanup EXIT

log=$work/server.log
ci/cross/wine-run build-win/examples/echo/xpr-echo.exe server \
    --listen 127.0.0.1:0 --backend "$backend" --stats 1000 >"$log" 2>&1 &
server_pid=$!
address=
for _ in $(seq 600); do
    address=$(tr -d '\r' <"$log" | sed -n 's/^listening on \([^ ]*\) (backend .*)$/\1/p')
    [ -n "$address" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$address" ]; then
    echo "hold-wine: the $backend server did not start: $(cat "$log")" >&2
    exit 1
fi

echo "== $backend server on $address (Wine); bench: $ACTIVE active + $IDLE idle, ${DURATION}s" >&2
status=0
build/examples/echo/xpr-echo bench --connect "$address" --connections "$ACTIVE" \
    --idle "$IDLE" --size 64 --pipeline 1 --duration "$DURATION" \
    >"$work/bench.txt" 2>&1 || status=$?
sleep 1.2 # one more stats line
stats=$(tr -d '\r' <"$log" | grep '^stats:' || true)

summary=$(grep '^bench: backend=' "$work/bench.txt" || true)
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | tail -1; }
bench_open=$(sed -n 's/.* open=\([0-9]*\).*/\1/p' "$work/bench.txt" | sort -n | tail -1)
server_peak=$(field peak "$(tail -1 <<<"$stats")")
under_load=$(grep " open=$total " <<<"$stats" | tail -1 || true)

grep '^bench: ' "$work/bench.txt" | grep -v '^bench: backend=' >&2 || true
echo "$summary"
echo "bench: most connections open at once: ${bench_open:-?} of $total"
echo "server ($backend, Wine): peak open connections: ${server_peak:-?}"
echo "server stats at $total open: ${under_load:-none}"

fail=0
[ "$status" -eq 0 ] || { echo "hold-wine: bench exited $status" >&2; fail=1; }
[ "$(field errors "$summary")" = 0 ] || fail=1
[ "$(field mismatches "$summary")" = 0 ] || fail=1
[ "${bench_open:-0}" -ge "$total" ] || fail=1
[ "${server_peak:-0}" -ge "$total" ] || fail=1
if [ "$fail" -ne 0 ]; then
    echo "hold-wine: FAILED ($backend: $total connections not all held, or errors)" >&2
    exit 1
fi
echo "hold-wine: OK: $backend held $total connections, 0 errors, 0 mismatches"
