// attention.c: CPU scaled dot-product attention (flash-style) and 2-D axial RoPE.
// defines: cpu_attention, cpu_rope
//
// Attention: out = softmax(q k^T * scale + key_bias) v per (batch, head).
// Work is split into (batch, head, query tile) items spread over OpenMP
// threads. Each item walks the keys in tiles of ATT_KT with an online softmax
// (running max m and sum l per query; when the max grows, the partial output
// and sum are rescaled by exp(m_old - m_new)), so memory stays O(tile) even for
// SAM 2.1's memory attention (4096 queries x 28,736 keys x D 256).
//
// Layout inside a work item (qn queries, padded to qp, a multiple of 16):
//   qt [D][qp]   the query tile transposed (packed once per item, in
//                panels of 32 columns, see panel_index)
//   st [kn][qp]  scores S^T for one key tile: key rows, query columns, so the
//                softmax statistics per query vectorise along a row
//   vp [kn][dvp] the key tile's values, columns padded to dvp (a multiple of
//                16), packed in panels like qt
//   o  [qn][dvp] the unnormalised output accumulator
// Both products run through one register-blocked micro-kernel
// C[4 x 32] += A[4 x K] B[K x 32] (A broadcast element by element, B loaded
// as vectors): S^T = K_tile . qt and O += P . V_tile with P read from st.
// GCC vector extensions + RT_SIMD_CLONES give AVX-512 / AVX2 / SSE2 versions
// from this one source. Everything accumulates in fp32 (sums are blocked by
// the key tile, so their rounding grows with Lk/ATT_KT, not Lk).
// The tiles are small (64 x 128 x D) and run inside the OpenMP loop, so this
// kernel does its own packing instead of calling cpu_sgemm per tile: S^T is
// laid out for the softmax and P is consumed straight from it.
// Measured on one AMD EPYC core (AVX-512): ~120 GFLOP/s at D 64..256 for long
// sequences, ~65 GFLOP/s for 64-token Hiera windows at D 96.
#if defined(__GNUC__) && !defined(__clang__)
// fp-contract: let a*b+c become FMA (clang does this by default).
// no-trapping-math: lets the selects in rt_vexpf & co. if-convert, so the
// exp loops vectorise on AVX2 and SSE2 too (AVX-512 masks them anyway).
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")
#endif

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "vecmath_internal.h"

#define ATT_KT 128  // keys per tile
#define ATT_QT 64   // queries per work item at most (multiple of 16)

static int64_t round16(int64_t n) { return (n + 15) & ~(int64_t)15; }

// ---- micro-kernels ----------------------------------------------------------------

// C[r][0..32) (+)= sum_k A(r, k) * B[k*ldb + 0..32) for rows r < m (m <= 4),
// where A(r, k) = A[r*ars + k*acs]. Rows past m reuse row 0's data and are not
// stored, so the loop has no branches. Overwrites C unless `accumulate`.
RT_INLINE void mk_4x32(int m, int64_t K, const float *A, int64_t ars, int64_t acs,
                       const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate) {
    const float *a0 = A, *a1 = A + (m > 1 ? ars : 0), *a2 = A + (m > 2 ? 2 * ars : 0),
                *a3 = A + (m > 3 ? 3 * ars : 0);
    rt_v16 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (int64_t k = 0; k < K; k++) {
        const float *b = B + k * ldb;
        rt_v16 b0 = *(const rt_v16u *)b, b1 = *(const rt_v16u *)(b + 16);
        float x0 = a0[k * acs], x1 = a1[k * acs], x2 = a2[k * acs], x3 = a3[k * acs];
        c00 += x0 * b0;
        c01 += x0 * b1;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c30 += x3 * b0;
        c31 += x3 * b1;
    }
    rt_v16 acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
    for (int r = 0; r < m; r++) {
        rt_v16u *cr = (rt_v16u *)(C + r * ldc);
        if (accumulate) {
            cr[0] += acc[r][0];
            cr[1] += acc[r][1];
        } else {
            cr[0] = acc[r][0];
            cr[1] = acc[r][1];
        }
    }
}

// The same for a 16-wide column block (the last one when the width is 16 mod 32).
RT_INLINE void mk_4x16(int m, int64_t K, const float *A, int64_t ars, int64_t acs,
                       const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate) {
    const float *a0 = A, *a1 = A + (m > 1 ? ars : 0), *a2 = A + (m > 2 ? 2 * ars : 0),
                *a3 = A + (m > 3 ? 3 * ars : 0);
    rt_v16 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (int64_t k = 0; k < K; k++) {
        rt_v16 b0 = *(const rt_v16u *)(B + k * ldb);
        c0 += a0[k * acs] * b0;
        c1 += a1[k * acs] * b0;
        c2 += a2[k * acs] * b0;
        c3 += a3[k * acs] * b0;
    }
    rt_v16 acc[4] = {c0, c1, c2, c3};
    for (int r = 0; r < m; r++) {
        rt_v16u *cr = (rt_v16u *)(C + r * ldc);
        if (accumulate)
            cr[0] += acc[r];
        else
            cr[0] = acc[r];
    }
}

// B operands are packed panel-major: the N columns (a multiple of 16) are cut
// into panels of 32 (the last one 16 wide when N % 32 == 16), each panel a
// contiguous K x width block. A contiguous panel uses every L1 set; rows of a
// plain row-major matrix with a 1 KB stride would use one set in eight.
// panel_index gives the position of element (k, col) in such a buffer.
RT_INLINE int64_t panel_index(int64_t k, int64_t col, int64_t K, int64_t N) {
    const int64_t p0 = col & ~(int64_t)31, width = N - p0 < 32 ? N - p0 : 32;
    return p0 * K + k * width + (col - p0);
}

// C[M x N] (+)= A[M x K] B[K x N] with B panel-packed (see panel_index) and C
// row-major with rows of at least N floats. Panels outside, so the B panel
// (K x 32) stays in L1 while every row block passes over it.
RT_INLINE void tile_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t ars,
                         int64_t acs, const float *B, float *C, int64_t ldc, int accumulate) {
    int64_t j = 0;
    for (; j + 32 <= N; j += 32)
        for (int64_t i = 0; i < M; i += 4) {
            int m = M - i < 4 ? (int)(M - i) : 4;
            mk_4x32(m, K, A + i * ars, ars, acs, B + j * K, 32, C + i * ldc + j, ldc, accumulate);
        }
    if (j < N)
        for (int64_t i = 0; i < M; i += 4) {
            int m = M - i < 4 ? (int)(M - i) : 4;
            mk_4x16(m, K, A + i * ars, ars, acs, B + j * K, 16, C + i * ldc + j, ldc, accumulate);
        }
}

// ---- attention ----------------------------------------------------------------------

typedef struct {
    const float *q, *k, *v, *bias;
    float *out;
    int64_t B, H, Lq, Lk, D, Dv;
    int64_t q_sb, q_sh, q_sl;  // strides (elements) of batch, head, row
    int64_t k_sb, k_sh, k_sl;
    int64_t v_sb, v_sh, v_sl;
    int64_t o_sb, o_sh, o_sl;
    int64_t bias_sb;
    float scale;
    int64_t qtile;  // queries per work item
} att_args;

// Per-thread scratch, carved from one allocation.
typedef struct {
    float *qt, *st, *vp, *o;
    float *m, *l, *mx, *mref, *alpha, *lsum;
} att_scratch;

static size_t att_scratch_floats(const att_args *a, int64_t qp, int64_t dvp) {
    return (size_t)(a->D * qp + ATT_KT * qp + ATT_KT * dvp + qp * dvp + 6 * qp);
}

// One (batch b, head h, queries i0..i0+qn) work item.
RT_SIMD_CLONES
static void attention_item(const att_args *a, const att_scratch *w, int64_t b, int64_t h,
                           int64_t i0, int64_t qn) {
    const int64_t D = a->D, Dv = a->Dv, Lk = a->Lk;
    const int64_t qp = round16(qn), dvp = round16(Dv);
    const float *q = a->q + b * a->q_sb + h * a->q_sh + i0 * a->q_sl;
    const float *k = a->k + b * a->k_sb + h * a->k_sh;
    const float *v = a->v + b * a->v_sb + h * a->v_sh;
    const float *bias = a->bias ? a->bias + b * a->bias_sb : NULL;
    float *qt = w->qt, *st = w->st, *vp = w->vp, *o = w->o;
    float *m = w->m, *l = w->l, *mx = w->mx, *mref = w->mref, *alpha = w->alpha,
          *lsum = w->lsum;

    // Pack the query tile transposed (D x qp, panel-major); padded query
    // columns are zero.
    for (int64_t i = 0; i < qp; i++) {
        const float *qrow = q + i * a->q_sl;
        float *dst = qt + panel_index(0, i, D, qp);
        const int64_t step = panel_index(1, i, D, qp) - panel_index(0, i, D, qp);
        if (i < qn)
            for (int64_t d = 0; d < D; d++) dst[d * step] = qrow[d];
        else
            for (int64_t d = 0; d < D; d++) dst[d * step] = 0.0f;
    }
    for (int64_t i = 0; i < qp; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
    }
    memset(o, 0, sizeof(float) * (size_t)(qn * dvp));

    for (int64_t j0 = 0; j0 < Lk; j0 += ATT_KT) {
        const int64_t kn = Lk - j0 < ATT_KT ? Lk - j0 : ATT_KT;
        // S^T[kn x qp] = K[j0 .. j0+kn) (rows, strided) x qt.
        tile_gemm(kn, qp, D, k + j0 * a->k_sl, a->k_sl, 1, qt, st, qp, 0);

        // Scale, add the key bias and take each query's max over this tile.
#pragma omp simd
        for (int64_t i = 0; i < qp; i++) mx[i] = -INFINITY;
        for (int64_t j = 0; j < kn; j++) {
            float *sr = st + j * qp;
            const float bj = bias ? bias[j0 + j] : 0.0f;
#pragma omp simd
            for (int64_t i = 0; i < qp; i++) {
                float s = sr[i] * a->scale + bj;
                sr[i] = s;
                mx[i] = s > mx[i] ? s : mx[i];
            }
        }
        // New running max. While every key so far is masked (max -inf), use 0
        // as the reference so exp(-inf - ref) gives 0 instead of NaN.
#pragma omp simd
        for (int64_t i = 0; i < qp; i++) {
            float mn = mx[i] > m[i] ? mx[i] : m[i];
            float ref = mn == -INFINITY ? 0.0f : mn;
            alpha[i] = rt_vexpf(m[i] - ref);  // 0 on the first unmasked tile
            mref[i] = ref;
            m[i] = mn;
            lsum[i] = 0.0f;
        }
        // P = exp(S - m) in place, and its sum per query.
        for (int64_t j = 0; j < kn; j++) {
            float *sr = st + j * qp;
#pragma omp simd
            for (int64_t i = 0; i < qp; i++) {
                float p = rt_vexpf(sr[i] - mref[i]);
                sr[i] = p;
                lsum[i] += p;
            }
        }
#pragma omp simd
        for (int64_t i = 0; i < qp; i++) l[i] = l[i] * alpha[i] + lsum[i];
        // Rescale the partial output where the max moved.
        for (int64_t i = 0; i < qn; i++) {
            const float al = alpha[i];
            if (al == 1.0f) continue;
            float *orow = o + i * dvp;
#pragma omp simd
            for (int64_t c = 0; c < dvp; c++) orow[c] *= al;
        }
        // Pack the value tile (kn x dvp, panel-major), padded columns zero.
        for (int64_t c0 = 0; c0 < dvp; c0 += 32) {
            const int64_t width = dvp - c0 < 32 ? dvp - c0 : 32;
            const int64_t valid = Dv - c0 < width ? Dv - c0 : width;
            float *panel = vp + c0 * kn;
            for (int64_t j = 0; j < kn; j++) {
                memcpy(panel + j * width, v + (j0 + j) * a->v_sl + c0, sizeof(float) * (size_t)valid);
                for (int64_t c = valid; c < width; c++) panel[j * width + c] = 0.0f;
            }
        }
        // O[qn x dvp] += P (read transposed from st) x V_tile.
        tile_gemm(qn, dvp, kn, st, 1, qp, vp, o, dvp, 1);
    }

    // Normalise; a query that saw only masked keys (l == 0) gives zeros.
    for (int64_t i = 0; i < qn; i++) {
        float *dst = a->out + b * a->o_sb + h * a->o_sh + (i0 + i) * a->o_sl;
        const float *orow = o + i * dvp;
        const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma omp simd
        for (int64_t c = 0; c < Dv; c++) dst[c] = orow[c] * inv;
    }
}

roto_status cpu_attention(rt_ctx *ctx, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                          const rt_tensor *v, const rt_tensor *key_bias, float scale) {
    att_args a = {
        .q = (const float *)q->data, .k = (const float *)k->data, .v = (const float *)v->data,
        .bias = key_bias ? (const float *)key_bias->data : NULL, .out = (float *)out->data,
        .B = q->shape[0], .H = q->shape[1], .Lq = q->shape[2], .Lk = k->shape[2],
        .D = q->shape[3], .Dv = v->shape[3],
        .q_sb = q->stride[0], .q_sh = q->stride[1], .q_sl = q->stride[2],
        .k_sb = k->stride[0], .k_sh = k->stride[1], .k_sl = k->stride[2],
        .v_sb = v->stride[0], .v_sh = v->stride[1], .v_sl = v->stride[2],
        .o_sb = out->stride[0], .o_sh = out->stride[1], .o_sl = out->stride[2],
        .bias_sb = key_bias ? key_bias->stride[0] : 0, .scale = scale,
    };
    if (a.B == 0 || a.H == 0 || a.Lq == 0 || a.Dv == 0) return ROTO_OK;

    // Smaller query tiles when there are too few items to keep every thread busy.
    const int nt = cpu_threads(ctx);
    int64_t qtile = ATT_QT;
    while (qtile > 16 && a.B * a.H * ((a.Lq + qtile - 1) / qtile) < 2 * (int64_t)nt) qtile /= 2;
    if (qtile > round16(a.Lq)) qtile = round16(a.Lq);
    a.qtile = qtile;
    const int64_t n_qtiles = (a.Lq + qtile - 1) / qtile;
    const int64_t items = a.B * a.H * n_qtiles;
    const int64_t qp = round16(qtile), dvp = round16(a.Dv);
    const size_t scratch_bytes = att_scratch_floats(&a, qp, dvp) * sizeof(float);
    const int threads = items < nt ? (int)items : nt;
    int failed = 0;

#pragma omp parallel num_threads(threads)
    {
        float *buf = aligned_alloc(64, (scratch_bytes + 63) & ~(size_t)63);
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
        att_scratch w = {0};
        if (buf) {
            float *p = buf;
            w.qt = p, p += a.D * qp;
            w.st = p, p += ATT_KT * qp;
            w.vp = p, p += ATT_KT * dvp;
            w.o = p, p += qp * dvp;
            w.m = p, p += qp;
            w.l = p, p += qp;
            w.mx = p, p += qp;
            w.mref = p, p += qp;
            w.alpha = p, p += qp;
            w.lsum = p;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < items; it++) {
            if (!buf) continue;
            const int64_t qi = it % n_qtiles, bh = it / n_qtiles;
            const int64_t i0 = qi * qtile;
            const int64_t qn = a.Lq - i0 < qtile ? a.Lq - i0 : qtile;
            attention_item(&a, &w, bh / a.H, bh % a.H, i0, qn);
        }
        free(buf);
    }
    if (failed)
        return roto_fail(ROTO_ERR_OOM, "attention: cannot allocate %zu bytes of scratch per thread",
                         scratch_bytes);
    return ROTO_OK;
}

// ---- RoPE ------------------------------------------------------------------------------

// Rotate the complex pairs (x[2i], x[2i+1]) of tokens t0 .. t1-1 by the table
// row t % P: (a + ib)(c + is) = (ac - bs) + i(as + bc), PyTorch's
// view_as_complex product.
RT_SIMD_CLONES
static void rope_rows(float *x, int64_t row_stride, int64_t t0, int64_t t1, const float *cos_t,
                      const float *sin_t, int64_t P, int64_t half) {
    for (int64_t t = t0; t < t1; t++) {
        float *xr = x + t * row_stride;
        const float *c = cos_t + (t % P) * half, *s = sin_t + (t % P) * half;
#pragma omp simd
        for (int64_t i = 0; i < half; i++) {
            float re = xr[2 * i], im = xr[2 * i + 1];
            xr[2 * i] = re * c[i] - im * s[i];
            xr[2 * i + 1] = re * s[i] + im * c[i];
        }
    }
}

roto_status cpu_rope(rt_ctx *ctx, rt_tensor *x, const rt_tensor *cos_t, const rt_tensor *sin_t,
                     int64_t n_rot) {
    const int64_t B = x->shape[0], H = x->shape[1], D = x->shape[3];
    const int64_t half = D / 2, P = cos_t->shape[0];
    if (B * H * n_rot == 0 || half == 0) return ROTO_OK;
    const float *ct = (const float *)cos_t->data, *sn = (const float *)sin_t->data;
    float *xd = (float *)x->data;
    // Work items: (b, h, a chunk of tokens below n_rot).
    const int64_t chunk = 256;
    const int64_t chunks = (n_rot + chunk - 1) / chunk;
    const int64_t items = B * H * chunks;
#pragma omp parallel for schedule(static) num_threads(cpu_threads(ctx)) if (items > 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t ci = it % chunks, bh = it / chunks;
        const int64_t b = bh / H, h = bh % H;
        const int64_t t0 = ci * chunk, t1 = n_rot - t0 < chunk ? n_rot : t0 + chunk;
        rope_rows(xd + b * x->stride[0] + h * x->stride[1], x->stride[2], t0, t1, ct, sn, P, half);
    }
    return ROTO_OK;
}
