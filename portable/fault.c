/* The fault-injection seam (portable/fault.h); built only with
 * -Dfault_injection=true. */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "xpr_sys.h"

static const char *const site_names[XPR__FAULT_SITES] = {
    "socket", "bind",    "listen", "accept", "connect", "recv",
    "send",   "sockopt", "alloc",  "wait",   "watch",
};

struct site_state {
    uint64_t calls;
    uint64_t injected;
    uint64_t shortened; /* recv and send made short */
    unsigned armed_skip;
    unsigned armed_count;
};

/* One lock over everything: the generator's state is shared by every thread
 * so that a seed gives one sequence of draws per run. */
static struct {
    xpr__mutex lock;
    double rate;
    double short_rate;
    unsigned sites;
    uint64_t rng;
    struct site_state site[XPR__FAULT_SITES];
} state;

static xpr__once_flag init_once = XPR__ONCE_INIT;

static double env_probability(const char *name)
{
    const char *v = getenv(name);
    double p = v != NULL ? strtod(v, NULL) : 0.0;
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

static unsigned parse_sites(const char *list)
{
    unsigned sites = 0;
    const char *p = list;
    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ",");
        int i;
        if (len == 3 && strncmp(p, "all", 3) == 0)
            sites = (1u << XPR__FAULT_SITES) - 1;
        for (i = 0; i < XPR__FAULT_SITES; i++)
            if (strlen(site_names[i]) == len &&
                strncmp(p, site_names[i], len) == 0)
                sites |= 1u << i;
        p += len;
        if (*p == ',')
            p++;
    }
    return sites;
}

static void reset_counts(void)
{
    memset(state.site, 0, sizeof(state.site));
}

static void report(void)
{
    int i;
    fprintf(stderr, "xpr-fault: site calls/failed/short:");
    for (i = 0; i < XPR__FAULT_SITES; i++)
        fprintf(stderr, " %s %llu/%llu/%llu", site_names[i],
                (unsigned long long)state.site[i].calls,
                (unsigned long long)state.site[i].injected,
                (unsigned long long)state.site[i].shortened);
    fprintf(stderr, "\n");
}

static void init(void)
{
    const char *sites = getenv("XPR_FAULT_SITES");
    const char *seed = getenv("XPR_FAULT_SEED");
    const char *rep = getenv("XPR_FAULT_REPORT");
    xpr__mutex_init(&state.lock);
    state.rate = env_probability("XPR_FAULT_RATE");
    state.short_rate = env_probability("XPR_FAULT_SHORT");
    state.sites = parse_sites(sites != NULL ? sites : "all");
    state.rng = seed != NULL ? strtoull(seed, NULL, 10) : 1;
    if (state.rng == 0)
        state.rng = 1;
    if (rep != NULL && rep[0] != '\0')
        atexit(report);
}

/* xorshift64*: small, fast and good enough to scatter faults. */
static double draw(void)
{
    uint64_t x = state.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.rng = x;
    return (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

int xpr__fault(enum xpr__fault_site site)
{
    struct site_state *s;
    int fail = 0;
    xpr__call_once(&init_once, init);
    xpr__mutex_lock(&state.lock);
    s = &state.site[site];
    s->calls++;
    if (s->armed_skip > 0) {
        s->armed_skip--;
    } else if (s->armed_count > 0) {
        s->armed_count--;
        fail = 1;
    } else if ((state.sites & (1u << site)) && state.rate > 0.0) {
        fail = draw() < state.rate;
    }
    if (fail)
        s->injected++;
    xpr__mutex_unlock(&state.lock);
    return fail;
}

size_t xpr__fault_short(enum xpr__fault_site site, size_t len)
{
    size_t n = len;
    if (len < 2)
        return len;
    xpr__call_once(&init_once, init);
    xpr__mutex_lock(&state.lock);
    if (state.short_rate > 0.0 && draw() < state.short_rate) {
        n = 1 + (size_t)(draw() * (double)(len - 1));
        if (n >= len)
            n = len - 1;
        state.site[site].shortened++;
    }
    xpr__mutex_unlock(&state.lock);
    return n;
}

void xpr__fault_configure(double rate, unsigned sites, double short_rate,
                          uint64_t seed)
{
    xpr__call_once(&init_once, init);
    xpr__mutex_lock(&state.lock);
    state.rate = rate;
    state.sites = sites;
    state.short_rate = short_rate;
    state.rng = seed != 0 ? seed : 1;
    reset_counts();
    xpr__mutex_unlock(&state.lock);
}

void xpr__fault_arm(enum xpr__fault_site site, unsigned skip, unsigned count)
{
    xpr__call_once(&init_once, init);
    xpr__mutex_lock(&state.lock);
    state.site[site].armed_skip = skip;
    state.site[site].armed_count = count;
    xpr__mutex_unlock(&state.lock);
}

uint64_t xpr__fault_calls(enum xpr__fault_site site)
{
    uint64_t n;
    xpr__call_once(&init_once, init);
    xpr__mutex_lock(&state.lock);
    n = state.site[site].calls;
    xpr__mutex_unlock(&state.lock);
    return n;
}

uint64_t xpr__fault_injected(enum xpr__fault_site site)
{
    uint64_t n;
    xpr__call_once(&init_once, init);
    xpr__mutex_lock(&state.lock);
    n = state.site[site].injected;
    xpr__mutex_unlock(&state.lock);
    return n;
}

const char *xpr__fault_site_name(enum xpr__fault_site site)
{
    return (unsigned)site < XPR__FAULT_SITES ? site_names[site] : "?";
}

void *xpr__malloc(size_t size)
{
    return xpr__fault(XPR__FAULT_ALLOC) ? NULL : malloc(size);
}

void *xpr__calloc(size_t count, size_t size)
{
    return xpr__fault(XPR__FAULT_ALLOC) ? NULL : calloc(count, size);
}

void *xpr__realloc(void *p, size_t size)
{
    return xpr__fault(XPR__FAULT_ALLOC) ? NULL : realloc(p, size);
}
