#!/usr/bin/env bash
# The second Windows compiler: clang targeting x86_64-w64-mingw32, warnings
# as errors, so GCC-only constructs are caught. Cross-builds xpr (the DLL,
# the suite, xpr-echo) against ci/win-deps.sh's libevent and CMocka, then
# runs the unit tests and the tcp test on two back ends under Wine (the full
# suite runs on the gcc build, ci/test-windows.sh).
#
#   ci/clang-mingw.sh        # build-win-clang/
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps-linux.sh
xpr_install_missing clang

ci/win-deps.sh
deps=${XPR_DEPS_DIR:-build-deps}
mkdir -p "$deps" && deps=$(cd "$deps" && pwd)
libgcc_dir=$(dirname "$(x86_64-w64-mingw32-gcc -print-libgcc-file-name)")
cross_file=$deps/clang-mingw-w64-x86_64.txt
sed -e "s|@DEPS_PREFIX@|$deps/prefix-x86_64-w64-mingw32|" -e "s|@CI_DIR@|$PWD/ci|" \
    -e "s|@LIBGCC_DIR@|$libgcc_dir|" ci/cross/clang-mingw-w64-x86_64.txt >"$cross_file.new"
if cmp -s "$cross_file.new" "$cross_file"; then rm "$cross_file.new"; else mv "$cross_file.new" "$cross_file"; fi

echo "clang-mingw: $(clang --version | head -n 1)"
if [ -f build-win-clang/build.ninja ]; then
    meson configure build-win-clang --werror >/dev/null
else
    meson setup build-win-clang --cross-file "$cross_file" --werror >/dev/null
fi
ninja -C build-win-clang

# shellcheck source=ci/wine-env.sh
. ci/wine-env.sh
xpr_wine_start
trap xpr_wine_stop EXIT
meson test -C build-win-clang --print-errorlogs --num-processes 1 \
    --timeout-multiplier 3 unit/heap unit/write-queue unit/address \
    tcp/iocp tcp/select
