// ops_gemm.c: validation and dispatch for rt_linear and rt_matmul.
#include "ops_common.h"

roto_status rt_linear(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, rt_act act) {
    ROTO_TRY(rt_check(ctx, x, "linear: x", -1, -1));
    ROTO_TRY(rt_check(ctx, w, "linear: w", 2, -1));
    ROTO_TRY(rt_check(ctx, y, "linear: y", -1, -1));
    ROTO_TRY(rt_check_contiguous(x, "linear: x"));
    ROTO_TRY(rt_check_contiguous(w, "linear: w"));
    ROTO_TRY(rt_check_contiguous(y, "linear: y"));
    if (x->ndim < 1 || y->ndim != x->ndim)
        return roto_fail(ROTO_ERR_SHAPE, "linear: x has %d dims, y has %d", x->ndim, y->ndim);
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0];
    ROTO_TRY(rt_check_dim(w, 1, K, "linear: w [out, in] vs x's last dim"));
    ROTO_TRY(rt_check_dim(y, y->ndim - 1, N, "linear: y's last dim vs w [out, in]"));
    for (int i = 0; i + 1 < x->ndim; i++)
        ROTO_TRY(rt_check_dim(y, i, x->shape[i], "linear: y's leading dims vs x"));
    if (b) {
        ROTO_TRY(rt_check(ctx, b, "linear: b", 1, (int)x->dtype));
        ROTO_TRY(rt_check_dim(b, 0, N, "linear: b"));
        ROTO_TRY(rt_check_contiguous(b, "linear: b"));
    }
    if (x->dtype != w->dtype || x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_SHAPE, "linear: x %s, w %s, y %s must share a dtype",
                         rt_dtype_name(x->dtype), rt_dtype_name(w->dtype),
                         rt_dtype_name(y->dtype));
    ROTO_TRY(rt_check_no_alias(y, x, "linear"));
    ROTO_TRY(rt_check_no_alias(y, w, "linear"));
    RT_DISPATCH(ctx, linear, "linear", y, x, w, b, act);
}

// Batch dims of a 3-d or 4-d tensor must be walkable as one index b = b0*B1+b1:
// stride[0] == shape[1]*stride[1] (or shape[0] == 1).
static roto_status batch_walkable(const rt_tensor *t, const char *what) {
    if (t->ndim == 4 && t->shape[0] > 1 && t->stride[0] != t->shape[1] * t->stride[1])
        return roto_fail(ROTO_ERR_SHAPE, "%s: its two batch dims cannot be merged", what);
    return ROTO_OK;
}

static int64_t batch_count(const rt_tensor *t) {
    return t->ndim == 4 ? t->shape[0] * t->shape[1] : t->shape[0];
}

roto_status rt_matmul(rt_ctx *ctx, rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                      int trans_b, float alpha, float beta) {
    ROTO_TRY(rt_check(ctx, a, "matmul: a", -1, -1));
    ROTO_TRY(rt_check(ctx, bm, "matmul: b", a->ndim, -1));
    ROTO_TRY(rt_check(ctx, c, "matmul: c", a->ndim, -1));
    if (a->ndim != 3 && a->ndim != 4)
        return roto_fail(ROTO_ERR_SHAPE, "matmul: tensors must be 3-d or 4-d, got %d", a->ndim);
    ROTO_TRY(rt_check_last_contiguous(a, "matmul: a"));
    ROTO_TRY(rt_check_last_contiguous(bm, "matmul: b"));
    ROTO_TRY(rt_check_last_contiguous(c, "matmul: c"));
    ROTO_TRY(batch_walkable(a, "matmul: a"));
    ROTO_TRY(batch_walkable(bm, "matmul: b"));
    ROTO_TRY(batch_walkable(c, "matmul: c"));
    int d = a->ndim;
    int64_t M = a->shape[d - 2], K = a->shape[d - 1];
    int64_t N = trans_b ? bm->shape[d - 2] : bm->shape[d - 1];
    int64_t Kb = trans_b ? bm->shape[d - 1] : bm->shape[d - 2];
    if (Kb != K)
        return roto_fail(ROTO_ERR_SHAPE, "matmul: inner dims differ (a has K=%lld, b has %lld)",
                         (long long)K, (long long)Kb);
    ROTO_TRY(rt_check_dim(c, d - 2, M, "matmul: c rows vs a rows"));
    ROTO_TRY(rt_check_dim(c, d - 1, N, "matmul: c cols vs b"));
    int64_t B = batch_count(a);
    if (batch_count(c) != B)
        return roto_fail(ROTO_ERR_SHAPE, "matmul: c has %lld batches, a has %lld",
                         (long long)batch_count(c), (long long)B);
    if (batch_count(bm) != B && batch_count(bm) != 1)
        return roto_fail(ROTO_ERR_SHAPE, "matmul: b has %lld batches, a has %lld",
                         (long long)batch_count(bm), (long long)B);
    if (a->dtype != bm->dtype || a->dtype != c->dtype)
        return roto_fail(ROTO_ERR_SHAPE, "matmul: a, b and c must share a dtype");
    ROTO_TRY(rt_check_no_alias(c, a, "matmul"));
    ROTO_TRY(rt_check_no_alias(c, bm, "matmul"));
    RT_DISPATCH(ctx, matmul, "matmul", c, a, bm, trans_b, alpha, beta);
}
