// ref_layout.h: plain-loop fp64 references for the layout ops: window
// partition / unpartition (SAM 2 Hiera semantics), 2x2 max-pool, and element
// reads of strided tensors of any float dtype for copy and concat.
#ifndef ROTO_REF_LAYOUT_H
#define ROTO_REF_LAYOUT_H

#include <stdint.h>

#include "engine/tensor.h"

// x [N, H, W, C] -> y [N*nh*nw, ws, ws, C], nh = ceil(H/ws), nw = ceil(W/ws),
// window b = (n*nh + wh)*nw + ww, padded positions 0 (Hiera's window_partition
// after F.pad).
void ref_window_partition(double *y, const float *x, int N, int H, int W, int C, int ws);
// x [N*nh*nw, ws, ws, C] -> y [N, H, W, C], padding cropped.
void ref_window_unpartition(double *y, const float *x, int N, int H, int W, int C, int ws);
// x [N, H, W, C] -> y [N, H/2, W/2, C], max over each 2x2 block (floor); a NaN
// in a block gives NaN, as torch.nn.functional.max_pool2d.
void ref_maxpool2x2(double *y, const float *x, int N, int H, int W, int C);

// Element (i0, i1, i2, i3) of a strided tensor (f32, f16, bf16, i32, u8) as double.
double ref_load(const rt_tensor *t, const int64_t *idx);
// All elements of t in row-major order of its shape, as doubles.
void ref_gather(double *out, const rt_tensor *t);
// torch.cat(xs, dim) in row-major order, as doubles; out has numel of the result.
void ref_concat(double *out, const rt_tensor *const *xs, int n, int dim);

#endif
