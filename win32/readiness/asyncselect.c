/*
 * The WSAAsyncSelect poller (Winsock's window-message model); the events'
 * behaviour it shares with eventselect is in ready_list.h.
 *
 * 1. Notifications are window messages (wParam = SOCKET, lParam = event
 *    and error) for a message-only window made by xpr_loop_new: a window
 *    belongs to the thread that makes it, so the loop runs on that thread.
 *    The class is registered once per process.
 * 2. The wait pumps every message of the thread (PeekMessage, then
 *    MsgWaitForMultipleObjectsEx for the timeout; docs/design.md). The
 *    window procedure only records events, also when the application's
 *    message loop dispatches them: callbacks run after the wait, never
 *    inside DispatchMessage of a modal loop. WM_QUIT is put back
 *    (PostQuitMessage) for the application's message loop, and stops ours.
 * 3. Messages stay queued after a socket is removed, and its SOCKET value
 *    may be reused by a new socket at once: every registration gets its own
 *    message number (WM_APP + 1 .. 0xBFFF, rotating), and a message whose
 *    SOCKET has no registration, or a different number, is dropped; a
 *    removed socket's slot is freed at once. A spurious FD_READ/FD_WRITE
 *    costs one recv/send that fails with EAGAIN.
 * 4. One recv per FD_READ (XPR__POLLER_ONE_READ_PER_EVENT): a recv that
 *    leaves data re-posts FD_READ; more would only add spurious messages.
 * 5. Should a stale FD_CLOSE ever pass check 3 (after 16,000
 *    registrations), a MSG_PEEK finds the socket open and the flag is
 *    dropped.
 * 6. The queue holds at most 10,000 posted messages: wakes are coalesced
 *    (one WM_APP in flight), and each wait pumps the queue dry.
 * 7. MsgWaitForMultipleObjectsEx can fail (WAIT_FAILED): the wait then
 *    returns the error to the core, which retries after a pause, rather
 *    than pumping again at once. Messages stay queued and recorded events
 *    stay in the ready list for the next wait. Fault injection
 *    (portable/fault.h) asks once per wait, whether or not the message
 *    wait would be called (a busy loop only pumps), and fails the wait as
 *    a failed MsgWaitForMultipleObjectsEx, with ERROR_NOT_ENOUGH_MEMORY,
 *    before anything is pumped; it fails a registration (WSAAsyncSelect
 *    of a socket that joins) with WSAENOBUFS: the engine ends that
 *    socket's conn.
 * 8. Wine re-enables FD_ACCEPT only with an accept that succeeds; Windows
 *    with any accept call, even one that fails. An FD_ACCEPT whose accept
 *    loop finds nothing (WSAEWOULDBLOCK: an earlier loop took the
 *    connection it was posted for) then leaves the listener silent while
 *    new connections wait in its backlog (a burst of connects leaves
 *    such stale messages behind).
 *    Under Wine (xpr__under_wine, and only there) a socket that got
 *    FD_ACCEPT is registered again at the start of the next wait, once the
 *    engine's accept loop ran: a new registration clears what Wine
 *    recorded, and posts FD_ACCEPT at once if a connection waits.
 */
#include "alloc.h"
#include "xpr_winsock.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fault.h"
#include "poller.h"
#include "ready_list.h"

#define WAKE_MSG WM_APP
#define FIRST_SOCKET_MSG (WM_APP + 1)
#define LAST_SOCKET_MSG 0xBFFF
#define ALL_EVENTS (FD_READ | FD_WRITE | FD_ACCEPT | FD_CONNECT | FD_CLOSE)
#define PUMP_MAX 20000 /* messages per pump: other windows cannot hog it */

static const wchar_t class_name[] = L"xpr-asyncselect";

struct slot {
    struct xpr__ready_slot r;
    SOCKET sock;
    UINT msg;
    struct slot *next;          /* hash chain */
    struct slot *next_rearm;    /* quirk 8 */
    unsigned char rearm_queued; /* on st->rearm_head */
};

struct asyncselect_state {
    xpr_loop *loop;
    HWND hwnd;
    struct slot **buckets;
    size_t bucket_count, slot_count;
    struct xpr__list ready; /* slots with something to report */
    struct xpr__fired_list fired;
    UINT next_msg;
    volatile LONG wake_posted;
    int woken;
    int rearm_accepts;       /* quirk 8: under Wine */
    struct slot *rearm_head; /* sockets that got FD_ACCEPT (quirk 8) */
};

static LRESULT CALLBACK window_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp);

static xpr__once_flag class_once = XPR__ONCE_INIT;
static HINSTANCE class_module;
static ATOM class_atom;

static void register_class(void)
{
    WNDCLASSEXW wc;
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
                           GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                       (LPCWSTR)(void *)&class_once, &class_module);
    memset(&wc, 0, sizeof(wc));
    wc.cbSize = sizeof(wc);
    wc.lpfnWndProc = window_proc;
    wc.hInstance = class_module;
    wc.lpszClassName = class_name;
    class_atom = RegisterClassExW(&wc);
    if (class_atom == 0 && GetLastError() == ERROR_CLASS_ALREADY_EXISTS)
        class_atom = 1;
}

static size_t bucket_of(const struct asyncselect_state *st, SOCKET s)
{
    return (size_t)((s >> 2) * 2654435761u) & (st->bucket_count - 1);
}

static struct slot *lookup(const struct asyncselect_state *st, SOCKET s)
{
    struct slot *sl = st->buckets[bucket_of(st, s)];
    while (sl != NULL && sl->sock != s)
        sl = sl->next;
    return sl;
}

static int grow_buckets(struct asyncselect_state *st)
{
    size_t count = st->bucket_count * 2, i;
    struct slot **old = st->buckets, **buckets;
    buckets = xpr__calloc(count, sizeof(*buckets));
    if (buckets == NULL)
        return XPR_ENOMEM;
    st->buckets = buckets;
    st->bucket_count = count;
    for (i = 0; i < count / 2; i++) {
        while (old[i] != NULL) {
            struct slot *sl = old[i];
            size_t b = bucket_of(st, sl->sock);
            old[i] = sl->next;
            sl->next = buckets[b];
            buckets[b] = sl;
        }
    }
    free(old);
    return 0;
}

static void unlink_slot(struct asyncselect_state *st, struct slot *sl)
{
    struct slot **p = &st->buckets[bucket_of(st, sl->sock)];
    while (*p != sl)
        p = &(*p)->next;
    *p = sl->next;
    st->slot_count--;
}

static LRESULT CALLBACK window_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    struct asyncselect_state *st =
        (struct asyncselect_state *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
    if (st == NULL)
        return DefWindowProcW(hwnd, msg, wp, lp);
    if (msg == WAKE_MSG) {
        InterlockedExchange(&st->wake_posted, 0);
        st->woken = 1;
        return 0;
    }
    if (msg >= FIRST_SOCKET_MSG && msg <= LAST_SOCKET_MSG) {
        struct slot *sl = lookup(st, (SOCKET)wp);
        if (sl == NULL || sl->msg != msg) /* quirk 3 */
            return 0;
        xpr__ready_record(&st->ready, &sl->r, WSAGETSELECTEVENT(lp),
                          WSAGETSELECTERROR(lp));
        if ((WSAGETSELECTEVENT(lp) & FD_ACCEPT) && st->rearm_accepts &&
            !sl->rearm_queued) { /* quirk 8 */
            sl->rearm_queued = 1;
            sl->next_rearm = st->rearm_head;
            st->rearm_head = sl;
        }
        return 0;
    }
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static int asyncselect_init(xpr_loop *loop, void **state)
{
    struct asyncselect_state *st = xpr__calloc(1, sizeof(*st));
    if (st == NULL)
        return XPR_ENOMEM;
    st->loop = loop;
    st->rearm_accepts = xpr__under_wine();
    xpr__list_init(&st->ready);
    st->next_msg = FIRST_SOCKET_MSG;
    st->bucket_count = 64;
    st->buckets = xpr__calloc(st->bucket_count, sizeof(*st->buckets));
    xpr__call_once(&class_once, register_class);
    if (st->buckets != NULL && class_atom != 0)
        st->hwnd = CreateWindowExW(0, class_name, L"", 0, 0, 0, 0, 0,
                                   HWND_MESSAGE, NULL, class_module, NULL);
    if (st->hwnd == NULL) {
        int rc = st->buckets == NULL ? XPR_ENOMEM
                                     : xpr__error_from_os((int)GetLastError());
        free(st->buckets);
        free(st);
        return rc;
    }
    SetWindowLongPtrW(st->hwnd, GWLP_USERDATA, (LONG_PTR)st);
    *state = st;
    return 0;
}

static void asyncselect_free(void *state)
{
    struct asyncselect_state *st = state;
    size_t i;
    SetWindowLongPtrW(st->hwnd, GWLP_USERDATA, 0);
    DestroyWindow(st->hwnd);
    for (i = 0; i < st->bucket_count; i++) {
        while (st->buckets[i] != NULL) {
            struct slot *sl = st->buckets[i];
            st->buckets[i] = sl->next;
            free(sl);
        }
    }
    free(st->buckets);
    free(st->fired.items);
    free(st);
}

/* Quirk 5: a closed flag that survived a read (closed 2) is checked once
 * more before the slot is reported again. */
static void check_closed(struct asyncselect_state *st)
{
    struct xpr__link *link;
    char c;
    for (link = st->ready.head.next; link != &st->ready.head;
         link = link->next) {
        struct slot *sl = XPR__CONTAINER(link, struct slot, r.link);
        if (sl->r.closed == 2 && (sl->r.mask & XPR__IO_READ) &&
            recv(sl->sock, &c, 1, MSG_PEEK) == SOCKET_ERROR &&
            WSAGetLastError() == WSAEWOULDBLOCK)
            sl->r.closed = 0;
    }
}

static int asyncselect_update(void *state, struct xpr__io *io,
                              unsigned new_mask)
{
    struct asyncselect_state *st = state;
    struct slot *sl = io->poller_data;
    if (sl != NULL && new_mask != 0) { /* ready_list.h 2 */
        xpr__ready_set_interest(&st->ready, &sl->r, new_mask);
        return 0;
    }
    if (sl != NULL) {
        struct slot **p = &st->rearm_head;
        WSAAsyncSelect(sl->sock, st->hwnd, 0, 0); /* no more messages */
        while (sl->rearm_queued && *p != sl)
            p = &(*p)->next_rearm;
        if (sl->rearm_queued)
            *p = sl->next_rearm;
        unlink_slot(st, sl);
        xpr__ready_remove(&sl->r);
        io->poller_data = NULL;
        free(sl);
        return 0;
    }
    if (new_mask == 0)
        return 0;
    if (st->slot_count >= st->bucket_count && grow_buckets(st) != 0)
        return XPR_ENOMEM;
    sl = xpr__calloc(1, sizeof(*sl));
    if (sl == NULL)
        return XPR_ENOMEM;
    sl->sock = (SOCKET)io->sock;
    sl->msg = st->next_msg;
    st->next_msg =
        st->next_msg == LAST_SOCKET_MSG ? FIRST_SOCKET_MSG : st->next_msg + 1;
    if (xpr__fault(XPR__FAULT_WATCH)) { /* quirk 7 */
        free(sl);
        WSASetLastError(WSAENOBUFS);
        return xpr__wsa_error();
    }
    if (WSAAsyncSelect(sl->sock, st->hwnd, sl->msg, ALL_EVENTS) != 0) {
        int rc = xpr__wsa_error();
        free(sl);
        return rc;
    }
    sl->next = st->buckets[bucket_of(st, sl->sock)];
    st->buckets[bucket_of(st, sl->sock)] = sl;
    st->slot_count++;
    io->poller_data = sl;
    xpr__ready_start(&st->ready, &sl->r, io, new_mask); /* ready_list.h 4, 5 */
    return 0;
}

/* Quirk 8. A registration that fails leaves the one before in place. */
static void rearm_accepts(struct asyncselect_state *st)
{
    while (st->rearm_head != NULL) {
        struct slot *sl = st->rearm_head;
        st->rearm_head = sl->next_rearm;
        sl->rearm_queued = 0;
        WSAAsyncSelect(sl->sock, st->hwnd, sl->msg, ALL_EVENTS);
    }
}

/* Dispatches every message of the thread (quirk 2). */
static void pump(struct asyncselect_state *st)
{
    MSG m;
    int n = 0;
    while (n++ < PUMP_MAX && PeekMessageW(&m, NULL, 0, 0, PM_REMOVE)) {
        if (m.message == WM_QUIT) {
            PostQuitMessage((int)m.wParam);
            xpr_loop_stop(st->loop);
            st->woken = 1;
            return;
        }
        TranslateMessage(&m);
        DispatchMessageW(&m);
    }
}

static int asyncselect_wait(void *state, int timeout_ms,
                            const struct xpr__fired **fired)
{
    struct asyncselect_state *st = state;
    st->fired.count = 0;
    *fired = st->fired.items;
    /* A wake message removed by someone else's PeekMessage would leave the
     * flag set forever: at worst this lets one more wake message in. */
    InterlockedExchange(&st->wake_posted, 0);
    st->woken = 0;
    if (xpr__fault(XPR__FAULT_WAIT)) { /* quirk 7 */
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return xpr__error_from_os((int)GetLastError());
    }
    rearm_accepts(st);
    pump(st);
    if (xpr__list_empty(&st->ready) && !st->woken && timeout_ms != 0) {
        DWORD timeout = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
        if (MsgWaitForMultipleObjectsEx(0, NULL, timeout, QS_ALLINPUT,
                                        MWMO_INPUTAVAILABLE) == WAIT_FAILED)
            return xpr__error_from_os((int)GetLastError()); /* quirk 7 */
        pump(st);
    }
    check_closed(st);
    if (xpr__ready_take(&st->ready, st->slot_count, &st->fired) != 0)
        return XPR_ENOMEM; /* what was recorded stays pending */
    *fired = st->fired.items;
    return (int)st->fired.count;
}

static void asyncselect_wake(void *state)
{
    struct asyncselect_state *st = state;
    if (InterlockedExchange(&st->wake_posted, 1) == 0)
        PostMessageW(st->hwnd, WAKE_MSG, 0, 0);
}

const struct xpr_poller_ops xpr__asyncselect_poller = {
    .flags = XPR__POLLER_ONE_READ_PER_EVENT | XPR__POLLER_WRITE_EDGE |
             XPR__POLLER_PROBES_WATCHERS,
    .init = asyncselect_init,
    .free = asyncselect_free,
    .update = asyncselect_update,
    .wait = asyncselect_wait,
    .wake = asyncselect_wake,
};
