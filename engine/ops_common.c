// ops_common.c: argument checks shared by the op layer.
#include "ops_common.h"

#include <stdio.h>

roto_status rt_check(const rt_ctx *ctx, const rt_tensor *t, const char *what, int ndim, int dt) {
    if (!ctx || !ctx->be) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: no context", what);
    if (!t) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: NULL tensor", what);
    char buf[96];
    if (t->ndim < 0 || t->ndim > RT_MAX_DIMS)
        return roto_fail(ROTO_ERR_SHAPE, "%s: %d dims", what, t->ndim);
    if (ndim >= 0 && t->ndim != ndim)
        return roto_fail(ROTO_ERR_SHAPE, "%s: expected %d dims, got %s", what, ndim,
                         rt_shape_str(t, buf, sizeof buf));
    if (dt >= 0 && (int)t->dtype != dt)
        return roto_fail(ROTO_ERR_SHAPE, "%s: expected dtype %s, got %s", what,
                         rt_dtype_name((rt_dtype)dt), rt_shape_str(t, buf, sizeof buf));
    if (t->device != ctx->be->device)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor is on the %s, context is %s", what,
                         t->device == RT_DEV_CPU ? "cpu" : "cuda", ctx->be->name);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] < 0)
            return roto_fail(ROTO_ERR_SHAPE, "%s: negative dim in %s", what,
                             rt_shape_str(t, buf, sizeof buf));
    if (!t->data && rt_numel(t) > 0)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor has no data", what);
    return ROTO_OK;
}

roto_status rt_check_last_contiguous(const rt_tensor *t, const char *what) {
    if (t->ndim > 0 && t->shape[t->ndim - 1] > 1 && t->stride[t->ndim - 1] != 1)
        return roto_fail(ROTO_ERR_SHAPE, "%s: last dim must be contiguous (stride %lld)", what,
                         (long long)t->stride[t->ndim - 1]);
    return ROTO_OK;
}

roto_status rt_check_contiguous(const rt_tensor *t, const char *what) {
    if (!rt_is_contiguous(t)) return roto_fail(ROTO_ERR_SHAPE, "%s: must be contiguous", what);
    return ROTO_OK;
}

roto_status rt_check_same_shape(const rt_tensor *a, const rt_tensor *b, const char *what) {
    if (!rt_same_shape(a, b)) {
        char ba[96], bb[96];
        return roto_fail(ROTO_ERR_SHAPE, "%s: shapes differ: %s vs %s", what,
                         rt_shape_str(a, ba, sizeof ba), rt_shape_str(b, bb, sizeof bb));
    }
    return ROTO_OK;
}

roto_status rt_check_dim(const rt_tensor *t, int d, int64_t want, const char *what) {
    if (d >= t->ndim || t->shape[d] != want) {
        char buf[96];
        return roto_fail(ROTO_ERR_SHAPE, "%s: dim %d must be %lld, tensor is %s", what, d,
                         (long long)want, rt_shape_str(t, buf, sizeof buf));
    }
    return ROTO_OK;
}

// Byte extent [lo, hi) touched by a strided tensor (non-negative strides).
static void extent(const rt_tensor *t, const char **lo, const char **hi) {
    int64_t last = 0;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] > 0) last += (t->shape[i] - 1) * t->stride[i];
    size_t es = rt_dtype_size(t->dtype);
    *lo = (const char *)t->data;
    *hi = *lo + (size_t)(last + 1) * es;
}

int rt_overlaps(const rt_tensor *a, const rt_tensor *b) {
    if (!a || !b || !a->data || !b->data || rt_numel(a) == 0 || rt_numel(b) == 0) return 0;
    const char *alo, *ahi, *blo, *bhi;
    extent(a, &alo, &ahi);
    extent(b, &blo, &bhi);
    return alo < bhi && blo < ahi;
}

roto_status rt_check_no_alias(const rt_tensor *y, const rt_tensor *x, const char *what) {
    if (rt_overlaps(y, x))
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: output overlaps an input", what);
    return ROTO_OK;
}
