// ref_attention.c: plain-loop fp64 references for attention and RoPE.
#include "ref_attention.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>

static double at(const rt_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return *(const float *)rt_elem_ptr(t, i0, i1, i2, i3);
}

void ref_attention(double *out, const rt_tensor *q, const rt_tensor *k, const rt_tensor *v,
                   const float *bias, double scale) {
    const int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    const int64_t Lk = k->shape[2], Dv = v->shape[3];
    double *p = malloc(sizeof(double) * (size_t)(Lk > 0 ? Lk : 1));
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Lq; i++) {
                const float *qr = rt_elem_ptr(q, b, h, i, 0);
                double mx = -INFINITY;
                for (int64_t j = 0; j < Lk; j++) {
                    const float *kr = rt_elem_ptr(k, b, h, j, 0);
                    double s = 0;
                    for (int64_t d = 0; d < D; d++)
                        s += (double)qr[d * q->stride[3]] * (double)kr[d * k->stride[3]];
                    s = s * scale + (bias ? (double)bias[b * Lk + j] : 0.0);
                    p[j] = s;
                    if (s > mx) mx = s;
                }
                double sum = 0;
                for (int64_t j = 0; j < Lk; j++) {
                    p[j] = mx == -INFINITY ? 0.0 : exp(p[j] - mx);
                    sum += p[j];
                }
                double *o = out + ((b * H + h) * Lq + i) * Dv;
                for (int64_t c = 0; c < Dv; c++) o[c] = 0;
                for (int64_t j = 0; j < Lk; j++) {
                    const float *vr = rt_elem_ptr(v, b, h, j, 0);
                    for (int64_t c = 0; c < Dv; c++) o[c] += p[j] * (double)vr[c * v->stride[3]];
                }
                for (int64_t c = 0; c < Dv; c++) o[c] = sum > 0 ? o[c] / sum : 0.0;
            }
    free(p);
}

void ref_rope(double *out, const rt_tensor *x, const float *cos_t, const float *sin_t, int64_t P,
              int64_t n_rot) {
    const int64_t B = x->shape[0], H = x->shape[1], L = x->shape[2], D = x->shape[3];
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < L; t++) {
                double *o = out + ((b * H + h) * L + t) * D;
                for (int64_t i = 0; i < D / 2; i++) {
                    double complex z = at(x, b, h, t, 2 * i) + I * at(x, b, h, t, 2 * i + 1);
                    if (t < n_rot) {
                        const int64_t p = t % P;
                        z *= (double)cos_t[p * (D / 2) + i] + I * (double)sin_t[p * (D / 2) + i];
                    }
                    o[2 * i] = creal(z);
                    o[2 * i + 1] = cimag(z);
                }
            }
}

void ref_rope_axial_table(double *cos_t, double *sin_t, int dim, int end_x, int end_y,
                          double theta, double scale) {
    const int half = dim / 2, nf = dim / 4;
    for (int t = 0; t < end_x * end_y; t++) {
        const double px = (t % end_x) * scale, py = (t / end_x) * scale;
        for (int f = 0; f < half; f++) {
            double angle = 0;
            if (f < 2 * nf) {
                const double freq = pow(theta, -4.0 * (f % nf) / dim);
                angle = (f < nf ? px : py) * freq;
            }
            cos_t[(size_t)t * half + f] = cos(angle);
            sin_t[(size_t)t * half + f] = sin(angle);
        }
    }
}
