// ref_gemm.c: the fp64 plain-loop GEMM reference (see ref_gemm.h).
#include "ref_gemm.h"

#include <math.h>

double ref_act(double x, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return x > 0 ? x : 0;
    case RT_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case RT_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    default: return x;
    }
}

void ref_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
              int64_t ldb, int trans_b, const float *bias, rt_act act, double alpha, double beta,
              const float *C, int64_t ldc, double *out) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) {
                double b = trans_b ? B[n * ldb + k] : B[k * ldb + n];
                s += (double)A[m * lda + k] * b;
            }
            double v = ref_act(alpha * s + (bias ? (double)bias[n] : 0.0), act);
            if (beta != 0) v += beta * (double)C[m * ldc + n];
            out[m * N + n] = v;
        }
}
