/* SVG bar charts for xpr-echo compare, in the style of ci/bench-chart.sh. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg.h"

#define WIDTH 760
#define LABEL_WIDTH 160
#define BAR_HEIGHT 16
#define BAR_GAP 4
#define PANEL_HEAD 28
#define PANEL_GAP 16

static void put_escaped(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

/* 1234567.8 with 1 decimal -> "1,234,567.8" */
static void format_grouped(char *buf, size_t len, double v, int decimals)
{
    char digits[64];
    const char *point;
    size_t int_len, i, out = 0;

    snprintf(digits, sizeof digits, "%.*f", decimals, v);
    point = strchr(digits, '.');
    int_len = point ? (size_t)(point - digits) : strlen(digits);
    for (i = 0; digits[i] != '\0' && out + 2 < len; i++) {
        if (i > 0 && i < int_len && (int_len - i) % 3 == 0 &&
            digits[i - 1] != '-')
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
}

static int has_value(double v)
{
    return !isnan(v) && v >= 0;
}

static const char *bar_colour(const char *label)
{
    if (strncmp(label, "iocp", 4) == 0)
        return "#1f77b4";
    if (strncmp(label, "libevent", 8) == 0)
        return "#ff7f0e";
    return "#7f7f7f";
}

static void put_panel(FILE *f, const struct svg_panel *p, int *y)
{
    const int plot = WIDTH - LABEL_WIDTH - 110;
    double top = 0;
    size_t i;

    for (i = 0; i < p->count; i++)
        if (has_value(p->values[i]) && p->values[i] > top)
            top = p->values[i];
    fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">", *y + 16);
    put_escaped(f, p->title);
    fputs("</text>\n", f);
    *y += PANEL_HEAD;
    for (i = 0; i < p->count; i++) {
        double v = p->values[i];
        double len = has_value(v) && top > 0 ? v / top * plot : 0;
        char text[64];

        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                LABEL_WIDTH - 6, *y + BAR_HEIGHT - 4);
        put_escaped(f, p->labels[i]);
        fputs("</text>\n", f);
        if (has_value(v))
            format_grouped(text, sizeof text, v, p->decimals);
        else
            snprintf(text, sizeof text, "n/a");
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                "fill=\"%s\"/>\n",
                LABEL_WIDTH, *y, len, BAR_HEIGHT, bar_colour(p->labels[i]));
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%s</text>\n",
                LABEL_WIDTH + len + 4, *y + BAR_HEIGHT - 4, text);
        *y += BAR_HEIGHT + BAR_GAP;
    }
    *y += PANEL_GAP;
}

int svg_write(const char *path, const char *title,
              const struct svg_panel *panels, size_t panel_count)
{
    FILE *f = fopen(path, "w");
    int height = 40, y = 40;
    size_t i;

    if (f == NULL)
        return -1;
    for (i = 0; i < panel_count; i++)
        height += PANEL_HEAD + PANEL_GAP +
                  (int)panels[i].count * (BAR_HEIGHT + BAR_GAP);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            WIDTH, height);
    fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", f);
    fputs("<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", f);
    put_escaped(f, title);
    fputs("</text>\n", f);
    for (i = 0; i < panel_count; i++)
        put_panel(f, &panels[i], &y);
    fputs("</svg>\n", f);
    return fclose(f) == 0 ? 0 : -1;
}
