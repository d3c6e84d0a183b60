#!/usr/bin/env bash
# The test command. Linux leg: format and workflow checks, a -Werror build,
# the CMocka suite for every back end, again under ASan/UBSan, then the poll
# and libevent suites under valgrind. Windows leg (ci/test-windows.sh): the
# mingw-w64 cross build and the same suite under Wine. Installs what is
# missing (apt). --linux-only skips the Windows leg.
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

step "test suite under ASan/UBSan"
configure build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes 2

step "test suite under valgrind (poll, libevent)"
valgrind_suites=(--suite unit --suite backend-poll)
if meson introspect build --tests | grep -q 'libevent-epoll'; then
    valgrind_suites+=(--suite backend-libevent-epoll)
fi
meson test -C build --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 "${valgrind_suites[@]}" \
    --wrap 'valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no'

if [ "$windows_leg" = 1 ]; then
    ci/test-windows.sh
fi

echo
echo "ci/test.sh: all green"
