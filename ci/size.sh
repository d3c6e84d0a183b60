#!/usr/bin/env bash
# The library's size as issue 11 counts it: the .c and .h files of
# portable/ posix/ win32/ libevent/, without the fault-injection seam
# (portable/fault.*). For the working tree, or for each git revision given,
# prints per directory and in total the non-blank lines and the lines of
# code (non-blank once comments are taken out).
#   ci/size.sh                 the working tree
#   ci/size.sh ca52086 HEAD    two revisions, side by side
set -euo pipefail
cd "$(dirname "$0")/.."

count() { # stdin: "name<TAB>file" records, NUL-separated; prints the rows
    python3 -c '
import re, sys
rows = {}
for record in sys.stdin.read().split("\0"):
    if not record:
        continue
    path, file = record.split("\t", 1)
    text = open(file, errors="replace").read()
    code = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    code = re.sub(r"//[^\n]*", "", code)
    top = path.split("/")[0]
    r = rows.setdefault(top, [0, 0])
    r[0] += sum(1 for l in text.splitlines() if l.strip())
    r[1] += sum(1 for l in code.splitlines() if l.strip())
total = [sum(r[0] for r in rows.values()), sum(r[1] for r in rows.values())]
for top in sorted(rows):
    print("  %-10s %6d non-blank %6d code" % (top, rows[top][0], rows[top][1]))
print("  %-10s %6d non-blank %6d code" % ("total", total[0], total[1]))
'
}

library_files() { # rev or "": prints the library's files, one per line
    if [ -z "$1" ]; then
        git ls-files -- portable posix win32 libevent
    else
        git ls-tree -r --name-only "$1" -- portable posix win32 libevent
    fi | grep -E '\.[ch]$' | grep -vE '^portable/fault\.[ch]$'
}

if [ $# -eq 0 ]; then
    echo "working tree:"
    library_files "" | while read -r f; do printf '%s\t%s\0' "$f" "$f"; done | count
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for rev in "$@"; do
    echo "$rev ($(git log -1 --format=%cs "$rev")):"
    library_files "$rev" | while read -r f; do
        mkdir -p "$tmp/$rev/$(dirname "$f")"
        git show "$rev:$f" >"$tmp/$rev/$f"
        printf '%s\t%s\0' "$f" "$tmp/$rev/$f"
    done | count
done
