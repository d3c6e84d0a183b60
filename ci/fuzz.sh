#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang (ASan and UBSan
# on, every sanitizer report fatal) into build-fuzz/, then runs each for
# FUZZ_SECONDS seconds (default 60) on a copy of its corpus in
# tests/fuzz/corpus/<target>/, so the checked-in corpus stays as it is.
# Prints the executions per target and a summary line; exits non-zero when a
# target fails to build or finds a crash (the reproducer is left in
# build-fuzz/<target>/artifacts/). Installs clang and libFuzzer where
# missing (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci/deps-linux.sh
. ci/deps-linux.sh

seconds=${FUZZ_SECONDS:-60}
out=build-fuzz

# target: the sources it is built from, after its tests/fuzz/<target>.c
declare -A sources=(
    [fuzz_address]="portable/address.c"
    [fuzz_write_queue]="portable/write_queue.c"
    [fuzz_echo_args]="examples/echo/args.c"
    [fuzz_echo_pattern]="examples/echo/pattern.c"
)
# target: extra libFuzzer flags. args_parse prints help and complaints;
# pattern_verify works in runs of 4096 bytes, past libFuzzer's default
# -max_len.
declare -A run_flags=(
    [fuzz_echo_args]="-close_fd_mask=3"
    [fuzz_echo_pattern]="-max_len=16384"
)
targets=(fuzz_address fuzz_write_queue fuzz_echo_args fuzz_echo_pattern)

cflags=(-std=c11 -g -O1 "-fsanitize=fuzzer,address,undefined"
        -fno-sanitize-recover=all -fno-omit-frame-pointer
        -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wno-unused-parameter -Werror
        -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
        -Iinclude -Iportable -Iexamples/echo)

fuzzer_links() {
    local probe
    probe=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
        '{ (void)d; (void)n; return 0; }' >"$probe/probe.c"
    local rc=0
    clang -fsanitize=fuzzer,address,undefined "$probe/probe.c" \
        -o "$probe/probe" >/dev/null 2>&1 || rc=1
    rm -rf "$probe"
    return $rc
}

command -v clang >/dev/null || xpr_install_missing clang
if ! fuzzer_links; then
    # Debian and Ubuntu ship libFuzzer in libclang-rt-<major>-dev.
    major=$(clang -dumpversion | cut -d. -f1)
    xpr_install_missing "libclang-rt-$major-dev"
    fuzzer_links || { echo "fuzz: clang -fsanitize=fuzzer does not link" >&2
                      exit 1; }
fi

mkdir -p "$out/bin"
for t in "${targets[@]}"; do
    # shellcheck disable=SC2086  # the source lists split on spaces
    clang "${cflags[@]}" "tests/fuzz/$t.c" ${sources[$t]} -o "$out/bin/$t" -lm
done
echo "fuzz: built ${#targets[@]} targets with $(clang --version | head -n 1)"

total=0
crashes=0
for t in "${targets[@]}"; do
    work="$out/$t"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
    rc=0
    # shellcheck disable=SC2086  # run_flags splits on spaces
    "$out/bin/$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" ${run_flags[$t]:-} \
        "$work/corpus" >"$work/log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" |
            tail -n 1)
    execs=${execs:-0}
    total=$((total + execs))
    if [ "$rc" -ne 0 ]; then
        crashes=$((crashes + 1))
        echo "fuzz: $t FAILED (exit $rc) after $execs executions:"
        tail -n 40 "$work/log"
        echo "fuzz: reproducer(s) in $work/artifacts:" "$work"/artifacts/*
    else
        echo "fuzz: $t: $execs executions in ${seconds} s," \
             "corpus $(find "$work/corpus" -type f | wc -l) inputs"
    fi
done
echo "fuzz: ${#targets[@]} targets, $total executions, $crashes crashes"
[ "$crashes" -eq 0 ]
