// ref_conv.c: fp64 plain-loop convolution references (see ref_conv.h).
#include "ref_conv.h"

#include <math.h>
#include <string.h>

double ref_conv_act(double v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return v > 0 ? v : 0;
    case RT_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case RT_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    default: return v;
    }
}

int ref_conv_out_size(int in, int k, int stride, int pad, int dil) {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

void ref_conv2d_oihw(double *y, const float *x, const float *w, const float *b, int N, int H,
                     int W, int Cin, int Cout, int KH, int KW, const rt_conv_params *p,
                     rt_act act) {
    int Ho = ref_conv_out_size(H, KH, p->stride_h, p->pad_h, p->dil_h);
    int Wo = ref_conv_out_size(W, KW, p->stride_w, p->pad_w, p->dil_w);
    int G = p->groups, Cig = Cin / G, Cog = Cout / G;
    for (int n = 0; n < N; n++)
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++)
                for (int co = 0; co < Cout; co++) {
                    int g = co / Cog;
                    double s = b ? b[co] : 0.0;
                    for (int ci = 0; ci < Cig; ci++)
                        for (int kh = 0; kh < KH; kh++)
                            for (int kw = 0; kw < KW; kw++) {
                                int ih = oh * p->stride_h - p->pad_h + kh * p->dil_h;
                                int iw = ow * p->stride_w - p->pad_w + kw * p->dil_w;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                double xv = x[(((size_t)n * H + ih) * W + iw) * Cin + g * Cig + ci];
                                double wv = w[(((size_t)co * Cig + ci) * KH + kh) * KW + kw];
                                s += xv * wv;
                            }
                    y[(((size_t)n * Ho + oh) * Wo + ow) * Cout + co] = ref_conv_act(s, act);
                }
}

void ref_conv_transpose(double *y, const float *x, const float *w, const float *b, int N,
                        int H, int W, int Cin, int Cout, int k) {
    int Ho = H * k, Wo = W * k;
    size_t ny = (size_t)N * Ho * Wo * Cout;
    for (size_t i = 0; i < ny; i++) y[i] = b ? b[i % Cout] : 0.0;
    for (int n = 0; n < N; n++)
        for (int ih = 0; ih < H; ih++)
            for (int iw = 0; iw < W; iw++)
                for (int ci = 0; ci < Cin; ci++) {
                    double xv = x[(((size_t)n * H + ih) * W + iw) * Cin + ci];
                    for (int co = 0; co < Cout; co++)
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) {
                                int oh = ih * k + i, ow = iw * k + j;
                                double wv = w[(((size_t)ci * Cout + co) * k + i) * k + j];
                                y[(((size_t)n * Ho + oh) * Wo + ow) * Cout + co] += xv * wv;
                            }
                }
}
