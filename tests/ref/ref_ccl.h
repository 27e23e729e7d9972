// ref_ccl.h: breadth-first flood-fill reference for 8-connected labelling.
#ifndef ROTO_REF_CCL_H
#define ROTO_REF_CCL_H

#include <stdint.h>

// labels/areas [H, W]: components of mask != 0 (row stride `ms` bytes) numbered
// 1..n in raster order of their first pixel, 0 for background; areas per pixel
// (0 for background). Returns n, or -1 if out of memory.
int ref_ccl(int32_t *labels, int32_t *areas, const uint8_t *mask, int64_t H, int64_t W,
            int64_t ms);

#endif
