#!/usr/bin/env bash
# The many-connection soak: an xpr-echo server holds ACTIVE active + IDLE
# idle connections from the native Linux `xpr-echo bench`, which verifies
# every echoed byte. Checks that the bench saw no error or mismatch, that
# every connection was open at once on both sides, and reports the server's
# memory per idle connection: (RSS with every connection open - RSS before
# the bench) / IDLE. Under Wine the wineserver's growth is reported beside
# it (it keeps the state of every Windows socket); Wine's figures are Wine's,
# not Windows'.
#
# Usage: ci/soak.sh linux [BACKEND]   (default libevent)
#        ci/soak.sh wine [BACKEND]    (default iocp; the Windows xpr-echo.exe)
# BACKEND floor runs the reference server of examples/floor/ instead of
# xpr-echo (epoll-echo on Linux, iocp-echo.exe under Wine): the memory per
# idle connection of an event loop on the raw OS API.
# Environment: IDLE (default 10000), ACTIVE (10), DURATION seconds (15),
# XPR_WINE_KEEP=1 to leave the wineserver running, XPR_DEPS_DIR as in
# ci/win-deps.sh. Needs about IDLE + ACTIVE + 1000 descriptors per process (the
# script raises the soft limit up to the hard one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

platform=${1:-linux}
case $platform in
linux) backend=${2:-libevent} ;;
wine) backend=${2:-iocp} ;;
*)
    echo "usage: ci/soak.sh linux|wine [BACKEND]" >&2
    exit 2
    ;;
esac
IDLE=${IDLE:-10000}
ACTIVE=${ACTIVE:-10}
DURATION=${DURATION:-15}
total=$((IDLE + ACTIVE))

want_fds=$((total + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want_fds" ]; then
    echo "soak: the hard descriptor limit ($hard) is below $want_fds" >&2
    exit 1
fi
ulimit -n "$want_fds"

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build examples/echo/xpr-echo >&2
if [ "$platform" = linux ] && [ "$backend" = floor ]; then
    ninja -C build examples/floor/epoll-echo >&2
fi
if [ "$platform" = wine ]; then
    ci/win-deps.sh >/dev/null
    # shellcheck source=ci/wine-env.sh
    . ci/wine-env.sh
    xpr_wine_start
    if [ ! -f build-win/build.ninja ]; then
        meson setup build-win --cross-file \
            "${XPR_DEPS_DIR:-build-deps}/mingw-w64-x86_64.txt" >/dev/null
    fi
    ninja -C build-win examples/echo/xpr-echo.exe >&2
    [ "$backend" != floor ] || ninja -C build-win examples/floor/iocp-echo.exe >&2
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -INT "$server_pid" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    if [ "$platform" = wine ] && [ "${XPR_WINE_KEEP:-0}" != 1 ]; then
        xpr_wine_stop
    fi
}
trap cleanup EXIT

rss_kib() { # pid
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null | grep . || echo 0
}
# The wineserver of this checkout's prefix (ci/wine-env.sh): on Debian its
# process is wineserver64, and another checkout may run one of its own.
wineserver_pid() {
    xpr_wineserver_pid
}

log=$work/server.log
# The floor servers take --listen and --stats like xpr-echo server and print
# the same "listening on" and "stats: open=N peak=N" lines.
if [ "$backend" = floor ] && [ "$platform" = wine ]; then
    ci/cross/wine-run build-win/examples/floor/iocp-echo.exe \
        --listen 127.0.0.1:0 --stats 500 >"$log" 2>&1 &
elif [ "$backend" = floor ]; then
    build/examples/floor/epoll-echo --listen 127.0.0.1:0 --stats 500 \
        >"$log" 2>&1 &
elif [ "$platform" = wine ]; then
    ci/cross/wine-run build-win/examples/echo/xpr-echo.exe server \
        --listen 127.0.0.1:0 --backend "$backend" --stats 500 >"$log" 2>&1 &
else
    build/examples/echo/xpr-echo server --listen 127.0.0.1:0 \
        --backend "$backend" --stats 500 >"$log" 2>&1 &
fi
server_pid=$!
address=
for _ in $(seq 600); do
    address=$(tr -d '\r' <"$log" | sed -n 's/^listening on \([^ ]*\) (backend .*)$/\1/p')
    [ -n "$address" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$address" ]; then
    echo "soak: the $backend server did not start: $(cat "$log")" >&2
    exit 1
fi
sleep 1
rss_before=$(rss_kib "$server_pid")
ws_before=0
if [ "$platform" = wine ]; then
    ws_before=$(rss_kib "$(wineserver_pid)")
fi

echo "== soak: $backend server ($platform) on $address; bench: $ACTIVE active + $IDLE idle, ${DURATION}s" >&2
build/examples/echo/xpr-echo bench --connect "$address" --connections "$ACTIVE" \
    --idle "$IDLE" --size 64 --pipeline 1 --duration "$DURATION" \
    >"$work/bench.txt" 2>&1 &
bench_pid=$!
rss_loaded=0
ws_loaded=0
while kill -0 "$bench_pid" 2>/dev/null; do
    if tr -d '\r' <"$log" | grep -q "^stats: open=$total "; then
        r=$(rss_kib "$server_pid")
        [ "$r" -gt "$rss_loaded" ] && rss_loaded=$r
        if [ "$platform" = wine ]; then
            r=$(rss_kib "$(wineserver_pid)")
            [ "$r" -gt "$ws_loaded" ] && ws_loaded=$r
        fi
    fi
    sleep 0.5
done
status=0
wait "$bench_pid" || status=$?
sleep 0.6 # one more stats line
stats=$(tr -d '\r' <"$log" | grep '^stats:' || true)

summary=$(grep '^bench: backend=' "$work/bench.txt" || true)
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | tail -1; }
bench_open=$(sed -n 's/.* open=\([0-9]*\).*/\1/p' "$work/bench.txt" | sort -n | tail -1)
server_peak=$(field peak "$(tail -1 <<<"$stats")")
msgs=$(field msgs "$summary")

echo "$summary"
echo "soak: most connections open at once: bench ${bench_open:-?}, server ${server_peak:-?} of $total"
echo "soak: bytes echoed and verified: $(( ${msgs:-0} * 64 ))"
if [ "$rss_loaded" -gt 0 ]; then
    per_conn=$(( (rss_loaded - rss_before) * 1024 / IDLE ))
    echo "soak: server RSS $rss_before KiB idle, $rss_loaded KiB with $total open: $per_conn B per idle connection"
    if [ "$platform" = wine ]; then
        echo "soak: wineserver RSS $ws_before KiB -> $ws_loaded KiB: $(( (ws_loaded - ws_before) * 1024 / IDLE )) B per idle connection (Wine's own)"
    fi
fi

fail=0
[ "$status" -eq 0 ] || { echo "soak: bench exited $status" >&2; fail=1; }
[ "$(field errors "$summary")" = 0 ] || fail=1
[ "$(field mismatches "$summary")" = 0 ] || fail=1
[ "${bench_open:-0}" -ge "$total" ] || fail=1
[ "${server_peak:-0}" -ge "$total" ] || fail=1
[ "$rss_loaded" -gt 0 ] || fail=1
if [ "$fail" -ne 0 ]; then
    echo "soak: FAILED ($backend, $platform: $total connections not all held, or errors)" >&2
    exit 1
fi
echo "soak: OK: $backend ($platform) held $total connections, 0 errors, 0 mismatches"
