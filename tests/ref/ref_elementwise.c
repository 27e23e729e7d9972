// ref_elementwise.c: plain-loop fp64 reference for broadcast binary ops.
#include "ref_elementwise.h"

// Element of t at the output index idx (ynd dims), broadcasting size-1 dims.
static double bcast_at(const rt_tensor *t, const int64_t *idx, int ynd) {
    const float *p = (const float *)t->data;
    for (int d = 0; d < t->ndim; d++) {
        int64_t i = idx[ynd - t->ndim + d];
        if (t->shape[d] == 1) i = 0;
        p += i * t->stride[d];
    }
    return *p;
}

void ref_binary(double *y, const int64_t *yshape, int ynd, const rt_tensor *a,
                const rt_tensor *b, rt_binop op) {
    int64_t n = 1;
    for (int d = 0; d < ynd; d++) n *= yshape[d];
    for (int64_t flat = 0; flat < n; flat++) {
        int64_t idx[RT_MAX_DIMS] = {0}, rem = flat;
        for (int d = ynd - 1; d >= 0; d--) {
            idx[d] = rem % yshape[d];
            rem /= yshape[d];
        }
        double va = bcast_at(a, idx, ynd), vb = bcast_at(b, idx, ynd);
        y[flat] = op == RT_BIN_ADD ? va + vb : op == RT_BIN_MUL ? va * vb : va - vb;
    }
}
