#!/usr/bin/env bash
# The test command. Linux leg: format and workflow checks, a -Werror build,
# the CMocka suite for every back end, xpr-echo compare --quick, the suite
# again under ASan/UBSan (a build with the fault-injection seam), the fault
# leg (the faults suite, then the whole suite with transparent faults), the
# poll and libevent suites under valgrind, the ThreadSanitizer leg, the
# 10,000-connection soak, the fuzz targets and the consumers
# (ci/consumers.sh). Windows leg
# (ci/test-windows.sh): the mingw-w64 cross build, the same suite and the
# fault leg under Wine, the consumers, the clang build. Installs what is
# missing (apt).
# --linux-only skips the Windows leg.
set -euo pipefail
cd "$(dirname "$0")/.."
windows_leg=1
[ "${1:-}" = "--linux-only" ] && windows_leg=0
. ci/deps-linux.sh
xpr_install_missing "${xpr_linux_packages[@]}"

# Socket-heavy tests open a thousand descriptors and more.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

step() { printf '\n=== %s\n' "$*"; }

configure() { # dir, options...
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

step "format"
ci/format.sh

step "workflow lint"
ci/lint-workflow.sh

step "build (gcc, -Werror)"
configure build --werror
ninja -C build

step "test suite, every back end"
meson test -C build --print-errorlogs --num-processes 2

step "xpr-echo compare --quick: every back end ramped to 200 connections, then loaded"
# Fails on an error (a server that does not start or dies, a malformed stats
# line, a load with errors), not on the numbers.
build/examples/echo/xpr-echo compare --quick --out build/compare-quick
grep -q '</svg>' build/compare-quick/throughput-cpu.svg
grep -q '</svg>' build/compare-quick/memory.svg

step "test suite under ASan/UBSan (fault-injection build, faults off)"
configure build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug -Dfault_injection=true
ninja -C build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C build-asan --print-errorlogs --num-processes 2 \
    --no-suite faults

step "fault leg under ASan/UBSan: the faults suite, every back end"
meson test -C build-asan --print-errorlogs --num-processes 1 --suite faults

step "fault leg: the whole suite with transparent faults (failed waits, short reads and writes)"
XPR_FAULT_SITES=wait XPR_FAULT_RATE=0.05 XPR_FAULT_SHORT=0.3 \
    meson test -C build-asan --print-errorlogs --num-processes 2 \
    --no-suite faults
unset ASAN_OPTIONS UBSAN_OPTIONS

step "test suite under valgrind (poll, nonblocking, libevent)"
valgrind_suites=(--suite unit --suite backend-poll --suite backend-nonblocking)
if meson introspect build --tests | grep -q 'libevent-epoll'; then
    valgrind_suites+=(--suite backend-libevent-epoll)
fi
meson test -C build --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 "${valgrind_suites[@]}" \
    --wrap 'valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no'

step "test suite under valgrind (blocking: up to 4,000 threads in scale)"
meson test -C build --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 --suite backend-blocking \
    --wrap 'valgrind --quiet --max-threads=5000 --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no'

step "ThreadSanitizer: posts, stops and thread checks from other threads"
ci/tsan.sh

step "soak: 10 active + 10,000 idle connections, verified echo (libevent)"
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 11100 ]; then
    DURATION=5 ci/soak.sh linux libevent
else
    echo "soak: skipped, the hard descriptor limit ($(ulimit -Hn)) is below 11,100"
fi

step "fuzz targets (libFuzzer, ${FUZZ_SECONDS:-60} s each)"
ci/fuzz.sh

step "consumers: pkg-config, CMake and Meson subproject, shared and static"
ci/consumers.sh linux

if [ "$windows_leg" = 1 ]; then
    ci/test-windows.sh
fi

echo
echo "ci/test.sh: all green"
