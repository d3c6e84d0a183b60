#!/usr/bin/env bash
# The main job: build xpr, start `xpr-echo server` on the default back end on
# a free loopback port, load it with `xpr-echo bench` for a few seconds, print
# the result, stop the server with SIGINT and check that it exited 0.
#
# Environment: BUILD_DIR (default build), DURATION seconds (default 3),
# CONNECTIONS (10), SIZE (4096), PIPELINE (4).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-3}
CONNECTIONS=${CONNECTIONS:-10}
SIZE=${SIZE:-4096}
PIPELINE=${PIPELINE:-4}

log() { printf '== %s\n' "$*" >&2; }

# Install only when a tool or library is missing, so a machine that already
# has everything (or is not Debian-like) never touches apt.
. ci/deps-linux.sh
missing=()
for tool in meson ninja pkg-config gcc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if command -v pkg-config >/dev/null 2>&1; then
    pkg-config --exists libevent libevent_pthreads || missing+=(libevent)
    pkg-config --exists cmocka || missing+=(cmocka)
fi
if [ ${#missing[@]} -gt 0 ]; then
    log "missing: ${missing[*]}"
    xpr_install_missing gcc meson ninja-build pkg-config libevent-dev \
        libcmocka-dev
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    log "meson setup $BUILD_DIR"
    meson setup "$BUILD_DIR"
fi
log "building xpr-echo in $BUILD_DIR"
ninja -C "$BUILD_DIR" examples/echo/xpr-echo
echo_bin=$BUILD_DIR/examples/echo/xpr-echo

server_log=$(mktemp)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -f "$server_log"
}
trap cleanup EXIT

"$echo_bin" server --listen 127.0.0.1:0 >"$server_log" 2>&1 &
server_pid=$!

# The server prints "listening on ADDR (backend NAME)" once it accepts.
address=
for _ in $(seq 100); do
    address=$(sed -n 's/^listening on \([^ ]*\) (backend .*)$/\1/p' "$server_log")
    [ -n "$address" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$address" ]; then
    echo "echo-demo: the server did not start:" >&2
    cat "$server_log" >&2
    exit 1
fi
log "$(head -n 1 "$server_log")"

log "bench: $CONNECTIONS connections x $SIZE bytes, pipeline $PIPELINE, ${DURATION}s"
bench_status=0
timeout $((${DURATION%.*} + 60)) "$echo_bin" bench --connect "$address" \
    --connections "$CONNECTIONS" --size "$SIZE" --pipeline "$PIPELINE" \
    --duration "$DURATION" || bench_status=$?

log "stopping the server with SIGINT"
kill -INT "$server_pid"
server_status=0
for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if kill -0 "$server_pid" 2>/dev/null; then
    echo "echo-demo: the server ignored SIGINT for 5 s" >&2
    server_status=124
else
    wait "$server_pid" || server_status=$?
fi
server_pid=
sed -n '2,$p' "$server_log" >&2

if [ "$bench_status" -ne 0 ]; then
    echo "echo-demo: bench failed (exit $bench_status)" >&2
    exit 1
fi
if [ "$server_status" -ne 0 ]; then
    echo "echo-demo: the server exited $server_status after SIGINT" >&2
    exit 1
fi
log "ok: server stopped cleanly"
