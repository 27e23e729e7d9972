// exr_mem.h: an OpenEXRCore read context over bytes in memory. One reader
// callback pair for the EXR decoder (io/exr.c), roto info's part listing
// (tools/cmd_info.c) and the DWA fuzz target.
#ifndef ROTO_IO_EXR_MEM_H
#define ROTO_IO_EXR_MEM_H

#include <openexr.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const uint8_t *d;
    size_t n;
} roto_exr_src;

// Start reading `src` (which must outlive the context) as the file `name`,
// with chunk-table reconstruction off (a damaged table is an error, not a
// guess). The context's user data is `src`: a caller that needs more state in
// `on_error` embeds roto_exr_src as the FIRST member of its own struct and
// casts back. on_error NULL: OpenEXRCore's messages are dropped (callers
// report errors themselves). On failure *ctx may be non-NULL: exr_finish it.
exr_result_t roto_exr_start_read_mem(exr_context_t *ctx, const char *name, roto_exr_src *src,
                                     exr_error_handler_cb_t on_error);

#ifdef __cplusplus
}
#endif
#endif
