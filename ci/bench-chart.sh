#!/usr/bin/env bash
# Draws the msgs/s column of a ci/bench.sh (or ci/bench-wine.sh) table as an
# SVG bar chart: one panel per workload, one bar per back end, in table order,
# each panel scaled to its own largest value (the workloads differ by 10x).
# The floor row (the reference server), when there, is drawn in green.
#
# Usage: ci/bench-chart.sh TABLE.md "TITLE" > chart.svg
#        (TABLE.md: the script's output, or any file holding its rows)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 TABLE.md TITLE > chart.svg" >&2; exit 2; }

awk -F'|' -v title="$2" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); return s }
function group(n,   s) { # 12345 -> 12,345
    s = sprintf("%d", n)
    while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
    return s
}
NF >= 10 {
    b = trim($2); w = trim($3); m = trim($4)
    if (m !~ /^[0-9]+$/) next
    if (!(w in seen)) { seen[w] = 1; workloads[++nw] = w }
    if (!(b in known)) { known[b] = 1; backends[++nb] = b }
    rate[b, w] = m
    if (m + 0 > top[w]) top[w] = m + 0
}
END {
    if (nw == 0) { print "bench-chart: no rows" > "/dev/stderr"; exit 1 }
    bar = 16; gap = 4; label = 150; width = 760; plot = width - label - 90
    panel = 28 + nb * (bar + gap)
    height = 40 + nw * (panel + 16)
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, height
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", esc(title)
    y = 40
    for (i = 1; i <= nw; i++) {
        w = workloads[i]
        printf "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s (msgs/s)</text>\n", y + 16, esc(w)
        y += 28
        for (j = 1; j <= nb; j++) {
            b = backends[j]
            if (!((b, w) in rate)) { y += bar + gap; continue }
            len = top[w] > 0 ? rate[b, w] / top[w] * plot : 0
            fill = b == "floor" ? "#2ca02c" : (b ~ /^iocp/ ? "#1f77b4" : (b ~ /^libevent/ ? "#ff7f0e" : "#7f7f7f"))
            printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", label - 6, y + bar - 4, esc(b)
            printf "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", label, y, len, bar, fill
            printf "<text x=\"%.1f\" y=\"%d\">%s</text>\n", label + len + 4, y + bar - 4, group(rate[b, w])
            y += bar + gap
        }
        y += 16
    }
    print "</svg>"
}' "$1"
