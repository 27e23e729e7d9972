// cpu_ops.h: the CPU backend's op entry points (arguments already validated by
// the op layer, see engine/ops.h) and the raw-pointer kernels behind them.
// One file per op family in kernels/cpu/; each kernel has a plain-loop fp64
// reference in tests/ref/ it is tested against.
#ifndef ROTO_CPU_OPS_H
#define ROTO_CPU_OPS_H

#include <omp.h>

#include "../../engine/backend.h"

// Threads for a kernel's OpenMP regions: the context's num_threads, else
// OpenMP's default.
static inline int cpu_threads(const rt_ctx *ctx) {
    int n = ctx && ctx->num_threads > 0 ? ctx->num_threads : omp_get_max_threads();
    return n > 0 ? n : 1;
}

// gemm.c (+ gemm_avx2.c, gemm_avx512.c)
roto_status cpu_linear(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                       const rt_tensor *b, rt_act act);
roto_status cpu_matmul(rt_ctx *, rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                       int trans_b, float alpha, float beta);

// conv.c
roto_status cpu_conv2d(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                       const rt_tensor *b, const rt_conv_params *p, rt_act act);
roto_status cpu_conv_transpose(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                               const rt_tensor *b, int k);

// norm_act.c
roto_status cpu_layernorm(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                          const rt_tensor *b, float eps);
roto_status cpu_activation(rt_ctx *, rt_tensor *y, const rt_tensor *x, rt_act act);
roto_status cpu_softmax(rt_ctx *, rt_tensor *y, const rt_tensor *x, float scale);

// attention.c
roto_status cpu_attention(rt_ctx *, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                          const rt_tensor *v, const rt_tensor *key_bias, float scale);
roto_status cpu_rope(rt_ctx *, rt_tensor *x, const rt_tensor *cos_t, const rt_tensor *sin_t,
                     int64_t n_rot);

// layout.c
roto_status cpu_window_partition(rt_ctx *, rt_tensor *y, const rt_tensor *x, int ws);
roto_status cpu_window_unpartition(rt_ctx *, rt_tensor *y, const rt_tensor *x, int ws);
roto_status cpu_maxpool2x2(rt_ctx *, rt_tensor *y, const rt_tensor *x);
roto_status cpu_copy(rt_ctx *, rt_tensor *y, const rt_tensor *x);
roto_status cpu_concat(rt_ctx *, rt_tensor *y, const rt_tensor *const *xs, int n, int dim);

// resample.c
roto_status cpu_interpolate(rt_ctx *, rt_tensor *y, const rt_tensor *x,
                            const rt_interp_params *p);

// elementwise.c
roto_status cpu_binary(rt_ctx *, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                       rt_binop op);
roto_status cpu_scale(rt_ctx *, rt_tensor *y, const rt_tensor *x, float scale, float shift);
roto_status cpu_fill(rt_ctx *, rt_tensor *y, float value);

// ccl.c
roto_status cpu_connected_components(rt_ctx *, rt_tensor *labels, rt_tensor *areas,
                                     const rt_tensor *mask, int *n_out);

// matte.c (the host algorithms behind them are in matte.h)
roto_status cpu_matte_threshold(rt_ctx *, rt_tensor *out, const rt_tensor *in, float t);
roto_status cpu_matte_morph(rt_ctx *, rt_tensor *out, const rt_tensor *in, float radius, int erode);
roto_status cpu_matte_feather(rt_ctx *, rt_tensor *out, const rt_tensor *in, float radius);
roto_status cpu_matte_components(rt_ctx *, rt_tensor *out, const rt_tensor *in, int64_t limit,
                                 int connectivity, int holes);
roto_status cpu_matte_core_edge(rt_ctx *, rt_tensor *core, rt_tensor *edge, const rt_tensor *in,
                                float radius);

#endif
