// sam2_video_pre.c: host-side helpers of the SAM 2.1 video path: the frame resize of
// the official loader (Pillow's bicubic on u8, reproduced bit for bit) and the fixed
// sine position encodings (2-D for the memory and the current frame, 1-D for the
// object-pointer distances).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sam2_video_internal.h"

// ---- Pillow's resampling (libImaging/Resample.c) ------------------------------------------

#define PIL_PRECISION_BITS (32 - 8 - 2)

// Keys' cubic with a = -0.5, support 2 (Pillow's bicubic_filter).
static double pil_bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// precompute_coeffs + normalize_coeffs_8bpc: for each output pixel the first input
// index, the tap count and ksize fixed-point weights. Returns ksize, or 0 on OOM.
static int pil_coeffs(int in_size, int out_size, int **bounds_out, int32_t **kk_out) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    int *bounds = malloc((size_t)out_size * 2 * sizeof(int));
    double *pre = malloc((size_t)out_size * ksize * sizeof(double));
    int32_t *kk = malloc((size_t)out_size * ksize * sizeof(int32_t));
    if (!bounds || !pre || !kk) {
        free(bounds), free(pre), free(kk);
        return 0;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);  // C truncation, as Pillow
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *k = pre + (size_t)xx * ksize;
        int x = 0;
        for (; x < xmax; x++) {
            double w = pil_bicubic((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (; x < ksize; x++) k[x] = 0.0;
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    for (size_t i = 0; i < (size_t)out_size * ksize; i++)
        kk[i] = pre[i] < 0 ? (int32_t)(-0.5 + pre[i] * (1 << PIL_PRECISION_BITS))
                           : (int32_t)(0.5 + pre[i] * (1 << PIL_PRECISION_BITS));
    free(pre);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static inline uint8_t pil_clip8(int32_t v) {
    if (v >= (1 << PIL_PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PIL_PRECISION_BITS);
}

roto_status sam2_resize_pil_bicubic(const uint8_t *src, int w, int h, uint8_t *dst, int S) {
    if (!src || !dst || w < 1 || h < 1 || S < 1)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: bad resize %dx%d -> %d", w, h, S);
    int *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    int ksh = pil_coeffs(w, S, &bh, &kh), ksv = pil_coeffs(h, S, &bv, &kv);
    // Horizontal pass (only when the width changes) into a u8 image of the rows the
    // vertical pass reads; then the vertical pass.
    int y0 = bv ? bv[0] : 0, y1 = bv ? bv[2 * S - 2] + bv[2 * S - 1] : 0;
    uint8_t *tmp = (w != S) ? malloc((size_t)(y1 - y0) * S * 3) : NULL;
    if (!ksh || !ksv || (w != S && !tmp)) {
        free(bh), free(bv), free(kh), free(kv), free(tmp);
        return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory (resize %dx%d)", w, h);
    }
    const uint8_t *rows = src + (size_t)y0 * w * 3;  // the image the vertical pass reads
    int rw = w;
    if (w != S) {
        for (int y = 0; y < y1 - y0; y++) {
            const uint8_t *in = src + (size_t)(y + y0) * w * 3;
            uint8_t *out = tmp + (size_t)y * S * 3;
            for (int xx = 0; xx < S; xx++) {
                int xmin = bh[2 * xx], n = bh[2 * xx + 1];
                const int32_t *k = kh + (size_t)xx * ksh;
                for (int c = 0; c < 3; c++) {
                    int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
                    for (int x = 0; x < n; x++) ss += in[(size_t)(x + xmin) * 3 + c] * k[x];
                    out[(size_t)xx * 3 + c] = pil_clip8(ss);
                }
            }
        }
        rows = tmp;
        rw = S;
    }
    if (h != S) {
        for (int yy = 0; yy < S; yy++) {
            int ymin = bv[2 * yy] - y0, n = bv[2 * yy + 1];
            const int32_t *k = kv + (size_t)yy * ksv;
            uint8_t *out = dst + (size_t)yy * S * 3;
            for (int xx = 0; xx < rw * 3; xx++) {
                int32_t ss = 1 << (PIL_PRECISION_BITS - 1);
                for (int y = 0; y < n; y++) ss += rows[(size_t)(y + ymin) * rw * 3 + xx] * k[y];
                out[xx] = pil_clip8(ss);
            }
        }
    } else {
        memcpy(dst, rows, (size_t)S * S * 3);
    }
    free(bh), free(bv), free(kh), free(kv), free(tmp);
    return ROTO_OK;
}

// ---- position encodings --------------------------------------------------------------------

// PositionEmbeddingSine._pe in f32 as torch computes it: positions (i + 1) / (n + 1e-6)
// * 2 pi, dim_t[k] = 1e4 ^ (2 floor(k/2) / npf), even k sin, odd k cos.
void sam2_sine_pe(float *out, int n, int channels) {
    int npf = channels / 2;
    const float two_pi = (float)(2.0 * M_PI), denom = (float)n + 1e-6f;
    float *dim_t = malloc((size_t)npf * sizeof(float));
    if (!dim_t) return;
    for (int k = 0; k < npf; k++)
        dim_t[k] = powf(10000.0f, (2.0f * floorf((float)k / 2.0f)) / (float)npf);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float ye = (float)(i + 1) / denom * two_pi, xe = (float)(j + 1) / denom * two_pi;
            float *o = out + ((size_t)i * n + j) * channels;
            for (int k = 0; k < npf; k++) {
                float py = ye / dim_t[k], px = xe / dim_t[k];
                o[k] = (k % 2) ? cosf(py) : sinf(py);
                o[npf + k] = (k % 2) ? cosf(px) : sinf(px);
            }
        }
    free(dim_t);
}

void sam2_sine_pe_1d(float *out, float pos, int dim) {
    int half = dim / 2;
    for (int k = 0; k < half; k++) {
        float dt = powf(10000.0f, (2.0f * floorf((float)k / 2.0f)) / (float)half);
        float p = pos / dt;
        out[k] = sinf(p);
        out[half + k] = cosf(p);
    }
}
