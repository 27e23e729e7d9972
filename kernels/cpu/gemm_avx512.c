// gemm_avx512.c: the AVX-512 SGEMM micro-kernel (12 x 32 register tile) and
// its fused epilogue (alpha, old C, bias, ReLU / exact GELU / sigmoid).
// Compiled with -mavx512f etc. and only called after a run-time CPU check.
//
// Tile: 12 rows x 2 zmm (32 columns) = 24 accumulators; each k step loads two
// B vectors and broadcasts 12 A values for 24 FMAs, so the FMA units, not the
// loads, are the limit. Rows past mr are dropped at compile time: the tile
// body is inlined once per mr = 1..12 with mr a constant.
#include <immintrin.h>
#include <math.h>

#include "gemm_internal.h"

#define MR 12
#define NV 2  // zmm vectors per row
#define NR (16 * NV)

// ---- vector math for the epilogue ----------------------------------------------

// exp(x) for x in [-80, 88] (clamped outside): x = n*ln2 + r, |r| <= ln2/2,
// degree-7 Taylor polynomial for e^r (relative error ~5e-9), times 2^n. The
// lower clamp keeps results (and erfc's t*exp products) normal numbers:
// denormals are slow, and below e^-80 nothing visible is lost.
static inline __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-80.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);  // ln2 high part
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);   // ln2 low part
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// erfc(z) by the Chebyshev-fitted form t*exp(-z^2 + P(t)), t = 1/(1 + |z|/2)
// (Numerical Recipes' erfcc; fractional error < 1.2e-7 for z >= 0), and
// erfc(-z) = 2 - erfc(z). Computing erfc directly keeps GELU's small negative
// tail accurate, where 1 + erf(x) would cancel.
static inline __m512 erfc512(__m512 z) {
    __m512 az = _mm512_abs_ps(z);
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_fmadd_ps(az, _mm512_set1_ps(0.5f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(0.17087277f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
    p = _mm512_fnmadd_ps(az, az, p);  // -z^2 + P(t)
    __m512 e = _mm512_mul_ps(t, exp512(p));
    __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_sub_ps(e, neg, _mm512_set1_ps(2.0f), e);
}

static inline __m512 act512(__m512 v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return _mm512_max_ps(v, _mm512_setzero_ps());
    case RT_ACT_GELU:  // 0.5 * x * erfc(-x / sqrt(2))
        return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v),
                             erfc512(_mm512_mul_ps(v, _mm512_set1_ps(-0.70710678118654752f))));
    case RT_ACT_SIGMOID:
        return _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_add_ps(_mm512_set1_ps(1.0f),
                                           exp512(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    default: return v;
    }
}

// ---- the micro-kernel -------------------------------------------------------------

static inline __attribute__((always_inline)) void tile(const int mr, int64_t kc, const float *a,
                                                       int64_t lda, const float *bp, float *c,
                                                       int64_t ldc, int nr,
                                                       const gemm_epilogue *ep) {
    __m512 acc[MR][NV];
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();

    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(bp + k * NR);
        __m512 b1 = _mm512_load_ps(bp + k * NR + 16);
#pragma GCC unroll 12
        for (int i = 0; i < mr; i++) {
            __m512 av = _mm512_set1_ps(a[i * lda + k]);
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
        }
    }

    // Epilogue. Masks cover the valid columns of the two vectors.
    __mmask16 m[NV];
    m[0] = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    m[1] = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 alpha = _mm512_set1_ps(ep->alpha), cs = _mm512_set1_ps(ep->cscale);
    __m512 bias[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
        bias[v] = ep->bias ? _mm512_maskz_loadu_ps(m[v], ep->bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        float *crow = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            __m512 x = _mm512_mul_ps(acc[i][v], alpha);
            if (ep->cmode == GEMM_C_PRE)
                x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v], crow + 16 * v), cs, x);
            x = _mm512_add_ps(x, bias[v]);
            x = act512(x, ep->act);
            if (ep->cmode == GEMM_C_POST)
                x = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m[v], crow + 16 * v), cs, x);
            _mm512_mask_storeu_ps(crow + 16 * v, m[v], x);
        }
    }
}

#define TILE_FN(R)                                                                        \
    static void tile_##R(int64_t kc, const float *a, int64_t lda, const float *bp, float *c, \
                         int64_t ldc, int nr, const gemm_epilogue *ep) {                  \
        tile(R, kc, a, lda, bp, c, ldc, nr, ep);                                          \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)
TILE_FN(7) TILE_FN(8) TILE_FN(9) TILE_FN(10) TILE_FN(11) TILE_FN(12)

static void kernel_avx512(int64_t kc, const float *a, int64_t lda, const float *bp, float *c,
                          int64_t ldc, int mr, int nr, const gemm_epilogue *ep) {
    typedef void (*fn)(int64_t, const float *, int64_t, const float *, float *, int64_t, int,
                       const gemm_epilogue *);
    static const fn by_rows[MR + 1] = {NULL,    tile_1,  tile_2, tile_3, tile_4,
                                       tile_5,  tile_6,  tile_7, tile_8, tile_9,
                                       tile_10, tile_11, tile_12};
    by_rows[mr](kc, a, lda, bp, c, ldc, nr, ep);
}

// ---- packing a transposed B ---------------------------------------------------------

// Transpose a 16 x 16 block in registers: on return r[j] holds column j.
// Three rounds: interleave row pairs (ps), then pairs of pairs (pd), then
// gather the 128-bit lanes of four rows (two f32x4 shuffles).
static inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 16
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + c], lane L: column 4L + c of rows 4i..4i+3.
#pragma GCC unroll 16
    for (int i = 0; i < 4; i++) {
        __m512d t0 = _mm512_castps_pd(t[4 * i]), t1 = _mm512_castps_pd(t[4 * i + 1]);
        __m512d t2 = _mm512_castps_pd(t[4 * i + 2]), t3 = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
#pragma GCC unroll 16
    for (int c = 0; c < 4; c++) {
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);   // lanes 0, 2
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        __m512 w1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);   // lanes 1, 3
        __m512 w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_f32x4(v1, v2, 0x88);       // column c
        r[4 + c] = _mm512_shuffle_f32x4(w1, w2, 0x88);   // column 4 + c
        r[8 + c] = _mm512_shuffle_f32x4(v1, v2, 0xdd);   // column 8 + c
        r[12 + c] = _mm512_shuffle_f32x4(w1, w2, 0xdd);  // column 12 + c
    }
}

static void pack_bt_avx512(const float *b, int64_t ldb, int nb, int64_t kb, float *dst) {
    for (int h = 0; h < NV; h++) {  // 16 columns of the panel at a time
        int rows = nb - 16 * h;       // rows of B (columns of the panel) present
        if (rows > 16) rows = 16;
        const float *src = b + 16 * h * ldb;
        float *d = dst + 16 * h;
        for (int64_t k0 = 0; k0 < kb; k0 += 16) {
            int kn = kb - k0 < 16 ? (int)(kb - k0) : 16;
            __mmask16 km = (__mmask16)((1u << kn) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + i * ldb + k0)
                                : _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < kn; i++) _mm512_store_ps(d + (k0 + i) * NR, r[i]);
        }
    }
}

const gemm_isa gemm_isa_avx512 = {"avx512", MR, NR, kernel_avx512, pack_bt_avx512, 150e9};
