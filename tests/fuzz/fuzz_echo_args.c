/*
 * libFuzzer target for xpr-echo's option parser (examples/echo/args.c).
 *
 * The input is split at NUL bytes into argv[1..] for a table with every
 * option type, one required option and one alias. args_parse must return
 * ARGS_OK, ARGS_EXIT_HELP or ARGS_EXIT_USAGE; on ARGS_OK the required option
 * is set and every number lies within its option's range. args_parse prints
 * help and complaints; ci/fuzz.sh runs this target with -close_fd_mask=3.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

#define MAX_ARGS 32
#define COUNT_MIN 1
#define COUNT_MAX 100000
#define RATE_MIN 0.1
#define RATE_MAX 86400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct values {
    const char *address;
    const char *name;
    uint64_t count;
    uint64_t size;
    double rate;
    int verbose;
};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_echo_args: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct values v;
    const struct arg_option options[] = {
        {"--connect", NULL, ARG_STRING, &v.address, 0, 0, 1, "ADDR", "address"},
        {"--count", NULL, ARG_UINT, &v.count, COUNT_MIN, COUNT_MAX, 0, "N",
         "a bounded count"},
        {"--size", NULL, ARG_UINT, &v.size, 0, 18446744073709551615.0, 0,
         "BYTES", "any 64-bit count"},
        {"--rate", NULL, ARG_REAL, &v.rate, RATE_MIN, RATE_MAX, 0, "S",
         "a real number"},
        {"--name", NULL, ARG_STRING, &v.name, 0, 0, 0, "NAME", "a string"},
        {"--verbose", "-v", ARG_FLAG, &v.verbose, 0, 0, 0, NULL, "a flag"},
    };
    const struct arg_command cmd = {"fuzz", "The fuzz target's command.",
                                    options,
                                    sizeof options / sizeof options[0]};
    char *argv[MAX_ARGS + 1];
    char *copy = malloc(size + 1);
    size_t start = 0, i;
    int argc = 1, rc;

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    argv[0] = (char *)"fuzz";
    for (i = 0; i <= size && argc < MAX_ARGS; i++) {
        if (copy[i] == '\0') {
            argv[argc++] = copy + start;
            start = i + 1;
        }
    }
    argv[argc] = NULL;

    memset(&v, 0, sizeof(v));
    v.rate = RATE_MIN;
    rc = args_parse(&cmd, argc, argv);
    if (rc == ARGS_OK) {
        if (v.address == NULL || v.address[0] == '\0')
            fail("ARGS_OK without the required option");
        if (v.name != NULL && v.name[0] == '\0')
            fail("an empty string value was accepted");
        if (v.count != 0 && (v.count < COUNT_MIN || v.count > COUNT_MAX))
            fail("a count out of range was accepted");
        if (!isfinite(v.rate) || v.rate < RATE_MIN || v.rate > RATE_MAX)
            fail("a rate out of range was accepted");
        if (v.verbose != 0 && v.verbose != 1)
            fail("a flag holds neither 0 nor 1");
    } else if (rc != ARGS_EXIT_HELP && rc != ARGS_EXIT_USAGE) {
        fail("args_parse returned an unknown status");
    }
    free(copy);
    return 0;
}
