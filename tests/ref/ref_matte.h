// ref_matte.h: slow, plain-loop fp64 references for the matte operations
// (rt_matte_* in engine/ops.h, roto_matte_* in io/matte.h), written as
// different algorithms from the ones under test, and the random mattes the
// matte tests run on.
#ifndef ROTO_REF_MATTE_H
#define ROTO_REF_MATTE_H

#include <stdint.h>

// A random matte [h][w] in 0..1: mode 0 discs of foreground on background with
// holes punched in them, mode 1 the inverse (background blobs in a foreground
// plate), mode 2 uniform noise (many tiny components). Every mode adds
// salt-and-pepper pixels (islands and holes of one pixel) and soft values,
// some exactly at the 0.5 threshold or one float step below it.
void ref_matte_random(float *m, int w, int h, uint64_t seed, int mode);

// Dilate (erode = 0) / erode by brute force: the nearest source pixel over the
// whole image in exact double squared distance, compared with radius^2.
void ref_matte_morph(const float *in, double *out, int w, int h, float radius, int erode);

// Feather: the direct 2-D sum with double Gaussian weights (sigma = radius/3,
// taps -ceil(radius)..ceil(radius), clamped edges; radius < 1e-3 copies).
void ref_matte_feather(const float *in, double *out, int w, int h, float radius);

// Hole filling (holes = 1) / island removal (holes = 0) with components found
// by label relaxation (each pixel repeatedly takes its neighbours' smallest
// label until nothing changes), not by a search. Returns 0, -1 out of memory.
int ref_matte_components(const float *in, double *out, int w, int h, long long limit, int connectivity,
                         int holes);

#endif
