// cpu_backend.c: the CPU backend table: host memory and the kernels/cpu ops.
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

static roto_status cpu_alloc(rt_ctx *ctx, void **ptr, size_t bytes) {
    (void)ctx;
    // 64-byte alignment suits AVX-512 loads; aligned_alloc needs a multiple.
    size_t n = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n ? n : 64);
    if (!p) return roto_fail(ROTO_ERR_OOM, "cpu: cannot allocate %zu bytes", bytes);
    *ptr = p;
    return ROTO_OK;
}

static void cpu_free(rt_ctx *ctx, void *ptr) {
    (void)ctx;
    free(ptr);
}

static roto_status cpu_memcpy(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    (void)ctx;
    if (bytes) memcpy(dst, src, bytes);
    return ROTO_OK;
}

static roto_status cpu_sync(rt_ctx *ctx) {
    (void)ctx;
    return ROTO_OK;
}

static const rt_backend g_cpu = {
    .name = "cpu",
    .device = RT_DEV_CPU,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .synchronize = cpu_sync,
    .linear = cpu_linear,          // gemm.c
    .matmul = cpu_matmul,          // gemm.c
    .conv2d = cpu_conv2d,          // conv.c
    .conv_transpose = cpu_conv_transpose,  // conv.c
    .layernorm = cpu_layernorm,    // norm_act.c
    .activation = cpu_activation,  // norm_act.c
    .softmax = cpu_softmax,        // norm_act.c
    .attention = cpu_attention,    // attention.c
    .rope = cpu_rope,              // attention.c
    .window_partition = cpu_window_partition,      // layout.c
    .window_unpartition = cpu_window_unpartition,  // layout.c
    .maxpool2x2 = cpu_maxpool2x2,  // layout.c
    .interpolate = cpu_interpolate,  // resample.c
    .copy = cpu_copy,              // layout.c
    .concat = cpu_concat,          // layout.c
    .binary = cpu_binary,          // elementwise.c
    .scale = cpu_scale,            // elementwise.c
    .fill = cpu_fill,              // elementwise.c
    .connected_components = cpu_connected_components,  // ccl.c
    .matte_threshold = cpu_matte_threshold,    // matte.c
    .matte_morph = cpu_matte_morph,            // matte.c
    .matte_feather = cpu_matte_feather,        // matte.c
    .matte_components = cpu_matte_components,  // matte.c
    .matte_core_edge = cpu_matte_core_edge,    // matte.c
};

const rt_backend *rt_cpu_backend(void) { return &g_cpu; }
