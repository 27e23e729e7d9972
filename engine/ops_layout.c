// ops_layout.c: validation and dispatch for the layout ops: window partition /
// unpartition, 2x2 max-pool, strided copy (with dtype conversion) and concat.
#include <stdio.h>

#include "ops_common.h"

static int is_float_dtype(rt_dtype t) { return t == RT_F32 || t == RT_F16 || t == RT_BF16; }

static roto_status same_dtype(const rt_tensor *y, const rt_tensor *x, const char *op) {
    if (x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_SHAPE, "%s: x is %s, y is %s; they must share a dtype", op,
                         rt_dtype_name(x->dtype), rt_dtype_name(y->dtype));
    return ROTO_OK;
}

// Window geometry of x [N, H, W, C] for window size ws.
static int64_t n_windows(int64_t size, int ws) { return (size + ws - 1) / ws; }

// Shared checks of window partition/unpartition: `full` is the [N, H, W, C] map,
// `win` the [N*nh*nw, ws, ws, C] windows; `op` names the op, `wname` the window arg.
static roto_status check_windows(rt_ctx *ctx, const rt_tensor *y, const rt_tensor *x,
                                 const rt_tensor *full, const rt_tensor *win, int ws,
                                 const char *op, const char *wname, const char *fname) {
    char what[64];
    snprintf(what, sizeof what, "%s: x", op);
    ROTO_TRY(rt_check(ctx, x, what, 4, -1));
    ROTO_TRY(rt_check_contiguous(x, what));
    snprintf(what, sizeof what, "%s: y", op);
    ROTO_TRY(rt_check(ctx, y, what, 4, -1));
    ROTO_TRY(rt_check_contiguous(y, what));
    ROTO_TRY(same_dtype(y, x, op));
    if (ws < 1) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: window size %d < 1", op, ws);
    int64_t N = full->shape[0], H = full->shape[1], W = full->shape[2], C = full->shape[3];
    int64_t nwin = N * n_windows(H, ws) * n_windows(W, ws);
    if (win->shape[0] != nwin || win->shape[1] != ws || win->shape[2] != ws || win->shape[3] != C) {
        char bw[96], bf[96];
        return roto_fail(ROTO_ERR_SHAPE, "%s: %s is %s, expected [%lld, %d, %d, %lld] for %s %s and window %d",
                         op, wname, rt_shape_str(win, bw, sizeof bw), (long long)nwin, ws, ws,
                         (long long)C, fname, rt_shape_str(full, bf, sizeof bf), ws);
    }
    return rt_check_no_alias(y, x, op);
}

roto_status rt_window_partition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws) {
    if (!x || !y) return roto_fail(ROTO_ERR_INVALID_ARG, "window_partition: NULL tensor");
    ROTO_TRY(check_windows(ctx, y, x, x, y, ws, "window_partition", "y", "x"));
    RT_DISPATCH(ctx, window_partition, "window_partition", y, x, ws);
}

roto_status rt_window_unpartition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws) {
    if (!x || !y) return roto_fail(ROTO_ERR_INVALID_ARG, "window_unpartition: NULL tensor");
    ROTO_TRY(check_windows(ctx, y, x, y, x, ws, "window_unpartition", "x", "y"));
    RT_DISPATCH(ctx, window_unpartition, "window_unpartition", y, x, ws);
}

roto_status rt_maxpool2x2(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x) {
    ROTO_TRY(rt_check(ctx, x, "maxpool2x2: x", 4, -1));
    ROTO_TRY(rt_check(ctx, y, "maxpool2x2: y", 4, -1));
    ROTO_TRY(rt_check_contiguous(x, "maxpool2x2: x"));
    ROTO_TRY(rt_check_contiguous(y, "maxpool2x2: y"));
    ROTO_TRY(same_dtype(y, x, "maxpool2x2"));
    if (!is_float_dtype(x->dtype))
        return roto_fail(ROTO_ERR_SHAPE, "maxpool2x2: dtype %s is not a float type",
                         rt_dtype_name(x->dtype));
    if (y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] / 2 ||
        y->shape[2] != x->shape[2] / 2 || y->shape[3] != x->shape[3]) {
        char bx[96], by[96];
        return roto_fail(ROTO_ERR_SHAPE, "maxpool2x2: y is %s, expected [%lld, %lld, %lld, %lld] for x %s",
                         rt_shape_str(y, by, sizeof by), (long long)x->shape[0],
                         (long long)(x->shape[1] / 2), (long long)(x->shape[2] / 2),
                         (long long)x->shape[3], rt_shape_str(x, bx, sizeof bx));
    }
    ROTO_TRY(rt_check_no_alias(y, x, "maxpool2x2"));
    RT_DISPATCH(ctx, maxpool2x2, "maxpool2x2", y, x);
}

// Strides must be >= 0 (the overlap test assumes it); an output may not write
// one element twice (stride 0 on a dim longer than 1).
static roto_status check_strides(const rt_tensor *t, const char *what, int is_output) {
    for (int i = 0; i < t->ndim; i++) {
        if (t->stride[i] < 0)
            return roto_fail(ROTO_ERR_SHAPE, "%s: negative stride %lld in dim %d", what,
                             (long long)t->stride[i], i);
        if (is_output && t->stride[i] == 0 && t->shape[i] > 1)
            return roto_fail(ROTO_ERR_SHAPE,
                             "%s: stride 0 in dim %d would write one element %lld times", what, i,
                             (long long)t->shape[i]);
    }
    return ROTO_OK;
}

roto_status rt_copy(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x) {
    ROTO_TRY(rt_check(ctx, x, "copy: x", -1, -1));
    ROTO_TRY(rt_check(ctx, y, "copy: y", -1, -1));
    ROTO_TRY(rt_check_same_shape(y, x, "copy"));
    ROTO_TRY(check_strides(x, "copy: x", 0));
    ROTO_TRY(check_strides(y, "copy: y", 1));
    if (x->dtype != y->dtype && !(is_float_dtype(x->dtype) && is_float_dtype(y->dtype)))
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "copy: cannot convert %s to %s (conversions are between f32, f16, bf16)",
                         rt_dtype_name(x->dtype), rt_dtype_name(y->dtype));
    ROTO_TRY(rt_check_no_alias(y, x, "copy"));
    RT_DISPATCH(ctx, copy, "copy", y, x);
}

roto_status rt_concat(rt_ctx *ctx, rt_tensor *y, const rt_tensor *const *xs, int n, int dim) {
    ROTO_TRY(rt_check(ctx, y, "concat: y", -1, -1));
    ROTO_TRY(rt_check_contiguous(y, "concat: y"));
    if (!xs || n < 1) return roto_fail(ROTO_ERR_INVALID_ARG, "concat: no inputs (n = %d)", n);
    int nd = y->ndim;
    if (nd < 1 || dim < -nd || dim >= nd)
        return roto_fail(ROTO_ERR_INVALID_ARG, "concat: dim %d out of range for %d-d tensors",
                         dim, nd);
    int d = dim < 0 ? dim + nd : dim;
    int64_t total = 0;
    char what[48], bx[96], by[96];
    for (int i = 0; i < n; i++) {
        snprintf(what, sizeof what, "concat: input %d", i);
        ROTO_TRY(rt_check(ctx, xs[i], what, nd, y->dtype));
        ROTO_TRY(rt_check_last_contiguous(xs[i], what));
        ROTO_TRY(check_strides(xs[i], what, 0));
        for (int k = 0; k < nd; k++)
            if (k != d && xs[i]->shape[k] != y->shape[k])
                return roto_fail(ROTO_ERR_SHAPE,
                                 "concat: input %d is %s, y is %s; they may differ only in dim %d",
                                 i, rt_shape_str(xs[i], bx, sizeof bx),
                                 rt_shape_str(y, by, sizeof by), d);
        total += xs[i]->shape[d];
        ROTO_TRY(rt_check_no_alias(y, xs[i], "concat"));
    }
    if (total != y->shape[d])
        return roto_fail(ROTO_ERR_SHAPE, "concat: inputs add up to %lld along dim %d, y has %lld",
                         (long long)total, d, (long long)y->shape[d]);
    RT_DISPATCH(ctx, concat, "concat", y, xs, n, dim);
}
