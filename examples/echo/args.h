/*
 * Table-driven option parsing for the sub-commands. Options are long
 * ("--size 4096" or "--size=4096"), optionally with a short alias ("-v").
 * Every sub-command answers --help / -h from its table.
 */
#ifndef ECHO_ARGS_H
#define ECHO_ARGS_H

#include <stdint.h>
#include <stdio.h>

/* printf-style checking; mingw-w64 builds use C99 formats (see meson.build):
 * gcc says so with gnu_printf, clang checks C99 formats under "printf". */
#if defined(__MINGW32__) && !defined(__clang__)
#define ECHO_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define ECHO_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define ECHO_PRINTF(fmt, args)
#endif

enum arg_type {
    ARG_FLAG,   /* int *: set to 1 */
    ARG_STRING, /* const char **: points into argv */
    ARG_UINT,   /* uint64_t *: decimal digits only, within [min, max] */
    ARG_REAL    /* double *: a finite number within [min, max] */
};

struct arg_option {
    const char *name;  /* "--listen" */
    const char *alias; /* "-v" or NULL */
    enum arg_type type;
    void *value;
    double min, max; /* ARG_UINT and ARG_REAL */
    int required;
    const char *metavar; /* "ADDR"; NULL for flags */
    const char *help;
};

struct arg_command {
    const char *name;    /* "server" */
    const char *summary; /* one line, shown by --help */
    const struct arg_option *options;
    size_t option_count;
};

enum { ARGS_OK = -1, ARGS_EXIT_HELP = 0, ARGS_EXIT_USAGE = 2 };

/*
 * Parses argv[1..argc) into the destinations of cmd's options (argv[0] is the
 * sub-command name). Returns ARGS_OK, or the exit status to leave with:
 * ARGS_EXIT_HELP after printing --help to stdout, ARGS_EXIT_USAGE after
 * printing a one-line reason to stderr.
 */
int args_parse(const struct arg_command *cmd, int argc, char **argv);

void args_print_help(const struct arg_command *cmd, FILE *out);

/* Prints "xpr-echo CMD: <message>" and a newline to stderr. */
void args_complain(const char *cmd, const char *fmt, ...) ECHO_PRINTF(2, 3);

#endif
