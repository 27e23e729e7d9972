// ref_resample.c: fp64 reference of F.interpolate (see ref_resample.h).
#include "ref_resample.h"

#include <math.h>
#include <stdlib.h>

static int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

static double cubic(double x, double a) {
    x = fabs(x);
    if (x < 1) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
    if (x < 2) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
    return 0;
}

int ref_interp_weights(int in, int out, int o, const rt_interp_params *p, int *idx, double *w,
                       int cap) {
    if (p->mode == RT_INTERP_NEAREST) {
        int i;
        if (out == in) i = o;
        else if (out == 2 * in) i = o / 2;
        else {
            float scale = (float)in / (float)out;  // float, as PyTorch (see header)
            i = (int)floorf((float)o * scale);
        }
        idx[0] = clampi(i, 0, in - 1);
        w[0] = 1;
        return 1;
    }
    double scale = p->align_corners ? (out > 1 ? (double)(in - 1) / (out - 1) : 0.0)
                                    : (double)in / out;
    if (p->antialias) {
        double a = p->cubic_a;
        double half = p->mode == RT_INTERP_BILINEAR ? 1.0 : 2.0;  // filter half-width
        double fs = scale > 1 ? scale : 1;                        // filter stretch
        double support = half * fs;
        double center = scale * (o + 0.5);
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in) hi = in;
        double total = 0;
        int n = 0;
        for (int i = lo; i < hi && n < cap; i++, n++) {
            double d = (i + 0.5 - center) / fs;
            double v = p->mode == RT_INTERP_BILINEAR ? (fabs(d) < 1 ? 1 - fabs(d) : 0) : cubic(d, a);
            idx[n] = i;
            w[n] = v;
            total += v;
        }
        if (total != 0)
            for (int k = 0; k < n; k++) w[k] /= total;
        return n;
    }
    double src = p->align_corners ? scale * o : scale * (o + 0.5) - 0.5;
    if (p->mode == RT_INTERP_BILINEAR) {
        if (src < 0) src = 0;
        int i0 = (int)floor(src);
        if (i0 > in - 1) i0 = in - 1;
        double l = src - i0;
        if (l > 1) l = 1;
        idx[0] = i0;
        idx[1] = i0 + 1 < in ? i0 + 1 : in - 1;
        w[0] = 1 - l;
        w[1] = l;
        return 2;
    }
    int i = (int)floor(src);
    double t = src - i;
    for (int k = 0; k < 4; k++) {
        idx[k] = clampi(i - 1 + k, 0, in - 1);
        w[k] = cubic(t - (k - 1), p->cubic_a);
    }
    return 4;
}

void ref_interpolate(double *y, const float *x, int N, int H, int W, int C, int Ho, int Wo,
                     const rt_interp_params *p) {
    int cap_h = 2 * H + 8, cap_w = 2 * W + 8;  // more than any filter can cover
    int *ih = malloc(sizeof(int) * cap_h), *iw = malloc(sizeof(int) * cap_w);
    double *wh = malloc(sizeof(double) * cap_h), *ww = malloc(sizeof(double) * cap_w);
    for (int n = 0; n < N; n++)
        for (int oh = 0; oh < Ho; oh++) {
            int nh = ref_interp_weights(H, Ho, oh, p, ih, wh, cap_h);
            for (int ow = 0; ow < Wo; ow++) {
                int nw = ref_interp_weights(W, Wo, ow, p, iw, ww, cap_w);
                for (int c = 0; c < C; c++) {
                    double s = 0;
                    for (int a = 0; a < nh; a++)
                        for (int b = 0; b < nw; b++)
                            s += wh[a] * ww[b] * x[(((size_t)n * H + ih[a]) * W + iw[b]) * C + c];
                    y[(((size_t)n * Ho + oh) * Wo + ow) * C + c] = s;
                }
            }
        }
    free(ih);
    free(iw);
    free(wh);
    free(ww);
}
