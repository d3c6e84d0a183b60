/* The sub-commands of xpr-echo and what they share. */
#ifndef ECHO_ECHO_H
#define ECHO_ECHO_H

#include <xpr.h>

/* Where the server listens and the clients connect unless told otherwise. */
#define ECHO_DEFAULT_ADDRESS "127.0.0.1:5150"

/* Each takes argv[0] = sub-command name and returns the exit status:
 * 0 success, 1 runtime failure, 2 bad arguments. */
int server_main(int argc, char **argv);
int client_main(int argc, char **argv);
int bench_main(int argc, char **argv);
int compare_main(int argc, char **argv);

/*
 * Creates a loop from cfg: its back end by name (NULL: XPR_BACKEND or the
 * platform default) and any other field the command's options set. On
 * failure prints a one-line reason and returns the exit status to leave
 * with: 2 for a back end this build lacks, an unknown name or a config the
 * back end refuses, 1 for other failures. Returns 0 on success.
 */
int echo_loop_new(const char *cmd, const struct xpr_loop_config *cfg,
                  xpr_loop **loop_out);

#endif
