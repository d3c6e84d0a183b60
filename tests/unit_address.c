/* Unit tests of the address parser and formatter (portable/address.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "xpr.h"

/* Parses text and formats it back; asserts the result is expected. */
static void assert_round_trip(const char *text, const char *expected)
{
    struct xpr__addr addr;
    char buf[XPR_ADDRSTRLEN];

    memset(&addr, 0, sizeof(addr));
    if (xpr__addr_parse(text, &addr) != 0) {
        fail_msg("rejected \"%s\"", text);
    }
    assert_int_equal(xpr__addr_format(&addr, buf, sizeof(buf)), 0);
    if (strcmp(buf, expected) != 0) {
        fail_msg("\"%s\" formats as \"%s\", expected \"%s\"", text, buf,
                 expected);
    }
}

static void assert_rejected(const char *text)
{
    struct xpr__addr addr;
    int rc;

    memset(&addr, 0xab, sizeof(addr));
    rc = xpr__addr_parse(text, &addr);
    if (rc != XPR_EINVAL) {
        fail_msg("\"%s\": expected XPR_EINVAL, got %d", text ? text : "NULL",
                 rc);
    }
}

static void test_ipv4_fields(void **state)
{
    struct xpr__addr addr;
    const uint8_t ip[4] = {10, 0, 255, 7};
    (void)state;

    assert_int_equal(xpr__addr_parse("10.0.255.7:5150", &addr), 0);
    assert_int_equal(addr.family, XPR__AF_INET);
    assert_memory_equal(addr.ip, ip, 4);
    assert_int_equal(addr.port, 5150);
}

static void test_ipv4_round_trips(void **state)
{
    (void)state;
    assert_round_trip("127.0.0.1:5150", "127.0.0.1:5150");
    assert_round_trip("0.0.0.0:0", "0.0.0.0:0");
    assert_round_trip("255.255.255.255:65535", "255.255.255.255:65535");
    assert_round_trip("1.2.3.4:1", "1.2.3.4:1");
}

static void test_localhost_is_ipv4_loopback(void **state)
{
    struct xpr__addr addr;
    const uint8_t loopback[4] = {127, 0, 0, 1};
    (void)state;

    assert_int_equal(xpr__addr_parse("localhost:8080", &addr), 0);
    assert_int_equal(addr.family, XPR__AF_INET);
    assert_memory_equal(addr.ip, loopback, 4);
    assert_int_equal(addr.port, 8080);
    assert_round_trip("localhost:0", "127.0.0.1:0");
}

static void test_ipv6_fields(void **state)
{
    struct xpr__addr addr;
    const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t mapped[16] = {0, 0, 0,    0,    0, 0, 0, 0,
                                0, 0, 0xff, 0xff, 1, 2, 3, 4};
    const uint8_t link_local[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                    0,    0,    0, 0, 0, 0, 0, 1};
    (void)state;

    assert_int_equal(xpr__addr_parse("[::1]:443", &addr), 0);
    assert_int_equal(addr.family, XPR__AF_INET6);
    assert_memory_equal(addr.ip, loopback, 16);
    assert_int_equal(addr.port, 443);
    assert_int_equal(addr.scope_id, 0);

    assert_int_equal(xpr__addr_parse("[::ffff:1.2.3.4]:80", &addr), 0);
    assert_int_equal(addr.family, XPR__AF_INET6);
    assert_memory_equal(addr.ip, mapped, 16);

    assert_int_equal(xpr__addr_parse("[fe80::1%2]:80", &addr), 0);
    assert_int_equal(addr.family, XPR__AF_INET6);
    assert_memory_equal(addr.ip, link_local, 16);
    assert_int_equal(addr.scope_id, 2);
    assert_int_equal(addr.port, 80);
}

static void test_ipv6_round_trips(void **state)
{
    (void)state;
    assert_round_trip("[::]:0", "[::]:0");
    assert_round_trip("[::1]:5150", "[::1]:5150");
    assert_round_trip("[1::]:1", "[1::]:1");
    assert_round_trip("[fe80::1%2]:80", "[fe80::1%2]:80");
    assert_round_trip("[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80");
    assert_round_trip("[1:2:3:4:5:6:7:8]:9", "[1:2:3:4:5:6:7:8]:9");
    assert_round_trip("[0:0:0:0:0:0:0:1]:80", "[::1]:80");
}

/* RFC 5952: lowercase, no leading zeros, the longest run of two or more
 * zero fields compressed (the first of equal runs), a lone zero field
 * not compressed. */
static void test_ipv6_rfc5952_form(void **state)
{
    (void)state;
    assert_round_trip("[2001:DB8::1]:80", "[2001:db8::1]:80");
    assert_round_trip("[2001:0db8:0000:0000:0000:0000:0002:0001]:80",
                      "[2001:db8::2:1]:80");
    assert_round_trip("[2001:db8:0:0:1:0:0:1]:80", "[2001:db8::1:0:0:1]:80");
    assert_round_trip("[1:0:0:2:0:0:0:3]:80", "[1:0:0:2::3]:80");
    assert_round_trip("[2001:db8:0:1:1:1:1:1]:80", "[2001:db8:0:1:1:1:1:1]:80");
    assert_round_trip("[2001:db8::abcd:ef01]:80", "[2001:db8::abcd:ef01]:80");
    assert_round_trip("[fe80:0:0:0:0:0:0:0]:1", "[fe80::]:1");
}

static void test_rejects(void **state)
{
    const char *bad[] = {
        "",
        "1.2.3.4",
        "1.2.3.4:",
        "1.2.3.4:99999",
        "1.2.3.4:65536",
        "1.2.3.4:-1",
        "1.2.3.4:8o",
        "1.2.3.4:80 ",
        " 1.2.3.4:80",
        "256.1.1.1:80",
        "1.2.3:80",
        "1.2.3.4.5:80",
        "1..3.4:80",
        "[::1:80",
        "[::1]",
        "[::1]:",
        "[::1]80",
        "::1:80",
        "[1:2:3:4:5:6:7:8:9]:80",
        "[1::2::3]:80",
        "[:::1]:80",
        "[12345::]:80",
        "[gggg::]:80",
        "[fe80::1%]:80",
        "[fe80::1%eth0]:80",
        "[]:80",
        "nohost:80",
        "localhost",
        "localhost:",
        ":80",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_rejected(bad[i]);
    }
    assert_rejected(NULL);
}

static void test_parse_null_out(void **state)
{
    (void)state;
    assert_int_equal(xpr__addr_parse("1.2.3.4:80", NULL), XPR_EINVAL);
}

/* Every buffer shorter than the text plus its NUL is refused, and nothing
 * partial is left in it. */
static void assert_format_needs(const char *text)
{
    struct xpr__addr addr;
    char buf[XPR_ADDRSTRLEN + 1];
    size_t needed = strlen(text) + 1;
    size_t len;

    assert_int_equal(xpr__addr_parse(text, &addr), 0);
    for (len = 0; len < needed; len++) {
        memset(buf, 'X', sizeof(buf));
        assert_int_equal(xpr__addr_format(&addr, buf, len), XPR_EINVAL);
        assert_true(buf[0] == 'X' || buf[0] == '\0');
        assert_int_equal(buf[len], 'X'); /* nothing written past len */
    }
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(xpr__addr_format(&addr, buf, needed), 0);
    assert_string_equal(buf, text);
}

static void test_format_small_buffer(void **state)
{
    struct xpr__addr addr;
    (void)state;

    assert_format_needs("255.255.255.255:65535");
    assert_format_needs("1.2.3.4:5");
    assert_format_needs("[2001:db8::1]:65535");
    assert_format_needs("[fe80::1%2]:80");
    assert_int_equal(xpr__addr_parse("1.2.3.4:5", &addr), 0);
    assert_int_equal(xpr__addr_format(&addr, NULL, 64), XPR_EINVAL);
}

/* Zones are 32-bit: larger numbers are rejected, not wrapped (unsigned long
 * is 32 bits on Windows). */
static void test_zone_range(void **state)
{
    struct xpr__addr addr;
    (void)state;

    assert_int_equal(xpr__addr_parse("[fe80::1%4294967295]:80", &addr), 0);
    assert_int_equal(addr.scope_id, UINT32_MAX);
    assert_rejected("[fe80::1%4294967296]:80");
    assert_rejected("[fe80::1%4294967297]:80");
    assert_rejected("[fe80::1%9999999999]:80");
    assert_rejected("[fe80::1%04294967296]:80");
}

/* The longest text fits XPR_ADDRSTRLEN. */
static void test_longest_fits(void **state)
{
    struct xpr__addr addr;
    char buf[XPR_ADDRSTRLEN];
    (void)state;

    memset(&addr, 0, sizeof(addr));
    addr.family = XPR__AF_INET6;
    memset(addr.ip, 0xff, sizeof(addr.ip));
    addr.port = 65535;
    addr.scope_id = UINT32_MAX;
    assert_int_equal(xpr__addr_format(&addr, buf, sizeof(buf)), 0);
    assert_string_equal(
        buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_fields),
        cmocka_unit_test(test_ipv4_round_trips),
        cmocka_unit_test(test_localhost_is_ipv4_loopback),
        cmocka_unit_test(test_ipv6_fields),
        cmocka_unit_test(test_ipv6_round_trips),
        cmocka_unit_test(test_ipv6_rfc5952_form),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_parse_null_out),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_zone_range),
        cmocka_unit_test(test_longest_fits),
    };
    return cmocka_run_group_tests_name("unit/address", tests, NULL, NULL);
}
