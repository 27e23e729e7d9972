// conv_common.h: small helpers shared by the CPU conv, layout and resample
// kernels (conv.c, layout.c, resample.c): the fused activation and the thread
// count a kernel should use.
#ifndef ROTO_CPU_CONV_COMMON_H
#define ROTO_CPU_CONV_COMMON_H

#include <math.h>
#include <omp.h>

#include "../../engine/ops.h"

// The activations of rt_act on one value (GELU is the exact erf form, as
// PyTorch's nn.GELU() default).
static inline float conv_apply_act(float v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case RT_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    default: return v;
    }
}

#endif
