// ops_resample.c: validation and dispatch for rt_interpolate.
#include <math.h>

#include "ops_common.h"

roto_status rt_interpolate(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                           const rt_interp_params *p) {
    ROTO_TRY(rt_check(ctx, x, "interpolate: x", 4, -1));
    ROTO_TRY(rt_check(ctx, y, "interpolate: y", 4, -1));
    ROTO_TRY(rt_check_contiguous(x, "interpolate: x"));
    ROTO_TRY(rt_check_contiguous(y, "interpolate: y"));
    if (!p) return roto_fail(ROTO_ERR_INVALID_ARG, "interpolate: NULL params");
    if (x->dtype != y->dtype || !(x->dtype == RT_F32 || x->dtype == RT_F16 || x->dtype == RT_BF16))
        return roto_fail(ROTO_ERR_SHAPE, "interpolate: x %s and y %s must share a float dtype",
                         rt_dtype_name(x->dtype), rt_dtype_name(y->dtype));
    if (p->mode != RT_INTERP_NEAREST && p->mode != RT_INTERP_BILINEAR &&
        p->mode != RT_INTERP_BICUBIC)
        return roto_fail(ROTO_ERR_INVALID_ARG, "interpolate: unknown mode %d", (int)p->mode);
    // PyTorch refuses these too rather than ignoring them.
    if (p->mode == RT_INTERP_NEAREST && (p->align_corners || p->antialias))
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "interpolate: align_corners and antialias apply to bilinear and bicubic "
                         "only, not nearest");
    if (p->mode == RT_INTERP_BICUBIC && !isfinite(p->cubic_a))
        return roto_fail(ROTO_ERR_INVALID_ARG, "interpolate: cubic_a is not finite");
    char bx[96], by[96];
    if (y->shape[0] != x->shape[0] || y->shape[3] != x->shape[3])
        return roto_fail(ROTO_ERR_SHAPE,
                         "interpolate: x %s and y %s must have the same batch and channels",
                         rt_shape_str(x, bx, sizeof bx), rt_shape_str(y, by, sizeof by));
    if (x->shape[1] < 1 || x->shape[2] < 1 || y->shape[1] < 1 || y->shape[2] < 1)
        return roto_fail(ROTO_ERR_SHAPE, "interpolate: empty spatial size (x %s, y %s)",
                         rt_shape_str(x, bx, sizeof bx), rt_shape_str(y, by, sizeof by));
    if (x->shape[1] > INT32_MAX || x->shape[2] > INT32_MAX)
        return roto_fail(ROTO_ERR_SHAPE, "interpolate: x %s is too large",
                         rt_shape_str(x, bx, sizeof bx));
    ROTO_TRY(rt_check_no_alias(y, x, "interpolate"));
    RT_DISPATCH(ctx, interpolate, "interpolate", y, x, p);
}
