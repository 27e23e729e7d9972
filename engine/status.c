// status.c: the thread-local error message behind roto_set_error.
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_error[1024];

roto_status roto_set_error(roto_status code, const char *file, int line,
                           const char *fmt, ...) {
    // Keep only the file's base name: messages are for users, not build paths.
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    int n = snprintf(g_error, sizeof g_error, "%s: ", roto_status_name(code));
    if (n < 0) n = 0;
    if ((size_t)n < sizeof g_error) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(g_error + n, sizeof g_error - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0) n += m;
    }
    if ((size_t)n < sizeof g_error)
        snprintf(g_error + n, sizeof g_error - (size_t)n, " [%s:%d]", base, line);
    return code;
}

const char *roto_last_error(void) { return g_error; }

void roto_clear_error(void) { g_error[0] = '\0'; }

const char *roto_status_name(roto_status s) {
    switch (s) {
    case ROTO_OK: return "ok";
    case ROTO_ERR_INVALID_ARG: return "invalid argument";
    case ROTO_ERR_SHAPE: return "shape error";
    case ROTO_ERR_IO: return "I/O error";
    case ROTO_ERR_FORMAT: return "format error";
    case ROTO_ERR_UNSUPPORTED: return "unsupported";
    case ROTO_ERR_OOM: return "out of memory";
    case ROTO_ERR_DEVICE: return "device error";
    case ROTO_ERR_NOT_FOUND: return "not found";
    case ROTO_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}
