// gemm.c: CPU SGEMM. PLACEHOLDER plain-loop version so other kernels can link;
// replaced by the blocked AVX2/AVX-512 implementation.
#include "gemm.h"

#include <math.h>

static float apply_act(float v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return v > 0 ? v : 0;
    case RT_ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    default: return v;
    }
}

void cpu_sgemm(const cpu_gemm_args *g) {
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t n = 0; n < g->N; n++) {
            float s = 0;
            for (int64_t k = 0; k < g->K; k++) {
                float b = g->trans_b ? g->B[n * g->ldb + k] : g->B[k * g->ldb + n];
                s += g->A[m * g->lda + k] * b;
            }
            s = g->alpha * s + (g->bias ? g->bias[n] : 0.0f);
            s = apply_act(s, g->act);
            float *c = &g->C[m * g->ldc + n];
            *c = g->beta != 0.0f ? s + g->beta * *c : s;
        }
}

void cpu_sgemm_batched(const cpu_gemm_args *g, int64_t batch, int64_t stride_a,
                       int64_t stride_b, int64_t stride_c) {
    for (int64_t i = 0; i < batch; i++) {
        cpu_gemm_args b = *g;
        b.A += i * stride_a;
        b.B += i * stride_b;
        b.C += i * stride_c;
        cpu_sgemm(&b);
    }
}
