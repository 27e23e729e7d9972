// matte.h: CPU clean-up operations on a single matte: float alpha [H][W] in
// 0..1, row-major. Every function takes (in, out, width, height, ...); out may
// equal in. They return INVALID_ARG for bad sizes/parameters and OOM when a
// scratch buffer cannot be allocated.
//
// Foreground means alpha >= 0.5 wherever an operation needs a binary view.
//
//   threshold      out = alpha >= t ? 1 : 0
//   dilate/erode   binary grow/shrink by a closed disc of radius r pixels: a
//                  pixel is in the dilated matte when a foreground pixel lies
//                  within Euclidean distance r of it, and in the eroded matte
//                  when no background pixel does. Outside the image counts as
//                  neither, so a matte cut by the frame edge does not erode
//                  from that edge. Computed with exact Euclidean distance
//                  transforms (Felzenszwalb-Huttenlocher), so the cost does
//                  not depend on r. The result is binary; feather afterwards
//                  for a soft edge.
//   feather        separable Gaussian blur, sigma = radius / 3, kernel
//                  truncated at +-ceil(radius), edges clamped (replicated)
//   fill holes     background components (alpha < 0.5) that do not touch the
//                  image border and have area <= max_area (0 = any size) are
//                  set to 1. Connectivity 4 or 8 applies to the background
//                  components (4 is the usual choice with 8-connected objects)
//   remove islands foreground components (alpha >= 0.5) with area < min_area
//                  are set to 0; connectivity 4 or 8 for the foreground
//   core/edge      core = erode(matte, r) (binary); edge = max(matte - core, 0)
#ifndef ROTO_IO_MATTE_H
#define ROTO_IO_MATTE_H

#include "engine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

roto_status roto_matte_threshold(const float *in, float *out, int w, int h, float t);
roto_status roto_matte_dilate(const float *in, float *out, int w, int h, float radius);
roto_status roto_matte_erode(const float *in, float *out, int w, int h, float radius);
roto_status roto_matte_feather(const float *in, float *out, int w, int h, float radius);
roto_status roto_matte_fill_holes(const float *in, float *out, int w, int h, long max_area, int connectivity);
roto_status roto_matte_remove_islands(const float *in, float *out, int w, int h, long min_area, int connectivity);
roto_status roto_matte_core_edge(const float *in, float *core, float *edge, int w, int h, float radius);

// Squared Euclidean distance from every pixel to the nearest pixel where
// mask != 0 (0 on such pixels; a large value, 1e20, when there is none).
// Exposed for tests and for callers that need distances.
roto_status roto_matte_distance2(const unsigned char *mask, float *dist2, int w, int h);

#ifdef __cplusplus
}
#endif
#endif
