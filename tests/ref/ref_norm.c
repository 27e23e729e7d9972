// ref_norm.c: plain-loop fp64 references for LayerNorm, activations and softmax.
#include "ref_norm.h"

#include <math.h>

void ref_layernorm(double *y, const float *x, int64_t rows, int64_t C, const float *w,
                   const float *b, double eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) var += ((double)xr[c] - mean) * ((double)xr[c] - mean);
        var /= (double)C;
        double rstd = 1.0 / sqrt(var + eps);
        for (int64_t c = 0; c < C; c++) {
            double v = ((double)xr[c] - mean) * rstd;
            if (w) v *= w[c];
            if (b) v += b[c];
            y[r * C + c] = v;
        }
    }
}

void ref_activation(double *y, const float *x, int64_t n, rt_act act) {
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        switch (act) {
        case RT_ACT_RELU: y[i] = v > 0 ? v : 0; break;
        case RT_ACT_GELU: y[i] = 0.5 * v * (1.0 + erf(v / sqrt(2.0))); break;
        case RT_ACT_SIGMOID: y[i] = 1.0 / (1.0 + exp(-v)); break;
        default: y[i] = v; break;
        }
    }
}

void ref_softmax(double *y, const float *x, int64_t rows, int64_t C, double scale) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        double mx = -INFINITY;
        for (int64_t c = 0; c < C; c++)
            if ((double)xr[c] * scale > mx) mx = (double)xr[c] * scale;
        double sum = 0;
        for (int64_t c = 0; c < C; c++) {
            double e = mx == -INFINITY ? 0.0 : exp((double)xr[c] * scale - mx);
            y[r * C + c] = e;
            sum += e;
        }
        for (int64_t c = 0; c < C; c++) y[r * C + c] = sum > 0 ? y[r * C + c] / sum : 0.0;
    }
}
