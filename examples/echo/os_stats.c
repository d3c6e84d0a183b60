/*
 * Per-process figures from the OS. Linux: /proc/self/status (VmRSS, RssAnon,
 * Threads), the entries of /proc/self/fd, getrusage. Windows:
 * GetProcessMemoryInfo (working set, PrivateUsage), a Toolhelp32 snapshot of
 * the threads, GetProcessHandleCount, GetProcessTimes. Other POSIX systems:
 * getrusage's CPU time only.
 */
#include <stdio.h>
#include <string.h>

#include "os_stats.h"

static void set_unknown(struct os_stats *s)
{
    s->cpu_us = s->rss_bytes = s->private_bytes = OS_STATS_UNKNOWN;
    s->threads = s->handles = OS_STATS_UNKNOWN;
}

#ifdef _WIN32
#include <windows.h>

#include <psapi.h>
#include <tlhelp32.h>

static uint64_t filetime_us(const FILETIME *ft)
{
    ULARGE_INTEGER v;

    v.LowPart = ft->dwLowDateTime;
    v.HighPart = ft->dwHighDateTime;
    return v.QuadPart / 10u; /* 100 ns units */
}

static uint64_t count_own_threads(void)
{
    DWORD pid = GetCurrentProcessId();
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    THREADENTRY32 te;
    uint64_t n = 0;

    if (snap == INVALID_HANDLE_VALUE)
        return OS_STATS_UNKNOWN;
    te.dwSize = sizeof te;
    if (Thread32First(snap, &te)) {
        do {
            if (te.th32OwnerProcessID == pid)
                n++;
            te.dwSize = sizeof te;
        } while (Thread32Next(snap, &te));
    }
    CloseHandle(snap);
    return n > 0 ? n : OS_STATS_UNKNOWN;
}

int os_stats_self(struct os_stats *s)
{
    HANDLE self = GetCurrentProcess();
    PROCESS_MEMORY_COUNTERS_EX pmc;
    FILETIME created, exited, kernel, user;
    DWORD handles;
    int got = 0;

    set_unknown(s);
    memset(&pmc, 0, sizeof pmc);
    pmc.cb = sizeof pmc;
    if (GetProcessMemoryInfo(self, (PROCESS_MEMORY_COUNTERS *)&pmc,
                             sizeof pmc)) {
        s->rss_bytes = pmc.WorkingSetSize;
        /* A process always has private bytes; 0 is a figure not kept (Wine
         * fills it from swap use only). */
        if (pmc.PrivateUsage > 0)
            s->private_bytes = pmc.PrivateUsage;
        got = 1;
    }
    if (GetProcessTimes(self, &created, &exited, &kernel, &user)) {
        s->cpu_us = filetime_us(&kernel) + filetime_us(&user);
        got = 1;
    }
    /* 0 handles is a count not kept (Wine): the process holds some. */
    if (GetProcessHandleCount(self, &handles) && handles > 0)
        s->handles = handles;
    s->threads = count_own_threads();
    return got ? 0 : -1;
}

uint64_t os_raise_descriptor_limit(void)
{
    return 0;
}

#else
#include <dirent.h>
#include <sys/resource.h>
#include <sys/time.h>

static uint64_t timeval_us(const struct timeval *tv)
{
    return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

#ifdef __linux__
/* "VmRSS:	    1234 kB" and "Threads:	3" lines of /proc/self/status.
 */
static void read_proc_status(struct os_stats *s)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long v;

    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
            s->rss_bytes = (uint64_t)v * 1024u;
        else if (sscanf(line, "RssAnon: %llu kB", &v) == 1)
            s->private_bytes = (uint64_t)v * 1024u;
        else if (sscanf(line, "Threads: %llu", &v) == 1)
            s->threads = (uint64_t)v;
    }
    fclose(f);
}

/* Open descriptors: the entries of /proc/self/fd, less the one reading it. */
static uint64_t count_own_descriptors(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t n = 0;

    if (d == NULL)
        return OS_STATS_UNKNOWN;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n > 0 ? n - 1 : 0;
}
#endif

int os_stats_self(struct os_stats *s)
{
    struct rusage ru;

    set_unknown(s);
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    s->cpu_us = timeval_us(&ru.ru_utime) + timeval_us(&ru.ru_stime);
#ifdef __linux__
    read_proc_status(s);
    s->handles = count_own_descriptors();
#endif
    return 0;
}

uint64_t os_raise_descriptor_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}
#endif
