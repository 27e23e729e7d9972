// ref_conv.h: plain-loop fp64 references for rt_conv2d and rt_conv_transpose,
// written straight from PyTorch's definitions and taking PyTorch's weight
// layouts, so a test also checks the OIHW -> OHWI conversion.
#ifndef ROTO_REF_CONV_H
#define ROTO_REF_CONV_H

#include "engine/ops.h"

// act(v) in double (GELU is the exact erf form).
double ref_conv_act(double v, rt_act act);

// y [N, Ho, Wo, Cout] (NHWC) = act(conv(x [N, H, W, Cin] NHWC, w [Cout, Cin/groups,
// KH, KW] OIHW) + b), b may be NULL. Ho, Wo as PyTorch computes them.
void ref_conv2d_oihw(double *y, const float *x, const float *w_oihw, const float *b, int N,
                     int H, int W, int Cin, int Cout, int KH, int KW, const rt_conv_params *p,
                     rt_act act);

// Output size of one conv axis (PyTorch's formula).
int ref_conv_out_size(int in, int k, int stride, int pad, int dil);

// y [N, H*k, W*k, Cout] = ConvTranspose2d(kernel = stride = k) of x [N, H, W, Cin]
// with PyTorch's weight [Cin, Cout, k, k] and bias b (may be NULL), written as
// the scatter-add definition y[oh, ow] += x[ih, iw] * w[ci, co, oh - ih*k, ow - iw*k].
void ref_conv_transpose(double *y, const float *x, const float *w, const float *b, int N,
                        int H, int W, int Cin, int Cout, int k);

#endif
