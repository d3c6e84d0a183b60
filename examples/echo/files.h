/* Directories for the files xpr-echo compare writes. */
#ifndef ECHO_FILES_H
#define ECHO_FILES_H

/* Creates path and its missing parents ("docs/compare/linux"). 0 or -1. */
int files_make_dirs(const char *path);

#endif
