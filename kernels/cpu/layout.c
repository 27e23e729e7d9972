// layout.c: CPU data-movement ops: Hiera's window partition / unpartition
// (zero padding and cropping), the 2x2 stride-2 max-pool, strided copy with
// dtype conversion, and concat.
//
// Window ops and concat move whole elements of any dtype (they only copy
// bytes); max-pool compares values and is f32 only. Copies walk the two
// tensors with their own strides after merging the dims both can walk as one,
// so a contiguous copy is a few large memcpy calls and a permuted view is a
// gather. Arguments were validated by engine/ops_layout.c.
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "cpu_ops.h"

// ---- window partition ----------------------------------------------------------

// x [N, H, W, C] -> y [N*nh*nw, ws, ws, C], windows in row-major (wh, ww) order
// per image, positions past H or W zero.
roto_status cpu_window_partition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws) {
    const int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    const int64_t nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
    const size_t es = rt_dtype_size(x->dtype), pix = (size_t)C * es;
    const char *xd = x->data;
    char *yd = y->data;
    const int64_t rows = N * nh * nw * ws;  // one task per window row
    int nt = cpu_threads(ctx);
#pragma omp parallel for schedule(static) num_threads(nt) if (rows * ws * C > (1 << 16))
    for (int64_t t = 0; t < rows; t++) {
        int64_t r = t % ws, win = t / ws;
        int64_t ww = win % nw, wh = (win / nw) % nh, n = win / (nw * nh);
        char *dst = yd + (size_t)t * ws * pix;
        int64_t ih = wh * ws + r, iw0 = ww * ws;
        int64_t valid = ih < H ? (W - iw0 < ws ? W - iw0 : ws) : 0;
        if (valid > 0) memcpy(dst, xd + (size_t)((n * H + ih) * W + iw0) * pix, (size_t)valid * pix);
        if (valid < ws) memset(dst + (size_t)valid * pix, 0, (size_t)(ws - valid) * pix);
    }
    return ROTO_OK;
}

// x [N*nh*nw, ws, ws, C] -> y [N, H, W, C], the padding dropped.
roto_status cpu_window_unpartition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws) {
    const int64_t N = y->shape[0], H = y->shape[1], W = y->shape[2], C = y->shape[3];
    const int64_t nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
    const size_t es = rt_dtype_size(x->dtype), pix = (size_t)C * es;
    const char *xd = x->data;
    char *yd = y->data;
    const int64_t rows = N * H;  // one task per output row
    int nt = cpu_threads(ctx);
#pragma omp parallel for schedule(static) num_threads(nt) if (rows * W * C > (1 << 16))
    for (int64_t t = 0; t < rows; t++) {
        int64_t h = t % H, n = t / H;
        int64_t wh = h / ws, r = h % ws;
        char *dst = yd + (size_t)t * W * pix;
        for (int64_t ww = 0; ww < nw; ww++) {
            int64_t iw0 = ww * ws;
            int64_t valid = W - iw0 < ws ? W - iw0 : ws;
            const char *src = xd + (size_t)((((n * nh + wh) * nw + ww) * ws + r) * ws) * pix;
            memcpy(dst + (size_t)iw0 * pix, src, (size_t)valid * pix);
        }
    }
    return ROTO_OK;
}

// ---- max-pool ------------------------------------------------------------------

// max that lets a NaN through, as PyTorch's max_pool2d does.
static inline float max_nan(float a, float b) { return (b > a || b != b) ? b : a; }

roto_status cpu_maxpool2x2(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x) {
    if (x->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "maxpool2x2: the cpu backend computes in f32, got %s",
                         rt_dtype_name(x->dtype));
    const int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    const int64_t Ho = y->shape[1], Wo = y->shape[2];
    const float *xd = x->data;
    float *yd = y->data;
    const int64_t rows = N * Ho;
    int nt = cpu_threads(ctx);
#pragma omp parallel for schedule(static) num_threads(nt) if (rows * Wo * C > (1 << 16))
    for (int64_t t = 0; t < rows; t++) {
        int64_t oh = t % Ho, n = t / Ho;
        const float *r0 = xd + ((n * H + 2 * oh) * W) * C;
        const float *r1 = r0 + W * C;
        float *dst = yd + t * Wo * C;
        for (int64_t ow = 0; ow < Wo; ow++) {
            const float *a = r0 + 2 * ow * C, *b = a + C, *c = r1 + 2 * ow * C, *d = c + C;
            float *o = dst + ow * C;
#pragma omp simd
            for (int64_t k = 0; k < C; k++) o[k] = max_nan(max_nan(max_nan(a[k], b[k]), c[k]), d[k]);
        }
    }
    return ROTO_OK;
}

// ---- strided copy ------------------------------------------------------------------

// A copy reduced to `nd` dims: dims of size 1 dropped and neighbours that both
// tensors walk as one merged. The last dim is the inner loop.
typedef struct {
    int nd;
    int64_t shape[RT_MAX_DIMS];
    int64_t sx[RT_MAX_DIMS], sy[RT_MAX_DIMS];
} copy_plan;

static copy_plan make_plan(const rt_tensor *y, const rt_tensor *x) {
    copy_plan p = {0};
    for (int i = 0; i < x->ndim; i++) {
        if (x->shape[i] == 1) continue;
        if (p.nd > 0 && p.sx[p.nd - 1] == x->shape[i] * x->stride[i] &&
            p.sy[p.nd - 1] == x->shape[i] * y->stride[i]) {
            p.shape[p.nd - 1] *= x->shape[i];
            p.sx[p.nd - 1] = x->stride[i];
            p.sy[p.nd - 1] = y->stride[i];
            continue;
        }
        p.shape[p.nd] = x->shape[i];
        p.sx[p.nd] = x->stride[i];
        p.sy[p.nd] = y->stride[i];
        p.nd++;
    }
    if (p.nd == 0) {  // a single element
        p.nd = 1;
        p.shape[0] = 1;
        p.sx[0] = p.sy[0] = 1;
    }
    // The inner loop runs over the dim with the smallest strides, so a
    // permuted copy (NCHW -> NHWC) reads or writes long runs instead of
    // looping over a short channel dim.
    int best = p.nd - 1;
    for (int d = 0; d < p.nd; d++)
        if (p.sx[d] + p.sy[d] < p.sx[best] + p.sy[best]) best = d;
    if (best != p.nd - 1) {
        int64_t sh = p.shape[best], sx = p.sx[best], sy = p.sy[best];
        for (int d = best; d < p.nd - 1; d++) {
            p.shape[d] = p.shape[d + 1];
            p.sx[d] = p.sx[d + 1];
            p.sy[d] = p.sy[d + 1];
        }
        p.shape[p.nd - 1] = sh;
        p.sx[p.nd - 1] = sx;
        p.sy[p.nd - 1] = sy;
    }
    return p;
}

static inline float load_as_f32(const char *base, int64_t i, rt_dtype t) {
    switch (t) {
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)base)[i]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)base)[i]);
    default: return ((const float *)base)[i];
    }
}

static inline void store_from_f32(char *base, int64_t i, rt_dtype t, float v) {
    switch (t) {
    case RT_F16: ((uint16_t *)base)[i] = rt_f32_to_f16(v); break;
    case RT_BF16: ((uint16_t *)base)[i] = rt_f32_to_bf16(v); break;
    default: ((float *)base)[i] = v; break;
    }
}

// Copy n elements from src (stride sx) to dst (stride sy), strides in elements.
static void copy_run(char *dst, rt_dtype ty, int64_t sy, const char *src, rt_dtype tx, int64_t sx,
                     int64_t n) {
    if (tx == ty) {
        size_t es = rt_dtype_size(tx);
        if (sx == 1 && sy == 1) {
            memcpy(dst, src, (size_t)n * es);
            return;
        }
        switch (es) {
        case 4:
            for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[i * sy] = ((const uint32_t *)src)[i * sx];
            break;
        case 2:
            for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[i * sy] = ((const uint16_t *)src)[i * sx];
            break;
        default:
            for (int64_t i = 0; i < n; i++) memcpy(dst + i * sy * es, src + i * sx * es, es);
            break;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) store_from_f32(dst, i * sy, ty, load_as_f32(src, i * sx, tx));
}

// y = x element by element (same shape; strides and dtypes may differ).
static void strided_copy(rt_ctx *ctx, const rt_tensor *y, const rt_tensor *x) {
    int64_t total = rt_numel(x);
    if (total == 0) return;
    copy_plan p = make_plan(y, x);
    const int in = p.nd - 1;
    const int64_t n = p.shape[in];
    int64_t rows = total / n;
    // Split long inner runs into blocks so a big contiguous copy still uses
    // every thread.
    int nt = cpu_threads(ctx);
    int64_t nblk = 1;
    if (rows < 4 * nt && n >= (1 << 15)) {
        nblk = (4 * nt + rows - 1) / rows;
        if (nblk > n / 4096) nblk = n / 4096;
        if (nblk < 1) nblk = 1;
    }
    const int64_t blk = (n + nblk - 1) / nblk;
    const size_t esx = rt_dtype_size(x->dtype), esy = rt_dtype_size(y->dtype);
    const char *xd = x->data;
    char *yd = y->data;
#pragma omp parallel for schedule(static) num_threads(nt) if (total > (1 << 16))
    for (int64_t task = 0; task < rows * nblk; task++) {
        int64_t row = task / nblk, b = task % nblk;
        int64_t ox = 0, oy = 0, rem = row;
        for (int d = in - 1; d >= 0; d--) {  // row -> offsets over the outer dims
            int64_t i = rem % p.shape[d];
            rem /= p.shape[d];
            ox += i * p.sx[d];
            oy += i * p.sy[d];
        }
        int64_t i0 = b * blk, cnt = n - i0 < blk ? n - i0 : blk;
        if (cnt <= 0) continue;
        ox += i0 * p.sx[in];
        oy += i0 * p.sy[in];
        copy_run(yd + (size_t)oy * esy, y->dtype, p.sy[in], xd + (size_t)ox * esx, x->dtype,
                 p.sx[in], cnt);
    }
}

roto_status cpu_copy(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x) {
    strided_copy(ctx, y, x);
    return ROTO_OK;
}

roto_status cpu_concat(rt_ctx *ctx, rt_tensor *y, const rt_tensor *const *xs, int n, int dim) {
    if (dim < 0) dim += y->ndim;
    const size_t es = rt_dtype_size(y->dtype);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        rt_tensor part = *y;  // y's slice [off, off + len) along dim
        part.shape[dim] = xs[i]->shape[dim];
        part.data = (char *)y->data + (size_t)(off * y->stride[dim]) * es;
        strided_copy(ctx, &part, xs[i]);
        off += xs[i]->shape[dim];
    }
    return ROTO_OK;
}
