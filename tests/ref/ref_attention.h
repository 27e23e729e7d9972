// ref_attention.h: plain-loop fp64 references for attention, RoPE and the
// axial RoPE table.
#ifndef ROTO_REF_ATTENTION_H
#define ROTO_REF_ATTENTION_H

#include <stdint.h>

#include "engine/tensor.h"

// out [B, H, Lq, Dv] contiguous = softmax(q k^T * scale + bias) v, with q, k, v
// strided f32 tensors and bias f32 [B, Lk] contiguous or NULL. A query whose
// logits are all -inf gives zeros.
void ref_attention(double *out, const rt_tensor *q, const rt_tensor *k, const rt_tensor *v,
                   const float *bias, double scale);
// RoPE applied to x [B, H, L, D] (strided f32) into out [B, H, L, D]
// contiguous, as complex products in double: token t < n_rot uses table row
// t % P, later tokens are copied unchanged.
void ref_rope(double *out, const rt_tensor *x, const float *cos_t, const float *sin_t, int64_t P,
              int64_t n_rot);
// compute_axial_cis in exact double arithmetic: table [end_x*end_y, dim/2],
// pair k < dim/4 rotates by x*s*f_k, pair dim/4 + k by y*s*f_k,
// f_k = theta^(-4k/dim), s = scale; left-over pairs (dim % 4 == 2) are 0 angle.
void ref_rope_axial_table(double *cos_t, double *sin_t, int dim, int end_x, int end_y,
                          double theta, double scale);

#endif
