/*
 * Watchers of application sockets on the completion engine
 * (docs/design.md, "Watchers of application sockets"): IOCTL_AFD_POLL, the
 * request beneath select() and WSAPoll, made with NtDeviceIoControlFile
 * through the loop's own handle on \Device\Afd, which joins the harvester
 * (libuv's and wepoll's approach).
 *
 * 1. The request completes once one asked event holds (at once if one
 *    already does): one poll in flight per watcher, made again after each
 *    completion while the watcher is started, so the callback runs on
 *    every round while the condition holds (level-triggered).
 * 2. The poll is an op of kind XPR__OP_POLL: its OVERLAPPED is the
 *    IO_STATUS_BLOCK (Internal / InternalHigh are Status / Information),
 *    the ApcContext is the OVERLAPPED, which a port hands back, and the
 *    Event is the one the harvester lends (the request takes no completion
 *    routine). A poll done at once is treated like any op done at once
 *    (xpr__op_posted); an error status means no completion will come.
 * 3. A new set, a stop or a free cancels the poll in flight (CancelIoEx on
 *    the device handle, for that OVERLAPPED): it comes back cancelled, or
 *    with what it saw, and the handler polls for the set in force (so does
 *    a poll the system cancelled because the thread that made it ended). A
 *    freed watcher stays allocated until its poll is back, and its socket
 *    may be closed meanwhile: the request holds no memory of the
 *    application's.
 * 4. Events: AFD_POLL_RECEIVE, _DISCONNECT, _ACCEPT and _ABORT make the
 *    socket readable; _SEND and _CONNECT_FAIL writable; _ABORT and
 *    _CONNECT_FAIL carry the socket's error (SO_ERROR) as the callback's
 *    status. _LOCAL_CLOSE (the application closed the watched socket) ends
 *    the polling of that watcher.
 * 5. SIO_BASE_HANDLE gives the handle AFD knows beneath layered providers;
 *    where it fails, the socket itself is polled.
 * 6. Wine implements IOCTL_AFD_POLL on \Device\Afd (pending, done at
 *    once, cancelled, with a port and with an event).
 */
#include "alloc.h"
#include "completion.h"
#include "fault.h"
#include "sock_models.h"

#include <stdlib.h>
#include <string.h>

#define IOCTL_AFD_POLL 0x00012024
#define AFD_POLL_RECEIVE 0x0001
#define AFD_POLL_SEND 0x0004
#define AFD_POLL_DISCONNECT 0x0008
#define AFD_POLL_ABORT 0x0010
#define AFD_POLL_LOCAL_CLOSE 0x0020
#define AFD_POLL_ACCEPT 0x0080
#define AFD_POLL_CONNECT_FAIL 0x0100
#define READ_EVENTS                                                            \
    (AFD_POLL_RECEIVE | AFD_POLL_DISCONNECT | AFD_POLL_ACCEPT | AFD_POLL_ABORT)
#define WRITE_EVENTS (AFD_POLL_SEND | AFD_POLL_CONNECT_FAIL)
#define ALWAYS_EVENTS (AFD_POLL_ABORT | AFD_POLL_LOCAL_CLOSE)

#define STATUS_PENDING_CODE 0x00000103L
#define STATUS_CANCELLED_CODE ((LONG)0xC0000120L)
#define FILE_OPEN_DISPOSITION 1 /* FILE_OPEN */

/* The request's buffer, in and out (the layout AFD reads). */
struct afd_poll_handle {
    HANDLE handle;
    ULONG events;
    LONG status;
};

struct afd_poll_info {
    LARGE_INTEGER timeout;
    ULONG handle_count;
    ULONG exclusive;
    struct afd_poll_handle handles[1];
};

/* The native calls, from ntdll at run time. */
struct nt_string {
    USHORT length;
    USHORT maximum_length;
    PWSTR buffer;
};

struct nt_attributes {
    ULONG length;
    HANDLE root;
    struct nt_string *name;
    ULONG attributes;
    PVOID security_descriptor;
    PVOID security_quality;
};

typedef LONG(WINAPI *nt_create_file_fn)(PHANDLE, ACCESS_MASK,
                                        struct nt_attributes *, PVOID,
                                        PLARGE_INTEGER, ULONG, ULONG, ULONG,
                                        ULONG, PVOID, ULONG);
typedef LONG(WINAPI *nt_device_io_control_file_fn)(HANDLE, HANDLE, PVOID, PVOID,
                                                   PVOID, ULONG, PVOID, ULONG,
                                                   PVOID, ULONG);
typedef ULONG(WINAPI *rtl_status_to_error_fn)(LONG);

static xpr__once_flag nt_once = XPR__ONCE_INIT;
static nt_create_file_fn nt_create_file;
static nt_device_io_control_file_fn nt_device_io_control_file;
static rtl_status_to_error_fn rtl_status_to_error;

static void load_nt(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == NULL)
        return;
    nt_create_file = (nt_create_file_fn)(void (*)(void))GetProcAddress(
        ntdll, "NtCreateFile");
    nt_device_io_control_file = (nt_device_io_control_file_fn)(void (*)(
        void))GetProcAddress(ntdll, "NtDeviceIoControlFile");
    rtl_status_to_error = (rtl_status_to_error_fn)(void (*)(
        void))GetProcAddress(ntdll, "RtlNtStatusToDosError");
}

/* The Win32 code of a failure NTSTATUS. */
static ULONG status_code(LONG status)
{
    ULONG err = rtl_status_to_error != NULL ? rtl_status_to_error(status) : 0;
    return err != 0 ? err : ERROR_GEN_FAILURE;
}

/* The loop's device handle, opened and joined to the harvester once. */
static int open_device(struct xpr__completion_loop *engine)
{
    static const wchar_t name[] = L"\\Device\\Afd\\Xpr";
    struct nt_string path;
    struct nt_attributes attributes;
    ULONG_PTR io_status[2];
    HANDLE h = NULL;
    LONG status;
    int rc;
    if (engine->afd != NULL)
        return 0;
    xpr__call_once(&nt_once, load_nt);
    if (nt_create_file == NULL || nt_device_io_control_file == NULL)
        return XPR_ENOTSUP;
    path.length = (USHORT)(sizeof(name) - sizeof(name[0]));
    path.maximum_length = (USHORT)sizeof(name);
    path.buffer = (PWSTR)name;
    memset(&attributes, 0, sizeof(attributes));
    attributes.length = (ULONG)sizeof(attributes);
    attributes.name = &path;
    status = nt_create_file(&h, SYNCHRONIZE, &attributes, io_status, NULL, 0,
                            FILE_SHARE_READ | FILE_SHARE_WRITE,
                            FILE_OPEN_DISPOSITION, 0, NULL, 0);
    if (status != 0)
        return xpr__error_from_os((int)status_code(status));
    rc = xpr__harvester_associate(engine, (SOCKET)h);
    if (rc != 0) {
        CloseHandle(h);
        return rc;
    }
    engine->afd = h;
    return 0;
}

static unsigned afd_events(unsigned events)
{
    return ALWAYS_EVENTS | ((events & XPR_READABLE) ? READ_EVENTS : 0u) |
           ((events & XPR_WRITABLE) ? WRITE_EVENTS : 0u);
}

/* Posts a poll for events (quirks 1, 2). 0 or an error (nothing posted). */
static int post_poll(struct xpr__afd_watch *aw, unsigned events)
{
    struct xpr__completion_loop *engine = xpr__completion_of(aw->base.loop);
    struct afd_poll_info *info;
    struct xpr__op *op = xpr__op_get(engine, 0, XPR__OP_POLL, aw);
    int rc, err = 0;
    if (op == NULL)
        return XPR_ENOMEM;
    info = (struct afd_poll_info *)(void *)op->buf;
    info->timeout.QuadPart = INT64_MAX;
    info->handle_count = 1;
    info->exclusive = FALSE;
    info->handles[0].handle = (HANDLE)aw->base_sock;
    info->handles[0].events = afd_events(events);
    info->handles[0].status = 0;
    rc = xpr__op_arm(engine, op);
    if (rc != 0) {
        xpr__op_put(engine, op);
        return rc;
    }
    if (xpr__fault(XPR__FAULT_WATCH)) {
        err = ERROR_NOT_ENOUGH_MEMORY; /* failed at once */
    } else {
        LONG status = nt_device_io_control_file(
            engine->afd, op->ov.hEvent, NULL, &op->ov, &op->ov, IOCTL_AFD_POLL,
            info, (ULONG)sizeof(*info), info, (ULONG)sizeof(*info));
        if (status == STATUS_PENDING_CODE)
            err = WSA_IO_PENDING;
        else if (status < 0)
            err = (int)status_code(status);
    }
    aw->op = op;
    aw->op_events = info->handles[0].events;
    rc = xpr__op_posted(engine, op, &aw->pending, 0, err);
    if (rc != 0)
        aw->op = NULL; /* failed at once: the op is back in the pool */
    return rc;
}

static void cancel_poll(struct xpr__afd_watch *aw)
{
    struct xpr__completion_loop *engine = xpr__completion_of(aw->base.loop);
    if (aw->op != NULL)
        CancelIoEx(engine->afd, &aw->op->ov); /* quirk 3 */
}

int xpr__afd_watch_set(xpr_watch *w, unsigned events)
{
    struct xpr__afd_watch *aw = (struct xpr__afd_watch *)w;
    int rc;
    if (events == 0) {
        cancel_poll(aw);
        return 0;
    }
    rc = open_device(xpr__completion_of(w->loop));
    if (rc != 0)
        return rc;
    if (aw->base_sock == 0) { /* quirk 5; no handle is 0 */
        SOCKET base = INVALID_SOCKET;
        DWORD bytes = 0;
        if (WSAIoctl((SOCKET)w->sock, SIO_BASE_HANDLE, NULL, 0, &base,
                     sizeof(base), &bytes, NULL, NULL) != 0 ||
            base == INVALID_SOCKET)
            base = (SOCKET)w->sock;
        aw->base_sock = base;
    }
    if (aw->op != NULL) {
        if (aw->op_events != afd_events(events))
            cancel_poll(aw); /* the handler polls for the new set */
        return 0;
    }
    if (aw->firing)
        return 0; /* the handler polls once the callback returns */
    return post_poll(aw, events);
}

void xpr__afd_watch_release(xpr_watch *w)
{
    struct xpr__afd_watch *aw = (struct xpr__afd_watch *)w;
    cancel_poll(aw);
    aw->released = 1;
    if (aw->op == NULL && !aw->firing)
        free(aw);
}

/* What the poll saw, as the callback hears it (quirk 4). */
static void report(struct xpr__afd_watch *aw, unsigned afd)
{
    unsigned events = ((afd & READ_EVENTS) ? XPR_READABLE : 0u) |
                      ((afd & WRITE_EVENTS) ? XPR_WRITABLE : 0u);
    int status = (afd & (AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL))
                     ? xpr__sock_pending_error(aw->base.sock)
                     : 0;
    xpr__watch_fire(&aw->base, events, status);
}

void xpr__afd_poll_done(struct xpr__completion_loop *engine, struct xpr__op *op)
{
    struct xpr__afd_watch *aw = op->owner;
    const struct afd_poll_info *info =
        (const struct afd_poll_info *)(const void *)op->buf;
    LONG status = (LONG)op->ov.Internal;
    unsigned afd = status == 0 && info->handle_count >= 1
                       ? (unsigned)info->handles[0].events
                       : 0u;
    aw->pending--;
    aw->op = NULL;
    xpr__op_put(engine, op);
    if (!aw->released && aw->base.events != 0) {
        aw->firing = 1; /* the callback may free or restart it */
        if (status != 0 && status != STATUS_CANCELLED_CODE)
            xpr__watch_fire(&aw->base, aw->base.events,
                            xpr__error_from_os((int)status_code(status)));
        else if (afd != 0)
            report(aw, afd);
        if (!(afd & AFD_POLL_LOCAL_CLOSE) && !aw->released &&
            aw->base.events != 0) { /* quirk 4 */
            int rc = post_poll(aw, aw->base.events);
            if (rc != 0) /* told once; a stop and a start try again */
                xpr__watch_fire(&aw->base, aw->base.events, rc);
        }
        aw->firing = 0;
    }
    if (aw->released && aw->op == NULL)
        free(aw);
}
