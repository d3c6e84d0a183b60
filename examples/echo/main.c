/*
 * xpr-echo: the echo server, the classic interactive echo client and a load
 * generator, all on xpr. This file only dispatches to the sub-commands.
 */
#include <stdio.h>
#include <string.h>

#include "echo.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"server", server_main, "echo every byte back to every client"},
    {"client", client_main, "interactive echo client, line by line"},
    {"bench", bench_main, "load generator that verifies every echoed byte"},
    {"compare", compare_main,
     "the classic comparison: every back end ramped and loaded"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_backends(FILE *out)
{
    size_t i;

    fprintf(out, "back ends in this build:");
    for (i = 0; i < xpr_backend_count(); i++)
        fprintf(out, " %s", xpr_backend_name_at(i));
    fprintf(out, " (default %s; XPR_BACKEND overrides it)\n",
            xpr_backend_default());
}

static void print_help(FILE *out)
{
    size_t i;

    fprintf(out, "usage: xpr-echo <command> [options]\n\ncommands:\n");
    for (i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nrun 'xpr-echo <command> --help' for its options.\n");
    print_backends(out);
    fprintf(out, "xpr %s\n", XPR_VERSION_STRING);
}

int echo_loop_new(const char *cmd, const struct xpr_loop_config *cfg,
                  xpr_loop **loop_out)
{
    const char *backend = cfg->backend;
    int rc;

    if (backend != NULL) {
        rc = xpr_backend_supported(backend);
        if (rc != 0) {
            fprintf(stderr, "xpr-echo %s: --backend %s: %s\n", cmd, backend,
                    rc == XPR_EINVAL
                        ? "unknown back end"
                        : "not in this build (the Winsock back ends are "
                          "Windows only; the libevent ones need libevent at "
                          "build time)");
            print_backends(stderr);
            return 2;
        }
    }
    rc = xpr_loop_new(loop_out, cfg);
    if (rc != 0) {
        fprintf(stderr, "xpr-echo %s: cannot create loop on back end %s: %s\n",
                cmd, backend ? backend : xpr_backend_default(),
                xpr_strerror(rc));
        return rc == XPR_ENOTSUP || rc == XPR_EINVAL ? 2 : 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        fprintf(stderr,
                "xpr-echo: missing command (server, client, bench, compare; "
                "see --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("xpr-echo %s\n", XPR_VERSION_STRING);
        return 0;
    }
    for (i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "xpr-echo: unknown command '%s' (see --help)\n", argv[1]);
    return 2;
}
