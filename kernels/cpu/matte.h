// matte.h (kernels/cpu): the matte clean-up algorithms on host float arrays
// [h][w], shared by io/matte.c (the roto_matte_* host API, which checks the
// arguments first) and the CPU backend's rt_matte_* entries (checked by the op
// layer). These functions assume valid arguments and fail only with OOM.
// The semantics are documented in io/matte.h.
//
// `threads` is the OpenMP team size (<= 0: OpenMP's default); results do not
// depend on it.
//
// The feather weights are computed here, inline, so that the CUDA backend
// (kernels/cuda/matte.cu, host code) computes exactly the same float taps.
#ifndef ROTO_CPU_MATTE_H
#define ROTO_CPU_MATTE_H

#include <math.h>

#include "../../engine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

roto_status matte_threshold_host(const float *in, float *out, int w, int h, float t);
// Squared Euclidean distance to the nearest pixel with mask != 0 (1e20 when none).
roto_status matte_distance2_host(const unsigned char *mask, float *dist2, int w, int h, int threads);
// Dilate (erode = 0) or erode (erode = 1) by a closed disc of `radius`.
roto_status matte_morph_host(const float *in, float *out, int w, int h, float radius, int erode,
                             int threads);
roto_status matte_feather_host(const float *in, float *out, int w, int h, float radius, int threads);
// Fill holes (holes = 1: background components off the border with area <=
// limit, limit <= 0 meaning any) or remove islands (holes = 0: foreground
// components with area < limit). connectivity 4 or 8.
roto_status matte_components_host(const float *in, float *out, int w, int h, long long limit,
                                  int connectivity, int holes);
roto_status matte_core_edge_host(const float *in, float *core, float *edge, int w, int h,
                                 float radius, int threads);

// Feather's kernel half-width: taps -half..half; 0 means "copy, no blur".
static inline int matte_feather_half(float radius) {
    return radius < 1e-3f ? 0 : (int)ceilf(radius);
}

// Feather's 2*half+1 normalised Gaussian taps (sigma = radius / 3), summed and
// divided in double, rounded once to float.
static inline void matte_feather_weights(float radius, int half, float *k) {
    double sigma = radius / 3.0;
    double sum = 0;
    for (int i = -half; i <= half; i++) sum += exp(-0.5 * (i * i) / (sigma * sigma));
    for (int i = -half; i <= half; i++) k[i + half] = (float)(exp(-0.5 * (i * i) / (sigma * sigma)) / sum);
}

#ifdef __cplusplus
}
#endif
#endif
