// conv.c: CPU 2-D convolution (NHWC activations, OHWI weights) and the
// non-overlapping transposed convolution (kernel == stride).
//
// cpu_conv2d picks one of three paths:
// - 1x1, stride 1, no padding, one group: the conv is exactly a GEMM
//   [N*H*W, Cin] x [Cout, Cin]^T, so x goes to cpu_sgemm as it is.
// - depthwise (groups == Cin == Cout): a direct loop with the channel loop
//   innermost. NHWC keeps a pixel's channels side by side, so every tap is one
//   contiguous multiply-add over C that the compiler vectorises; where the CPU
//   has AVX2 + FMA a version that keeps 32 channels in registers over all the
//   taps is chosen at run time.
// - everything else: im2col into a bounded scratch buffer, one chunk of output
//   pixels at a time, then one GEMM per chunk and group. The im2col row of an
//   output pixel is ordered (kh, kw, ci), the same order as an OHWI weight row,
//   so the weight is used in place as the GEMM's [Cout, K] operand.
// Arguments were validated by engine/ops_conv.c.
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "gemm.h"
#include "conv_common.h"

// im2col scratch per chunk. A chunk holds at least CONV_MIN_CHUNK pixels so the
// GEMM still has a useful M when K is very large.
#define CONV_COL_BYTES (8u << 20)
#define CONV_MIN_CHUNK 64

typedef struct {
    int64_t N, H, W, C;      // input
    int64_t Ho, Wo, Cout;    // output
    int64_t KH, KW;
    int64_t sh, sw, ph, pw, dh, dw;
    int64_t groups, Cg;      // channels per group (input side)
} conv_shape;

// ---- depthwise ------------------------------------------------------------------

// One output row of a depthwise conv: y[n, oh, :, :] from x and the weight
// transposed to [KH*KW, C] (each tap's C weights contiguous).
static void dw_row_default(const conv_shape *s, const float *x, const float *wt,
                           const float *bias, float *y, int64_t n, int64_t oh, rt_act act) {
    const int64_t C = s->C;
    float *yrow = y + (n * s->Ho + oh) * s->Wo * C;
    for (int64_t ow = 0; ow < s->Wo; ow++) {
        float *yp = yrow + ow * C;
        if (bias) {
            memcpy(yp, bias, (size_t)C * sizeof(float));
        } else {
            memset(yp, 0, (size_t)C * sizeof(float));
        }
        for (int64_t kh = 0; kh < s->KH; kh++) {
            int64_t ih = oh * s->sh - s->ph + kh * s->dh;
            if (ih < 0 || ih >= s->H) continue;
            const float *xrow = x + (n * s->H + ih) * s->W * C;
            for (int64_t kw = 0; kw < s->KW; kw++) {
                int64_t iw = ow * s->sw - s->pw + kw * s->dw;
                if (iw < 0 || iw >= s->W) continue;
                const float *xp = xrow + iw * C;
                const float *wp = wt + (kh * s->KW + kw) * C;
#pragma omp simd
                for (int64_t c = 0; c < C; c++) yp[c] += xp[c] * wp[c];
            }
        }
        if (act != RT_ACT_NONE)
            for (int64_t c = 0; c < C; c++) yp[c] = conv_apply_act(yp[c], act);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONV_HAVE_AVX2 1
#include <immintrin.h>

// The same row with AVX2 + FMA: 32 channels at a time stay in four registers
// over all the taps, so each tap costs two loads and one FMA per 8 channels.
__attribute__((target("avx2,fma"))) static void dw_row_avx2(const conv_shape *s, const float *x,
                                                           const float *wt, const float *bias,
                                                           float *y, int64_t n, int64_t oh,
                                                           rt_act act) {
    const int64_t C = s->C;
    float *yrow = y + (n * s->Ho + oh) * s->Wo * C;
    // Valid kernel rows for this output row.
    int64_t kh0 = 0, kh1 = s->KH;
    while (kh0 < kh1 && oh * s->sh - s->ph + kh0 * s->dh < 0) kh0++;
    while (kh1 > kh0 && oh * s->sh - s->ph + (kh1 - 1) * s->dh >= s->H) kh1--;
    for (int64_t ow = 0; ow < s->Wo; ow++) {
        float *yp = yrow + ow * C;
        int64_t kw0 = 0, kw1 = s->KW;
        while (kw0 < kw1 && ow * s->sw - s->pw + kw0 * s->dw < 0) kw0++;
        while (kw1 > kw0 && ow * s->sw - s->pw + (kw1 - 1) * s->dw >= s->W) kw1--;
        int64_t c0 = 0;
        for (; c0 + 32 <= C; c0 += 32) {
            __m256 a0, a1, a2, a3;
            if (bias) {
                a0 = _mm256_loadu_ps(bias + c0);
                a1 = _mm256_loadu_ps(bias + c0 + 8);
                a2 = _mm256_loadu_ps(bias + c0 + 16);
                a3 = _mm256_loadu_ps(bias + c0 + 24);
            } else {
                a0 = a1 = a2 = a3 = _mm256_setzero_ps();
            }
            for (int64_t kh = kh0; kh < kh1; kh++) {
                int64_t ih = oh * s->sh - s->ph + kh * s->dh;
                const float *xrow = x + (n * s->H + ih) * s->W * C + c0;
                const float *wrow = wt + kh * s->KW * C + c0;
                for (int64_t kw = kw0; kw < kw1; kw++) {
                    const float *xp = xrow + (ow * s->sw - s->pw + kw * s->dw) * C;
                    const float *wp = wrow + kw * C;
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp), _mm256_loadu_ps(wp), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 8), _mm256_loadu_ps(wp + 8), a1);
                    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 16), _mm256_loadu_ps(wp + 16), a2);
                    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 24), _mm256_loadu_ps(wp + 24), a3);
                }
            }
            _mm256_storeu_ps(yp + c0, a0);
            _mm256_storeu_ps(yp + c0 + 8, a1);
            _mm256_storeu_ps(yp + c0 + 16, a2);
            _mm256_storeu_ps(yp + c0 + 24, a3);
        }
        for (; c0 < C; c0++) {  // channels past the last full block of 32
            float a = bias ? bias[c0] : 0.0f;
            for (int64_t kh = kh0; kh < kh1; kh++) {
                int64_t ih = oh * s->sh - s->ph + kh * s->dh;
                for (int64_t kw = kw0; kw < kw1; kw++) {
                    int64_t iw = ow * s->sw - s->pw + kw * s->dw;
                    a += x[((n * s->H + ih) * s->W + iw) * C + c0] * wt[(kh * s->KW + kw) * C + c0];
                }
            }
            yp[c0] = a;
        }
        if (act != RT_ACT_NONE)
            for (int64_t c = 0; c < C; c++) yp[c] = conv_apply_act(yp[c], act);
    }
}
#endif

typedef void (*dw_row_fn)(const conv_shape *, const float *, const float *, const float *,
                          float *, int64_t, int64_t, rt_act);

// ROTO_CPU_ISA=scalar forces the portable loop (as it does for the GEMM), so
// tests run both versions on any machine.
static dw_row_fn pick_dw_row(void) {
#ifdef CONV_HAVE_AVX2
    const char *want = getenv("ROTO_CPU_ISA");
    if (!(want && strcmp(want, "scalar") == 0) && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return dw_row_avx2;
#endif
    return dw_row_default;
}

static roto_status conv_depthwise(rt_ctx *ctx, const conv_shape *s, const float *x,
                                  const float *w, const float *bias, float *y, rt_act act) {
    // Weight [C, KH, KW, 1] -> [KH*KW, C] so each tap's weights are contiguous in c.
    int64_t taps = s->KH * s->KW;
    float *wt = malloc((size_t)(taps * s->C) * sizeof(float));
    if (!wt) return roto_fail(ROTO_ERR_OOM, "conv2d: cannot allocate the depthwise weight");
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t t = 0; t < taps; t++) wt[t * s->C + c] = w[c * taps + t];

    dw_row_fn row = pick_dw_row();
    int64_t rows = s->N * s->Ho;
    int nt = cpu_threads(ctx);
    int64_t work = rows * s->Wo * s->C * taps;
#pragma omp parallel for schedule(static) num_threads(nt) if (work > (1 << 16))
    for (int64_t r = 0; r < rows; r++) row(s, x, wt, bias, y, r / s->Ho, r % s->Ho, act);
    free(wt);
    return ROTO_OK;
}

// ---- im2col + GEMM --------------------------------------------------------------

// Row p - p0 of col gets output pixel p's receptive field for group g, ordered
// (kh, kw, ci) with zeros where the window hangs over the padding.
static void im2col_chunk(const conv_shape *s, const float *x, float *col, int64_t p0,
                         int64_t np, int64_t g, int nt) {
    const int64_t Cg = s->Cg, K = s->KH * s->KW * Cg;
    const int64_t c0 = g * Cg;
    // A whole kernel row is one contiguous run of x when the taps are adjacent
    // and the group spans every channel.
    const int whole_row = s->dw == 1 && s->groups == 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (np * K > (1 << 15))
    for (int64_t i = 0; i < np; i++) {
        int64_t p = p0 + i;
        int64_t ow = p % s->Wo, t = p / s->Wo;
        int64_t oh = t % s->Ho, n = t / s->Ho;
        float *dst = col + i * K;
        int64_t iw0 = ow * s->sw - s->pw;
        for (int64_t kh = 0; kh < s->KH; kh++) {
            float *d = dst + kh * s->KW * Cg;
            int64_t ih = oh * s->sh - s->ph + kh * s->dh;
            if (ih < 0 || ih >= s->H) {
                memset(d, 0, (size_t)(s->KW * Cg) * sizeof(float));
                continue;
            }
            const float *xrow = x + (n * s->H + ih) * s->W * s->C + c0;
            if (whole_row && iw0 >= 0 && iw0 + s->KW <= s->W) {
                memcpy(d, xrow + iw0 * s->C, (size_t)(s->KW * Cg) * sizeof(float));
                continue;
            }
            for (int64_t kw = 0; kw < s->KW; kw++) {
                int64_t iw = iw0 + kw * s->dw;
                if (iw < 0 || iw >= s->W)
                    memset(d + kw * Cg, 0, (size_t)Cg * sizeof(float));
                else
                    memcpy(d + kw * Cg, xrow + iw * s->C, (size_t)Cg * sizeof(float));
            }
        }
    }
}

static roto_status conv_im2col(rt_ctx *ctx, const conv_shape *s, const float *x,
                               const float *w, const float *bias, float *y, rt_act act) {
    const int64_t K = s->KH * s->KW * s->Cg;
    const int64_t Coutg = s->Cout / s->groups;
    const int64_t P = s->N * s->Ho * s->Wo;
    int64_t chunk = (int64_t)(CONV_COL_BYTES / sizeof(float)) / K;
    if (chunk < CONV_MIN_CHUNK) chunk = CONV_MIN_CHUNK;
    if (chunk > P) chunk = P;
    float *col = malloc((size_t)(chunk * K) * sizeof(float));
    if (!col)
        return roto_fail(ROTO_ERR_OOM, "conv2d: cannot allocate %lld bytes of im2col scratch",
                         (long long)(chunk * K * (int64_t)sizeof(float)));
    int nt = cpu_threads(ctx);
    for (int64_t p0 = 0; p0 < P; p0 += chunk) {
        int64_t np = P - p0 < chunk ? P - p0 : chunk;
        for (int64_t g = 0; g < s->groups; g++) {
            im2col_chunk(s, x, col, p0, np, g, nt);
            cpu_gemm_args ga = {
                .M = np, .N = Coutg, .K = K,
                .A = col, .lda = K,
                .B = w + g * Coutg * K, .ldb = K, .trans_b = 1,
                .C = y + p0 * s->Cout + g * Coutg, .ldc = s->Cout,
                .bias = bias ? bias + g * Coutg : NULL,
                .act = act, .alpha = 1.0f, .beta = 0.0f, .threads = cpu_threads(ctx),
            };
            cpu_sgemm(&ga);
        }
    }
    free(col);
    return ROTO_OK;
}

roto_status cpu_conv2d(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                       const rt_tensor *b, const rt_conv_params *p, rt_act act) {
    if (x->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "conv2d: the cpu backend computes in f32, got %s",
                         rt_dtype_name(x->dtype));
    conv_shape s = {
        .N = x->shape[0], .H = x->shape[1], .W = x->shape[2], .C = x->shape[3],
        .Ho = y->shape[1], .Wo = y->shape[2], .Cout = y->shape[3],
        .KH = w->shape[1], .KW = w->shape[2],
        .sh = p->stride_h, .sw = p->stride_w, .ph = p->pad_h, .pw = p->pad_w,
        .dh = p->dil_h, .dw = p->dil_w, .groups = p->groups,
    };
    s.Cg = s.C / s.groups;
    if (s.N * s.Ho * s.Wo * s.Cout == 0) return ROTO_OK;
    const float *xd = x->data, *wd = w->data, *bd = b ? b->data : NULL;
    float *yd = y->data;
    if (s.KH * s.KW * s.Cg == 0) {  // empty reduction: y = act(bias)
        for (int64_t i = 0; i < s.N * s.Ho * s.Wo; i++)
            for (int64_t c = 0; c < s.Cout; c++)
                yd[i * s.Cout + c] = conv_apply_act(bd ? bd[c] : 0.0f, act);
        return ROTO_OK;
    }
    if (s.KH == 1 && s.KW == 1 && s.sh == 1 && s.sw == 1 && s.ph == 0 && s.pw == 0 &&
        s.groups == 1) {
        cpu_gemm_args ga = {
            .M = s.N * s.H * s.W, .N = s.Cout, .K = s.C,
            .A = xd, .lda = s.C,
            .B = wd, .ldb = s.C, .trans_b = 1,
            .C = yd, .ldc = s.Cout,
            .bias = bd, .act = act, .alpha = 1.0f, .beta = 0.0f, .threads = cpu_threads(ctx),
        };
        cpu_sgemm(&ga);
        return ROTO_OK;
    }
    if (s.groups > 1 && s.groups == s.C && s.Cout == s.C)
        return conv_depthwise(ctx, &s, xd, wd, bd, yd, act);
    return conv_im2col(ctx, &s, xd, wd, bd, yd, act);
}

// ---- transposed conv, kernel == stride -----------------------------------------------

// Every input pixel owns its own k x k output patch, so the op is one GEMM
// T[m, (i, j, co)] = x[m, :] @ Wp[:, (i, j, co)] + b[co] followed by a scatter
// of T's k rows of k*Cout floats into y. Wp is PyTorch's [Cin, Cout, k, k]
// permuted to [Cin, k, k, Cout] so each scattered run is contiguous.
roto_status cpu_conv_transpose(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                               const rt_tensor *w, const rt_tensor *b, int k) {
    if (x->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "conv_transpose: the cpu backend computes in f32, got %s",
                         rt_dtype_name(x->dtype));
    const int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], Cin = x->shape[3];
    const int64_t Cout = y->shape[3], K = k;
    const int64_t KKC = K * K * Cout, M = N * H * W;
    if (M == 0 || KKC == 0) return ROTO_OK;
    const float *xd = x->data, *wd = w->data, *bd = b ? b->data : NULL;
    float *yd = y->data;

    int64_t chunk = (int64_t)(CONV_COL_BYTES / sizeof(float)) / KKC;
    if (chunk < CONV_MIN_CHUNK) chunk = CONV_MIN_CHUNK;
    if (chunk > M) chunk = M;
    float *wp = malloc((size_t)(Cin * KKC + KKC) * sizeof(float));
    float *tmp = malloc((size_t)(chunk * KKC) * sizeof(float));
    if (!wp || !tmp) {
        free(wp);
        free(tmp);
        return roto_fail(ROTO_ERR_OOM, "conv_transpose: cannot allocate scratch");
    }
    float *bt = wp + Cin * KKC;  // bias tiled over (i, j)
    for (int64_t ci = 0; ci < Cin; ci++)
        for (int64_t co = 0; co < Cout; co++)
            for (int64_t ij = 0; ij < K * K; ij++)
                wp[ci * KKC + ij * Cout + co] = wd[(ci * Cout + co) * K * K + ij];
    for (int64_t ij = 0; ij < K * K; ij++)
        for (int64_t co = 0; co < Cout; co++) bt[ij * Cout + co] = bd ? bd[co] : 0.0f;

    int nt = cpu_threads(ctx);
    const int64_t Wk = W * K;
    for (int64_t m0 = 0; m0 < M; m0 += chunk) {
        int64_t nm = M - m0 < chunk ? M - m0 : chunk;
        cpu_gemm_args ga = {
            .M = nm, .N = KKC, .K = Cin,
            .A = xd + m0 * Cin, .lda = Cin,
            .B = wp, .ldb = KKC, .trans_b = 0,
            .C = tmp, .ldc = KKC,
            .bias = bt, .act = RT_ACT_NONE, .alpha = 1.0f, .beta = 0.0f,
        };
        if (Cin == 0) {
            for (int64_t i = 0; i < nm; i++) memcpy(tmp + i * KKC, bt, (size_t)KKC * sizeof(float));
        } else {
            cpu_sgemm(&ga);
        }
#pragma omp parallel for schedule(static) num_threads(nt) if (nm * KKC > (1 << 15))
        for (int64_t i = 0; i < nm; i++) {
            int64_t m = m0 + i;
            int64_t w0 = m % W, nh = m / W;  // nh = n*H + h
            for (int64_t r = 0; r < K; r++) {
                float *dst = yd + ((nh * K + r) * Wk + w0 * K) * Cout;
                memcpy(dst, tmp + i * KKC + r * K * Cout, (size_t)(K * Cout) * sizeof(float));
            }
        }
    }
    free(wp);
    free(tmp);
    return ROTO_OK;
}
