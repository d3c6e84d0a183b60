/*
 * Horizontal bar charts as SVG: one panel per measure, one bar per back end,
 * each panel scaled to its own largest value.
 */
#ifndef ECHO_SVG_H
#define ECHO_SVG_H

#include <stddef.h>

struct svg_panel {
    const char *title;         /* "msgs/s" */
    const char *const *labels; /* one per bar */
    const double *values;      /* one per bar; negative or NaN: no value */
    size_t count;
    int decimals; /* digits shown after the point */
};

/* Writes the chart to path. 0, or -1 when the file cannot be written. */
int svg_write(const char *path, const char *title,
              const struct svg_panel *panels, size_t panel_count);

#endif
