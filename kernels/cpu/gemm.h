// gemm.h: the CPU single-precision GEMM every matrix op goes through.
//
// C[m, n] = act(alpha * sum_k A[m, k] * B(k, n) + bias[n]) + beta * C[m, n]
// A is row-major M x K with row stride lda. B is either row-major K x N
// (trans_b = 0, row stride ldb) or row-major N x K (trans_b = 1: PyTorch's
// Linear weight [out, in]). C is row-major with row stride ldc. bias may be
// NULL. When beta == 0, C is not read (it may hold NaN). act is applied after
// bias and before the beta term (beta is only used with RT_ACT_NONE).
// Multithreaded with OpenMP inside; call it from one thread.
#ifndef ROTO_CPU_GEMM_H
#define ROTO_CPU_GEMM_H

#include <stdint.h>

#include "../../engine/ops.h"

typedef struct {
    int64_t M, N, K;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb;
    int trans_b;
    float *C;
    int64_t ldc;
    const float *bias;
    rt_act act;
    float alpha, beta;
    int threads;  // most threads to use; 0 = OpenMP's default (rt_ctx num_threads)
} cpu_gemm_args;

void cpu_sgemm(const cpu_gemm_args *g);

// Strided batch: batch i uses A + i*stride_a, B + i*stride_b, C + i*stride_c
// (stride_b 0 broadcasts B). Parallelised over the batch when it is large.
void cpu_sgemm_batched(const cpu_gemm_args *g, int64_t batch, int64_t stride_a,
                       int64_t stride_b, int64_t stride_c);

#endif
