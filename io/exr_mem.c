// exr_mem.c: OpenEXRCore's read and size callbacks over a memory buffer.
#include "io/exr_mem.h"

#include <string.h>

static int64_t src_read(exr_const_context_t c, void *ud, void *buf, uint64_t sz, uint64_t off,
                        exr_stream_error_func_ptr_t ecb) {
    (void)c;
    (void)ecb;
    const roto_exr_src *s = (const roto_exr_src *)ud;
    if (off >= s->n) return 0;  // a short read: the Core reports the truncation
    uint64_t k = sz < s->n - off ? sz : s->n - off;
    memcpy(buf, s->d + off, (size_t)k);
    return (int64_t)k;
}

static int64_t src_size(exr_const_context_t c, void *ud) {
    (void)c;
    return (int64_t)((const roto_exr_src *)ud)->n;
}

static void drop_message(exr_const_context_t c, exr_result_t code, const char *msg) {
    (void)c;
    (void)code;
    (void)msg;
}

exr_result_t roto_exr_start_read_mem(exr_context_t *ctx, const char *name, roto_exr_src *src,
                                     exr_error_handler_cb_t on_error) {
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.user_data = src;
    init.read_fn = src_read;
    init.size_fn = src_size;
    init.error_handler_fn = on_error ? on_error : drop_message;
    init.flags = EXR_CONTEXT_FLAG_DISABLE_CHUNK_RECONSTRUCTION;
    *ctx = NULL;
    return exr_start_read(ctx, name, &init);
}
