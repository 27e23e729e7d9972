// elementwise.cu: activations, binary ops with NumPy broadcasting, scale/shift,
// fill, and the bias + activation epilogue other ops use after a GEMM.
// defines: cu_activation, cu_binary, cu_scale, cu_fill, cu_bias_act
//
// Every kernel computes in fp32 and stores in the tensor's dtype (f32, f16,
// bf16), one element per thread in a grid-stride loop.
#include "cuda_device.cuh"

// ---- activation -------------------------------------------------------------------

template <typename T>
__global__ void k_activation(T *y, const T *x, int64_t n, rt_act act) {
    CU_GRID_STRIDE(i, n) cu_st(y + i, cu_act(cu_ld(x + i), act));
}

template <typename T>
static roto_status activation_t(cu_state *st, rt_tensor *y, const rt_tensor *x, rt_act act) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    k_activation<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((T *)y->data,
                                                                  (const T *)x->data, n, act);
    CU_LAUNCH_CHECK("k_activation");
    return ROTO_OK;
}

extern "C" roto_status cu_activation(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, rt_act act) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "activation: x and y dtypes differ on cuda");
    CU_DISPATCH_FLOAT(y->dtype, "activation", activation_t, st, y, x, act);
}

// ---- bias + activation on a contiguous [rows, n] matrix -------------------------------

template <typename T>
__global__ void k_bias_act(T *y, int64_t rows, int64_t n, const void *bias, int bias_type,
                           rt_act act) {
    CU_GRID_STRIDE(i, rows * n) {
        float v = cu_ld(y + i);
        if (bias) v += cu_ld_dyn(bias, i % n, bias_type);
        cu_st(y + i, cu_act(v, act));
    }
}

template <typename T>
static roto_status bias_act_t(cu_state *st, void *y, int64_t rows, int64_t n, const void *bias,
                              rt_dtype bias_type, rt_act act) {
    if (rows * n == 0) return ROTO_OK;
    k_bias_act<T><<<cu_blocks(rows * n), CU_THREADS, 0, st->stream>>>((T *)y, rows, n, bias,
                                                                       (int)bias_type, act);
    CU_LAUNCH_CHECK("k_bias_act");
    return ROTO_OK;
}

extern "C" roto_status cu_bias_act(cu_state *st, void *y, rt_dtype t, int64_t rows, int64_t n,
                                   const void *bias, rt_dtype bias_type, rt_act act) {
    if (!bias && act == RT_ACT_NONE) return ROTO_OK;
    if (bias && !cu_is_float(bias_type))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "bias dtype %s not supported on cuda",
                         rt_dtype_name(bias_type));
    CU_DISPATCH_FLOAT(t, "bias/activation", bias_act_t, st, y, rows, n, bias, bias_type, act);
}

// ---- binary with broadcasting ---------------------------------------------------------

__device__ __forceinline__ float binop(float a, float b, rt_binop op) {
    switch (op) {
    case RT_BIN_MUL: return a * b;
    case RT_BIN_SUB: return a - b;
    default: return a + b;
    }
}

// Same shape, both contiguous: the residual-add case.
template <typename T>
__global__ void k_binary_flat(T *y, const T *a, const T *b, int64_t n, rt_binop op) {
    CU_GRID_STRIDE(i, n) cu_st(y + i, binop(cu_ld(a + i), cu_ld(b + i), op));
}

// General case: y contiguous over yd.n; a and b walked with their strides
// (stride 0 on broadcast dims).
template <typename T>
__global__ void k_binary_bcast(T *y, const T *a, const T *b, cu_t4 yd, cu_t4 ad, cu_t4 bd,
                               int64_t n, rt_binop op) {
    CU_GRID_STRIDE(i, n) {
        int64_t r = i;
        int64_t i3 = r % yd.n[3];
        r /= yd.n[3];
        int64_t i2 = r % yd.n[2];
        r /= yd.n[2];
        int64_t i1 = r % yd.n[1];
        int64_t i0 = r / yd.n[1];
        int64_t oa = i0 * ad.s[0] + i1 * ad.s[1] + i2 * ad.s[2] + i3 * ad.s[3];
        int64_t ob = i0 * bd.s[0] + i1 * bd.s[1] + i2 * bd.s[2] + i3 * bd.s[3];
        cu_st(y + i, binop(cu_ld(a + oa), cu_ld(b + ob), op));
    }
}

template <typename T>
static roto_status binary_t(cu_state *st, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                            rt_binop op) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    if (rt_same_shape(a, y) && rt_same_shape(b, y) && rt_is_contiguous(a) && rt_is_contiguous(b)) {
        k_binary_flat<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
            (T *)y->data, (const T *)a->data, (const T *)b->data, n, op);
        CU_LAUNCH_CHECK("k_binary_flat");
        return ROTO_OK;
    }
    // Size-1 dims have stride 0 in cu_t4, which is exactly broadcasting once
    // the shapes are right-aligned to y's 4 dims.
    cu_t4 yd = cu_t4_of(y), ad = cu_t4_of(a), bd = cu_t4_of(b);
    k_binary_bcast<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (T *)y->data, (const T *)a->data, (const T *)b->data, yd, ad, bd, n, op);
    CU_LAUNCH_CHECK("k_binary_bcast");
    return ROTO_OK;
}

extern "C" roto_status cu_binary(rt_ctx *ctx, rt_tensor *y, const rt_tensor *a,
                                 const rt_tensor *b, rt_binop op) {
    cu_state *st = cu_get(ctx);
    if (a->dtype != y->dtype || b->dtype != y->dtype)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "binary: a, b and y must share a dtype on cuda");
    CU_DISPATCH_FLOAT(y->dtype, "binary", binary_t, st, y, a, b, op);
}

// ---- scale / fill ----------------------------------------------------------------------

template <typename T>
__global__ void k_scale(T *y, const T *x, int64_t n, float scale, float shift) {
    CU_GRID_STRIDE(i, n) cu_st(y + i, cu_ld(x + i) * scale + shift);
}

template <typename T>
static roto_status scale_t(cu_state *st, rt_tensor *y, const rt_tensor *x, float scale,
                           float shift) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    k_scale<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((T *)y->data, (const T *)x->data, n,
                                                             scale, shift);
    CU_LAUNCH_CHECK("k_scale");
    return ROTO_OK;
}

extern "C" roto_status cu_scale(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale,
                                float shift) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "scale: x and y dtypes differ on cuda");
    CU_DISPATCH_FLOAT(y->dtype, "scale", scale_t, st, y, x, scale, shift);
}

template <typename T>
__global__ void k_fill(T *y, int64_t n, T v) {
    CU_GRID_STRIDE(i, n) y[i] = v;
}

template <typename T>
static roto_status fill_launch(cu_state *st, void *y, int64_t n, T v) {
    k_fill<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((T *)y, n, v);
    CU_LAUNCH_CHECK("k_fill");
    return ROTO_OK;
}

extern "C" roto_status cu_fill(rt_ctx *ctx, rt_tensor *y, float value) {
    cu_state *st = cu_get(ctx);
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    switch (y->dtype) {
    case RT_F32: return fill_launch<float>(st, y->data, n, value);
    case RT_F16: return fill_launch<__half>(st, y->data, n, __float2half_rn(value));
    case RT_BF16: return fill_launch<__nv_bfloat16>(st, y->data, n, __float2bfloat16_rn(value));
    case RT_I32: return fill_launch<int32_t>(st, y->data, n, (int32_t)value);
    case RT_U8: return fill_launch<uint8_t>(st, y->data, n, (uint8_t)value);
    default: return roto_fail(ROTO_ERR_UNSUPPORTED, "fill: dtype not supported on cuda");
    }
}
