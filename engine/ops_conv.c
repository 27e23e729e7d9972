// ops_conv.c: validation and dispatch for rt_conv2d and rt_conv_transpose, and
// the host helper rt_weight_oihw_to_ohwi.
#include "ops_common.h"

static int valid_act(rt_act act) {
    return act == RT_ACT_NONE || act == RT_ACT_RELU || act == RT_ACT_GELU ||
           act == RT_ACT_SIGMOID;
}

static int is_float_dtype(rt_dtype t) { return t == RT_F32 || t == RT_F16 || t == RT_BF16; }

// Output size of one conv axis (PyTorch's formula); may be <= 0 when the
// kernel does not fit.
static int64_t conv_out_size(int64_t in, int pad, int dil, int64_t k, int stride) {
    int64_t span = in + 2 * (int64_t)pad - (int64_t)dil * (k - 1) - 1;
    if (span < 0) return 0;
    return span / stride + 1;
}

roto_status rt_conv2d(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, const rt_conv_params *p, rt_act act) {
    ROTO_TRY(rt_check(ctx, x, "conv2d: x", 4, -1));
    ROTO_TRY(rt_check(ctx, w, "conv2d: w", 4, -1));
    ROTO_TRY(rt_check(ctx, y, "conv2d: y", 4, -1));
    ROTO_TRY(rt_check_contiguous(x, "conv2d: x"));
    ROTO_TRY(rt_check_contiguous(w, "conv2d: w"));
    ROTO_TRY(rt_check_contiguous(y, "conv2d: y"));
    if (!p) return roto_fail(ROTO_ERR_INVALID_ARG, "conv2d: NULL params");
    if (!valid_act(act)) return roto_fail(ROTO_ERR_INVALID_ARG, "conv2d: bad activation %d", act);
    if (p->stride_h < 1 || p->stride_w < 1 || p->dil_h < 1 || p->dil_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0 || p->groups < 1)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "conv2d: bad params stride %dx%d pad %dx%d dilation %dx%d groups %d "
                         "(stride, dilation, groups >= 1; pad >= 0)",
                         p->stride_h, p->stride_w, p->pad_h, p->pad_w, p->dil_h, p->dil_w,
                         p->groups);
    if (x->dtype != w->dtype || x->dtype != y->dtype || !is_float_dtype(x->dtype))
        return roto_fail(ROTO_ERR_SHAPE, "conv2d: x %s, w %s, y %s must share a float dtype",
                         rt_dtype_name(x->dtype), rt_dtype_name(w->dtype),
                         rt_dtype_name(y->dtype));
    char bx[96], bw[96];
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], Cin = x->shape[3];
    int64_t Cout = w->shape[0], KH = w->shape[1], KW = w->shape[2];
    if (Cin % p->groups || Cout % p->groups)
        return roto_fail(ROTO_ERR_SHAPE, "conv2d: groups %d must divide Cin %lld and Cout %lld",
                         p->groups, (long long)Cin, (long long)Cout);
    if (w->shape[3] != Cin / p->groups || KH < 1 || KW < 1)
        return roto_fail(ROTO_ERR_SHAPE,
                         "conv2d: w %s must be OHWI [Cout, KH, KW, Cin/groups = %lld] for x %s",
                         rt_shape_str(w, bw, sizeof bw), (long long)(Cin / p->groups),
                         rt_shape_str(x, bx, sizeof bx));
    int64_t Ho = conv_out_size(H, p->pad_h, p->dil_h, KH, p->stride_h);
    int64_t Wo = conv_out_size(W, p->pad_w, p->dil_w, KW, p->stride_w);
    if (Ho < 1 || Wo < 1)
        return roto_fail(ROTO_ERR_SHAPE,
                         "conv2d: a %lldx%lld kernel (dilation %dx%d) does not fit x %s with "
                         "padding %dx%d",
                         (long long)KH, (long long)KW, p->dil_h, p->dil_w,
                         rt_shape_str(x, bx, sizeof bx), p->pad_h, p->pad_w);
    if (y->shape[0] != N || y->shape[1] != Ho || y->shape[2] != Wo || y->shape[3] != Cout) {
        char by[96];
        return roto_fail(ROTO_ERR_SHAPE, "conv2d: y is %s, expected [%lld, %lld, %lld, %lld]",
                         rt_shape_str(y, by, sizeof by), (long long)N, (long long)Ho,
                         (long long)Wo, (long long)Cout);
    }
    if (b) {
        ROTO_TRY(rt_check(ctx, b, "conv2d: b", 1, x->dtype));
        ROTO_TRY(rt_check_contiguous(b, "conv2d: b"));
        ROTO_TRY(rt_check_dim(b, 0, Cout, "conv2d: b"));
        ROTO_TRY(rt_check_no_alias(y, b, "conv2d"));
    }
    ROTO_TRY(rt_check_no_alias(y, x, "conv2d"));
    ROTO_TRY(rt_check_no_alias(y, w, "conv2d"));
    RT_DISPATCH(ctx, conv2d, "conv2d", y, x, w, b, p, act);
}

roto_status rt_conv_transpose(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                              const rt_tensor *w, const rt_tensor *b, int k) {
    ROTO_TRY(rt_check(ctx, x, "conv_transpose: x", 4, -1));
    ROTO_TRY(rt_check(ctx, w, "conv_transpose: w", 4, -1));
    ROTO_TRY(rt_check(ctx, y, "conv_transpose: y", 4, -1));
    ROTO_TRY(rt_check_contiguous(x, "conv_transpose: x"));
    ROTO_TRY(rt_check_contiguous(w, "conv_transpose: w"));
    ROTO_TRY(rt_check_contiguous(y, "conv_transpose: y"));
    if (k < 1) return roto_fail(ROTO_ERR_INVALID_ARG, "conv_transpose: kernel %d < 1", k);
    if (x->dtype != w->dtype || x->dtype != y->dtype || !is_float_dtype(x->dtype))
        return roto_fail(ROTO_ERR_SHAPE,
                         "conv_transpose: x %s, w %s, y %s must share a float dtype",
                         rt_dtype_name(x->dtype), rt_dtype_name(w->dtype),
                         rt_dtype_name(y->dtype));
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], Cin = x->shape[3];
    int64_t Cout = w->shape[1];
    char bx[96], bw[96], by[96];
    if (w->shape[0] != Cin || w->shape[2] != k || w->shape[3] != k)
        return roto_fail(ROTO_ERR_SHAPE,
                         "conv_transpose: w %s must be [Cin = %lld, Cout, %d, %d] for x %s",
                         rt_shape_str(w, bw, sizeof bw), (long long)Cin, k, k,
                         rt_shape_str(x, bx, sizeof bx));
    if (y->shape[0] != N || y->shape[1] != H * k || y->shape[2] != W * k || y->shape[3] != Cout)
        return roto_fail(ROTO_ERR_SHAPE,
                         "conv_transpose: y is %s, expected [%lld, %lld, %lld, %lld]",
                         rt_shape_str(y, by, sizeof by), (long long)N, (long long)(H * k),
                         (long long)(W * k), (long long)Cout);
    if (b) {
        ROTO_TRY(rt_check(ctx, b, "conv_transpose: b", 1, x->dtype));
        ROTO_TRY(rt_check_contiguous(b, "conv_transpose: b"));
        ROTO_TRY(rt_check_dim(b, 0, Cout, "conv_transpose: b"));
        ROTO_TRY(rt_check_no_alias(y, b, "conv_transpose"));
    }
    ROTO_TRY(rt_check_no_alias(y, x, "conv_transpose"));
    ROTO_TRY(rt_check_no_alias(y, w, "conv_transpose"));
    RT_DISPATCH(ctx, conv_transpose, "conv_transpose", y, x, w, b, k);
}

void rt_weight_oihw_to_ohwi(float *dst, const float *src, int O, int I, int KH, int KW) {
    if (!dst || !src || O <= 0 || I <= 0 || KH <= 0 || KW <= 0) return;
    const int64_t hw = (int64_t)KH * KW;
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            for (int64_t t = 0; t < hw; t++)
                dst[(o * hw + t) * I + i] = src[(o * I + i) * hw + t];
}
