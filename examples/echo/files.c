/* mkdir -p (_mkdir on Windows, mkdir elsewhere; '/' or '\\' separate) and
 * a patient remove. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "process.h"

#ifdef _WIN32
#include <direct.h>
#define make_dir(path) _mkdir(path)
#else
#define make_dir(path) mkdir(path, 0777)
#endif

static int make_one(const char *path)
{
    struct stat st;

    if (make_dir(path) == 0 || errno == EEXIST)
        return stat(path, &st) == 0 && (st.st_mode & S_IFDIR) ? 0 : -1;
    return -1;
}

int files_make_dirs(const char *path)
{
    char buf[1024];
    size_t len = strlen(path), i;

    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, path, len + 1);
    for (i = 1; i < len; i++) {
        if (buf[i] != '/' && buf[i] != '\\')
            continue;
        if (buf[i - 1] == ':' || buf[i - 1] == '/' || buf[i - 1] == '\\')
            continue; /* "C:\", "//" */
        buf[i] = '\0';
        if (make_one(buf) != 0)
            return -1;
        buf[i] = path[i];
    }
    return make_one(buf);
}

int files_remove(const char *path)
{
    int tries;

    for (tries = 0; tries < 20; tries++) {
        if (remove(path) == 0 || errno == ENOENT)
            return 0;
        process_sleep_ms(50);
    }
    return -1;
}
