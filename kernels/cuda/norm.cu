// norm.cu: LayerNorm over the last dim and softmax over the last dim.
// defines: cu_layernorm, cu_softmax
//
// Both work row by row in fp32: one warp per row when the row is short, one
// 256-thread block per row when it is long (softmax over attention scores).
// Statistics use two passes over the row (mean, then squared deviations),
// which is as accurate as Welford here and simpler; rows stay in L1/L2.
#include <math.h>

#include "cuda_device.cuh"

// ---- LayerNorm: one warp per row ----------------------------------------------------

template <typename T>
__global__ void k_layernorm(T *y, const T *x, const void *w, int w_type, const void *b,
                            int b_type, int64_t rows, int64_t C, float eps) {
    int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const T *xr = x + row * C;
    T *yr = y + row * C;
    float s = 0.f;
    for (int64_t i = lane; i < C; i += 32) s += cu_ld(xr + i);
    float mean = cu_warp_sum(s) / (float)C;
    float v = 0.f;
    for (int64_t i = lane; i < C; i += 32) {
        float d = cu_ld(xr + i) - mean;
        v += d * d;
    }
    float rstd = rsqrtf(cu_warp_sum(v) / (float)C + eps);
    for (int64_t i = lane; i < C; i += 32) {
        float o = (cu_ld(xr + i) - mean) * rstd;
        if (w) o *= cu_ld_dyn(w, i, w_type);
        if (b) o += cu_ld_dyn(b, i, b_type);
        cu_st(yr + i, o);
    }
}

template <typename T>
static roto_status layernorm_t(cu_state *st, rt_tensor *y, const rt_tensor *x,
                               const rt_tensor *w, const rt_tensor *b, float eps) {
    int64_t C = x->shape[x->ndim - 1];
    if (C == 0) return ROTO_OK;
    int64_t rows = rt_numel(x) / C;
    if (rows == 0) return ROTO_OK;
    const int warps = 8;
    int64_t blocks = (rows + warps - 1) / warps;
    if (blocks > 0x7fffffff) return roto_fail(ROTO_ERR_UNSUPPORTED, "layernorm: too many rows");
    k_layernorm<T><<<(unsigned)blocks, warps * 32, 0, st->stream>>>(
        (T *)y->data, (const T *)x->data, w ? w->data : NULL, w ? (int)w->dtype : 0,
        b ? b->data : NULL, b ? (int)b->dtype : 0, rows, C, eps);
    CU_LAUNCH_CHECK("k_layernorm");
    return ROTO_OK;
}

extern "C" roto_status cu_layernorm(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                                    const rt_tensor *w, const rt_tensor *b, float eps) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "layernorm: x and y dtypes differ on cuda");
    if ((w && !cu_is_float(w->dtype)) || (b && !cu_is_float(b->dtype)))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "layernorm: weight/bias must be float on cuda");
    CU_DISPATCH_FLOAT(y->dtype, "layernorm", layernorm_t, st, y, x, w, b, eps);
}

// ---- softmax ---------------------------------------------------------------------------

// Short rows: one warp per row.
template <typename T>
__global__ void k_softmax_warp(T *y, const T *x, int64_t rows, int64_t n, float scale) {
    int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const T *xr = x + row * n;
    T *yr = y + row * n;
    float m = -INFINITY;
    for (int64_t i = lane; i < n; i += 32) m = fmaxf(m, cu_ld(xr + i) * scale);
    m = cu_warp_max(m);
    float s = 0.f;
    for (int64_t i = lane; i < n; i += 32) s += expf(cu_ld(xr + i) * scale - m);
    float inv = 1.f / cu_warp_sum(s);
    for (int64_t i = lane; i < n; i += 32) cu_st(yr + i, expf(cu_ld(xr + i) * scale - m) * inv);
}

// Sum or max over a block of SOFTMAX_THREADS threads; every thread gets the result.
#define SOFTMAX_THREADS 256
template <bool IS_MAX>
__device__ __forceinline__ float block_reduce(float v, float *red) {
    int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
    v = IS_MAX ? cu_warp_max(v) : cu_warp_sum(v);
    __syncthreads();  // red may still be read from a previous reduction
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = red[0];
    for (int i = 1; i < SOFTMAX_THREADS / 32; i++) r = IS_MAX ? fmaxf(r, red[i]) : r + red[i];
    return r;
}

// Long rows: one block per row.
template <typename T>
__global__ void k_softmax_block(T *y, const T *x, int64_t n, float scale) {
    __shared__ float red[SOFTMAX_THREADS / 32];
    int64_t row = blockIdx.x;
    const T *xr = x + row * n;
    T *yr = y + row * n;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += SOFTMAX_THREADS) m = fmaxf(m, cu_ld(xr + i) * scale);
    m = block_reduce<true>(m, red);
    float s = 0.f;
    for (int64_t i = threadIdx.x; i < n; i += SOFTMAX_THREADS) s += expf(cu_ld(xr + i) * scale - m);
    float inv = 1.f / block_reduce<false>(s, red);
    for (int64_t i = threadIdx.x; i < n; i += SOFTMAX_THREADS)
        cu_st(yr + i, expf(cu_ld(xr + i) * scale - m) * inv);
}

template <typename T>
static roto_status softmax_t(cu_state *st, rt_tensor *y, const rt_tensor *x, float scale) {
    int64_t n = x->ndim ? x->shape[x->ndim - 1] : 1;
    if (n == 0) return ROTO_OK;
    int64_t rows = rt_numel(x) / n;
    if (rows == 0) return ROTO_OK;
    if (rows > 0x7fffffff) return roto_fail(ROTO_ERR_UNSUPPORTED, "softmax: too many rows");
    if (n <= 1024) {
        const int warps = 8;
        k_softmax_warp<T><<<(unsigned)((rows + warps - 1) / warps), warps * 32, 0, st->stream>>>(
            (T *)y->data, (const T *)x->data, rows, n, scale);
        CU_LAUNCH_CHECK("k_softmax_warp");
    } else {
        k_softmax_block<T><<<(unsigned)rows, SOFTMAX_THREADS, 0, st->stream>>>(
            (T *)y->data, (const T *)x->data, n, scale);
        CU_LAUNCH_CHECK("k_softmax_block");
    }
    return ROTO_OK;
}

extern "C" roto_status cu_softmax(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "softmax: x and y dtypes differ on cuda");
    CU_DISPATCH_FLOAT(y->dtype, "softmax", softmax_t, st, y, x, scale);
}
