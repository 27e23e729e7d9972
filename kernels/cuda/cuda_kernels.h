// cuda_kernels.h: the public CUDA-only API of roto, beside the op API (ops.h):
// device selection, per-context precision, CUDA graphs of op sequences, pinned
// host buffers and asynchronous copies, and the image normalisation kernel.
//
// Every function takes a context made on rt_cuda_backend(). In a build without
// CUDA (ROTO_HAVE_CUDA undefined) the functions are static inline and fail
// with ROTO_ERR_UNSUPPORTED, so callers need no #ifdefs.
#ifndef ROTO_CUDA_KERNELS_H
#define ROTO_CUDA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../../engine/ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

// How GEMMs, convolutions and attention compute on f32 tensors. Half-type
// tensors (f16, bf16) always multiply in their own type with fp32 accumulation.
//   FP32: exact fp32 (no tensor cores for f32 data; the default)
//   TF32: f32 data through TF32 tensor cores (10-bit mantissa products)
//   BF16, FP16: f32 data rounded to that type for the products, fp32
//               accumulation; attention then runs the flash kernel
typedef enum { RT_PREC_FP32 = 0, RT_PREC_TF32, RT_PREC_BF16, RT_PREC_FP16 } rt_precision;

// Pixel formats for rt_cuda_normalize_image.
typedef enum { RT_PIX_U8 = 0, RT_PIX_U16, RT_PIX_F16, RT_PIX_F32 } rt_pixel_type;

// An instantiated CUDA graph (opaque).
typedef struct rt_cuda_graph rt_cuda_graph;

#ifdef ROTO_HAVE_CUDA

// Number of CUDA devices. Fails with ROTO_ERR_DEVICE (message says why: no
// driver, no device) when there is none; *n is then 0.
roto_status rt_cuda_device_count(int *n);
// Device for contexts created after this call (overrides ROTO_DEVICE=cuda:N).
roto_status rt_cuda_select_device(int device);
// Parse "cuda", "cuda:N" (ROTO_DEVICE syntax). Returns 1 and sets *device on
// success, 0 when s is not a CUDA device string.
int rt_cuda_parse_device(const char *s, int *device);
// The device a CUDA context runs on, its name and compute capability.
roto_status rt_cuda_ctx_info(rt_ctx *ctx, int *device, char *name, size_t name_len,
                             int *cc_major, int *cc_minor);

// Precision of a context (default from ROTO_PRECISION=fp32|tf32|bf16|fp16, else FP32).
roto_status rt_cuda_set_precision(rt_ctx *ctx, rt_precision p);
rt_precision rt_cuda_get_precision(const rt_ctx *ctx);
// Parse "fp32", "tf32", "bf16", "fp16"; returns 1 on success.
int rt_cuda_parse_precision(const char *s, rt_precision *p);

// Make sure the context's internal scratch buffer holds at least `bytes`
// (ops grow it on demand; call this before a graph capture if the eager
// warm-up run did not already reach the size).
roto_status rt_cuda_reserve_scratch(rt_ctx *ctx, size_t bytes);

// CUDA graphs. Between begin and end every op call on ctx is recorded, not
// run. Ops must have run once eagerly with the same shapes first: that
// warm-up grows scratch buffers, creates cuBLASLt/cuDNN plans and sets kernel
// attributes, none of which may happen during capture (an op that would
// allocate or synchronise fails instead, e.g. rt_connected_components, which
// returns a count to the host). Tensors must keep their addresses between
// capture and launch (arena tensors do when the same ops run after
// rt_ctx_reset).
roto_status rt_cuda_graph_begin(rt_ctx *ctx);
// Ends the capture and instantiates the graph. On failure the capture is
// ended and discarded and *graph is NULL.
roto_status rt_cuda_graph_end(rt_ctx *ctx, rt_cuda_graph **graph);
// Enqueue one replay on the context's stream (asynchronous).
roto_status rt_cuda_graph_launch(rt_ctx *ctx, rt_cuda_graph *graph);
void rt_cuda_graph_destroy(rt_cuda_graph *graph);

// Page-locked host memory for fast asynchronous transfers.
roto_status rt_cuda_host_alloc(void **ptr, size_t bytes);
void rt_cuda_host_free(void *ptr);
// Stream-ordered copies that return at once. With pinned host memory the
// host buffer must stay untouched until rt_ctx_synchronize.
roto_status rt_cuda_upload_async(rt_ctx *ctx, void *dst_dev, const void *src_host, size_t bytes);
roto_status rt_cuda_download_async(rt_ctx *ctx, void *dst_host, const void *src_dev,
                                   size_t bytes);

// Image normalisation: src is an interleaved image on the device (H rows of
// `row_bytes` bytes, W pixels of `channels` samples of `type`; channels >= 3,
// only the first 3 are used). Writes y [1, H, W, 3] f32 (or f16/bf16) with
//   y = (v / max_value - mean[c]) / std[c]
// where max_value is 255 (u8), 65535 (u16) or 1 (f16, f32).
roto_status rt_cuda_normalize_image(rt_ctx *ctx, rt_tensor *y, const void *src,
                                    rt_pixel_type type, int width, int height, int channels,
                                    size_t row_bytes, const float mean[3], const float std[3]);

#else  // built without CUDA: every entry point reports that.

#define RT_CUDA_UNAVAILABLE_ \
    roto_fail(ROTO_ERR_UNSUPPORTED, "roto was built without CUDA (make CUDA=1 with nvcc)")
static inline roto_status rt_cuda_device_count(int *n) {
    if (n) *n = 0;
    return RT_CUDA_UNAVAILABLE_;
}
static inline roto_status rt_cuda_select_device(int d) { (void)d; return RT_CUDA_UNAVAILABLE_; }
static inline int rt_cuda_parse_device(const char *s, int *d) { (void)s; (void)d; return 0; }
static inline roto_status rt_cuda_ctx_info(rt_ctx *c, int *d, char *n, size_t l, int *a, int *b) {
    (void)c; (void)d; (void)n; (void)l; (void)a; (void)b;
    return RT_CUDA_UNAVAILABLE_;
}
static inline roto_status rt_cuda_set_precision(rt_ctx *c, rt_precision p) {
    (void)c; (void)p;
    return RT_CUDA_UNAVAILABLE_;
}
static inline rt_precision rt_cuda_get_precision(const rt_ctx *c) { (void)c; return RT_PREC_FP32; }
static inline int rt_cuda_parse_precision(const char *s, rt_precision *p) {
    (void)s; (void)p;
    return 0;
}
static inline roto_status rt_cuda_reserve_scratch(rt_ctx *c, size_t b) {
    (void)c; (void)b;
    return RT_CUDA_UNAVAILABLE_;
}
static inline roto_status rt_cuda_graph_begin(rt_ctx *c) { (void)c; return RT_CUDA_UNAVAILABLE_; }
static inline roto_status rt_cuda_graph_end(rt_ctx *c, rt_cuda_graph **g) {
    (void)c;
    if (g) *g = NULL;
    return RT_CUDA_UNAVAILABLE_;
}
static inline roto_status rt_cuda_graph_launch(rt_ctx *c, rt_cuda_graph *g) {
    (void)c; (void)g;
    return RT_CUDA_UNAVAILABLE_;
}
static inline void rt_cuda_graph_destroy(rt_cuda_graph *g) { (void)g; }
static inline roto_status rt_cuda_host_alloc(void **p, size_t b) {
    (void)b;
    if (p) *p = NULL;
    return RT_CUDA_UNAVAILABLE_;
}
static inline void rt_cuda_host_free(void *p) { (void)p; }
static inline roto_status rt_cuda_upload_async(rt_ctx *c, void *d, const void *s, size_t b) {
    (void)c; (void)d; (void)s; (void)b;
    return RT_CUDA_UNAVAILABLE_;
}
static inline roto_status rt_cuda_download_async(rt_ctx *c, void *d, const void *s, size_t b) {
    (void)c; (void)d; (void)s; (void)b;
    return RT_CUDA_UNAVAILABLE_;
}
static inline roto_status rt_cuda_normalize_image(rt_ctx *c, rt_tensor *y, const void *src,
                                                  rt_pixel_type t, int w, int h, int ch,
                                                  size_t rb, const float m[3], const float s[3]) {
    (void)c; (void)y; (void)src; (void)t; (void)w; (void)h; (void)ch; (void)rb; (void)m; (void)s;
    return RT_CUDA_UNAVAILABLE_;
}
#endif

#ifdef __cplusplus
}
#endif
#endif
