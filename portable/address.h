/* Socket addresses as xpr holds them, and their text form. No OS headers:
 * the socket layer converts to and from struct sockaddr. */
#ifndef XPR_ADDRESS_H
#define XPR_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

enum { XPR__AF_INET = 4, XPR__AF_INET6 = 6 };

struct xpr__addr {
    int family;        /* XPR__AF_INET or XPR__AF_INET6 */
    uint8_t ip[16];    /* network order; IPv4 uses the first 4 bytes */
    uint16_t port;     /* host order */
    uint32_t scope_id; /* IPv6 zone index, 0 when none */
};

/*
 * Parses "a.b.c.d:port", "[v6]:port" (with "%zone" as a number) or
 * "localhost:port" (= 127.0.0.1). The port is required, 0..65535.
 * Returns 0 or XPR_EINVAL.
 */
int xpr__addr_parse(const char *text, struct xpr__addr *out);
/* The same without "localhost": numeric addresses only. */
int xpr__addr_parse_numeric(const char *text, struct xpr__addr *out);

/*
 * Writes "a.b.c.d:port" or "[v6]:port" (RFC 5952 form) into buf.
 * Returns 0, or XPR_EINVAL when buf is NULL or too small (nothing truncated).
 */
int xpr__addr_format(const struct xpr__addr *addr, char *buf, size_t len);

#endif
