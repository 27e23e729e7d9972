// matte.c: the host API of matte.h: argument checks, then the algorithms in
// kernels/cpu/matte.c (shared with the CPU backend's rt_matte_* ops, so the
// host functions and the op API give the same bits).
#include "io/matte.h"

#include <stdint.h>

#include "kernels/cpu/matte.h"

static roto_status check_args(const void *in, const void *out, int w, int h, const char *op) {
    if (!in || !out) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: NULL matte", op);
    if (w < 1 || h < 1 || (long long)w * h > ((long long)1 << 30))
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: bad matte size %dx%d", op, w, h);
    return ROTO_OK;
}

static roto_status check_morph_radius(float radius, const char *op) {
    if (!(radius >= 0.0f) || radius > 1e6f)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: radius %g must be >= 0", op, (double)radius);
    return ROTO_OK;
}

static roto_status check_connectivity(int connectivity, const char *op) {
    if (connectivity != 4 && connectivity != 8)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: connectivity %d must be 4 or 8", op, connectivity);
    return ROTO_OK;
}

roto_status roto_matte_threshold(const float *in, float *out, int w, int h, float t) {
    ROTO_TRY(check_args(in, out, w, h, "threshold"));
    return matte_threshold_host(in, out, w, h, t);
}

roto_status roto_matte_distance2(const unsigned char *mask, float *dist2, int w, int h) {
    ROTO_TRY(check_args(mask, dist2, w, h, "distance transform"));
    return matte_distance2_host(mask, dist2, w, h, 0);
}

roto_status roto_matte_dilate(const float *in, float *out, int w, int h, float radius) {
    ROTO_TRY(check_args(in, out, w, h, "dilate"));
    ROTO_TRY(check_morph_radius(radius, "dilate"));
    return matte_morph_host(in, out, w, h, radius, 0, 0);
}

roto_status roto_matte_erode(const float *in, float *out, int w, int h, float radius) {
    ROTO_TRY(check_args(in, out, w, h, "erode"));
    ROTO_TRY(check_morph_radius(radius, "erode"));
    return matte_morph_host(in, out, w, h, radius, 1, 0);
}

roto_status roto_matte_feather(const float *in, float *out, int w, int h, float radius) {
    ROTO_TRY(check_args(in, out, w, h, "feather"));
    if (!(radius >= 0.0f) || radius > 10000.0f)
        return roto_fail(ROTO_ERR_INVALID_ARG, "feather: radius %g must be in [0, 10000]", (double)radius);
    return matte_feather_host(in, out, w, h, radius, 0);
}

roto_status roto_matte_fill_holes(const float *in, float *out, int w, int h, long max_area, int connectivity) {
    ROTO_TRY(check_args(in, out, w, h, "fill holes"));
    ROTO_TRY(check_connectivity(connectivity, "fill holes"));
    return matte_components_host(in, out, w, h, max_area, connectivity, 1);
}

roto_status roto_matte_remove_islands(const float *in, float *out, int w, int h, long min_area, int connectivity) {
    ROTO_TRY(check_args(in, out, w, h, "remove islands"));
    ROTO_TRY(check_connectivity(connectivity, "remove islands"));
    return matte_components_host(in, out, w, h, min_area, connectivity, 0);
}

roto_status roto_matte_core_edge(const float *in, float *core, float *edge, int w, int h, float radius) {
    ROTO_TRY(check_args(in, core, w, h, "core/edge"));
    ROTO_TRY(check_args(in, edge, w, h, "core/edge"));
    ROTO_TRY(check_morph_radius(radius, "erode"));
    return matte_core_edge_host(in, core, edge, w, h, radius, 0);
}
