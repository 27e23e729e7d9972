// cuda_internal.h: internal to kernels/cuda (C and CUDA C++): the per-context
// CUDA state, error-check macros, scratch buffers, and the C-ABI entry points
// each .cu file exports to the backend table in cuda_backend.c.
//
// Every op entry point has the backend signature of engine/backend.h and may
// assume validated arguments (the op layer checked shapes and devices). It
// returns ROTO_ERR_UNSUPPORTED for a dtype or layout it does not handle.
// Nothing here synchronises the stream or allocates inside a graph capture.
#ifndef ROTO_CUDA_INTERNAL_H
#define ROTO_CUDA_INTERNAL_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>

// This header is only compiled in CUDA builds; nvcc does not get the C
// compiler's -DROTO_HAVE_CUDA, so make sure cuda_kernels.h declares the real API.
#ifndef ROTO_HAVE_CUDA
#define ROTO_HAVE_CUDA 1
#endif

#include "../../engine/backend.h"
#include "cuda_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

// A device buffer that grows on demand (never during a graph capture).
typedef struct {
    void *ptr;
    size_t bytes;
} cu_buf;

typedef struct cu_state {
    int device;
    cudaStream_t stream;
    cudaMemPool_t pool;     // the device's default stream-ordered pool (see cuda_backend.c)
    cublasLtHandle_t lt;
    void *dnn;              // cudnnHandle_t, created on the first convolution (conv.cu)
    cu_buf lt_ws;           // cuBLASLt workspace (fixed size, made at init)
    cu_buf scratch;         // per-op temporaries (attention, conv_transpose, ...)
    cu_buf dnn_ws;          // cuDNN workspace
    int capturing;          // inside rt_cuda_graph_begin/end
    rt_precision precision;
    // Device properties read once.
    int sm_count, cc_major, cc_minor;
    size_t smem_optin;      // max dynamic shared memory per block (opt-in)
    char name[256];
    // Caches owned by gemm.cu / conv.cu (opaque here).
    void *gemm_cache;
    void *conv_cache;
    // attention.cu: resident flash CTAs per SM by [f16, bf16][head-dim class]
    // (0 = not queried yet), so a graph capture needs no occupancy query.
    int fa_ctas_per_sm[2][8];
} cu_state;

// The state of a CUDA context; makes its device current on this thread.
cu_state *cu_get(rt_ctx *ctx);

// Grow buf to at least `bytes` (synchronises the stream first when it has to
// replace a buffer). Fails during a graph capture with a message telling to
// warm up eagerly. `what` names the buffer in messages.
roto_status cu_buf_reserve(cu_state *st, cu_buf *buf, size_t bytes, const char *what);
// Scratch of at least `bytes`, 256-byte aligned; valid until the next call.
roto_status cu_scratch(cu_state *st, size_t bytes, void **ptr);

// Device error -> roto status. `what` is the call or kernel, e.g. "cudaMemcpyAsync".
roto_status cu_fail_cuda(cudaError_t e, const char *what, const char *file, int line);
roto_status cu_fail_lt(cublasStatus_t s, const char *what, const char *file, int line);

#define CU_TRY(call)                                                                   \
    do {                                                                               \
        cudaError_t _e = (call);                                                       \
        if (_e != cudaSuccess) return cu_fail_cuda(_e, #call, __FILE__, __LINE__);     \
    } while (0)
#define LT_TRY(call)                                                                   \
    do {                                                                               \
        cublasStatus_t _s = (call);                                                    \
        if (_s != CUBLAS_STATUS_SUCCESS) return cu_fail_lt(_s, #call, __FILE__, __LINE__); \
    } while (0)
// After a kernel launch: report launch errors (bad configuration, earlier
// asynchronous faults) naming the kernel.
#define CU_LAUNCH_CHECK(name)                                                          \
    do {                                                                               \
        cudaError_t _e = cudaGetLastError();                                           \
        if (_e != cudaSuccess) return cu_fail_cuda(_e, name, __FILE__, __LINE__);      \
    } while (0)

// ---- internal GEMM (gemm.cu), used by linear/matmul and by other ops ----------
// Row-major, per batch i: C_i = act(alpha * A_i @ op(B_i) + bias) + beta * C_i
// A_i: M x K at A + i*stride_a (row stride lda); B_i: K x N (trans_b = 0) or
// N x K (trans_b = 1) at B + i*stride_b (stride_b 0 broadcasts); C_i: M x N.
// A and B share ab_type; C has c_type (f32 C with f16/bf16 A/B is allowed).
// bias [N] (any float dtype) or NULL. beta must be 0 unless act is NONE and
// bias NULL. Runs through cuBLASLt (algorithm cached per shape) and falls
// back to a plain tiled kernel when cuBLASLt has no algorithm for the case.
typedef struct {
    int64_t M, N, K, batch;
    const void *A;
    int64_t lda, stride_a;
    const void *B;
    int64_t ldb, stride_b;
    int trans_b;
    void *C;
    int64_t ldc, stride_c;
    rt_dtype ab_type, c_type;
    const void *bias;
    rt_dtype bias_type;
    rt_act act;
    float alpha, beta;
} cu_gemm_args;
roto_status cu_gemm(cu_state *st, const cu_gemm_args *g);
// The same product through the fallback kernel only (tests, benchmarks).
roto_status cu_gemm_simple(cu_state *st, const cu_gemm_args *g);
void cu_gemm_cache_free(cu_state *st);

// ---- kernel launchers used across files --------------------------------------
// y[rows, n] = act(y + bias[n]) in place on a contiguous matrix (bias may be NULL).
roto_status cu_bias_act(cu_state *st, void *y, rt_dtype t, int64_t rows, int64_t n,
                        const void *bias, rt_dtype bias_type, rt_act act);
// Strided 4-d copy with dtype conversion (shapes right-aligned; equal shapes).
roto_status cu_copy_raw(cu_state *st, const rt_tensor *y, const rt_tensor *x);

void cu_conv_cache_free(cu_state *st);

// ---- op entry points (backend signatures) -----------------------------------
// gemm.cu
roto_status cu_linear(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, rt_act act);
roto_status cu_matmul(rt_ctx *, rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                      int trans_b, float alpha, float beta);
// conv.cu
roto_status cu_conv2d(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, const rt_conv_params *p, rt_act act);
roto_status cu_conv_transpose(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                              const rt_tensor *b, int k);
// norm.cu
roto_status cu_layernorm(rt_ctx *, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                         const rt_tensor *b, float eps);
roto_status cu_softmax(rt_ctx *, rt_tensor *y, const rt_tensor *x, float scale);
// elementwise.cu
roto_status cu_activation(rt_ctx *, rt_tensor *y, const rt_tensor *x, rt_act act);
roto_status cu_binary(rt_ctx *, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                      rt_binop op);
roto_status cu_scale(rt_ctx *, rt_tensor *y, const rt_tensor *x, float scale, float shift);
roto_status cu_fill(rt_ctx *, rt_tensor *y, float value);
// attention.cu
roto_status cu_attention(rt_ctx *, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                         const rt_tensor *v, const rt_tensor *key_bias, float scale);
// rope.cu
roto_status cu_rope(rt_ctx *, rt_tensor *x, const rt_tensor *cos_t, const rt_tensor *sin_t,
                    int64_t n_rot);
// layout.cu
roto_status cu_window_partition(rt_ctx *, rt_tensor *y, const rt_tensor *x, int ws);
roto_status cu_window_unpartition(rt_ctx *, rt_tensor *y, const rt_tensor *x, int ws);
roto_status cu_maxpool2x2(rt_ctx *, rt_tensor *y, const rt_tensor *x);
roto_status cu_copy(rt_ctx *, rt_tensor *y, const rt_tensor *x);
roto_status cu_concat(rt_ctx *, rt_tensor *y, const rt_tensor *const *xs, int n, int dim);
// resample.cu
roto_status cu_interpolate(rt_ctx *, rt_tensor *y, const rt_tensor *x,
                           const rt_interp_params *p);
// ccl.cu
roto_status cu_connected_components(rt_ctx *, rt_tensor *labels, rt_tensor *areas,
                                    const rt_tensor *mask, int *n_out);
// matte.cu
roto_status cu_matte_threshold(rt_ctx *, rt_tensor *out, const rt_tensor *in, float t);
roto_status cu_matte_morph(rt_ctx *, rt_tensor *out, const rt_tensor *in, float radius, int erode);
roto_status cu_matte_feather(rt_ctx *, rt_tensor *out, const rt_tensor *in, float radius);
roto_status cu_matte_components(rt_ctx *, rt_tensor *out, const rt_tensor *in, int64_t limit,
                                int connectivity, int holes);
roto_status cu_matte_core_edge(rt_ctx *, rt_tensor *core, rt_tensor *edge, const rt_tensor *in,
                               float radius);

// ---- attention variants (attention.cu), for tests and benchmarks -------------
// Force one path: 0 = automatic (flash when it applies), 1 = flash only (fails
// with ROTO_ERR_UNSUPPORTED when it does not apply), 2 = naive only.
roto_status cu_attention_path(rt_ctx *ctx, rt_tensor *out, const rt_tensor *q,
                              const rt_tensor *k, const rt_tensor *v,
                              const rt_tensor *key_bias, float scale, int path);

#ifdef __cplusplus
}
#endif
#endif
