// gemm_avx2.c: the AVX2 + FMA SGEMM micro-kernel (6 x 16 register tile) and
// its fused epilogue. Compiled with -mavx2 -mfma and only called after a
// run-time CPU check.
//
// Tile: 6 rows x 2 ymm (16 columns) = 12 accumulators, 2 B vectors and one
// broadcast register: 15 of the 16 ymm registers. Rows past mr are dropped at
// compile time (the tile body is inlined once per mr = 1..6).
#include <immintrin.h>

#include "gemm_internal.h"

#define MR 6
#define NV 2  // ymm vectors per row
#define NR (8 * NV)

// ---- vector math for the epilogue (same formulas as gemm_avx512.c) -----------------

// exp(x) for x in [-80, 88] (clamped): x = n*ln2 + r, degree-7 Taylor for e^r,
// 2^n built in the exponent field (n stays within [-126, 127] after the clamp).
// The lower clamp keeps results normal numbers (denormals are slow).
static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-80.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// erfc(z) = t*exp(-z^2 + P(t)), t = 1/(1 + |z|/2) for z >= 0 (Numerical Recipes'
// erfcc, fractional error < 1.2e-7), and 2 - erfc(|z|) for z < 0.
static inline __m256 erfc256(__m256 z) {
    __m256 az = _mm256_and_ps(z, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_fmadd_ps(az, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    p = _mm256_fnmadd_ps(az, az, p);
    __m256 e = _mm256_mul_ps(t, exp256(p));
    __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(e, _mm256_sub_ps(_mm256_set1_ps(2.0f), e), neg);
}

static inline __m256 act256(__m256 v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return _mm256_max_ps(v, _mm256_setzero_ps());
    case RT_ACT_GELU:
        return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                             erfc256(_mm256_mul_ps(v, _mm256_set1_ps(-0.70710678118654752f))));
    case RT_ACT_SIGMOID:
        return _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_add_ps(_mm256_set1_ps(1.0f),
                                           exp256(_mm256_sub_ps(_mm256_setzero_ps(), v))));
    default: return v;
    }
}

// ---- the micro-kernel -------------------------------------------------------------

static inline __attribute__((always_inline)) void tile(const int mr, int64_t kc, const float *a,
                                                       int64_t lda, const float *bp, float *c,
                                                       int64_t ldc, int nr,
                                                       const gemm_epilogue *ep) {
    __m256 acc[MR][NV];
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();

    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(bp + k * NR);
        __m256 b1 = _mm256_load_ps(bp + k * NR + 8);
#pragma GCC unroll 6
        for (int i = 0; i < mr; i++) {
            __m256 av = _mm256_broadcast_ss(a + i * lda + k);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
    }

    // Epilogue. Lane masks (all ones = valid) for the two vectors.
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
        m[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8 * v), iota);
    __m256 alpha = _mm256_set1_ps(ep->alpha), cs = _mm256_set1_ps(ep->cscale);
    __m256 bias[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
        bias[v] = ep->bias ? _mm256_maskload_ps(ep->bias + 8 * v, m[v]) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
        float *crow = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            __m256 x = _mm256_mul_ps(acc[i][v], alpha);
            if (ep->cmode == GEMM_C_PRE)
                x = _mm256_fmadd_ps(_mm256_maskload_ps(crow + 8 * v, m[v]), cs, x);
            x = _mm256_add_ps(x, bias[v]);
            x = act256(x, ep->act);
            if (ep->cmode == GEMM_C_POST)
                x = _mm256_fmadd_ps(_mm256_maskload_ps(crow + 8 * v, m[v]), cs, x);
            _mm256_maskstore_ps(crow + 8 * v, m[v], x);
        }
    }
}

#define TILE_FN(R)                                                                        \
    static void tile_##R(int64_t kc, const float *a, int64_t lda, const float *bp, float *c, \
                         int64_t ldc, int nr, const gemm_epilogue *ep) {                  \
        tile(R, kc, a, lda, bp, c, ldc, nr, ep);                                          \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)

static void kernel_avx2(int64_t kc, const float *a, int64_t lda, const float *bp, float *c,
                        int64_t ldc, int mr, int nr, const gemm_epilogue *ep) {
    typedef void (*fn)(int64_t, const float *, int64_t, const float *, float *, int64_t, int,
                       const gemm_epilogue *);
    static const fn by_rows[MR + 1] = {NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6};
    by_rows[mr](kc, a, lda, bp, c, ldc, nr, ep);
}

// ---- packing a transposed B ---------------------------------------------------------

// Transpose an 8 x 8 block in registers: on return r[j] holds column j.
static inline void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
#pragma GCC unroll 8
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4i + c], 128-bit lane L: column 4L + c of rows 4i..4i+3.
#pragma GCC unroll 8
    for (int i = 0; i < 2; i++) {
        __m256d t0 = _mm256_castps_pd(t[4 * i]), t1 = _mm256_castps_pd(t[4 * i + 1]);
        __m256d t2 = _mm256_castps_pd(t[4 * i + 2]), t3 = _mm256_castps_pd(t[4 * i + 3]);
        u[4 * i + 0] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
        u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
        u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
        u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
    }
#pragma GCC unroll 8
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);      // low lanes
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);  // high lanes
    }
}

static void pack_bt_avx2(const float *b, int64_t ldb, int nb, int64_t kb, float *dst) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int h = 0; h < NV; h++) {  // 8 columns of the panel at a time
        int rows = nb - 8 * h;
        if (rows > 8) rows = 8;
        const float *src = b + 8 * h * ldb;
        float *d = dst + 8 * h;
        for (int64_t k0 = 0; k0 < kb; k0 += 8) {
            int kn = kb - k0 < 8 ? (int)(kb - k0) : 8;
            __m256i km = _mm256_cmpgt_epi32(_mm256_set1_epi32(kn), iota);
            __m256 r[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                r[i] = i < rows ? _mm256_maskload_ps(src + i * ldb + k0, km) : _mm256_setzero_ps();
            transpose8(r);
#pragma GCC unroll 8
            for (int i = 0; i < kn; i++) _mm256_store_ps(d + (k0 + i) * NR, r[i]);
        }
    }
}

const gemm_isa gemm_isa_avx2 = {"avx2", MR, NR, kernel_avx2, pack_bt_avx2, 75e9};
