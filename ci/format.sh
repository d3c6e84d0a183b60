#!/usr/bin/env bash
# Checks (or with --fix, applies) the repository's .clang-format with
# clang-format 14, the version the tree is formatted with.
#
# The version is pinned because clang-format's output changes between
# releases (19 formats a few of these files differently from 14), so a check
# that takes whatever is installed passes on one machine and fails on the
# next. 14 is Debian bookworm's clang-format and is packaged for Ubuntu
# 22.04 and 24.04 (ubuntu-latest) as clang-format-14: the script installs it
# with apt when missing. Where no clang-format 14 can be had, it says so and
# skips the check (exit 0) rather than judge the tree with another version;
# XPR_FORMAT_REQUIRED=1 makes that a failure instead.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/deps-linux.sh
required_major=14

find_clang_format() {
    local candidate
    for candidate in "clang-format-$required_major" clang-format; do
        command -v "$candidate" >/dev/null || continue
        if "$candidate" --version | grep -Eq "version $required_major\."; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! clang_format=$(find_clang_format); then
    if command -v apt-get >/dev/null; then
        xpr_install_missing "clang-format-$required_major" || true
    fi
    if ! clang_format=$(find_clang_format); then
        echo "format: SKIPPED: needs clang-format $required_major (apt package" \
            "clang-format-$required_major); other versions format differently"
        [ "${XPR_FORMAT_REQUIRED:-0}" = 1 ] && exit 1
        exit 0
    fi
fi

mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--fix" ]; then
    "$clang_format" -i "${files[@]}"
else
    "$clang_format" --dry-run --Werror "${files[@]}"
    echo "format: ${#files[@]} files clean ($("$clang_format" --version | sed 's/^.*version //'))"
fi
