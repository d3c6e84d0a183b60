/* Address text <-> struct xpr__addr, with no OS help so that both
 * platforms accept and print exactly the same forms. */
#include "address.h"

#include <stdio.h>
#include <string.h>

#include "xpr.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decimal number of 1..max_digits (<= 19) digits, value <= max, from
 * s[0..len). The sum is 64-bit: ten digits overflow 32 bits, the size of
 * unsigned long on Windows. */
static int parse_decimal(const char *s, size_t len, size_t max_digits,
                         uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (len == 0 || len > max_digits)
        return XPR_EINVAL;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return XPR_EINVAL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return XPR_EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t part = 0, start = 0, i;
    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            uint32_t v;
            /* no leading zeros: "010" is ambiguous (octal in inet_aton) */
            if (i - start > 1 && s[start] == '0')
                return XPR_EINVAL;
            if (part == 4 || parse_decimal(s + start, i - start, 3, 255, &v))
                return XPR_EINVAL;
            out[part++] = (uint8_t)v;
            start = i + 1;
        }
    }
    return part == 4 ? 0 : XPR_EINVAL;
}

static int parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t groups[8];
    size_t ngroups = 0, gap = (size_t)-1, i = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len >= 1 && s[0] == ':') {
        return XPR_EINVAL;
    }
    while (i < len) {
        size_t start = i;
        unsigned v = 0;
        while (i < len && hex_value(s[i]) >= 0 && i - start < 4)
            v = v * 16 + (unsigned)hex_value(s[i++]);
        if (i < len && s[i] == '.') {
            /* embedded IPv4 in the last 32 bits */
            uint8_t v4[4];
            if (ngroups > 6 || parse_ipv4(s + start, len - start, v4))
                return XPR_EINVAL;
            groups[ngroups++] = (uint16_t)(v4[0] << 8 | v4[1]);
            groups[ngroups++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = len;
            break;
        }
        if (i == start || ngroups == 8)
            return XPR_EINVAL;
        groups[ngroups++] = (uint16_t)v;
        if (i == len)
            break;
        if (s[i] != ':')
            return XPR_EINVAL;
        i++;
        if (i < len && s[i] == ':') {
            if (gap != (size_t)-1)
                return XPR_EINVAL;
            gap = ngroups;
            i++;
        } else if (i == len) {
            return XPR_EINVAL; /* trailing single ':' */
        }
    }
    if (gap == (size_t)-1 ? ngroups != 8 : ngroups > 7)
        return XPR_EINVAL;
    memset(out, 0, 16);
    {
        size_t tail = gap == (size_t)-1 ? 0 : ngroups - gap;
        size_t head = ngroups - tail;
        size_t k;
        for (k = 0; k < head; k++) {
            out[2 * k] = (uint8_t)(groups[k] >> 8);
            out[2 * k + 1] = (uint8_t)groups[k];
        }
        for (k = 0; k < tail; k++) {
            size_t pos = 8 - tail + k;
            out[2 * pos] = (uint8_t)(groups[head + k] >> 8);
            out[2 * pos + 1] = (uint8_t)groups[head + k];
        }
    }
    return 0;
}

int xpr__addr_parse_numeric(const char *text, struct xpr__addr *out)
{
    if (text != NULL && strncmp(text, "localhost:", 10) == 0)
        return XPR_EINVAL;
    return xpr__addr_parse(text, out);
}

int xpr__addr_parse(const char *text, struct xpr__addr *out)
{
    struct xpr__addr a;
    const char *colon;
    uint32_t port;

    if (text == NULL || out == NULL)
        return XPR_EINVAL;
    memset(&a, 0, sizeof(a));
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        const char *pct;
        size_t host_len;
        if (close == NULL || close[1] != ':')
            return XPR_EINVAL;
        colon = close + 1;
        host_len = (size_t)(close - text - 1);
        pct = memchr(text + 1, '%', host_len);
        if (pct != NULL) {
            uint32_t zone;
            size_t zone_len = (size_t)(close - pct - 1);
            if (parse_decimal(pct + 1, zone_len, 10, UINT32_MAX, &zone))
                return XPR_EINVAL;
            a.scope_id = zone;
            host_len = (size_t)(pct - text - 1);
        }
        if (parse_ipv6(text + 1, host_len, a.ip))
            return XPR_EINVAL;
        a.family = XPR__AF_INET6;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return XPR_EINVAL;
        if ((size_t)(colon - text) == 9 && strncmp(text, "localhost", 9) == 0) {
            a.ip[0] = 127;
            a.ip[3] = 1;
        } else if (parse_ipv4(text, (size_t)(colon - text), a.ip)) {
            return XPR_EINVAL;
        }
        a.family = XPR__AF_INET;
    }
    if (parse_decimal(colon + 1, strlen(colon + 1), 5, 65535, &port))
        return XPR_EINVAL;
    a.port = (uint16_t)port;
    *out = a;
    return 0;
}

/* RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero
 * groups, the first on a tie, as "::". */
static void format_ipv6(const uint8_t ip[16], char *out)
{
    unsigned g[8];
    int best = -1, best_len = 0, i;
    char *p = out;
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip, v4_mapped, 12) == 0) { /* RFC 5952 5: dotted quad */
        sprintf(out, "::ffff:%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
        return;
    }
    for (i = 0; i < 8; i++)
        g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
    for (i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += best_len - 1;
            continue;
        }
        p += sprintf(p, "%x", g[i]);
        if (i < 7)
            *p++ = ':';
    }
    *p = '\0';
}

int xpr__addr_format(const struct xpr__addr *addr, char *buf, size_t len)
{
    char tmp[80];
    int n;
    if (addr == NULL || buf == NULL)
        return XPR_EINVAL;
    if (addr->family == XPR__AF_INET) {
        n = snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u:%u", addr->ip[0],
                     addr->ip[1], addr->ip[2], addr->ip[3], addr->port);
    } else if (addr->family == XPR__AF_INET6) {
        char host[48];
        format_ipv6(addr->ip, host);
        if (addr->scope_id)
            n = snprintf(tmp, sizeof(tmp), "[%s%%%lu]:%u", host,
                         (unsigned long)addr->scope_id, addr->port);
        else
            n = snprintf(tmp, sizeof(tmp), "[%s]:%u", host, addr->port);
    } else {
        return XPR_EINVAL;
    }
    if (n < 0 || (size_t)n >= len)
        return XPR_EINVAL;
    memcpy(buf, tmp, (size_t)n + 1);
    return 0;
}
