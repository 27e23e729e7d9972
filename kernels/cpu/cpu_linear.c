// cpu_linear.c: the CPU backend's rt_linear and rt_matmul (engine/ops.h), both
// thin wrappers that map tensors onto cpu_sgemm / cpu_sgemm_batched (gemm.h).
// The op layer (engine/ops_gemm.c) has checked shapes, devices and aliasing;
// what it leaves open (dtype support, the bias layout) is checked here.
#include "cpu_ops.h"
#include "gemm.h"

static roto_status need_f32(const rt_tensor *t, const char *what) {
    if (t->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: the cpu backend computes in f32, got %s",
                         what, rt_dtype_name(t->dtype));
    return ROTO_OK;
}

roto_status cpu_linear(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                       const rt_tensor *b, rt_act act) {
    (void)ctx;
    ROTO_TRY(need_f32(x, "linear"));
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0], M = 1;
    for (int i = 0; i + 1 < x->ndim; i++) M *= x->shape[i];
    if (b) {
        ROTO_TRY(need_f32(b, "linear: b"));
        if (N > 1 && b->stride[0] != 1)
            return roto_fail(ROTO_ERR_SHAPE, "linear: b must be contiguous (stride %lld)",
                             (long long)b->stride[0]);
    }
    cpu_gemm_args g = {
        .M = M, .N = N, .K = K,
        .A = (const float *)x->data, .lda = K,
        .B = (const float *)w->data, .ldb = K, .trans_b = 1,  // w is [out, in]
        .C = (float *)y->data, .ldc = N,
        .bias = b ? (const float *)b->data : NULL,
        .act = act, .alpha = 1.0f, .beta = 0.0f, .threads = cpu_threads(ctx),
    };
    cpu_sgemm(&g);
    return ROTO_OK;
}

// Element stride between consecutive batches of a 3-d or 4-d tensor whose
// batch dims the op layer found walkable as one index b0*B1 + b1.
static int64_t batch_stride(const rt_tensor *t) {
    if (t->ndim == 3) return t->stride[0];
    return t->shape[1] > 1 ? t->stride[1] : t->stride[0];
}

static int64_t batch_count(const rt_tensor *t) {
    return t->ndim == 4 ? t->shape[0] * t->shape[1] : t->shape[0];
}

roto_status cpu_matmul(rt_ctx *ctx, rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                       int trans_b, float alpha, float beta) {
    (void)ctx;
    ROTO_TRY(need_f32(a, "matmul"));
    int d = a->ndim;
    int64_t M = a->shape[d - 2], K = a->shape[d - 1];
    int64_t N = trans_b ? bm->shape[d - 2] : bm->shape[d - 1];
    int64_t B = batch_count(a);
    cpu_gemm_args g = {
        .M = M, .N = N, .K = K,
        .A = (const float *)a->data, .lda = a->stride[d - 2],
        .B = (const float *)bm->data, .ldb = bm->stride[d - 2], .trans_b = trans_b ? 1 : 0,
        .C = (float *)c->data, .ldc = c->stride[d - 2],
        .bias = NULL, .act = RT_ACT_NONE, .alpha = alpha, .beta = beta,
        .threads = cpu_threads(ctx),
    };
    // A single B batch is shared by every A batch (stride 0).
    int64_t stride_b = batch_count(bm) == 1 ? 0 : batch_stride(bm);
    cpu_sgemm_batched(&g, B, batch_stride(a), stride_b, batch_stride(c));
    return ROTO_OK;
}
