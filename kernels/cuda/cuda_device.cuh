// cuda_device.cuh: device-side helpers shared by the .cu files: typed
// loads/stores through float, 4-d strided tensor descriptors, grid sizing and
// the dtype dispatch used by launchers.
#ifndef ROTO_CUDA_DEVICE_CUH
#define ROTO_CUDA_DEVICE_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "cuda_internal.h"

// ---- element load/store through float ----------------------------------------
template <typename T> __device__ __forceinline__ float cu_ld(const T *p);
template <> __device__ __forceinline__ float cu_ld<float>(const float *p) { return *p; }
template <> __device__ __forceinline__ float cu_ld<__half>(const __half *p) {
    return __half2float(*p);
}
template <> __device__ __forceinline__ float cu_ld<__nv_bfloat16>(const __nv_bfloat16 *p) {
    return __bfloat162float(*p);
}

template <typename T> __device__ __forceinline__ void cu_st(T *p, float v);
template <> __device__ __forceinline__ void cu_st<float>(float *p, float v) { *p = v; }
template <> __device__ __forceinline__ void cu_st<__half>(__half *p, float v) {
    *p = __float2half_rn(v);
}
template <> __device__ __forceinline__ void cu_st<__nv_bfloat16>(__nv_bfloat16 *p, float v) {
    *p = __float2bfloat16_rn(v);
}

// Load element i of a buffer whose float dtype is known only at run time
// (small parameter vectors: norm weights, biases).
__device__ __forceinline__ float cu_ld_dyn(const void *p, int64_t i, int dtype) {
    switch (dtype) {
    case RT_F16: return __half2float(((const __half *)p)[i]);
    case RT_BF16: return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

// ---- 4-d strided descriptor -----------------------------------------------------
// Dims right-aligned to 4 (a 2-d [H, W] tensor becomes [1, 1, H, W] with the
// leading strides 0), so kernels index every tensor as (i0, i1, i2, i3).
struct cu_t4 {
    int64_t n[4];
    int64_t s[4];
};

static inline cu_t4 cu_t4_of(const rt_tensor *t) {
    cu_t4 d;
    int pad = 4 - t->ndim;
    for (int i = 0; i < 4; i++) {
        if (i < pad) {
            d.n[i] = 1;
            d.s[i] = 0;
        } else {
            d.n[i] = t->shape[i - pad];
            d.s[i] = t->shape[i - pad] == 1 ? 0 : t->stride[i - pad];
        }
    }
    return d;
}

// Offset (in elements) of the linear index `i` of a contiguous walk over d.n.
__device__ __forceinline__ int64_t cu_t4_offset(const cu_t4 &d, int64_t i) {
    int64_t i3 = i % d.n[3];
    i /= d.n[3];
    int64_t i2 = i % d.n[2];
    i /= d.n[2];
    int64_t i1 = i % d.n[1];
    int64_t i0 = i / d.n[1];
    return i0 * d.s[0] + i1 * d.s[1] + i2 * d.s[2] + i3 * d.s[3];
}

// ---- launch helpers ---------------------------------------------------------------
#define CU_THREADS 256

// Blocks for a grid-stride loop over n elements (capped; loops cover the rest).
static inline unsigned cu_blocks(int64_t n, int threads = CU_THREADS) {
    int64_t b = (n + threads - 1) / threads;
    if (b < 1) b = 1;
    if (b > 65535 * 8) b = 65535 * 8;
    return (unsigned)b;
}

#define CU_GRID_STRIDE(i, n)                                                      \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);    \
         i += (int64_t)gridDim.x * blockDim.x)

// Call F<T>(args...) for the float dtype `dt`; returns UNSUPPORTED otherwise.
// F is a function template returning roto_status; `what` names the op.
#define CU_DISPATCH_FLOAT(dt, what, F, ...)                                        \
    do {                                                                           \
        switch (dt) {                                                              \
        case RT_F32: return F<float>(__VA_ARGS__);                                 \
        case RT_F16: return F<__half>(__VA_ARGS__);                                \
        case RT_BF16: return F<__nv_bfloat16>(__VA_ARGS__);                        \
        default:                                                                   \
            return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: dtype %s not supported on cuda", \
                             what, rt_dtype_name(dt));                             \
        }                                                                          \
    } while (0)

static inline int cu_is_float(rt_dtype t) { return t == RT_F32 || t == RT_F16 || t == RT_BF16; }

// ---- warp reductions ------------------------------------------------------------
__device__ __forceinline__ float cu_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float cu_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Activation in fp32. GELU is the exact erf form (not cuBLASLt's tanh one).
__device__ __forceinline__ float cu_act(float v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return v > 0.f ? v : 0.f;
    case RT_ACT_GELU: return 0.5f * v * erfcf(-v * 0.70710678118654752f);
    case RT_ACT_SIGMOID: return 1.f / (1.f + expf(-v));
    default: return v;
    }
}

#endif
