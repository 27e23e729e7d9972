// ops_norm.c: validation and dispatch for rt_layernorm, rt_activation and
// rt_softmax (semantics in ops.h).
#include <stdio.h>

#include "ops_common.h"

// Float compute dtypes: f32 everywhere; f16/bf16 only on non-CPU backends
// (the CPU computes in f32 only).
static roto_status check_float_dtype(const rt_ctx *ctx, const rt_tensor *t, const char *what) {
    if (t->dtype == RT_F32) return ROTO_OK;
    if ((t->dtype == RT_F16 || t->dtype == RT_BF16) && ctx->be->device != RT_DEV_CPU)
        return ROTO_OK;
    return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: dtype %s is not supported on the %s backend",
                     what, rt_dtype_name(t->dtype), ctx->be->name);
}

// y and x: same shape and dtype, contiguous, and either the same buffer (in
// place) or not overlapping at all.
static roto_status check_inplace_pair(const rt_ctx *ctx, const rt_tensor *y, const rt_tensor *x,
                                      const char *op) {
    char what[64];
    snprintf(what, sizeof what, "%s: x", op);
    ROTO_TRY(rt_check(ctx, x, what, -1, -1));
    ROTO_TRY(rt_check_contiguous(x, what));
    ROTO_TRY(check_float_dtype(ctx, x, what));
    snprintf(what, sizeof what, "%s: y", op);
    ROTO_TRY(rt_check(ctx, y, what, -1, -1));
    ROTO_TRY(rt_check_contiguous(y, what));
    snprintf(what, sizeof what, "%s: y vs x", op);
    ROTO_TRY(rt_check_same_shape(y, x, what));
    if (y->dtype != x->dtype)
        return roto_fail(ROTO_ERR_SHAPE, "%s: y is %s, x is %s", op, rt_dtype_name(y->dtype),
                         rt_dtype_name(x->dtype));
    if (y->data != x->data && rt_overlaps(y, x))
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "%s: y partly overlaps x (in place needs the same buffer)", op);
    return ROTO_OK;
}

roto_status rt_layernorm(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                         const rt_tensor *b, float eps) {
    ROTO_TRY(check_inplace_pair(ctx, y, x, "layernorm"));
    if (x->ndim < 1)
        return roto_fail(ROTO_ERR_SHAPE, "layernorm: x must have at least 1 dim");
    int64_t C = x->shape[x->ndim - 1];
    const rt_tensor *params[2] = {w, b};
    const char *names[2] = {"layernorm: w", "layernorm: b"};
    for (int i = 0; i < 2; i++) {
        if (!params[i]) continue;
        ROTO_TRY(rt_check(ctx, params[i], names[i], 1, x->dtype));
        ROTO_TRY(rt_check_dim(params[i], 0, C, names[i]));
        ROTO_TRY(rt_check_contiguous(params[i], names[i]));
        ROTO_TRY(rt_check_no_alias(y, params[i], names[i]));
    }
    if (!(eps >= 0.0f))
        return roto_fail(ROTO_ERR_INVALID_ARG, "layernorm: eps must be >= 0, got %g", (double)eps);
    RT_DISPATCH(ctx, layernorm, "layernorm", y, x, w, b, eps);
}

roto_status rt_activation(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, rt_act act) {
    ROTO_TRY(check_inplace_pair(ctx, y, x, "activation"));
    if (act != RT_ACT_NONE && act != RT_ACT_RELU && act != RT_ACT_GELU && act != RT_ACT_SIGMOID)
        return roto_fail(ROTO_ERR_INVALID_ARG, "activation: unknown activation %d", (int)act);
    RT_DISPATCH(ctx, activation, "activation", y, x, act);
}

roto_status rt_softmax(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale) {
    ROTO_TRY(check_inplace_pair(ctx, y, x, "softmax"));
    if (x->ndim < 1) return roto_fail(ROTO_ERR_SHAPE, "softmax: x must have at least 1 dim");
    RT_DISPATCH(ctx, softmax, "softmax", y, x, scale);
}
