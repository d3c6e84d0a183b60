/* The error table: names and messages of XPR_E* codes, and the boundary
 * where raw OS codes become XPR_E* codes. */
#include "backend.h"
#include "xpr_errors.h" /* the platform's table */

static XPR__THREAD_LOCAL int last_os_error;

const char *xpr_strerror(int code)
{
    switch (code) {
    case XPR_OK:
        return "success";
#define XPR_ERROR_MESSAGE_(name, value, msg)                                   \
    case name:                                                                 \
        return msg;
        XPR_ERROR_LIST(XPR_ERROR_MESSAGE_)
#undef XPR_ERROR_MESSAGE_
    }
    return "unknown error";
}

const char *xpr_err_name(int code)
{
    switch (code) {
    case XPR_OK:
        return "XPR_OK";
#define XPR_ERROR_NAME_(name, value, msg)                                      \
    case name:                                                                 \
        return #name;
        XPR_ERROR_LIST(XPR_ERROR_NAME_)
#undef XPR_ERROR_NAME_
    }
    return "XPR_E?";
}

int xpr_last_os_error(void)
{
    return last_os_error;
}

int xpr__error_from_os(int os_code)
{
    last_os_error = os_code;
    switch (os_code) {
#define XPR_OS_ERROR_CASE_(os, xpr)                                            \
    case os:                                                                   \
        return xpr;
        XPR__OS_ERROR_MAP(XPR_OS_ERROR_CASE_)
#undef XPR_OS_ERROR_CASE_
    }
    return XPR_EIO; /* 0 too: a failure without a code */
}

int xpr_version(void)
{
    return XPR_VERSION_MAJOR * 10000 + XPR_VERSION_MINOR * 100 +
           XPR_VERSION_PATCH;
}
