/* Name resolution (xpr_resolve_start): answers arrive on the loop, once,
 * never inside the call; a name that does not exist is XPR_ENOTFOUND (or
 * XPR_EAGAIN where this machine has no resolver to ask), not XPR_EINVAL;
 * cancelled and loop-freed lookups report XPR_ECANCELED. */
#include <string.h>

#include "common.h"

struct answer {
    xpr_loop *loop;
    unsigned calls;
    int err;
    size_t count;
    int saw_loopback; /* 127.0.0.1:port or [::1]:port among them */
    int saw_expected; /* the exact text wanted */
    const char *expected;
    int in_call;
};

static void on_answer(xpr_resolve *req, int err, const char *const *addresses,
                      size_t count, void *arg)
{
    struct answer *a = arg;
    size_t i;
    (void)req;
    callback_enter();
    CHECK(!a->in_call);
    a->calls++;
    a->err = err;
    a->count = count;
    CHECK(err == 0 ? count > 0 && addresses != NULL : count == 0);
    for (i = 0; i < count; i++) {
        if (strncmp(addresses[i], "127.0.0.1:", 10) == 0 ||
            strncmp(addresses[i], "[::1]:", 6) == 0)
            a->saw_loopback = 1;
        if (a->expected != NULL && strcmp(addresses[i], a->expected) == 0)
            a->saw_expected = 1;
    }
    if (a->loop != NULL)
        tloop_let_idle(a->loop);
    callback_leave();
}

static void resolve_one(const char *text, const char *expected,
                        struct answer *a)
{
    xpr_resolve *req;
    memset(a, 0, sizeof(*a));
    a->expected = expected;
    a->loop = tloop_new();
    a->in_call = 1;
    assert_int_equal(xpr_resolve_start(a->loop, text, on_answer, a, &req), 0);
    a->in_call = 0;
    tloop_run(a->loop, 60000);
    assert_int_equal(a->calls, 1);
    tloop_free(a->loop);
}

static void test_localhost(void **state)
{
    struct answer a;
    (void)state;
    resolve_one("localhost:5150", NULL, &a);
    assert_int_equal(a.err, 0);
    assert_true(a.saw_loopback);
}

static void test_numeric(void **state)
{
    struct answer a;
    (void)state;
    resolve_one("127.0.0.1:80", "127.0.0.1:80", &a);
    assert_int_equal(a.err, 0);
    assert_true(a.saw_expected);
    resolve_one("[::1]:443", "[::1]:443", &a);
    assert_int_equal(a.err, 0);
    assert_true(a.saw_expected);
}

static void test_unknown_name(void **state)
{
    struct answer a;
    (void)state;
    /* .invalid never resolves (RFC 2606) */
    resolve_one("no-such-host.invalid:80", NULL, &a);
    assert_true(a.err == XPR_ENOTFOUND || a.err == XPR_EAGAIN);
}

static void test_cancel(void **state)
{
    struct answer a;
    xpr_resolve *req;
    (void)state;
    memset(&a, 0, sizeof(a));
    a.loop = tloop_new();
    assert_int_equal(
        xpr_resolve_start(a.loop, "localhost:1", on_answer, &a, &req), 0);
    a.in_call = 1;
    assert_int_equal(xpr_resolve_cancel(req), 0);
    a.in_call = 0;
    tloop_run(a.loop, 60000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, XPR_ECANCELED);
    tloop_free(a.loop);
}

/* A loop freed with lookups pending runs their callbacks, cancelled,
 * inside xpr_loop_free; its threads are gone after it. */
static void test_loop_free_cancels(void **state)
{
    struct answer a[6];
    xpr_loop *loop;
    xpr_resolve *req;
    size_t i;
    (void)state;
    memset(a, 0, sizeof(a));
    assert_int_equal(test_loop_new(&loop, NULL), 0);
    for (i = 0; i < 6; i++)
        assert_int_equal(
            xpr_resolve_start(loop, "localhost:2", on_answer, &a[i], &req), 0);
    xpr_loop_free(loop);
    for (i = 0; i < 6; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].err, XPR_ECANCELED);
    }
}

static void test_bad_arguments(void **state)
{
    static const char *const bad[] = {
        "localhost",  "localhost:", ":80", "localhost:http",
        "host:70000", "[::1]80",    "[::1"};
    struct answer a;
    xpr_loop *loop;
    xpr_resolve *req;
    size_t i;
    (void)state;
    memset(&a, 0, sizeof(a));
    assert_int_equal(test_loop_new(&loop, NULL), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(xpr_resolve_start(loop, bad[i], on_answer, &a, &req),
                         XPR_EINVAL);
    assert_int_equal(xpr_resolve_start(NULL, "a:1", on_answer, &a, &req),
                     XPR_EINVAL);
    assert_int_equal(xpr_resolve_start(loop, "a:1", NULL, &a, &req),
                     XPR_EINVAL);
    assert_int_equal(xpr_resolve_start(loop, "a:1", on_answer, &a, NULL),
                     XPR_EINVAL);
    assert_int_equal(xpr_resolve_cancel(NULL), XPR_EINVAL);
    xpr_loop_free(loop);
    assert_int_equal(a.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_unknown_name),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_loop_free_cancels),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("resolve", tests, NULL, NULL);
}
