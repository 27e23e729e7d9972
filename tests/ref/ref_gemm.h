// ref_gemm.h: plain-loop fp64 reference for the CPU SGEMM (kernels/cpu/gemm.h)
// and the activations of its epilogue. Inputs are the kernel's f32 arrays; all
// arithmetic is in double.
#ifndef ROTO_REF_GEMM_H
#define ROTO_REF_GEMM_H

#include <stdint.h>

#include "engine/ops.h"

// act(x) in double: ReLU, exact GELU 0.5*x*(1 + erf(x/sqrt 2)), sigmoid.
double ref_act(double x, rt_act act);

// out[m*N + n] (dense M x N) = act(alpha * sum_k A[m,k] * op(B)[k,n] + bias[n])
//                              + beta * C[m*ldc + n]
// with op(B)[k,n] = B[k*ldb + n] (trans_b 0) or B[n*ldb + k] (trans_b 1).
// bias may be NULL; C is only read when beta != 0 (it may then not be NULL).
void ref_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
              int64_t ldb, int trans_b, const float *bias, rt_act act, double alpha, double beta,
              const float *C, int64_t ldc, double *out);

#endif
