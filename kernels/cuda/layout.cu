// layout.cu: data movement: strided copy with dtype casts, concat, window
// partition/unpartition with zero padding, 2x2 max-pool.
// defines: cu_copy, cu_copy_raw, cu_concat, cu_window_partition,
//          cu_window_unpartition, cu_maxpool2x2
//
// One thread per output element; inputs and outputs are walked through their
// strides (cu_t4), so views (permute, slice) need no extra copy. Pure moves
// (window ops, same-dtype copies) move raw bits of the element size, so they
// work for every dtype.
#include "cuda_device.cuh"

// Unravel linear index i over the 4 dims n into (i0, i1, i2, i3).
__device__ __forceinline__ void unravel4(int64_t i, const int64_t *n, int64_t *c) {
    c[3] = i % n[3];
    i /= n[3];
    c[2] = i % n[2];
    i /= n[2];
    c[1] = i % n[1];
    c[0] = i / n[1];
}

__device__ __forceinline__ int64_t off4(const cu_t4 &d, const int64_t *c) {
    return c[0] * d.s[0] + c[1] * d.s[1] + c[2] * d.s[2] + c[3] * d.s[3];
}

// ---- copy with conversion --------------------------------------------------------------

template <typename TI, typename TO>
__global__ void k_copy_cvt(TO *y, const TI *x, cu_t4 yd, cu_t4 xd, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c[4];
        unravel4(i, yd.n, c);
        cu_st(y + off4(yd, c), cu_ld(x + off4(xd, c)));
    }
}

template <typename E>
__global__ void k_copy_bits(E *y, const E *x, cu_t4 yd, cu_t4 xd, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c[4];
        unravel4(i, yd.n, c);
        y[off4(yd, c)] = x[off4(xd, c)];
    }
}

template <typename TI, typename TO>
static roto_status copy_cvt(cu_state *st, const rt_tensor *y, const rt_tensor *x, int64_t n) {
    k_copy_cvt<TI, TO><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (TO *)y->data, (const TI *)x->data, cu_t4_of(y), cu_t4_of(x), n);
    CU_LAUNCH_CHECK("k_copy_cvt");
    return ROTO_OK;
}

template <typename TI>
static roto_status copy_from(cu_state *st, const rt_tensor *y, const rt_tensor *x, int64_t n) {
    switch (y->dtype) {
    case RT_F32: return copy_cvt<TI, float>(st, y, x, n);
    case RT_F16: return copy_cvt<TI, __half>(st, y, x, n);
    case RT_BF16: return copy_cvt<TI, __nv_bfloat16>(st, y, x, n);
    default: return roto_fail(ROTO_ERR_UNSUPPORTED, "copy: cannot convert to %s on cuda",
                              rt_dtype_name(y->dtype));
    }
}

template <typename E>
static roto_status copy_bits(cu_state *st, const rt_tensor *y, const rt_tensor *x, int64_t n) {
    k_copy_bits<E><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (E *)y->data, (const E *)x->data, cu_t4_of(y), cu_t4_of(x), n);
    CU_LAUNCH_CHECK("k_copy_bits");
    return ROTO_OK;
}

extern "C" roto_status cu_copy_raw(cu_state *st, const rt_tensor *y, const rt_tensor *x) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    if (x->dtype == y->dtype) {
        if (rt_is_contiguous(x) && rt_is_contiguous(y)) {
            CU_TRY(cudaMemcpyAsync(y->data, x->data, rt_nbytes(y), cudaMemcpyDeviceToDevice,
                                   st->stream));
            return ROTO_OK;
        }
        switch (rt_dtype_size(y->dtype)) {
        case 1: return copy_bits<uint8_t>(st, y, x, n);
        case 2: return copy_bits<uint16_t>(st, y, x, n);
        case 4: return copy_bits<uint32_t>(st, y, x, n);
        default: break;
        }
    }
    switch (x->dtype) {
    case RT_F32: return copy_from<float>(st, y, x, n);
    case RT_F16: return copy_from<__half>(st, y, x, n);
    case RT_BF16: return copy_from<__nv_bfloat16>(st, y, x, n);
    default:
        return roto_fail(ROTO_ERR_UNSUPPORTED, "copy: %s -> %s not supported on cuda",
                         rt_dtype_name(x->dtype), rt_dtype_name(y->dtype));
    }
}

extern "C" roto_status cu_copy(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x) {
    return cu_copy_raw(cu_get(ctx), y, x);
}

// ---- concat ---------------------------------------------------------------------------

extern "C" roto_status cu_concat(rt_ctx *ctx, rt_tensor *y, const rt_tensor *const *xs, int n,
                                 int dim) {
    cu_state *st = cu_get(ctx);
    if (dim < 0) dim += y->ndim;  // the op layer accepts -ndim..ndim-1
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        int64_t len = xs[i]->shape[dim];
        if (len == 0) continue;
        rt_tensor part;
        ROTO_TRY(rt_view_slice(&part, y, dim, at, len));
        ROTO_TRY(cu_copy_raw(st, &part, xs[i]));
        at += len;
    }
    return ROTO_OK;
}

// ---- window partition / unpartition ------------------------------------------------------

// y [N*nh*nw, ws, ws, C] <- x [N, H, W, C], zero outside x.
template <typename E>
__global__ void k_window_partition(E *y, const E *x, cu_t4 yd, cu_t4 xd, int ws, int64_t nh,
                                   int64_t nw, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c[4];
        unravel4(i, yd.n, c);  // (window, r, col, ch)
        int64_t win = c[0];
        int64_t img = win / (nh * nw), rem = win % (nh * nw);
        int64_t h = (rem / nw) * ws + c[1], w = (rem % nw) * ws + c[2];
        E v = 0;
        if (h < xd.n[1] && w < xd.n[2])
            v = x[img * xd.s[0] + h * xd.s[1] + w * xd.s[2] + c[3] * xd.s[3]];
        y[off4(yd, c)] = v;
    }
}

// y [N, H, W, C] <- x [N*nh*nw, ws, ws, C], the padding dropped.
template <typename E>
__global__ void k_window_unpartition(E *y, const E *x, cu_t4 yd, cu_t4 xd, int ws, int64_t nh,
                                     int64_t nw, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c[4];
        unravel4(i, yd.n, c);  // (img, h, w, ch)
        int64_t win = c[0] * nh * nw + (c[1] / ws) * nw + c[2] / ws;
        y[off4(yd, c)] =
            x[win * xd.s[0] + (c[1] % ws) * xd.s[1] + (c[2] % ws) * xd.s[2] + c[3] * xd.s[3]];
    }
}

template <typename E>
static roto_status window_t(cu_state *st, rt_tensor *y, const rt_tensor *x, int ws, int inverse) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    const rt_tensor *img = inverse ? y : x;  // the [N, H, W, C] side
    int64_t nh = (img->shape[1] + ws - 1) / ws, nw = (img->shape[2] + ws - 1) / ws;
    if (inverse) {
        k_window_unpartition<E><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
            (E *)y->data, (const E *)x->data, cu_t4_of(y), cu_t4_of(x), ws, nh, nw, n);
        CU_LAUNCH_CHECK("k_window_unpartition");
    } else {
        k_window_partition<E><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
            (E *)y->data, (const E *)x->data, cu_t4_of(y), cu_t4_of(x), ws, nh, nw, n);
        CU_LAUNCH_CHECK("k_window_partition");
    }
    return ROTO_OK;
}

static roto_status window_op(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws, int inverse) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype || x->ndim != 4 || y->ndim != 4)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "window op: 4-d tensors of one dtype expected");
    switch (rt_dtype_size(y->dtype)) {
    case 1: return window_t<uint8_t>(st, y, x, ws, inverse);
    case 2: return window_t<uint16_t>(st, y, x, ws, inverse);
    case 4: return window_t<uint32_t>(st, y, x, ws, inverse);
    default: return roto_fail(ROTO_ERR_UNSUPPORTED, "window op: bad dtype");
    }
}

extern "C" roto_status cu_window_partition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws) {
    return window_op(ctx, y, x, ws, 0);
}

extern "C" roto_status cu_window_unpartition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                                             int ws) {
    return window_op(ctx, y, x, ws, 1);
}

// ---- 2x2 max-pool -----------------------------------------------------------------------

template <typename T>
__global__ void k_maxpool2x2(T *y, const T *x, cu_t4 yd, cu_t4 xd, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c[4];
        unravel4(i, yd.n, c);  // (img, i, j, ch)
        const T *p = x + c[0] * xd.s[0] + 2 * c[1] * xd.s[1] + 2 * c[2] * xd.s[2] + c[3] * xd.s[3];
        float a = cu_ld(p), b = cu_ld(p + xd.s[2]), d = cu_ld(p + xd.s[1]),
              e = cu_ld(p + xd.s[1] + xd.s[2]);
        // NaN propagates, as in PyTorch's max_pool2d.
        float m = a;
        if (b > m || b != b) m = b;
        if (d > m || d != d) m = d;
        if (e > m || e != e) m = e;
        if (a != a) m = a;
        cu_st(y + off4(yd, c), m);
    }
}

template <typename T>
static roto_status maxpool_t(cu_state *st, rt_tensor *y, const rt_tensor *x) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    k_maxpool2x2<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (T *)y->data, (const T *)x->data, cu_t4_of(y), cu_t4_of(x), n);
    CU_LAUNCH_CHECK("k_maxpool2x2");
    return ROTO_OK;
}

extern "C" roto_status cu_maxpool2x2(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype || x->ndim != 4)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "maxpool2x2: 4-d tensors of one dtype expected");
    CU_DISPATCH_FLOAT(y->dtype, "maxpool2x2", maxpool_t, st, y, x);
}
