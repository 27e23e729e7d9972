// ref_layout.c: fp64 plain-loop layout references (see ref_layout.h).
#include "ref_layout.h"

#include <math.h>

void ref_window_partition(double *y, const float *x, int N, int H, int W, int C, int ws) {
    int nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
    for (int n = 0; n < N; n++)
        for (int wh = 0; wh < nh; wh++)
            for (int ww = 0; ww < nw; ww++)
                for (int r = 0; r < ws; r++)
                    for (int c = 0; c < ws; c++)
                        for (int ch = 0; ch < C; ch++) {
                            int b = (n * nh + wh) * nw + ww;
                            int h = wh * ws + r, w = ww * ws + c;
                            double v = 0.0;
                            if (h < H && w < W) v = x[(((size_t)n * H + h) * W + w) * C + ch];
                            y[(((size_t)b * ws + r) * ws + c) * C + ch] = v;
                        }
}

void ref_window_unpartition(double *y, const float *x, int N, int H, int W, int C, int ws) {
    int nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws;
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++)
                for (int ch = 0; ch < C; ch++) {
                    int b = (n * nh + h / ws) * nw + w / ws;
                    y[(((size_t)n * H + h) * W + w) * C + ch] =
                        x[(((size_t)b * ws + h % ws) * ws + w % ws) * C + ch];
                }
}

void ref_maxpool2x2(double *y, const float *x, int N, int H, int W, int C) {
    int Ho = H / 2, Wo = W / 2;
    for (int n = 0; n < N; n++)
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++)
                for (int c = 0; c < C; c++) {
                    double m = -INFINITY;
                    int nan = 0;
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 2; j++) {
                            double v = x[(((size_t)n * H + 2 * oh + i) * W + 2 * ow + j) * C + c];
                            if (isnan(v)) nan = 1;
                            else if (v > m) m = v;
                        }
                    y[(((size_t)n * Ho + oh) * Wo + ow) * C + c] = nan ? NAN : m;
                }
}

double ref_load(const rt_tensor *t, const int64_t *idx) {
    int64_t off = 0;
    for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[off];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)t->data)[off]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)t->data)[off]);
    case RT_I32: return ((const int32_t *)t->data)[off];
    case RT_U8: return ((const uint8_t *)t->data)[off];
    default: return NAN;
    }
}

// Advance a row-major multi-index over shape; returns 0 after the last one.
static int next_index(int64_t *idx, const int64_t *shape, int nd) {
    for (int d = nd - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

void ref_gather(double *out, const rt_tensor *t) {
    int64_t idx[RT_MAX_DIMS] = {0};
    if (rt_numel(t) == 0) return;
    size_t k = 0;
    do {
        out[k++] = ref_load(t, idx);
    } while (next_index(idx, t->shape, t->ndim));
}

void ref_concat(double *out, const rt_tensor *const *xs, int n, int dim) {
    int nd = xs[0]->ndim;
    if (dim < 0) dim += nd;
    int64_t shape[RT_MAX_DIMS] = {1, 1, 1, 1};
    for (int d = 0; d < nd; d++) shape[d] = xs[0]->shape[d];
    shape[dim] = 0;
    for (int i = 0; i < n; i++) shape[dim] += xs[i]->shape[dim];
    int64_t total = 1;
    for (int d = 0; d < nd; d++) total *= shape[d];
    if (total == 0) return;
    int64_t idx[RT_MAX_DIMS] = {0};
    size_t k = 0;
    do {
        // Which input holds this position along dim, and where in it.
        int64_t j = idx[dim];
        int i = 0;
        while (j >= xs[i]->shape[dim]) j -= xs[i++]->shape[dim];
        int64_t sub[RT_MAX_DIMS];
        for (int d = 0; d < nd; d++) sub[d] = idx[d];
        sub[dim] = j;
        out[k++] = ref_load(xs[i], sub);
    } while (next_index(idx, shape, nd));
}
