// status.h: status codes and the thread-local error message.
// Library code never exits or aborts on bad input: it returns a roto_status and
// records a message (file, line, what went wrong) that the caller can print.
#ifndef ROTO_STATUS_H
#define ROTO_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ROTO_OK = 0,
    ROTO_ERR_INVALID_ARG,  // a caller passed something impossible (NULL, bad dims)
    ROTO_ERR_SHAPE,        // tensor shapes/dtypes do not fit the operation
    ROTO_ERR_IO,           // open/read/write/mmap failed
    ROTO_ERR_FORMAT,       // a file is malformed (truncated, bad offsets, bad magic)
    ROTO_ERR_UNSUPPORTED,  // valid but not supported (opcode, dtype, op on backend)
    ROTO_ERR_OOM,          // allocation failed (host or device)
    ROTO_ERR_DEVICE,       // CUDA/cuBLAS/cuDNN error, or no such device
    ROTO_ERR_NOT_FOUND,    // a named thing (tensor, key) is missing
    ROTO_ERR_INTERNAL      // a bug: an invariant was broken
} roto_status;

// Records the error message for this thread and returns `code` so call sites
// can write `return roto_fail(...)`. The message is formatted printf-style.
roto_status roto_set_error(roto_status code, const char *file, int line,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// The last message recorded on this thread ("" if none).
const char *roto_last_error(void);
// Short name of a status code ("shape error", ...).
const char *roto_status_name(roto_status s);
void roto_clear_error(void);

#define roto_fail(code, ...) roto_set_error((code), __FILE__, __LINE__, __VA_ARGS__)

// Propagate a non-OK status from a call.
#define ROTO_TRY(expr)                      \
    do {                                    \
        roto_status _st = (expr);           \
        if (_st != ROTO_OK) return _st;     \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
