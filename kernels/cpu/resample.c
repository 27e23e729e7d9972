// resample.c: CPU rt_interpolate for NHWC f32 maps with the numerics of
// PyTorch's F.interpolate(size=...) (PyTorch is the reference; see
// aten/src/ATen/native/UpSample.h and cpu/UpSampleKernel.cpp).
//
// What is matched:
// - scale = in/out (align_corners: (in-1)/(out-1), 0 when out == 1), computed
//   in float as PyTorch does for float tensors.
// - nearest: PyTorch's legacy 'nearest': src = min(floorf(dst * scale), in-1)
//   in float, with PyTorch's shortcuts out == in (copy) and out == 2*in
//   (dst >> 1). The float product matters: for some sizes (e.g. 3 -> 123) it
//   rounds below an exact integer and picks the previous pixel, and so do we.
// - bilinear: src = scale*(dst+0.5)-0.5 clamped at 0 (or scale*dst with
//   align_corners), taps floor(src) and the next one (the last pixel repeats).
// - bicubic: Keys' cubic convolution with A = cubic_a (PyTorch uses -0.75),
//   src not clamped, the four taps floor(src)-1 .. floor(src)+2 clamped to the
//   border.
// - antialias (bilinear or bicubic): PyTorch's _upsample_{bilinear,bicubic}2d_aa,
//   which is PIL's resampling: per output pixel a filter centred at
//   scale*(dst+0.5) whose support is scaled by the downscale factor
//   (support = taps/2 * max(scale, 1)), evaluated at the input pixel centres
//   inside [center - support, center + support], weights normalised to sum 1.
//   PyTorch applies this kernel whenever antialias=True, upscaling included:
//   for bilinear with align_corners=False that equals plain bilinear, for
//   bicubic it does not (taps past the border are dropped and the rest
//   renormalised instead of clamped). PyTorch's aa bicubic hard-codes
//   A = -0.5; pass cubic_a = -0.5 to match it (we use cubic_a as given).
//   With align_corners the aa kernel keeps PyTorch's (in-1)/(out-1) scale but
//   centres at scale*(dst+0.5), as PyTorch does.
// - PIL: Image.resize(BICUBIC) (and BILINEAR) is the antialias path with
//   cubic_a = -0.5, align_corners = 0, on float data (PIL mode 'F' computes the
//   same weights in double). For 8-bit images PIL also rounds its weights to
//   fixed point and rounds the intermediate (horizontal pass) image to 8 bits;
//   that is not reproduced here (differences up to about one 8-bit level).
//
// How: each axis gets a table of taps (input index, weight) per output index,
// built once per call. Each output row is then the vertical pass into a row
// buffer (a weighted sum of whole input rows, contiguous over W*C) followed by
// the horizontal pass (a weighted sum of pixels, contiguous over C).
// Arguments were validated by engine/ops_resample.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv_common.h"
#include "cpu_ops.h"

typedef struct {
    int max_taps;
    int32_t *n;    // [out] taps used by output index o
    int32_t *idx;  // [out * max_taps] input index of each tap
    float *wt;     // [out * max_taps] weight of each tap
} axis_taps;

static void taps_free(axis_taps *t) {
    free(t->n);
    free(t->idx);
    free(t->wt);
    memset(t, 0, sizeof *t);
}

static roto_status taps_alloc(axis_taps *t, int64_t out, int max_taps) {
    t->max_taps = max_taps;
    t->n = calloc((size_t)out, sizeof *t->n);
    t->idx = calloc((size_t)(out * max_taps), sizeof *t->idx);
    t->wt = calloc((size_t)(out * max_taps), sizeof *t->wt);
    if (!t->n || !t->idx || !t->wt) {
        taps_free(t);
        return roto_fail(ROTO_ERR_OOM, "interpolate: cannot allocate resampling tables");
    }
    return ROTO_OK;
}

// PyTorch's area_pixel_compute_scale for float tensors.
static float pt_scale(int64_t in, int64_t out, int align_corners) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)in / (float)out;
}

// PyTorch's area_pixel_compute_source_index.
static float pt_source_index(float scale, int64_t o, int align_corners, int cubic) {
    if (align_corners) return scale * (float)o;
    float s = scale * ((float)o + 0.5f) - 0.5f;
    return (!cubic && s < 0.0f) ? 0.0f : s;
}

static int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static void build_nearest(axis_taps *t, int64_t in, int64_t out) {
    float scale = (float)in / (float)out;
    for (int64_t o = 0; o < out; o++) {
        int64_t i;
        if (out == in) {
            i = o;
        } else if (out == 2 * in) {
            i = o >> 1;
        } else {
            i = (int64_t)floorf((float)o * scale);
            if (i > in - 1) i = in - 1;
        }
        t->n[o] = 1;
        t->idx[o] = (int32_t)i;
        t->wt[o] = 1.0f;
    }
}

static void build_linear(axis_taps *t, int64_t in, int64_t out, int align_corners) {
    float scale = pt_scale(in, out, align_corners);
    for (int64_t o = 0; o < out; o++) {
        int64_t i0 = o;
        float l1 = 0.0f;
        if (!(in == out && !align_corners)) {
            float src = pt_source_index(scale, o, align_corners, 0);
            i0 = (int64_t)src;  // src >= 0, so this is floor
            if (i0 > in - 1) i0 = in - 1;
            l1 = src - (float)i0;
            l1 = l1 < 0.0f ? 0.0f : (l1 > 1.0f ? 1.0f : l1);
        }
        int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
        t->n[o] = 2;
        t->idx[2 * o] = (int32_t)i0;
        t->idx[2 * o + 1] = (int32_t)i1;
        t->wt[2 * o] = 1.0f - l1;
        t->wt[2 * o + 1] = l1;
    }
}

// Keys' cubic convolution kernel with parameter a at distance |x|.
static double cubic_kernel(double x, double a) {
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

static void build_cubic(axis_taps *t, int64_t in, int64_t out, int align_corners, float a) {
    float scale = pt_scale(in, out, align_corners);
    for (int64_t o = 0; o < out; o++) {
        float src = pt_source_index(scale, o, align_corners, 1);
        int64_t i = (int64_t)floorf(src);
        if (i > in - 1) i = in - 1;
        float f = src - (float)i;
        f = f < 0.0f ? 0.0f : (f > 1.0f ? 1.0f : f);
        t->n[o] = 4;
        for (int k = 0; k < 4; k++) {
            t->idx[4 * o + k] = (int32_t)clamp_i64(i - 1 + k, 0, in - 1);
            t->wt[4 * o + k] = (float)cubic_kernel((double)f - (k - 1), a);
        }
    }
}

// The antialiased (PIL-style) taps. `interp` is the filter's width in pixels
// at scale 1: 2 for the triangle (bilinear), 4 for the cubic.
static roto_status build_aa(axis_taps *t, int64_t in, int64_t out, int align_corners, int interp,
                            float a) {
    float scale = pt_scale(in, out, align_corners);
    float support = scale >= 1.0f ? (float)(interp * 0.5) * scale : (float)(interp * 0.5);
    float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    int max_taps = (int)ceilf(support) * 2 + 1;
    ROTO_TRY(taps_alloc(t, out, max_taps));
    for (int64_t o = 0; o < out; o++) {
        float center = (float)(scale * (o + 0.5));
        // Bounds rounded as PyTorch and PIL do: truncate (x + 0.5).
        int64_t xmin = (int64_t)((double)(center - support) + 0.5);
        int64_t xmax = (int64_t)((double)(center + support) + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in) xmax = in;
        int64_t xsize = clamp_i64(xmax - xmin, 0, max_taps);
        int32_t *idx = t->idx + o * max_taps;
        float *wt = t->wt + o * max_taps;
        if (xsize == 0) {  // cannot happen for in, out >= 1; keep the row defined
            t->n[o] = 1;
            idx[0] = (int32_t)clamp_i64(xmin, 0, in - 1);
            wt[0] = 0.0f;
            continue;
        }
        float total = 0.0f;
        for (int64_t j = 0; j < xsize; j++) {
            double d = ((double)((float)(j + xmin) - center) + 0.5) * invscale;
            float w = (float)(interp == 2 ? (fabs(d) < 1.0 ? 1.0 - fabs(d) : 0.0)
                                          : cubic_kernel(d, a));
            idx[j] = (int32_t)(xmin + j);
            wt[j] = w;
            total += w;
        }
        if (total != 0.0f)
            for (int64_t j = 0; j < xsize; j++) wt[j] /= total;
        t->n[o] = (int32_t)xsize;
    }
    return ROTO_OK;
}

static roto_status build_axis(axis_taps *t, int64_t in, int64_t out, const rt_interp_params *p) {
    if (p->mode != RT_INTERP_NEAREST && p->antialias)
        return build_aa(t, in, out, p->align_corners, p->mode == RT_INTERP_BILINEAR ? 2 : 4,
                        p->cubic_a);
    int max_taps = p->mode == RT_INTERP_NEAREST ? 1 : (p->mode == RT_INTERP_BILINEAR ? 2 : 4);
    ROTO_TRY(taps_alloc(t, out, max_taps));
    switch (p->mode) {
    case RT_INTERP_NEAREST: build_nearest(t, in, out); break;
    case RT_INTERP_BILINEAR: build_linear(t, in, out, p->align_corners); break;
    default: build_cubic(t, in, out, p->align_corners, p->cubic_a); break;
    }
    return ROTO_OK;
}

// dst[0:len] = sum_k w[k] * rows[k][0:len], rows at base + idx[k] * stride.
static inline void weighted_sum(float *restrict dst, const float *base, int64_t stride,
                                const int32_t *idx, const float *w, int n, int64_t len) {
    const float *r0 = base + idx[0] * stride;
    const float w0 = w[0];
#pragma omp simd
    for (int64_t i = 0; i < len; i++) dst[i] = w0 * r0[i];
    for (int k = 1; k < n; k++) {
        const float *r = base + idx[k] * stride;
        const float wk = w[k];
#pragma omp simd
        for (int64_t i = 0; i < len; i++) dst[i] += wk * r[i];
    }
}

roto_status cpu_interpolate(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                            const rt_interp_params *p) {
    if (x->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "interpolate: the cpu backend computes in f32, got %s",
                         rt_dtype_name(x->dtype));
    const int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    const int64_t Ho = y->shape[1], Wo = y->shape[2];
    if (N == 0 || C == 0) return ROTO_OK;
    axis_taps th = {0}, tw = {0};
    roto_status st = build_axis(&th, H, Ho, p);
    if (st == ROTO_OK) st = build_axis(&tw, W, Wo, p);
    int nt = cpu_threads(ctx);
    const int64_t rowlen = W * C;
    float *bufs = NULL;
    if (st == ROTO_OK) {
        bufs = malloc((size_t)(nt * rowlen) * sizeof(float));
        if (!bufs) st = roto_fail(ROTO_ERR_OOM, "interpolate: cannot allocate row buffers");
    }
    if (st != ROTO_OK) {
        taps_free(&th);
        taps_free(&tw);
        return st;
    }
    const float *xd = x->data;
    float *yd = y->data;
    const int64_t rows = N * Ho;
    const int mh = th.max_taps, mw = tw.max_taps;
#pragma omp parallel num_threads(nt) if (rows * Wo * C > (1 << 15))
    {
        float *tmp = bufs + (int64_t)omp_get_thread_num() * rowlen;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < rows; t++) {
            int64_t n = t / Ho, oh = t % Ho;
            // Vertical pass: the weighted input rows, or the row itself.
            const float *img = xd + n * H * rowlen;
            const int32_t *ih = th.idx + oh * mh;
            const float *wh = th.wt + oh * mh;
            const float *src = tmp;
            if (th.n[oh] == 1 && wh[0] == 1.0f)
                src = img + ih[0] * rowlen;
            else
                weighted_sum(tmp, img, rowlen, ih, wh, th.n[oh], rowlen);
            // Horizontal pass over pixels of C channels: vectorised over C
            // when there are enough channels, else one tap loop per value
            // (masks and RGB images).
            float *yrow = yd + t * Wo * C;
            if (C < 8) {
                for (int64_t ow = 0; ow < Wo; ow++) {
                    const int32_t *iw = tw.idx + ow * mw;
                    const float *ww = tw.wt + ow * mw;
                    const int nk = tw.n[ow];
                    for (int64_t c = 0; c < C; c++) {
                        float acc = ww[0] * src[iw[0] * C + c];
                        for (int k = 1; k < nk; k++) acc += ww[k] * src[iw[k] * C + c];
                        yrow[ow * C + c] = acc;
                    }
                }
                continue;
            }
            for (int64_t ow = 0; ow < Wo; ow++) {
                const int32_t *iw = tw.idx + ow * mw;
                const float *ww = tw.wt + ow * mw;
                if (tw.n[ow] == 1 && ww[0] == 1.0f)
                    memcpy(yrow + ow * C, src + iw[0] * C, (size_t)C * sizeof(float));
                else
                    weighted_sum(yrow + ow * C, src, C, iw, ww, tw.n[ow], C);
            }
        }
    }
    free(bufs);
    taps_free(&th);
    taps_free(&tw);
    return ROTO_OK;
}
