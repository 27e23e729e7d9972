// ref_norm.h: plain-loop fp64 references for LayerNorm, activations and softmax.
#ifndef ROTO_REF_NORM_H
#define ROTO_REF_NORM_H

#include <stdint.h>

#include "engine/ops.h"

// LayerNorm over rows of C (w, b may be NULL), biased variance like PyTorch.
void ref_layernorm(double *y, const float *x, int64_t rows, int64_t C, const float *w,
                   const float *b, double eps);
// act(x) elementwise; GELU is 0.5*x*(1 + erf(x/sqrt(2))).
void ref_activation(double *y, const float *x, int64_t n, rt_act act);
// Softmax of x*scale over rows of C; a row whose scaled max is -inf gives zeros.
void ref_softmax(double *y, const float *x, int64_t rows, int64_t C, double scale);

#endif
