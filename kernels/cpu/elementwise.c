// elementwise.c: CPU binary ops with NumPy broadcasting (add, mul, sub), affine
// scale (y = x*scale + shift) and fill.
// defines: cpu_binary, cpu_scale, cpu_fill
// Broadcasting works on shapes right-aligned and padded to 4 dims; a dim of
// size 1 broadcasts with stride 0. Fast paths cover the shapes nets use all
// the time: same-shape contiguous, a scalar operand, and a "row vector"
// operand ([M, C] op [C], or any contiguous trailing block) repeated over rows.
#include <omp.h>
#include <stdint.h>

#include "cpu_ops.h"
#include "vecmath_internal.h"

#define EW_CHUNK 16384  // elements per OpenMP work item

// One loop per op so each vectorises; AE/BE are the operand expressions at i.
#define BIN_LOOPS(AE, BE)                                                 \
    switch (op) {                                                         \
    case RT_BIN_ADD:                                                      \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] = (AE) + (BE); \
        break;                                                            \
    case RT_BIN_MUL:                                                      \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] = (AE) * (BE); \
        break;                                                            \
    default:                                                              \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) y[i] = (AE) - (BE); \
        break;                                                            \
    }

// y[i] = a[i*sa] op b[i*sb] for i < n. Strides 1 and 0 (broadcast) get their
// own loops. y may equal a or b when that operand has stride 1.
RT_SIMD_CLONES
static void bin_span(float *y, const float *a, int64_t sa, const float *b, int64_t sb,
                     int64_t n, rt_binop op) {
    if (sa == 1 && sb == 1) {
        BIN_LOOPS(a[i], b[i]);
    } else if (sa == 1 && sb == 0) {
        const float bv = b[0];
        BIN_LOOPS(a[i], bv);
    } else if (sa == 0 && sb == 1) {
        const float av = a[0];
        BIN_LOOPS(av, b[i]);
    } else {
        BIN_LOOPS(a[i * sa], b[i * sb]);
    }
}

// Right-align t's shape and strides into 4 dims; size-1 dims get stride 0.
static void pad4(const rt_tensor *t, int64_t shape[4], int64_t stride[4]) {
    int off = RT_MAX_DIMS - t->ndim;
    for (int i = 0; i < RT_MAX_DIMS; i++) {
        int s = i - off;
        shape[i] = s >= 0 ? t->shape[s] : 1;
        stride[i] = (s >= 0 && shape[i] != 1) ? t->stride[s] : 0;
    }
}

// True when t (padded to 4 dims) is contiguous with shape `ys`.
static int full_contiguous(const int64_t sh[4], const int64_t st[4], const int64_t ys[4]) {
    int64_t want = 1;
    for (int i = 3; i >= 0; i--) {
        if (sh[i] != ys[i]) return 0;
        if (sh[i] != 1 && st[i] != want) return 0;
        want *= sh[i];
    }
    return 1;
}

// If t is a contiguous block equal to ys's trailing dims k..3 and size 1 on
// every dim before k, returns that block's size (the "row vector"); else 0.
static int64_t row_block(const int64_t sh[4], const int64_t st[4], const int64_t ys[4]) {
    int k = 4;
    while (k > 0 && sh[k - 1] == ys[k - 1]) k--;  // trailing dims that match
    for (int i = 0; i < k; i++)
        if (sh[i] != 1) return 0;
    int64_t want = 1;
    for (int i = 3; i >= k; i--) {
        if (sh[i] != 1 && st[i] != want) return 0;
        want *= sh[i];
    }
    return want;
}

roto_status cpu_binary(rt_ctx *ctx, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                       rt_binop op) {
    int64_t ys[4], yst[4], as[4], ast[4], bs[4], bst[4];
    pad4(y, ys, yst);
    pad4(a, as, ast);
    pad4(b, bs, bst);
    const int64_t n = ys[0] * ys[1] * ys[2] * ys[3];
    if (n == 0) return ROTO_OK;
    float *yd = (float *)y->data;
    const float *ad = (const float *)a->data, *bd = (const float *)b->data;
    const int nt = cpu_threads(ctx);
    const int a_full = full_contiguous(as, ast, ys), b_full = full_contiguous(bs, bst, ys);
    const int64_t a_numel = as[0] * as[1] * as[2] * as[3];
    const int64_t b_numel = bs[0] * bs[1] * bs[2] * bs[3];

    // Flat: both operands contiguous with y's shape, or one of them a scalar.
    if ((a_full || a_numel == 1) && (b_full || b_numel == 1)) {
        const int64_t sa = a_full ? 1 : 0, sb = b_full ? 1 : 0;
        const int64_t chunks = (n + EW_CHUNK - 1) / EW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1)
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t s = c * EW_CHUNK, len = n - s < EW_CHUNK ? n - s : EW_CHUNK;
            bin_span(yd + s, ad + s * sa, sa, bd + s * sb, sb, len, op);
        }
        return ROTO_OK;
    }

    // Row vector: one operand contiguous full-shape, the other a block of
    // `inner` values repeated over n / inner rows.
    const int64_t a_blk = row_block(as, ast, ys), b_blk = row_block(bs, bst, ys);
    if ((a_full && b_blk > 1) || (b_full && a_blk > 1)) {
        const int64_t inner = a_full ? b_blk : a_blk;
        const int64_t rows = n / inner;
        int64_t per = (EW_CHUNK + inner - 1) / inner;
        if (per > rows) per = rows;
        const int64_t chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1)
        for (int64_t c = 0; c < chunks; c++) {
            const int64_t r1 = (c + 1) * per < rows ? (c + 1) * per : rows;
            for (int64_t r = c * per; r < r1; r++) {
                const float *ar = a_full ? ad + r * inner : ad;
                const float *br = a_full ? bd : bd + r * inner;
                bin_span(yd + r * inner, ar, 1, br, 1, inner, op);
            }
        }
        return ROTO_OK;
    }

    // General strided broadcast: loop the three outer dims, the last inside.
    const int64_t rows = ys[0] * ys[1] * ys[2];
    int64_t per = (EW_CHUNK + ys[3] - 1) / ys[3];
    if (per > rows) per = rows;
    const int64_t chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(nt) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t r1 = (c + 1) * per < rows ? (c + 1) * per : rows;
        for (int64_t r = c * per; r < r1; r++) {
            const int64_t i2 = r % ys[2], i1 = (r / ys[2]) % ys[1], i0 = r / (ys[2] * ys[1]);
            const float *ar = ad + i0 * ast[0] + i1 * ast[1] + i2 * ast[2];
            const float *br = bd + i0 * bst[0] + i1 * bst[1] + i2 * bst[2];
            bin_span(yd + r * ys[3], ar, ast[3], br, bst[3], ys[3], op);
        }
    }
    return ROTO_OK;
}

RT_SIMD_CLONES
static void scale_span(float *y, const float *x, int64_t n, float scale, float shift) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

roto_status cpu_scale(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale, float shift) {
    const int64_t n = rt_numel(x);
    float *yd = (float *)y->data;
    const float *xd = (const float *)x->data;
    const int64_t chunks = (n + EW_CHUNK - 1) / EW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(cpu_threads(ctx)) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t s = c * EW_CHUNK, len = n - s < EW_CHUNK ? n - s : EW_CHUNK;
        scale_span(yd + s, xd + s, len, scale, shift);
    }
    return ROTO_OK;
}

roto_status cpu_fill(rt_ctx *ctx, rt_tensor *y, float value) {
    const int64_t n = rt_numel(y);
    float *yd = (float *)y->data;
    const int64_t chunks = (n + EW_CHUNK - 1) / EW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(cpu_threads(ctx)) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t s = c * EW_CHUNK, e = n - s < EW_CHUNK ? n : s + EW_CHUNK;
        for (int64_t i = s; i < e; i++) yd[i] = value;
    }
    return ROTO_OK;
}
