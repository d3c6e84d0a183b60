/* Directories and files for xpr-echo compare. */
#ifndef ECHO_FILES_H
#define ECHO_FILES_H

/* Creates path and its missing parents ("docs/compare/linux"). 0 or -1. */
int files_make_dirs(const char *path);

/* Removes path, retrying for up to a second: on Windows a file stays locked
 * for a moment after the process that had it open has ended. 0 or -1. */
int files_remove(const char *path);

#endif
