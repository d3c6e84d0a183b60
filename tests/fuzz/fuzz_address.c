/*
 * libFuzzer target for the address parser and formatter (portable/address.c).
 *
 * Every input is parsed as text. When the parser accepts it, the address is
 * formatted, and the text must parse back to the same address and format to
 * the same text. Inputs of at least RAW_LEN bytes also fill a struct
 * xpr__addr field by field, which must survive the same round trip. Each
 * formatted address is also formatted into every buffer one byte too small
 * and shorter: the formatter must refuse without writing, and writing past a
 * heap buffer of exactly that size is an ASan report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "xpr.h"

/* family selector, 16 ip bytes, 2 port bytes, 4 scope bytes */
#define RAW_LEN 23
#define CANARY 0x5a

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_address: %s: \"%s\"\n", what, text);
    abort();
}

static int same_address(const struct xpr__addr *a, const struct xpr__addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0 &&
           a->port == b->port && a->scope_id == b->scope_id;
}

/* Formatting into len bytes (len <= the text's length) fails, untouched. */
static void check_too_small(const struct xpr__addr *addr, const char *text,
                            size_t len)
{
    char *buf = malloc(len); /* ASan: a valid, 0-byte block for len 0 */
    size_t i;
    if (buf == NULL && len > 0)
        abort();
    memset(buf, CANARY, len);
    if (xpr__addr_format(addr, buf, len) != XPR_EINVAL)
        fail("format into a short buffer succeeded", text);
    for (i = 0; i < len; i++) {
        if ((unsigned char)buf[i] != CANARY)
            fail("format into a short buffer wrote to it", text);
    }
    free(buf);
}

/* addr formats, within XPR_ADDRSTRLEN and only into a buffer that holds the
 * text and its NUL, and parses back to itself. */
static void check_round_trip(const struct xpr__addr *addr)
{
    char text[XPR_ADDRSTRLEN];
    char again[XPR_ADDRSTRLEN];
    struct xpr__addr reparsed;
    size_t text_len, len;
    char *exact;

    if (xpr__addr_format(addr, text, sizeof(text)) != 0)
        fail("format failed", "(binary address)");
    text_len = strlen(text);
    for (len = 0; len <= text_len; len++)
        check_too_small(addr, text, len);

    exact = malloc(text_len + 1);
    if (exact == NULL)
        abort();
    if (xpr__addr_format(addr, exact, text_len + 1) != 0 ||
        strcmp(exact, text) != 0)
        fail("format into an exact buffer differs", text);
    free(exact);

    memset(&reparsed, 0, sizeof(reparsed));
    if (xpr__addr_parse(text, &reparsed) != 0)
        fail("formatted text does not parse", text);
    if (!same_address(addr, &reparsed))
        fail("formatted text parses to another address", text);
    if (xpr__addr_format(&reparsed, again, sizeof(again)) != 0 ||
        strcmp(again, text) != 0)
        fail("formatting is not stable", text);
}

/* The input as a struct, for addresses the parser reaches only rarely. */
static void check_raw(const uint8_t *data)
{
    struct xpr__addr addr;
    memset(&addr, 0, sizeof(addr));
    addr.family = data[0] & 1 ? XPR__AF_INET6 : XPR__AF_INET;
    if (addr.family == XPR__AF_INET) {
        memcpy(addr.ip, data + 1, 4);
    } else {
        memcpy(addr.ip, data + 1, 16);
        addr.scope_id = (uint32_t)data[19] << 24 | (uint32_t)data[20] << 16 |
                        (uint32_t)data[21] << 8 | data[22];
    }
    addr.port = (uint16_t)(data[17] << 8 | data[18]);
    check_round_trip(&addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xpr__addr addr;
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&addr, 0, sizeof(addr));
    if (xpr__addr_parse(text, &addr) == 0) {
        if (addr.family != XPR__AF_INET && addr.family != XPR__AF_INET6)
            fail("parsed to an unknown family", text);
        check_round_trip(&addr);
    }
    free(text);
    if (size >= RAW_LEN)
        check_raw(data);
    return 0;
}
