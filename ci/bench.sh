#!/usr/bin/env bash
# Compares the back ends with xpr-echo: for each back end, start
# `xpr-echo server --backend NAME` on loopback and run three workloads
# against it with `xpr-echo bench`:
#   1x64      1 connection, 64-byte messages, pipeline 1 (latency)
#   100x4K    100 connections, 4 KiB messages, pipeline 4 (throughput)
#   10+1000i  10 active connections (64-byte messages, pipeline 1) plus
#             1,000 idle connections (cost of idle descriptors per wakeup)
# then print a Markdown table and the libevent / libevent-bev ratio on 100x4K.
#
# The row "floor" runs the reference server instead of xpr-echo: the
# smallest echo server on the raw OS API (examples/floor/: epoll-echo here,
# iocp-echo.exe under ci/bench-wine.sh). With a floor row in the run the
# table gains a "vs floor" column: the row's msgs/s divided by the floor's
# msgs/s on the same workload in the same run.
#
# Usage: ci/bench.sh [BACKEND...]      (default: floor libevent libevent-bev
#        poll, floor on Linux only; BACKEND@N passes --workers N to that
#        server, e.g. iocp@1 iocp@4; floor is the reference server, e.g.
#        ci/bench.sh floor libevent poll)
# Environment: BACKENDS (same as the arguments), DURATION seconds per
# workload (default 5), BUILD_DIR (default build), CLIENT_BACKEND (back end of
# the load generator: a name, or "same" for the server's; default libevent,
# so only the server changes between rows), PIN=0 to not pin the server and
# the client to separate CPUs, REPEAT=N to run every row N times, in rounds
# over all rows, and keep each cell's run with the most msgs/s (evens out
# other load and drifting speed on a shared machine),
# WORKLOADS="1x64 100x4K" to run only those. SERVER_BIN and SERVER_WRAPPER run
# another server build, e.g. the Windows one under Wine (ci/bench-wine.sh),
# FLOOR_BIN another floor server (default the build's epoll-echo),
# BENCH_NOTE adds a line about the setup to the table's header. A row
# NAME~before runs BEFORE_BIN (another build's xpr-echo, say the commit
# before a change) with back end NAME: before and after in one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
DURATION=${DURATION:-5}
CLIENT_BACKEND=${CLIENT_BACKEND:-libevent}
PIN=${PIN:-1}
REPEAT=${REPEAT:-1}
if [ $# -gt 0 ]; then
    backends=("$@")
else
    default_rows="libevent libevent-bev poll"
    [ "$(uname -s)" != Linux ] || default_rows="floor $default_rows"
    read -r -a backends <<<"${BACKENDS:-$default_rows}"
fi

all_workloads=(
    "1x64|--connections 1 --size 64 --pipeline 1"
    "100x4K|--connections 100 --size 4096 --pipeline 4"
    "10+1000i|--connections 10 --idle 1000 --size 64 --pipeline 1"
    "10+2000i|--connections 10 --idle 2000 --size 64 --pipeline 1"
)
read -r -a wanted <<<"${WORKLOADS:-1x64 100x4K 10+1000i}"
workloads=()
for w in "${all_workloads[@]}"; do
    [[ " ${wanted[*]} " == *" ${w%%|*} "* ]] && workloads+=("$w")
done

log() { printf '== %s\n' "$*" >&2; }

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    log "meson setup $BUILD_DIR"
    meson setup "$BUILD_DIR"
fi
ninja -C "$BUILD_DIR" examples/echo/xpr-echo >&2
echo_bin=$BUILD_DIR/examples/echo/xpr-echo
server_bin=${SERVER_BIN:-$echo_bin}
have_floor=0
[[ " ${backends[*]} " == *" floor "* ]] && have_floor=1
if [ "$have_floor" = 1 ] && [ -z "${FLOOR_BIN:-}" ]; then
    ninja -C "$BUILD_DIR" examples/floor/epoll-echo >&2
fi
floor_bin=${FLOOR_BIN:-$BUILD_DIR/examples/floor/epoll-echo}
read -r -a server_wrapper <<<"${SERVER_WRAPPER:-}"

# The load generator's back end: fixed unless "same"; fall back to the
# build's default when this build lacks it.
available=$("$echo_bin" --help | sed -n 's/^back ends in this build: \(.*\) (default .*/\1/p')
if [ "$CLIENT_BACKEND" != same ] && [[ " $available " != *" $CLIENT_BACKEND "* ]]; then
    log "client back end $CLIENT_BACKEND not in this build ($available); using the default"
    CLIENT_BACKEND=$("$echo_bin" --help | sed -n 's/.*(default \([^;]*\);.*/\1/p')
fi

# Server and client each hold 1,010+ sockets in the idle workload.
want_fds=4096
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$want_fds" ]; then
        ulimit -n "$want_fds"
    else
        ulimit -n "$hard"
    fi
fi

# Two CPUs or more: the server on CPU 0, the load generator on CPU 1.
server_cpu=()
client_cpu=()
if [ "$PIN" = 1 ] && command -v taskset >/dev/null 2>&1 &&
    [ "$(nproc)" -ge 2 ]; then
    server_cpu=(taskset -c 0)
    client_cpu=(taskset -c 1)
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A row NAME@N runs back end NAME with --workers N (iocp's worker count);
# the row floor runs the floor server.
start_server() { # row -> sets server_pid and address, or returns 1
    local backend=${1%@*} log_file=$work/server-$1.log workers=() bin=$server_bin
    local before_env=()
    [[ $1 == *@* ]] && workers=(--workers "${1##*@}")
    if [[ $backend == *~before ]]; then
        # an older xpr-echo: the worker count may only be its test knob
        backend=${backend%~before}
        bin=${BEFORE_BIN:?a row NAME~before needs BEFORE_BIN}
        [[ $1 == *@* ]] && before_env=(XPR_WORKERS="${1##*@}")
        workers=()
    fi
    address=
    if [ "$1" = floor ]; then
        "${server_cpu[@]}" "${server_wrapper[@]}" "$floor_bin" \
            --listen 127.0.0.1:0 >"$log_file" 2>&1 &
    else
        env "${before_env[@]}" "${server_cpu[@]}" "${server_wrapper[@]}" \
            "$bin" server --listen 127.0.0.1:0 --backend "$backend" \
            "${workers[@]}" >"$log_file" 2>&1 &
    fi
    server_pid=$!
    for _ in $(seq 300); do
        # tr: a Windows server under Wine ends its lines with CRLF
        address=$(tr -d '\r' <"$log_file" |
            sed -n 's/^listening on \([^ ]*\) (backend .*)$/\1/p')
        [ -n "$address" ] && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    log "$backend: server did not start: $(cat "$log_file")"
    return 1
}

stop_server() { # -> 0 if the server exited 0 on SIGINT
    local status=0
    if [ ${#server_wrapper[@]} -gt 0 ]; then
        # Under Wine there is no console to turn SIGINT into Ctrl-C.
        kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null || true
        server_pid=
        return 0
    fi
    kill -INT "$server_pid"
    for _ in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid"
        status=124
    fi
    wait "$server_pid" || status=$?
    server_pid=
    return "$status"
}

# Server CPU time (user + system) in clock ticks, from /proc; empty elsewhere.
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    read -r -a stat <<<"${stat##*) }" # fields from 3 (state) on
    echo $((stat[11] + stat[12]))     # utime (14) + stime (15)
}

# field NAME LINE: the value of NAME=value in a bench summary line
field() {
    local word
    for word in $2; do
        case $word in "$1="*) printf '%s' "${word#*=}"; return ;; esac
    done
    printf '?'
}

# run_once BACKEND WORKLOAD CLIENT_BACKEND ARGS...: one bench run against the
# running server; sets line (the summary) and cpu ("µs/msg | share").
run_once() {
    local backend=$1 name=$2 client=$3 status=0 ticks_before ticks_after
    local out=$work/bench-$1-$2.txt
    shift 3
    ticks_before=$(cpu_ticks "$server_pid")
    timeout $((${DURATION%.*} + 90)) "${client_cpu[@]}" "$echo_bin" bench \
        --connect "$address" --backend "$client" --duration "$DURATION" \
        "$@" >"$out" || status=$?
    ticks_after=$(cpu_ticks "$server_pid")
    line=$(grep '^bench: backend=' "$out" || true)
    printf '%s %s: %s\n' "$backend" "$name" "${line:-no summary}" >&2
    # Server CPU per echoed message: independent of how fast the client is,
    # which matters when the client is the bottleneck.
    cpu='? | ?'
    if [ -n "$ticks_before" ] && [ -n "$ticks_after" ]; then
        cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clk_tck" \
            -v m="$(field msgs "$line")" -v d="$(field duration "$line")" \
            'BEGIN { if (m + 0 > 0 && d + 0 > 0)
                printf "%.1f | %.0f%%", t / hz * 1e6 / m, t / hz / d * 100
            else printf "? | ?" }')
    fi
    if [ "$status" -ne 0 ] || [ -z "$line" ]; then
        log "$backend $name: bench exited $status"
        return 1
    fi
}

# A row is "backend|workload|cells after msgs/s"; the table is printed at
# the end, when the floor's msgs/s of every workload is known.
failures=0
rows=()
declare -A msgs_per_s=() cpu_per_msg=() best_rate=() best_line=() best_cpu=()
declare -A start_failed=()
default_backend=$("$echo_bin" --help | sed -n 's/.*(default \([^;]*\);.*/\1/p')
# REPEAT rounds, each over every row in turn with a fresh server: a machine
# whose speed drifts during the run (a shared VM) shifts every row alike
# instead of the rows that happen to run late.
for ((r = 1; r <= REPEAT; r++)); do
    for backend in "${backends[@]}"; do
        [ -z "${start_failed[$backend]:-}" ] || continue
        if ! start_server "$backend"; then
            start_failed[$backend]=1
            failures=$((failures + 1))
            continue
        fi
        client=$CLIENT_BACKEND
        if [ "$client" = same ]; then
            client=$backend
            [ "$backend" = floor ] && client=$default_backend
        fi
        log "$backend (round $r of $REPEAT): server on $address; client back end $client"
        for w in "${workloads[@]}"; do
            name=${w%%|*}
            read -r -a args <<<"${w#*|}"
            run_once "$backend" "$name" "$client" "${args[@]}" ||
                failures=$((failures + 1))
            rate=$(field msgs/s "$line")
            if [[ $rate =~ ^[0-9]+$ ]] &&
                [ "$rate" -gt "${best_rate[$backend/$name]:--1}" ]; then
                best_rate[$backend/$name]=$rate
                best_line[$backend/$name]=$line
                best_cpu[$backend/$name]=$cpu
            fi
        done
        if ! stop_server; then
            log "$backend: server did not exit 0 on SIGINT"
            failures=$((failures + 1))
        fi
    done
done
for backend in "${backends[@]}"; do
    if [ -n "${start_failed[$backend]:-}" ]; then
        rows+=("$backend|(all)|server failed to start| | | | | | |")
        continue
    fi
    for w in "${workloads[@]}"; do
        name=${w%%|*}
        line=${best_line[$backend/$name]:-}
        cpu=${best_cpu[$backend/$name]:-? | ?}
        msgs_per_s[$backend/$name]=$(field msgs/s "$line")
        cpu_per_msg[$backend/$name]=${cpu%% *}
        rows+=("$backend|$name|$(field msgs/s "$line")| $(field MB/s "$line") |\
 $(field p50_us "$line") | $(field p99_us "$line") | $cpu |\
 $(field errors "$line")/$(field mismatches "$line") |")
    done
done

echo
echo "xpr-echo server back ends under xpr-echo bench (client back end:" \
    "$CLIENT_BACKEND; ${DURATION}s per workload, best of $REPEAT; loopback;" \
    "$(nproc) CPUs${server_cpu:+, server and client pinned to separate CPUs})"
[ -z "${BENCH_NOTE:-}" ] || echo "$BENCH_NOTE."
echo "Workloads: 1x64 = 1 conn x 64 B; 100x4K = 100 conns x 4 KiB pipeline 4;"
echo "10+1000i (10+2000i) = 10 active conns x 64 B pipeline 1 + 1,000 (2,000)"
echo "idle conns."
echo
echo "Server CPU: user+system time of the server process per echoed message,"
echo "and as a share of one CPU over the run (connect and drain included)."
echo
if [ "$have_floor" = 1 ]; then
    echo "vs floor: the row's msgs/s divided by the floor's (the reference"
    echo "server on the raw OS API, examples/floor/) on the same workload."
    echo
    echo "| backend | workload | msgs/s | vs floor | MB/s | p50 µs | p99 µs | server CPU µs/msg | server CPU | errors/mismatches |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
else
    echo "| backend | workload | msgs/s | MB/s | p50 µs | p99 µs | server CPU µs/msg | server CPU | errors/mismatches |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
fi
for row in "${rows[@]}"; do
    IFS='|' read -r b w m rest <<<"$row"
    if [ "$have_floor" = 1 ]; then
        ratio=$(awk -v m="$m" -v f="${msgs_per_s[floor/$w]:-}" 'BEGIN {
            if (m ~ /^[0-9]+$/ && f ~ /^[0-9]+$/ && f > 0)
                printf "%.2fx", m / f
            else printf "?" }')
        echo "| $b | $w | $m | $ratio |$rest"
    else
        echo "| $b | $w | $m |$rest"
    fi
done
le=${msgs_per_s[libevent/100x4K]:-}
bev=${msgs_per_s[libevent-bev/100x4K]:-}
if [[ $le =~ ^[0-9]+$ && $bev =~ ^[0-9]+$ && $bev -gt 0 ]]; then
    echo
    awk -v a="$le" -v b="$bev" 'BEGIN {
        printf "libevent / libevent-bev on 100x4K: %.2fx msgs/s (%d vs %d)\n",
            a / b, a, b }'
fi
le=${cpu_per_msg[libevent/100x4K]:-}
bev=${cpu_per_msg[libevent-bev/100x4K]:-}
if [[ $le =~ ^[0-9.]+$ && $bev =~ ^[0-9.]+$ ]]; then
    awk -v a="$le" -v b="$bev" 'BEGIN { if (a > 0)
        printf "libevent-bev / libevent server CPU per message on 100x4K:" \
            " %.2fx (%.1f vs %.1f µs)\n", b / a, b, a }'
fi
[ "$failures" -eq 0 ]
