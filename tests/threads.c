/* The blocking back end's threads (portable/blocking/): a connection whose
 * threads cannot start is refused, as the classic threaded server refuses
 * it: the client sees its connection closed unserved, refused_connections
 * counts it, nothing leaks, and the listener goes on serving. A UDP handle
 * whose thread cannot start is not made: xpr_udp_new returns XPR_ENOMEM
 * and leaves nothing open, and the next one works. Thread creation fails
 * through the fault seam (its allocation: this binary exists only in
 * -Dfault_injection=true builds). Other back ends start no thread per
 * connection or handle and pass at once. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "fault.h"
#include "platform.h"

#define NOT_APPLICABLE(why)                                                    \
    do {                                                                       \
        print_message("# not applicable here: %s\n", why);                     \
        return;                                                                \
    } while (0)

struct raw_client {
    long port;
    int connected;
    int closed; /* the server closed the connection within the wait */
    size_t received;
};

static void raw_client_main(void *arg)
{
    struct raw_client *cl = arg;
    test_socket s;
    if (test_socket_connect(cl->port, &s) != 0)
        return;
    cl->connected = 1;
    if (test_socket_send_all(s, "ping", 4) == 0)
        cl->closed = test_socket_wait_closed(s, 1000, &cl->received);
    test_socket_close(s);
}

struct refuse_run {
    xpr_loop *loop;
    xpr_listener *listener;
    char address[XPR_ADDRSTRLEN];
    struct raw_client refused;
    struct raw_client served;
    struct test_thread *thread;
    int step;
    unsigned opened;
    unsigned closed;
};

static void echo_open(xpr_conn *conn)
{
    struct refuse_run *run = xpr_conn_userdata(conn);
    run->opened++;
}

static void echo_data(xpr_conn *conn, const void *p, size_t n)
{
    xpr_conn_write(conn, p, n);
}

static void echo_close(xpr_conn *conn, int err)
{
    struct refuse_run *run = xpr_conn_userdata(conn);
    (void)err;
    run->closed++;
}

static const struct xpr_conn_callbacks echo_callbacks = {
    .on_open = echo_open,
    .on_data = echo_data,
    .on_close = echo_close,
};

/* Step 0: the next accepted connection's threads cannot start. Its news
 * takes three allocations on the loop thread (the conn, its buffers, the
 * writer thread's start): the third fails. Step 1: an unhindered client.
 * Step 2: done. */
static void step_timer(xpr_timer *t, void *arg)
{
    struct refuse_run *run = arg;
    if (run->thread != NULL) {
        test_thread_join(run->thread);
        run->thread = NULL;
    }
    switch (run->step++) {
    case 0:
        xpr__fault_arm(XPR__FAULT_ALLOC, 2, 1);
        CHECK_EQ(
            test_thread_start(&run->thread, raw_client_main, &run->refused), 0);
        break;
    case 1:
        xpr__fault_arm(XPR__FAULT_ALLOC, 0, 0);
        CHECK_EQ(test_thread_start(&run->thread, raw_client_main, &run->served),
                 0);
        break;
    default:
        xpr_timer_stop(t);
        xpr_listener_close(run->listener);
        tloop_stop_when_empty(run->loop);
        return;
    }
}

static void refused_when_threads_cannot_start(void **state)
{
    struct refuse_run run;
    struct xpr_loop_stats stats;
    xpr_timer *steps;
    long handles_before = test_handles_baseline();
    (void)state;
    if (strcmp(test_backend_env() ? test_backend_env() : "", "blocking") != 0)
        NOT_APPLICABLE("no thread per connection");
    memset(&run, 0, sizeof(run));
    xpr__fault_configure(0.0, 0, 0.0, 1);
    run.loop = tloop_new();
    run.listener =
        tloop_listen(run.loop, NULL, &echo_callbacks, &run, run.address);
    run.refused.port = run.served.port = address_port(run.address);
    assert_int_equal(xpr_timer_new(run.loop, step_timer, &run, &steps), 0);
    /* each client waits up to 1 s for the close: steps 1.5 s apart */
    assert_int_equal(xpr_timer_start(steps, 50, 1500), 0);
    tloop_run(run.loop, 20000);
    xpr_timer_free(steps);
    assert_int_equal(xpr_loop_stats(run.loop, &stats), 0);
    print_message("# refused %llu, accepted %llu, alloc faults %llu\n",
                  (unsigned long long)stats.refused_connections,
                  (unsigned long long)stats.accepted_connections,
                  (unsigned long long)xpr__fault_injected(XPR__FAULT_ALLOC));
    tloop_free(run.loop);
    assert_int_equal(xpr__fault_injected(XPR__FAULT_ALLOC), 1);
    /* refused: closed at once, never served, counted, never opened */
    assert_true(run.refused.connected);
    assert_true(run.refused.closed);
    assert_int_equal(run.refused.received, 0);
    assert_int_equal(stats.refused_connections, 1);
    /* the listener goes on: the next client is echoed */
    assert_true(run.served.connected);
    assert_int_equal(run.served.received, 4);
    assert_int_equal(stats.accepted_connections, 1);
    assert_int_equal(run.opened, 1);
    assert_int_equal(run.closed, 1);
    if (handles_before >= 0)
        assert_int_equal(test_open_handles(), handles_before);
}

struct udp_run {
    xpr_loop *loop;
    unsigned received;
    unsigned closed;
};

static void udp_recv(xpr_udp *u, const void *p, size_t n, const char *peer,
                     unsigned flags)
{
    struct udp_run *run = xpr_udp_userdata(u);
    (void)p;
    (void)peer;
    (void)flags;
    CHECK_EQ(n, 4);
    run->received++;
    CHECK_EQ(xpr_udp_close(u), 0);
}

static void udp_close(xpr_udp *u, int err)
{
    struct udp_run *run = xpr_udp_userdata(u);
    CHECK_EQ(err, 0);
    run->closed++;
    tloop_let_idle(run->loop);
}

static const struct xpr_udp_callbacks udp_callbacks = {
    .on_recv = udp_recv,
    .on_close = udp_close,
};

/* Each allocation of xpr_udp_new fails in turn (the handle, its receive
 * buffer past the loop's, its thread's start) until one call gets through
 * them all; every failed call leaves no descriptor or handle open. */
static void udp_not_made_when_thread_cannot_start(void **state)
{
    struct udp_run run;
    struct xpr_udp_config cfg;
    char address[XPR_ADDRSTRLEN];
    xpr_udp *u = NULL;
    unsigned skip;
    long handles_before;
    int rc;
    (void)state;
    if (strcmp(test_backend_env() ? test_backend_env() : "", "blocking") != 0)
        NOT_APPLICABLE("no thread per UDP handle");
    memset(&run, 0, sizeof(run));
    memset(&cfg, 0, sizeof(cfg));
    cfg.recv_size = 70000;
    run.loop = tloop_new();
    handles_before = test_open_handles();
    for (skip = 0;; skip++) {
        xpr__fault_configure(0.0, 0, 0.0, 1);
        xpr__fault_arm(XPR__FAULT_ALLOC, skip, 1);
        rc = xpr_udp_new(run.loop, "127.0.0.1:0", &cfg, &udp_callbacks, &run,
                         &u);
        if (rc == 0)
            break;
        assert_int_equal(rc, XPR_ENOMEM);
        assert_null(u);
        assert_int_equal(xpr__fault_injected(XPR__FAULT_ALLOC), 1);
        if (handles_before >= 0)
            assert_int_equal(test_open_handles(), handles_before);
    }
    xpr__fault_configure(0.0, 0, 0.0, 1);
    print_message("# xpr_udp_new made after %u failed allocations\n", skip);
    assert_true(skip >= 3);
    /* the handle that got through works */
    assert_int_equal(xpr_udp_address(u, address, sizeof(address)), 0);
    assert_int_equal(xpr_udp_send(u, address, "ping", 4), 0);
    tloop_run(run.loop, 10000);
    assert_int_equal(run.received, 1);
    assert_int_equal(run.closed, 1);
    tloop_free(run.loop);
    if (handles_before >= 0)
        assert_true(test_open_handles() <= handles_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_when_threads_cannot_start),
        cmocka_unit_test(udp_not_made_when_thread_cannot_start),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
