// weights_write.h: write a safetensors file, atomically and streaming.
//
// Layout written (the format read by engine/safetensors.c and the reference
// `safetensors` package): u64 little-endian N, N bytes of JSON header
// ({"__metadata__": {...}, "<name>": {"dtype", "shape", "data_offsets"}, ...}),
// then the tensors' bytes back to back: 8-byte types first, then 4-, 2- and
// 1-byte types (the given order within each). The header lists the tensors in
// the given order and is padded with spaces (allowed by the format) so the data
// section starts at a multiple of 64 bytes: every tensor of the file is aligned
// to its element size in a mapping of the file.
//
// The file is streamed into "<dir>/.<name>.tmp.<pid>" (io/atomic.h's temp
// name), fsync'ed and renamed over the path: a failure or a kill never leaves a
// partial file under the real name, and memory use is one tensor at a time.
#ifndef ROTO_WEIGHTS_WRITE_H
#define ROTO_WEIGHTS_WRITE_H

#include "weights.h"

#ifdef __cplusplus
extern "C" {
#endif

// One tensor to write.
typedef struct {
    const char *name;
    rt_wdtype dtype;               // dtype written to the file
    int ndim;                      // 0..4
    int64_t shape[RT_MAX_DIMS];
    const void *data;              // numel elements of src_dtype; need not be aligned
    rt_wdtype src_dtype;           // == dtype (copied), or both of f32/f16/bf16 (converted,
                                   // round to nearest even)
} rt_wout;

// The safetensors dtype string of t ("F32", "BF16", ...).
const char *rt_safetensors_dtype_name(rt_wdtype t);

// Write n tensors (unique names, not "__metadata__") and n_meta string pairs.
// Errors name the path (and the tensor).
roto_status rt_safetensors_write(const char *path, const rt_wout *t, int n, const rt_wmeta *meta,
                                 int n_meta);

// Test hook: make the next rt_safetensors_write on this thread fail after
// `bytes` bytes of the temp file were written (as if the disk filled up),
// once. -1 disables.
void rt_safetensors_write_fail_after(long bytes);

#ifdef __cplusplus
}
#endif
#endif
