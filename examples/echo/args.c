#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

void args_complain(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "xpr-echo %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void print_usage_line(const struct arg_command *cmd, FILE *out)
{
    size_t i;

    fprintf(out, "usage: xpr-echo %s", cmd->name);
    for (i = 0; i < cmd->option_count; i++) {
        const struct arg_option *opt = &cmd->options[i];
        const char *open = opt->required ? "" : "[";
        const char *close = opt->required ? "" : "]";

        if (opt->metavar != NULL)
            fprintf(out, " %s%s %s%s", open, opt->name, opt->metavar, close);
        else
            fprintf(out, " %s%s%s", open, opt->alias ? opt->alias : opt->name,
                    close);
    }
    fputc('\n', out);
}

void args_print_help(const struct arg_command *cmd, FILE *out)
{
    size_t i;

    print_usage_line(cmd, out);
    fprintf(out, "\n%s\n\noptions:\n", cmd->summary);
    for (i = 0; i < cmd->option_count; i++) {
        const struct arg_option *opt = &cmd->options[i];
        char left[64];

        if (opt->alias != NULL)
            snprintf(left, sizeof left, "%s, %s", opt->alias, opt->name);
        else if (opt->metavar != NULL)
            snprintf(left, sizeof left, "%s %s", opt->name, opt->metavar);
        else
            snprintf(left, sizeof left, "%s", opt->name);
        fprintf(out, "  %-26s %s\n", left, opt->help);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help and exit");
}

static const struct arg_option *find_option(const struct arg_command *cmd,
                                            const char *name, size_t name_len)
{
    size_t i;

    for (i = 0; i < cmd->option_count; i++) {
        const struct arg_option *opt = &cmd->options[i];

        if (strlen(opt->name) == name_len &&
            strncmp(opt->name, name, name_len) == 0)
            return opt;
        if (opt->alias != NULL && strlen(opt->alias) == name_len &&
            strncmp(opt->alias, name, name_len) == 0)
            return opt;
    }
    return NULL;
}

static int parse_uint(const char *text, uint64_t *out)
{
    unsigned long long v;
    const char *c;
    char *end;

    if (*text == '\0')
        return -1;
    for (c = text; *c != '\0'; c++)
        if (*c < '0' || *c > '9')
            return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_real(const char *text, double *out)
{
    char *end;
    double v;

    if (*text == '\0')
        return -1;
    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int store_value(const struct arg_command *cmd,
                       const struct arg_option *opt, const char *text)
{
    uint64_t u;
    double d;

    switch (opt->type) {
    case ARG_STRING:
        if (*text == '\0') {
            args_complain(cmd->name, "%s: empty value", opt->name);
            return -1;
        }
        *(const char **)opt->value = text;
        return 0;
    case ARG_UINT:
        if (parse_uint(text, &u) != 0) {
            args_complain(cmd->name, "%s: '%s' is not a non-negative integer",
                          opt->name, text);
            return -1;
        }
        if ((double)u < opt->min || (double)u > opt->max) {
            args_complain(cmd->name, "%s: %s is out of range (%.0f..%.0f)",
                          opt->name, text, opt->min, opt->max);
            return -1;
        }
        *(uint64_t *)opt->value = u;
        return 0;
    case ARG_REAL:
        if (parse_real(text, &d) != 0) {
            args_complain(cmd->name, "%s: '%s' is not a number", opt->name,
                          text);
            return -1;
        }
        if (d < opt->min || d > opt->max) {
            args_complain(cmd->name, "%s: %s is out of range (%g..%g)",
                          opt->name, text, opt->min, opt->max);
            return -1;
        }
        *(double *)opt->value = d;
        return 0;
    case ARG_FLAG:
        break;
    }
    return -1;
}

int args_parse(const struct arg_command *cmd, int argc, char **argv)
{
    unsigned char seen[64] = {0};
    size_t i;
    int a;

    for (a = 1; a < argc; a++) {
        const char *arg = argv[a];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct arg_option *opt;
        const char *value;

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            args_print_help(cmd, stdout);
            return ARGS_EXIT_HELP;
        }
        if (arg[0] != '-') {
            args_complain(cmd->name, "unexpected argument '%s' (see --help)",
                          arg);
            return ARGS_EXIT_USAGE;
        }
        opt = find_option(cmd, arg, name_len);
        if (opt == NULL) {
            args_complain(cmd->name, "unknown option '%.*s' (see --help)",
                          (int)name_len, arg);
            return ARGS_EXIT_USAGE;
        }
        if (opt->type == ARG_FLAG) {
            if (eq != NULL) {
                args_complain(cmd->name, "%s takes no value", opt->name);
                return ARGS_EXIT_USAGE;
            }
            *(int *)opt->value = 1;
        } else {
            if (eq != NULL) {
                value = eq + 1;
            } else if (a + 1 < argc) {
                value = argv[++a];
            } else {
                args_complain(cmd->name, "%s needs a value (%s)", opt->name,
                              opt->metavar);
                return ARGS_EXIT_USAGE;
            }
            if (store_value(cmd, opt, value) != 0)
                return ARGS_EXIT_USAGE;
        }
        i = (size_t)(opt - cmd->options);
        if (i < sizeof seen)
            seen[i] = 1;
    }
    for (i = 0; i < cmd->option_count && i < sizeof seen; i++) {
        if (cmd->options[i].required && !seen[i]) {
            args_complain(cmd->name, "missing required option %s %s",
                          cmd->options[i].name, cmd->options[i].metavar);
            return ARGS_EXIT_USAGE;
        }
    }
    return ARGS_OK;
}
