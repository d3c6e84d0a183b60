#!/usr/bin/env bash
# The native Windows leg (MSYS2 UCRT64, as on windows-latest): the packages
# come from MSYS2 (see .github/workflows/ci.yml); builds with warnings as
# errors and runs the suite for every Windows back end.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f build-msys2/build.ninja ]; then
    meson configure build-msys2 --werror >/dev/null
else
    meson setup build-msys2 --werror >/dev/null
fi
ninja -C build-msys2
meson test -C build-msys2 --print-errorlogs --num-processes 1
