#!/usr/bin/env bash
# The consumer leg: xpr as downstream projects use it. For each platform
# (Linux; Windows cross-built with mingw-w64, programs run under Wine) and
# each library kind (shared, static):
#   - install xpr into a prefix of its own, then build the one-file program
#     ci/consumer/consumer.c with pkg-config (--static for the static
#     install) and with CMake's find_package(xpr) -> xpr::xpr, and run it;
#   - vendor xpr as a Meson subproject of ci/consumer/meson.build and check
#     that the parent sees no xpr test, needs no CMocka and installs nothing;
#   - check that the shared library exports only the XPR_API functions;
# and once per platform, compile the README's example with -Wall -Wextra
# -Werror -pedantic.
#
#   ci/consumers.sh [linux|windows]     # default: both
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/build-consumers
platforms=("${@:-linux windows}")
read -r -a platforms <<<"${platforms[*]}"

. ci/deps-linux.sh
xpr_install_missing gcc meson ninja-build pkg-config libevent-dev cmake

say() { printf 'consumers: %s\n' "$*"; }
fail() { say "FAILED: $*" >&2; exit 1; }
strict=(-std=c11 -Wall -Wextra -Werror -pedantic)

# The source tree as a vendoring project holds it (tracked and new files).
vendor_copy() { # destination
    rm -rf "$1" && mkdir -p "$1"
    git ls-files -z --cached --others --exclude-standard |
        xargs -0 cp --parents -t "$1" 2>/dev/null || true
}

# The README's example: the first ```c block of "## The API in brief".
readme_example() {
    awk '/^## The API in brief/ { in_section = 1 }
         in_section && /^```c$/ { in_code = 1; next }
         in_code && /^```$/ { exit }
         in_code { print }' README.md
}

# Per platform: cc, the cross file, how to run a program, the CMake toolchain.
setup_platform() {
    case $1 in
    linux)
        cc=gcc; cross=(); run=(); cmake_args=(); exe_suffix=""
        pc_extra=""
        ;;
    windows)
        ci/win-deps.sh
        local deps=${XPR_DEPS_DIR:-build-deps}
        deps=$(cd "$deps" && pwd)
        cc=x86_64-w64-mingw32-gcc; exe_suffix=.exe
        cross=(--cross-file "$deps/mingw-w64-x86_64.txt")
        run=(ci/cross/wine-run)
        cmake_args=(-DCMAKE_TOOLCHAIN_FILE="$root/ci/cross/mingw-w64-x86_64.cmake")
        pc_extra=$deps/prefix-x86_64-w64-mingw32/lib/pkgconfig
        # shellcheck source=ci/wine-env.sh
        . ci/wine-env.sh
        xpr_wine_start
        trap xpr_wine_stop EXIT
        ;;
    esac
}

# Runs a consumer program; on Windows the installed DLL's directory goes on
# WINEPATH.
run_consumer() { # program [dll directory]
    if [ ${#run[@]} -gt 0 ]; then
        WINEPATH=$(winepath -w "${2:-.}" 2>/dev/null) "${run[@]}" "$1"
    else
        "$1"
    fi
}

# pkg-config with the installed prefix first; for Windows, only the cross
# prefixes (never the host's .pc files).
pc() { # prefix pkg-config-arguments...
    local prefix=$1; shift
    if [ -n "$pc_extra" ]; then
        PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig:$pc_extra" PKG_CONFIG_PATH="" \
            pkg-config "$@"
    else
        PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config "$@"
    fi
}

check_exports() { # platform prefix
    local expected exported
    expected=$(grep -c '^XPR_API ' include/xpr.h)
    if [ "$1" = linux ]; then
        exported=$(nm -D --defined-only "$2"/lib/libxpr.so | awk '{ print $3 }')
    else
        exported=$(x86_64-w64-mingw32-objdump -p "$2"/bin/libxpr-*.dll |
            sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
            awk '/\[ *[0-9]+\]/ { print $NF }')
    fi
    if grep -v '^xpr_[a-z]' <<<"$exported" | grep -q .; then
        fail "$1 shared library exports non-public symbols: $(grep -v '^xpr_[a-z]' <<<"$exported" | head -5 | paste -sd' ')"
    fi
    [ "$(grep -c . <<<"$exported")" = "$expected" ] ||
        fail "$1 shared library exports $(grep -c . <<<"$exported") symbols, xpr.h declares $expected"
    say "$1: the shared library exports the $expected XPR_API functions and nothing else"
}

installed() { # platform kind -> prefix
    local dir=$work/$1-$2 prefix=$work/$1-$2/prefix
    rm -rf "$prefix"
    mkdir -p "$dir"
    if [ ! -f "$dir/xpr/build.ninja" ]; then
        meson setup "$dir/xpr" "$root" "${cross[@]}" --prefix="$prefix" \
            -Dlibdir=lib -Ddefault_library="$2" -Dtests=false \
            -Dbuildtype=release >"$dir.setup.log" ||
            { cat "$dir.setup.log"; fail "$1 $2: meson setup"; }
    fi
    ninja -C "$dir/xpr" >"$dir.build.log" 2>&1 ||
        { tail -n 30 "$dir.build.log" >&2; fail "$1 $2: build"; }
    meson install -C "$dir/xpr" >>"$dir.build.log" 2>&1 ||
        { tail -n 30 "$dir.build.log" >&2; fail "$1 $2: install"; }
    [ -x "$prefix/bin/xpr-echo" ] || [ -f "$prefix/bin/xpr-echo.exe" ] ||
        fail "$1 $2: xpr-echo not installed"
    echo "$prefix"
}

pkg_config_consumer() { # platform kind prefix
    local out=$work/$1-$2/pkg-config/consumer$exe_suffix static=() flags
    mkdir -p "$(dirname "$out")"
    [ "$2" = static ] && static=(--static)
    flags=$(pc "$3" "${static[@]}" --cflags --libs xpr) ||
        fail "$1 $2: pkg-config xpr"
    if [ "$1" = linux ] && [ "$2" = shared ]; then
        flags="$flags -Wl,-rpath,$3/lib"
    fi
    # shellcheck disable=SC2086  # flags are pkg-config's words
    "$cc" "${strict[@]}" ci/consumer/consumer.c $flags -o "$out" ||
        fail "$1 $2: pkg-config consumer does not build"
    run_consumer "$out" "$3/bin" || fail "$1 $2: pkg-config consumer failed"
    say "$1 $2: pkg-config consumer ok ($flags)"
}

cmake_consumer() { # platform kind prefix
    local dir=$work/$1-$2/cmake exe
    rm -rf "$dir"
    cmake -S ci/consumer -B "$dir" -G Ninja "${cmake_args[@]}" \
        -Dxpr_DIR="$3/lib/cmake/xpr" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" \
        >"$dir.log" 2>&1 || { cat "$dir.log"; fail "$1 $2: cmake configure"; }
    cmake --build "$dir" >>"$dir.log" 2>&1 ||
        { cat "$dir.log"; fail "$1 $2: cmake build"; }
    exe=$dir/consumer
    [ -f "$exe.exe" ] && exe=$exe.exe
    run_consumer "$exe" "$3/bin" || fail "$1 $2: CMake consumer failed"
    say "$1 $2: CMake find_package(xpr) -> xpr::xpr consumer ok"
}

meson_subproject_consumer() { # platform kind
    local dir=$work/$1-$2/subproject exe dll_dir
    rm -rf "$dir/parent"
    mkdir -p "$dir/parent/subprojects"
    cp ci/consumer/meson.build ci/consumer/consumer.c "$dir/parent/"
    vendor_copy "$dir/parent/subprojects/xpr"
    rm -rf "$dir/build"
    meson setup "$dir/build" "$dir/parent" "${cross[@]}" --werror \
        -Ddefault_library="$2" --force-fallback-for=xpr >"$dir/setup.log" ||
        { cat "$dir/setup.log"; fail "$1 $2: parent meson setup"; }
    ninja -C "$dir/build" >"$dir/build.log" ||
        { cat "$dir/build.log"; fail "$1 $2: parent build"; }
    [ "$(meson introspect --tests "$dir/build")" = "[]" ] ||
        fail "$1 $2: the parent project lists xpr's tests"
    if grep -qi 'cmocka' "$dir/build/meson-logs/meson-log.txt"; then
        fail "$1 $2: the parent's setup looked for CMocka"
    fi
    [ "$(meson introspect --installed "$dir/build")" = "{}" ] ||
        fail "$1 $2: the subproject installs into the parent's prefix"
    [ ! -e "$dir/build/subprojects/xpr/examples" ] ||
        fail "$1 $2: the parent builds xpr's examples"
    exe=$dir/build/consumer
    [ -f "$exe.exe" ] && exe=$exe.exe
    dll_dir=$dir/build/subprojects/xpr
    run_consumer "$exe" "$dll_dir" || fail "$1 $2: subproject consumer failed"
    say "$1 $2: Meson subproject consumer ok (no xpr tests, no CMocka, nothing installed)"
}

readme_consumer() { # platform prefix(shared)
    local dir=$work/$1-readme flags
    mkdir -p "$dir"
    readme_example >"$dir/example.c"
    [ -s "$dir/example.c" ] || fail "README: no C example under 'The API in brief'"
    flags=$(pc "$2" --cflags --libs xpr)
    # shellcheck disable=SC2086
    "$cc" "${strict[@]}" "$dir/example.c" $flags -o "$dir/example$exe_suffix" ||
        fail "$1: the README's example does not build with ${strict[*]}"
    say "$1: the README's example builds with ${strict[*]}"
}

for platform in "${platforms[@]}"; do
    case $platform in linux | windows) ;; *) fail "unknown platform $platform" ;; esac
    setup_platform "$platform"
    for kind in shared static; do
        say "=== $platform, $kind"
        prefix=$(installed "$platform" "$kind")
        [ "$kind" = shared ] && check_exports "$platform" "$prefix"
        pkg_config_consumer "$platform" "$kind" "$prefix"
        cmake_consumer "$platform" "$kind" "$prefix"
        meson_subproject_consumer "$platform" "$kind"
        [ "$kind" = shared ] && readme_consumer "$platform" "$prefix"
    done
    if [ "$platform" = windows ]; then xpr_wine_stop; trap - EXIT; fi
done
say "all green"
