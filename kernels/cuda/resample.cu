// resample.cu: rt_interpolate on the GPU (nearest, bilinear, bicubic, with
// align_corners and antialias), NHWC, f32/f16/bf16 data computed in fp32.
// defines: cu_interpolate
//
// This mirrors kernels/cpu/resample.c, PyTorch's F.interpolate numerics (read
// that file's header for what is matched and why). The same per-axis tap
// tables (input index + weight per output index) are built here on the device,
// one thread per output index, with the same float/double operations in the
// same order. Products and sums use the __fmul_rn/__fadd_rn style intrinsics
// so nvcc cannot contract them into FMAs: a nearest/bilinear source index
// computed with one rounding fewer could land on the other side of an integer
// and pick another pixel than the CPU does.
//
// Resampling is then separable like the CPU's: a vertical pass into an fp32
// temporary [N, Ho, W, C] and a horizontal pass into y, each a weighted sum
// over taps in ascending order starting from w0*x0 (the CPU's order), so
// results agree with the CPU to rounding (identical where the ops are exact).
// Nearest is a single gather pass.
#include <math.h>

#include "cuda_device.cuh"

struct axis_desc {
    int64_t in, out;
    int mode;          // RT_INTERP_*
    int align_corners;
    int aa;            // antialias taps (bilinear/bicubic)
    int interp;        // aa filter width at scale 1: 2 (triangle) or 4 (cubic)
    float scale;       // PyTorch's area_pixel_compute_scale (float)
    float support, invscale;  // aa only
    double a;          // cubic coefficient
    int max_taps;
};

// Host side: the same float computations as resample.c's pt_scale / build_aa.
static float pt_scale(int64_t in, int64_t out, int align_corners) {
    if (align_corners) return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    return (float)in / (float)out;
}

static axis_desc make_axis(int64_t in, int64_t out, const rt_interp_params *p) {
    axis_desc d;
    memset(&d, 0, sizeof d);
    d.in = in, d.out = out, d.mode = p->mode, d.align_corners = p->align_corners;
    d.a = (double)p->cubic_a;
    d.aa = p->mode != RT_INTERP_NEAREST && p->antialias;
    if (p->mode == RT_INTERP_NEAREST) {
        d.scale = (float)in / (float)out;
        d.max_taps = 1;
    } else if (d.aa) {
        d.interp = p->mode == RT_INTERP_BILINEAR ? 2 : 4;
        d.scale = pt_scale(in, out, p->align_corners);
        d.support = d.scale >= 1.0f ? (float)(d.interp * 0.5) * d.scale : (float)(d.interp * 0.5);
        d.invscale = d.scale >= 1.0f ? 1.0f / d.scale : 1.0f;
        d.max_taps = (int)ceilf(d.support) * 2 + 1;
    } else {
        d.scale = pt_scale(in, out, p->align_corners);
        d.max_taps = p->mode == RT_INTERP_BILINEAR ? 2 : 4;
    }
    return d;
}

__device__ __forceinline__ int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// Keys' cubic convolution at |x| (resample.c's cubic_kernel, no FMA contraction).
__device__ double cubic_kernel_d(double x, double a) {
    x = fabs(x);
    if (x < 1.0) {
        double t = __dsub_rn(__dmul_rn(__dadd_rn(a, 2.0), x), __dadd_rn(a, 3.0));
        return __dadd_rn(__dmul_rn(__dmul_rn(t, x), x), 1.0);
    }
    if (x < 2.0) {
        double t = __dadd_rn(__dmul_rn(__dsub_rn(x, 5.0), x), 8.0);
        return __dmul_rn(__dsub_rn(__dmul_rn(t, x), 4.0), a);
    }
    return 0.0;
}

// One thread per output index o: fill n[o], idx[o*max_taps..], wt[o*max_taps..].
__global__ void k_build_taps(axis_desc d, int32_t *n, int32_t *idx, float *wt) {
    int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= d.out) return;
    int32_t *ix = idx + o * d.max_taps;
    float *w = wt + o * d.max_taps;
    const int64_t in = d.in;
    if (d.mode == RT_INTERP_NEAREST) {
        int64_t i;
        if (d.out == in) i = o;
        else if (d.out == 2 * in) i = o >> 1;
        else {
            i = (int64_t)floorf(__fmul_rn((float)o, d.scale));
            if (i > in - 1) i = in - 1;
        }
        n[o] = 1;
        ix[0] = (int32_t)i;
        w[0] = 1.0f;
        return;
    }
    if (d.aa) {
        float center = (float)__dmul_rn((double)d.scale, __dadd_rn((double)o, 0.5));
        int64_t xmin = (int64_t)__dadd_rn((double)__fsub_rn(center, d.support), 0.5);
        int64_t xmax = (int64_t)__dadd_rn((double)__fadd_rn(center, d.support), 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in) xmax = in;
        int64_t xsize = clamp64(xmax - xmin, 0, d.max_taps);
        if (xsize == 0) {
            n[o] = 1;
            ix[0] = (int32_t)clamp64(xmin, 0, in - 1);
            w[0] = 0.0f;
            return;
        }
        float total = 0.0f;
        for (int64_t j = 0; j < xsize; j++) {
            double dd = __dmul_rn(
                __dadd_rn((double)__fsub_rn((float)(j + xmin), center), 0.5), (double)d.invscale);
            double ad = fabs(dd);
            float wj = (float)(d.interp == 2 ? (ad < 1.0 ? __dsub_rn(1.0, ad) : 0.0)
                                             : cubic_kernel_d(dd, d.a));
            ix[j] = (int32_t)(xmin + j);
            w[j] = wj;
            total = __fadd_rn(total, wj);
        }
        if (total != 0.0f)
            for (int64_t j = 0; j < xsize; j++) w[j] = __fdiv_rn(w[j], total);
        n[o] = (int32_t)xsize;
        return;
    }
    // Source index as PyTorch's area_pixel_compute_source_index.
    float src;
    int cubic = d.mode == RT_INTERP_BICUBIC;
    if (d.align_corners) src = __fmul_rn(d.scale, (float)o);
    else {
        src = __fsub_rn(__fmul_rn(d.scale, __fadd_rn((float)o, 0.5f)), 0.5f);
        if (!cubic && src < 0.0f) src = 0.0f;
    }
    if (!cubic) {
        int64_t i0 = o;
        float l1 = 0.0f;
        if (!(in == d.out && !d.align_corners)) {
            i0 = (int64_t)src;  // src >= 0: floor
            if (i0 > in - 1) i0 = in - 1;
            l1 = __fsub_rn(src, (float)i0);
            l1 = l1 < 0.0f ? 0.0f : (l1 > 1.0f ? 1.0f : l1);
        }
        int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
        n[o] = 2;
        ix[0] = (int32_t)i0;
        ix[1] = (int32_t)i1;
        w[0] = __fsub_rn(1.0f, l1);
        w[1] = l1;
        return;
    }
    int64_t i = (int64_t)floorf(src);
    if (i > in - 1) i = in - 1;
    float f = __fsub_rn(src, (float)i);
    f = f < 0.0f ? 0.0f : (f > 1.0f ? 1.0f : f);
    n[o] = 4;
    for (int k = 0; k < 4; k++) {
        ix[k] = (int32_t)clamp64(i - 1 + k, 0, in - 1);
        w[k] = (float)cubic_kernel_d(__dsub_rn((double)f, (double)(k - 1)), d.a);
    }
}

// Vertical pass: tmp[n, oh, w, c] = sum_k wh[k] * x[n, ih[k], w, c].
template <typename T>
__global__ void k_resample_v(float *tmp, const T *x, const int32_t *tn, const int32_t *tidx,
                             const float *twt, int mt, int64_t H, int64_t Ho, int64_t WC,
                             int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t wc = i % WC, r = i / WC;
        int64_t oh = r % Ho, img = r / Ho;
        const T *base = x + img * H * WC + wc;
        const int32_t *ix = tidx + oh * mt;
        const float *w = twt + oh * mt;
        float acc = __fmul_rn(w[0], cu_ld(base + (int64_t)ix[0] * WC));
        for (int k = 1; k < tn[oh]; k++)
            acc = __fadd_rn(acc, __fmul_rn(w[k], cu_ld(base + (int64_t)ix[k] * WC)));
        tmp[i] = acc;
    }
}

// Horizontal pass: y[n, oh, ow, c] = sum_k ww[k] * tmp[n, oh, iw[k], c].
template <typename T>
__global__ void k_resample_h(T *y, const float *tmp, const int32_t *tn, const int32_t *tidx,
                             const float *twt, int mt, int64_t W, int64_t Wo, int64_t C,
                             int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c = i % C, r = i / C;
        int64_t ow = r % Wo, row = r / Wo;  // row = img * Ho + oh
        const float *base = tmp + row * W * C + c;
        const int32_t *ix = tidx + ow * mt;
        const float *w = twt + ow * mt;
        float acc = __fmul_rn(w[0], base[(int64_t)ix[0] * C]);
        for (int k = 1; k < tn[ow]; k++)
            acc = __fadd_rn(acc, __fmul_rn(w[k], base[(int64_t)ix[k] * C]));
        cu_st(y + i, acc);
    }
}

// Nearest: a gather.
template <typename T>
__global__ void k_resample_nearest(T *y, const T *x, const int32_t *ih, const int32_t *iw,
                                   int64_t H, int64_t W, int64_t Ho, int64_t Wo, int64_t C,
                                   int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t c = i % C, r = i / C;
        int64_t ow = r % Wo;
        r /= Wo;
        int64_t oh = r % Ho, img = r / Ho;
        y[i] = x[((img * H + ih[oh]) * W + iw[ow]) * C + c];
    }
}

static size_t a256(size_t x) { return (x + 255) & ~(size_t)255; }

template <typename T>
static roto_status interpolate_t(cu_state *st, rt_tensor *y, const rt_tensor *x,
                                 const rt_interp_params *p) {
    const int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    const int64_t Ho = y->shape[1], Wo = y->shape[2];
    if (N * C * Ho * Wo == 0) return ROTO_OK;
    axis_desc ah = make_axis(H, Ho, p), aw = make_axis(W, Wo, p);
    // Scratch: taps of both axes, then the fp32 temporary.
    size_t nh = a256((size_t)Ho * 4), ih = a256((size_t)Ho * ah.max_taps * 4);
    size_t nw = a256((size_t)Wo * 4), iw = a256((size_t)Wo * aw.max_taps * 4);
    size_t tmp_b = p->mode == RT_INTERP_NEAREST ? 0 : (size_t)(N * Ho * W * C) * 4;
    char *s = NULL;
    ROTO_TRY(cu_scratch(st, nh + 2 * ih + nw + 2 * iw + tmp_b, (void **)&s));
    int32_t *h_n = (int32_t *)s, *h_i = (int32_t *)(s + nh);
    float *h_w = (float *)(s + nh + ih);
    char *s2 = s + nh + 2 * ih;
    int32_t *w_n = (int32_t *)s2, *w_i = (int32_t *)(s2 + nw);
    float *w_w = (float *)(s2 + nw + iw);
    float *tmp = (float *)(s2 + nw + 2 * iw);

    k_build_taps<<<(unsigned)((Ho + 127) / 128), 128, 0, st->stream>>>(ah, h_n, h_i, h_w);
    CU_LAUNCH_CHECK("k_build_taps");
    k_build_taps<<<(unsigned)((Wo + 127) / 128), 128, 0, st->stream>>>(aw, w_n, w_i, w_w);
    CU_LAUNCH_CHECK("k_build_taps");

    const T *xd = (const T *)x->data;
    T *yd = (T *)y->data;
    if (p->mode == RT_INTERP_NEAREST) {
        int64_t n = N * Ho * Wo * C;
        k_resample_nearest<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(yd, xd, h_i, w_i, H, W,
                                                                           Ho, Wo, C, n);
        CU_LAUNCH_CHECK("k_resample_nearest");
        return ROTO_OK;
    }
    int64_t n1 = N * Ho * W * C;
    k_resample_v<T><<<cu_blocks(n1), CU_THREADS, 0, st->stream>>>(tmp, xd, h_n, h_i, h_w,
                                                                  ah.max_taps, H, Ho, W * C, n1);
    CU_LAUNCH_CHECK("k_resample_v");
    int64_t n2 = N * Ho * Wo * C;
    k_resample_h<T><<<cu_blocks(n2), CU_THREADS, 0, st->stream>>>(yd, tmp, w_n, w_i, w_w,
                                                                  aw.max_taps, W, Wo, C, n2);
    CU_LAUNCH_CHECK("k_resample_h");
    return ROTO_OK;
}

extern "C" roto_status cu_interpolate(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                                      const rt_interp_params *p) {
    cu_state *st = cu_get(ctx);
    if (!rt_is_contiguous(x) || !rt_is_contiguous(y) || x->dtype != y->dtype)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "interpolate: contiguous x, y of one dtype on cuda");
    CU_DISPATCH_FLOAT(y->dtype, "interpolate", interpolate_t, st, y, x, p);
}
