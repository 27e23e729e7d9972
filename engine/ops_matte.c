// ops_matte.c: validation and dispatch for the matte operations rt_matte_*
// (ops.h). The limits on radii and sizes are io/matte.h's, so the op layer and
// the host functions accept the same arguments.
#include <stdio.h>

#include "ops_common.h"

// in and out: f32 [H, W], contiguous, same shape, 1..2^30 pixels; out is in
// itself or does not overlap it.
static roto_status check_matte(rt_ctx *ctx, const rt_tensor *out, const rt_tensor *in, const char *op,
                               const char *out_name) {
    char what[64];
    snprintf(what, sizeof what, "%s: in", op);
    ROTO_TRY(rt_check(ctx, in, what, 2, RT_F32));
    ROTO_TRY(rt_check_contiguous(in, what));
    snprintf(what, sizeof what, "%s: %s", op, out_name);
    ROTO_TRY(rt_check(ctx, out, what, 2, RT_F32));
    ROTO_TRY(rt_check_contiguous(out, what));
    snprintf(what, sizeof what, "%s: %s vs in", op, out_name);
    ROTO_TRY(rt_check_same_shape(out, in, what));
    int64_t n = rt_numel(in);
    if (n < 1 || n > ((int64_t)1 << 30))
        return roto_fail(ROTO_ERR_SHAPE, "%s: matte of %lldx%lld pixels (1 to 2^30 pixels)", op,
                         (long long)in->shape[1], (long long)in->shape[0]);
    if (out->data != in->data) ROTO_TRY(rt_check_no_alias(out, in, what));
    return ROTO_OK;
}

static roto_status check_radius(float radius, float max, const char *op) {
    if (!(radius >= 0.0f) || radius > max)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: radius %g must be in [0, %g]", op, (double)radius,
                         (double)max);
    return ROTO_OK;
}

static roto_status check_connectivity(int connectivity, const char *op) {
    if (connectivity != 4 && connectivity != 8)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: connectivity %d must be 4 or 8", op, connectivity);
    return ROTO_OK;
}

roto_status rt_matte_threshold(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float t) {
    ROTO_TRY(check_matte(ctx, out, in, "matte_threshold", "out"));
    RT_DISPATCH(ctx, matte_threshold, "matte_threshold", out, in, t);
}

roto_status rt_matte_dilate(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius) {
    ROTO_TRY(check_matte(ctx, out, in, "matte_dilate", "out"));
    ROTO_TRY(check_radius(radius, 1e6f, "matte_dilate"));
    RT_DISPATCH(ctx, matte_morph, "matte_dilate", out, in, radius, 0);
}

roto_status rt_matte_erode(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius) {
    ROTO_TRY(check_matte(ctx, out, in, "matte_erode", "out"));
    ROTO_TRY(check_radius(radius, 1e6f, "matte_erode"));
    RT_DISPATCH(ctx, matte_morph, "matte_erode", out, in, radius, 1);
}

roto_status rt_matte_feather(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius) {
    ROTO_TRY(check_matte(ctx, out, in, "matte_feather", "out"));
    ROTO_TRY(check_radius(radius, 10000.0f, "matte_feather"));
    RT_DISPATCH(ctx, matte_feather, "matte_feather", out, in, radius);
}

roto_status rt_matte_fill_holes(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, int64_t max_area,
                                int connectivity) {
    ROTO_TRY(check_matte(ctx, out, in, "matte_fill_holes", "out"));
    ROTO_TRY(check_connectivity(connectivity, "matte_fill_holes"));
    RT_DISPATCH(ctx, matte_components, "matte_fill_holes", out, in, max_area, connectivity, 1);
}

roto_status rt_matte_remove_islands(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in,
                                    int64_t min_area, int connectivity) {
    ROTO_TRY(check_matte(ctx, out, in, "matte_remove_islands", "out"));
    ROTO_TRY(check_connectivity(connectivity, "matte_remove_islands"));
    RT_DISPATCH(ctx, matte_components, "matte_remove_islands", out, in, min_area, connectivity, 0);
}

roto_status rt_matte_core_edge(rt_ctx *ctx, rt_tensor *core, rt_tensor *edge, const rt_tensor *in,
                               float radius) {
    ROTO_TRY(check_matte(ctx, core, in, "matte_core_edge", "core"));
    ROTO_TRY(check_matte(ctx, edge, in, "matte_core_edge", "edge"));
    ROTO_TRY(rt_check_no_alias(core, edge, "matte_core_edge: core vs edge"));
    ROTO_TRY(check_radius(radius, 1e6f, "matte_core_edge"));
    RT_DISPATCH(ctx, matte_core_edge, "matte_core_edge", core, edge, in, radius);
}
