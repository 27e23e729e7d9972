// ops_elementwise.c: validation and dispatch for rt_binary, rt_scale and rt_fill
// (semantics in ops.h).
#include "ops_common.h"

// Float compute dtypes: f32 everywhere; f16/bf16 only on non-CPU backends.
static roto_status check_float_dtype(const rt_ctx *ctx, const rt_tensor *t, const char *what) {
    if (t->dtype == RT_F32) return ROTO_OK;
    if ((t->dtype == RT_F16 || t->dtype == RT_BF16) && ctx->be->device != RT_DEV_CPU)
        return ROTO_OK;
    return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: dtype %s is not supported on the %s backend",
                     what, rt_dtype_name(t->dtype), ctx->be->name);
}

// y may share its buffer with x only as the very same contiguous tensor
// (elementwise in place); any other overlap is refused.
static roto_status check_alias(const rt_tensor *y, const rt_tensor *x, const char *what) {
    if (!rt_overlaps(y, x)) return ROTO_OK;
    if (y->data == x->data && rt_same_shape(y, x) && rt_is_contiguous(x)) return ROTO_OK;
    return roto_fail(ROTO_ERR_INVALID_ARG,
                     "%s: output overlaps an input that is not the same contiguous tensor", what);
}

roto_status rt_binary(rt_ctx *ctx, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                      rt_binop op) {
    ROTO_TRY(rt_check(ctx, a, "binary: a", -1, -1));
    ROTO_TRY(check_float_dtype(ctx, a, "binary: a"));
    ROTO_TRY(rt_check(ctx, b, "binary: b", -1, a->dtype));
    ROTO_TRY(rt_check(ctx, y, "binary: y", -1, a->dtype));
    ROTO_TRY(rt_check_last_contiguous(a, "binary: a"));
    ROTO_TRY(rt_check_last_contiguous(b, "binary: b"));
    ROTO_TRY(rt_check_contiguous(y, "binary: y"));
    if (op != RT_BIN_ADD && op != RT_BIN_MUL && op != RT_BIN_SUB)
        return roto_fail(ROTO_ERR_INVALID_ARG, "binary: unknown op %d", (int)op);
    // Broadcast shape, dims aligned from the right.
    const int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    char sa[96], sb[96], sy[96];
    if (y->ndim != nd)
        return roto_fail(ROTO_ERR_SHAPE, "binary: y %s must have %d dims for a %s and b %s",
                         rt_shape_str(y, sy, sizeof sy), nd, rt_shape_str(a, sa, sizeof sa),
                         rt_shape_str(b, sb, sizeof sb));
    for (int i = 0; i < nd; i++) {
        const int ia = i - (nd - a->ndim), ib = i - (nd - b->ndim);
        const int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return roto_fail(ROTO_ERR_SHAPE, "binary: a %s and b %s do not broadcast (dim %d)",
                             rt_shape_str(a, sa, sizeof sa), rt_shape_str(b, sb, sizeof sb), i);
        const int64_t want = da == 1 ? db : da;
        if (y->shape[i] != want)
            return roto_fail(ROTO_ERR_SHAPE, "binary: y %s is not the broadcast shape of a %s and b %s",
                             rt_shape_str(y, sy, sizeof sy), rt_shape_str(a, sa, sizeof sa),
                             rt_shape_str(b, sb, sizeof sb));
    }
    ROTO_TRY(check_alias(y, a, "binary: y vs a"));
    ROTO_TRY(check_alias(y, b, "binary: y vs b"));
    RT_DISPATCH(ctx, binary, "binary", y, a, b, op);
}

roto_status rt_scale(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale, float shift) {
    ROTO_TRY(rt_check(ctx, x, "scale: x", -1, -1));
    ROTO_TRY(check_float_dtype(ctx, x, "scale: x"));
    ROTO_TRY(rt_check(ctx, y, "scale: y", -1, x->dtype));
    ROTO_TRY(rt_check_contiguous(x, "scale: x"));
    ROTO_TRY(rt_check_contiguous(y, "scale: y"));
    ROTO_TRY(rt_check_same_shape(y, x, "scale: y vs x"));
    ROTO_TRY(check_alias(y, x, "scale: y vs x"));
    RT_DISPATCH(ctx, scale, "scale", y, x, scale, shift);
}

roto_status rt_fill(rt_ctx *ctx, rt_tensor *y, float value) {
    ROTO_TRY(rt_check(ctx, y, "fill: y", -1, -1));
    ROTO_TRY(check_float_dtype(ctx, y, "fill: y"));
    ROTO_TRY(rt_check_contiguous(y, "fill: y"));
    RT_DISPATCH(ctx, fill, "fill", y, value);
}
