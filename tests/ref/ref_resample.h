// ref_resample.h: a plain-loop fp64 reference of torch.nn.functional.interpolate
// (size=..., NHWC data) for every rt_interp_params combination, written from
// PyTorch's definitions (UpSample.h, UpSampleKernel.cpp):
// - nearest: PyTorch's legacy rule, src = min(floor(dst * scale), in-1). The
//   index is the one place where float rounding decides the result (it picks
//   a different pixel), so like PyTorch it forms scale = float(in)/out and the
//   product in float; everything else is double.
// - bilinear / bicubic: source coordinate scale*(dst+0.5)-0.5 (bilinear clamps
//   it at 0) or scale*dst with align_corners; Keys' cubic with A = cubic_a,
//   border taps clamped.
// - antialias: the separable PIL-style filter of _upsample_*_aa: support
//   scaled by the downscale factor, weights normalised per axis.
#ifndef ROTO_REF_RESAMPLE_H
#define ROTO_REF_RESAMPLE_H

#include "engine/ops.h"

// y [N, Ho, Wo, C] from x [N, H, W, C].
void ref_interpolate(double *y, const float *x, int N, int H, int W, int C, int Ho, int Wo,
                     const rt_interp_params *p);

// The 1-d weights of output index o along an axis: fills idx[] and w[] (room
// for `cap` taps) and returns the tap count (exposed for the hand-checked tests).
int ref_interp_weights(int in, int out, int o, const rt_interp_params *p, int *idx, double *w,
                       int cap);

#endif
