// ref_elementwise.h: plain-loop fp64 reference for broadcast binary ops.
#ifndef ROTO_REF_ELEMENTWISE_H
#define ROTO_REF_ELEMENTWISE_H

#include "engine/ops.h"

// y (contiguous, shape `yshape` of `ynd` dims) = a op b, NumPy broadcasting
// with dims aligned from the right; a and b are strided f32 tensors.
void ref_binary(double *y, const int64_t *yshape, int ynd, const rt_tensor *a,
                const rt_tensor *b, rt_binop op);

#endif
