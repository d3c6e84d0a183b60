#!/usr/bin/env bash
# The ThreadSanitizer leg (Linux): a -Db_sanitize=thread build in build-tsan,
# then the tests whose threads share a loop, on the poll, nonblocking and
# blocking rows and every libevent row: post (posts and stops from other
# threads), loop, errors (the XPR_ETHREAD checks) and storm (four threads
# posting, stopping and calling from outside while runs end and begin); on
# the blocking row, whose I/O threads hand every byte to the loop thread,
# also tcp, close, flow, limits, watch, adopt, connect_options and udp. Any
# report fails the leg: TSan halts the test with exit code 66. Installs what
# is missing (apt). The compiler is meson's choice (CC=clang works too).
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps-linux.sh
# gcc brings its TSan runtime (libtsan) as a dependency.
xpr_install_missing gcc meson ninja-build pkg-config libevent-dev \
    libcmocka-dev

tests=(post loop errors storm signals)
blocking_tests=(tcp close flow limits watch adopt connect_options udp)

if [ -f build-tsan/build.ninja ]; then
    meson configure build-tsan --werror -Db_sanitize=thread -Db_lundef=false \
        -Dbuildtype=debug -Dexamples=false >/dev/null
else
    meson setup build-tsan --werror -Db_sanitize=thread -Db_lundef=false \
        -Dbuildtype=debug -Dexamples=false >/dev/null
fi
ninja -C build-tsan

# The registered names of those tests on those rows, e.g. 'storm/poll',
# 'post/libevent-bev-select', 'close/blocking'.
mapfile -t names < <(meson introspect build-tsan --tests | python3 -c '
import json, re, sys
wanted = re.compile(r"^(%s)/(poll|nonblocking|blocking|libevent(-.*)?)$"
                    % sys.argv[1])
blocking = re.compile(r"^(%s)/blocking$" % sys.argv[2])
for t in json.load(sys.stdin):
    if wanted.match(t["name"]) or blocking.match(t["name"]):
        print(t["name"])
' "$(IFS='|'; echo "${tests[*]}")" "$(IFS='|'; echo "${blocking_tests[*]}")")
[ ${#names[@]} -gt 0 ] || { echo "ci/tsan.sh: no tests selected" >&2; exit 1; }

# Kernels with more than 30 bits of mmap randomization (vm.mmap_rnd_bits,
# 32 on some runners) break older TSan runtimes ("unexpected memory
# mapping", google/sanitizers#1716): the tests run with ASLR off.
wrap=()
if command -v setarch >/dev/null && setarch "$(uname -m)" -R true 2>/dev/null
then
    wrap=(--wrap "setarch $(uname -m) -R")
fi

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=7"
start=$(date +%s)
meson test -C build-tsan --print-errorlogs --num-processes 2 "${wrap[@]}" \
    "${names[@]}"
echo "ci/tsan.sh: ${#names[@]} tests clean under ThreadSanitizer" \
    "in $(($(date +%s) - start)) s"
