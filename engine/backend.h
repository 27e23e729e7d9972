// backend.h: the table of function pointers a backend (CPU, CUDA) fills in.
// The op layer (engine/ops_*.c) validates arguments, then calls these with
// arguments it has already checked. A NULL entry means "not implemented on this
// backend": the op returns ROTO_ERR_UNSUPPORTED naming the op and backend.
#ifndef ROTO_BACKEND_H
#define ROTO_BACKEND_H

#include <stddef.h>

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rt_backend {
    const char *name;  // "cpu", "cuda"
    rt_device device;

    // Memory. Buffers live on the backend's device; copies are host <-> device.
    roto_status (*alloc)(rt_ctx *ctx, void **ptr, size_t bytes);
    void (*free)(rt_ctx *ctx, void *ptr);
    roto_status (*upload)(rt_ctx *ctx, void *dst_dev, const void *src_host, size_t bytes);
    roto_status (*download)(rt_ctx *ctx, void *dst_host, const void *src_dev, size_t bytes);
    roto_status (*synchronize)(rt_ctx *ctx);

    // Ops: same arguments as the rt_* functions in ops.h, already validated.
    roto_status (*linear)(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                          const rt_tensor *b, rt_act act);
    roto_status (*matmul)(rt_ctx *, rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                          int trans_b, float alpha, float beta);
    roto_status (*conv2d)(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                          const rt_tensor *b, const rt_conv_params *p, rt_act act);
    roto_status (*conv_transpose)(rt_ctx *, rt_tensor *y, const rt_tensor *x,
                                  const rt_tensor *w, const rt_tensor *b, int k);
    roto_status (*layernorm)(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                             const rt_tensor *b, float eps);
    roto_status (*activation)(rt_ctx *, rt_tensor *y, const rt_tensor *x, rt_act act);
    roto_status (*softmax)(rt_ctx *, rt_tensor *y, const rt_tensor *x, float scale);
    roto_status (*attention)(rt_ctx *, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                             const rt_tensor *v, const rt_tensor *key_bias, float scale);
    roto_status (*rope)(rt_ctx *, rt_tensor *x, const rt_tensor *cos_t, const rt_tensor *sin_t,
                        int64_t n_rot);
    roto_status (*window_partition)(rt_ctx *, rt_tensor *y, const rt_tensor *x, int ws);
    roto_status (*window_unpartition)(rt_ctx *, rt_tensor *y, const rt_tensor *x, int ws);
    roto_status (*maxpool2x2)(rt_ctx *, rt_tensor *y, const rt_tensor *x);
    roto_status (*interpolate)(rt_ctx *, rt_tensor *y, const rt_tensor *x,
                               const rt_interp_params *p);
    roto_status (*copy)(rt_ctx *, rt_tensor *y, const rt_tensor *x);
    roto_status (*concat)(rt_ctx *, rt_tensor *y, const rt_tensor *const *xs, int n, int dim);
    roto_status (*binary)(rt_ctx *, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                          rt_binop op);
    roto_status (*scale)(rt_ctx *, rt_tensor *y, const rt_tensor *x, float scale, float shift);
    roto_status (*fill)(rt_ctx *, rt_tensor *y, float value);
    roto_status (*connected_components)(rt_ctx *, rt_tensor *labels, rt_tensor *areas,
                                        const rt_tensor *mask, int *n_out);
    // Matte operations: morph is dilate (erode 0) or erode (erode 1); components
    // is hole filling (holes 1, limit = max_area) or island removal (holes 0,
    // limit = min_area).
    roto_status (*matte_threshold)(rt_ctx *, rt_tensor *out, const rt_tensor *in, float t);
    roto_status (*matte_morph)(rt_ctx *, rt_tensor *out, const rt_tensor *in, float radius,
                               int erode);
    roto_status (*matte_feather)(rt_ctx *, rt_tensor *out, const rt_tensor *in, float radius);
    roto_status (*matte_components)(rt_ctx *, rt_tensor *out, const rt_tensor *in, int64_t limit,
                                    int connectivity, int holes);
    roto_status (*matte_core_edge)(rt_ctx *, rt_tensor *core, rt_tensor *edge,
                                   const rt_tensor *in, float radius);

    // Optional per-context setup and teardown (NULL on the CPU). rt_ctx_create
    // calls ctx_init before allocating the arena (CUDA: pick the device, create
    // the stream and library handles in ctx->backend_state); rt_ctx_destroy
    // calls ctx_shutdown after freeing the arena. ctx_shutdown must accept a
    // context whose ctx_init failed or never ran (backend_state NULL).
    roto_status (*ctx_init)(rt_ctx *);
    void (*ctx_shutdown)(rt_ctx *);
};

// The CPU backend (kernels/cpu/cpu_backend.c), always present.
const rt_backend *rt_cpu_backend(void);
// The CUDA backend (kernels/cuda/), or NULL when built without CUDA.
const rt_backend *rt_cuda_backend(void);

#ifdef __cplusplus
}
#endif
#endif
