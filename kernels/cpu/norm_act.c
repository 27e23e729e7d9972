// norm_act.c: CPU LayerNorm over the last dim, elementwise activations (ReLU,
// exact-erf GELU, sigmoid) and softmax over the last dim.
// defines: cpu_layernorm, cpu_activation, cpu_softmax
// Rows are independent: OpenMP over rows, each row's loops vectorised through
// RT_SIMD_CLONES (see vecmath_internal.h). Everything accumulates in fp32 and is
// tested against fp64 references in tests/ref/ref_norm.c.
#if defined(__GNUC__) && !defined(__clang__)
// fp-contract: let a*b+c become FMA (clang does this by default).
// no-trapping-math: lets the selects in rt_vexpf & co. if-convert, so the
// exp loops vectorise on AVX2 and SSE2 too (AVX-512 masks them anyway).
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")
#endif

#include <math.h>
#include <omp.h>

#include "cpu_ops.h"
#include "vecmath_internal.h"

// ---- LayerNorm ----------------------------------------------------------------

// LayerNorm of `rows` rows of C values. The variance uses the corrected
// two-pass form: a first mean m0 (rounded to float), then d = x - m0 with
// mean(d) = mo (small, accurate) and var = mean(d^2) - mo^2. Output is
// (d - mo) * rstd, so a large common offset (mean 1000, std 1e-3) costs no
// precision: x - m0 is exact when x is near m0. In place is fine: each row is
// read completely before it is written.
RT_SIMD_CLONES
static void layernorm_rows(float *y, const float *x, int64_t rows, int64_t C, const float *w,
                           const float *b, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        // Sums in double: cheap next to the memory traffic, and accurate for
        // long rows whatever the vector width.
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < C; c++) s += xr[c];
        float m0 = (float)(s / (double)C);
        double sd = 0.0, sd2 = 0.0;
#pragma omp simd reduction(+ : sd, sd2)
        for (int64_t c = 0; c < C; c++) {
            float d = xr[c] - m0;
            sd += d;
            sd2 += (double)d * d;
        }
        double mean_d = sd / (double)C;
        double var = sd2 / (double)C - mean_d * mean_d;
        if (var < 0.0) var = 0.0;
        float mo = (float)mean_d;
        float rstd = (float)(1.0 / sqrt(var + (double)eps));
        if (w && b) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) yr[c] = ((xr[c] - m0) - mo) * rstd * w[c] + b[c];
        } else if (w) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) yr[c] = ((xr[c] - m0) - mo) * rstd * w[c];
        } else if (b) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) yr[c] = ((xr[c] - m0) - mo) * rstd + b[c];
        } else {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) yr[c] = ((xr[c] - m0) - mo) * rstd;
        }
    }
}

// Split `rows` rows of `C` values into chunks of roughly 16K elements so that
// small tensors stay on one thread and large ones spread out.
static int64_t rows_per_chunk(int64_t rows, int64_t C) {
    int64_t per = (16384 + C - 1) / (C > 0 ? C : 1);
    if (per < 1) per = 1;
    if (per > rows) per = rows > 0 ? rows : 1;
    return per;
}

roto_status cpu_layernorm(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                          const rt_tensor *b, float eps) {
    int64_t n = rt_numel(x);
    if (n == 0) return ROTO_OK;
    int64_t C = x->shape[x->ndim - 1];
    int64_t rows = n / C;
    const float *xd = (const float *)x->data;
    float *yd = (float *)y->data;
    const float *wd = w ? (const float *)w->data : NULL;
    const float *bd = b ? (const float *)b->data : NULL;
    int64_t per = rows_per_chunk(rows, C);
    int64_t chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(cpu_threads(ctx)) if (chunks > 1)
    for (int64_t i = 0; i < chunks; i++) {
        int64_t r0 = i * per, nr = rows - r0 < per ? rows - r0 : per;
        layernorm_rows(yd + r0 * C, xd + r0 * C, nr, C, wd, bd, eps);
    }
    return ROTO_OK;
}

// ---- Activations ----------------------------------------------------------------

RT_SIMD_CLONES
static void activation_span(float *y, const float *x, int64_t n, rt_act act) {
    switch (act) {
    case RT_ACT_RELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN stays NaN
        break;
    case RT_ACT_GELU:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = rt_vgeluf(x[i]);
        break;
    case RT_ACT_SIGMOID:
#pragma omp simd
        for (int64_t i = 0; i < n; i++) y[i] = rt_vsigmoidf(x[i]);
        break;
    default:
        if (y != x)
            for (int64_t i = 0; i < n; i++) y[i] = x[i];
        break;
    }
}

roto_status cpu_activation(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, rt_act act) {
    int64_t n = rt_numel(x);
    const float *xd = (const float *)x->data;
    float *yd = (float *)y->data;
    if (act == RT_ACT_NONE && xd == yd) return ROTO_OK;
    const int64_t span = 16384;
    int64_t chunks = (n + span - 1) / span;
#pragma omp parallel for schedule(static) num_threads(cpu_threads(ctx)) if (chunks > 1)
    for (int64_t i = 0; i < chunks; i++) {
        int64_t s0 = i * span, len = n - s0 < span ? n - s0 : span;
        activation_span(yd + s0, xd + s0, len, act);
    }
    return ROTO_OK;
}

// ---- Softmax ----------------------------------------------------------------------

// Softmax of x*scale over rows of C. The max is subtracted first so exp never
// overflows. A row whose scaled max is -inf (every entry -inf) yields zeros,
// not NaN as PyTorch would give (the attention op has the same convention).
// In place is fine: each element is read before it is written.
RT_SIMD_CLONES
static void softmax_rows(float *y, const float *x, int64_t rows, int64_t C, float scale) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        // Max of x*scale in 16 lanes (a max reduction pragma does not
        // vectorise under clang without fast-math).
        float lane[16];
        for (int l = 0; l < 16; l++) lane[l] = -INFINITY;
        int64_t c0 = 0;
        for (; c0 + 16 <= C; c0 += 16)
            for (int l = 0; l < 16; l++) {
                float v = xr[c0 + l] * scale;
                lane[l] = v > lane[l] ? v : lane[l];
            }
        for (int64_t c = c0; c < C; c++) {
            float v = xr[c] * scale;
            lane[c - c0] = v > lane[c - c0] ? v : lane[c - c0];
        }
        float mx = lane[0];
        for (int l = 1; l < 16; l++) mx = lane[l] > mx ? lane[l] : mx;
        if (mx == -INFINITY) {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) yr[c] = 0.0f;
            continue;
        }
#pragma omp simd
        for (int64_t c = 0; c < C; c++) yr[c] = rt_vexpf(xr[c] * scale - mx);
        // The sum is kept in double (rows can be 100k long, and a float sum
        // loses ~1e-4 relative when it is not split across SIMD lanes). It is
        // a separate pass: fused into the exp loop it stops vectorising.
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int64_t c = 0; c < C; c++) sum += yr[c];
        float inv = (float)(1.0 / sum);
#pragma omp simd
        for (int64_t c = 0; c < C; c++) yr[c] *= inv;
    }
}

roto_status cpu_softmax(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale) {
    int64_t n = rt_numel(x);
    if (n == 0) return ROTO_OK;
    int64_t C = x->shape[x->ndim - 1];
    int64_t rows = n / C;
    const float *xd = (const float *)x->data;
    float *yd = (float *)y->data;
    int64_t per = rows_per_chunk(rows, C);
    int64_t chunks = (rows + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(cpu_threads(ctx)) if (chunks > 1)
    for (int64_t i = 0; i < chunks; i++) {
        int64_t r0 = i * per, nr = rows - r0 < per ? rows - r0 : per;
        softmax_rows(yd + r0 * C, xd + r0 * C, nr, C, scale);
    }
    return ROTO_OK;
}
