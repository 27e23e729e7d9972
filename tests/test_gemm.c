// test_gemm.c: the CPU SGEMM (kernels/cpu/gemm.c and its AVX-512 / AVX2 /
// portable micro-kernels) against the fp64 plain-loop reference in
// tests/ref/ref_gemm.c, and rt_linear / rt_matmul through a CPU context.
//
// Every ISA path is run by forcing it with ROTO_CPU_ISA (read on each call);
// a path this CPU cannot run is reported with a SKIP line.
//
// Tolerance: each output is an fp32 dot product of length K over values in
// [-1, 1]. Its rounding error grows roughly like sqrt(K) * 6e-8 * |partial
// sums|: about 1e-6 at K = 64, 5e-5 at K = 2048. TU_TOL_F32 (1e-5 + 1e-4 |ref|)
// holds for K <= 128, TU_TOL_F32_LONG (1e-4 + 1e-3 |ref|) for longer sums. The
// vector exp / erfc of the epilogue are good to ~1e-6 relative, well inside
// (test_sgemm_activations checks them alone, tighter).
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_internal.h"
#include "ref/ref_gemm.h"
#include "util/test_util.h"

static const char *const ISAS[] = {"avx512", "avx2", "scalar"};
#define NISAS 3
static const char *const ACT_NAMES[] = {"none", "relu", "gelu", "sigmoid"};

static tu_tol gemm_tol(int64_t K) { return K <= 128 ? TU_TOL_F32 : TU_TOL_F32_LONG; }

// Force a GEMM path. Returns 0 (after a SKIP line) if this CPU cannot run it.
static int use_isa(const char *name) {
    setenv("ROTO_CPU_ISA", name, 1);
    if (strcmp(gemm_isa_active()->name, name) != 0) {
        printf("SKIP: the %s GEMM path (this CPU cannot run it)\n", name);
        return 0;
    }
    return 1;
}

// Value written into the gaps of C (ld > row length): must survive.
#define C_GAP 777.0f

typedef struct {
    int64_t M, N, K;
    int trans_b, with_bias;
    rt_act act;
    float alpha, beta;
    int64_t pad;  // extra elements per row of A, B and C
} gemm_case;

// Run one case with the current ISA and compare with the reference. The gaps
// of A and B hold NaN (must not be read), unwritten C is NaN (must be written),
// the gaps of C hold C_GAP (must not be written).
static void run_case(const gemm_case *c, tu_rng *rng) {
    int64_t M = c->M, N = c->N, K = c->K;
    int64_t lda = K + c->pad, ldc = N + c->pad;
    int64_t brows = c->trans_b ? N : K, ldb = (c->trans_b ? K : N) + c->pad;
    size_t na = (size_t)(M * lda), nb = (size_t)(brows * ldb), nc = (size_t)(M * ldc);
    float *A = tu_alloc_f32(na), *B = tu_alloc_f32(nb), *C = tu_alloc_f32(nc);
    float *C0 = tu_alloc_f32(nc), *bias = tu_alloc_f32((size_t)N);
    double *ref = malloc(sizeof(double) * (size_t)(M * N > 0 ? M * N : 1));
    float *got = tu_alloc_f32((size_t)(M * N));
    ck_assert_ptr_nonnull(ref);

    tu_poison_f32(A, na);
    tu_poison_f32(B, nb);
    for (int64_t m = 0; m < M; m++) tu_fill_uniform(rng, A + m * lda, (size_t)K, -1, 1);
    for (int64_t r = 0; r < brows; r++)
        tu_fill_uniform(rng, B + r * ldb, (size_t)(c->trans_b ? K : N), -1, 1);
    tu_fill_uniform(rng, bias, (size_t)N, -1, 1);
    for (size_t i = 0; i < nc; i++) C[i] = C_GAP;
    for (int64_t m = 0; m < M; m++) {
        if (c->beta != 0.0f) tu_fill_uniform(rng, C + m * ldc, (size_t)N, -1, 1);
        else tu_poison_f32(C + m * ldc, (size_t)N);
    }
    memcpy(C0, C, nc * sizeof(float));

    const float *b = c->with_bias ? bias : NULL;
    ref_gemm(M, N, K, A, lda, B, ldb, c->trans_b, b, c->act, c->alpha, c->beta, C0, ldc, ref);
    cpu_gemm_args g = {
        .M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
        .trans_b = c->trans_b, .C = C, .ldc = ldc, .bias = b, .act = c->act,
        .alpha = c->alpha, .beta = c->beta,
    };
    cpu_sgemm(&g);

    for (int64_t m = 0; m < M; m++) {
        memcpy(got + m * N, C + m * ldc, (size_t)N * sizeof(float));
        for (int64_t n = N; n < ldc; n++)
            ck_assert_msg(C[m * ldc + n] == C_GAP, "C gap (%lld, %lld) was written",
                          (long long)m, (long long)n);
    }
    char what[160];
    snprintf(what, sizeof what, "%s %lldx%lldx%lld trans_b %d bias %d act %s alpha %g beta %g pad %lld",
             gemm_isa_active()->name, (long long)M, (long long)N, (long long)K, c->trans_b,
             c->with_bias, ACT_NAMES[c->act], (double)c->alpha, (double)c->beta,
             (long long)c->pad);
    tu_check_close(got, ref, (size_t)(M * N), gemm_tol(K), what);
    free(A), free(B), free(C), free(C0), free(bias), free(ref), free(got);
}

// Eight variants of a shape: both trans_b, every act, bias on/off, alpha != 1,
// beta with and without an activation, row gaps or none.
static void run_variants(int64_t M, int64_t N, int64_t K, tu_rng *rng) {
    for (int v = 0; v < 8; v++) {
        gemm_case c = {M, N, K, v & 1, (v >> 1) & 1, (rt_act)(v % 4), 1.0f, 0.0f, 0};
        if (v == 2 || v == 5) c.alpha = 0.75f;
        if (v == 4) c.beta = 0.5f;               // C_PRE, no act
        if (v == 6) c.beta = -0.5f;              // C_POST after GELU
        if (v % 3 != 0) c.pad = 1 + v;
        run_case(&c, rng);
    }
}

// Shapes around the register tiles (12x32, 6x16, 4x16) and the cache blocks:
// K above GEMM_KC_MAX (several k blocks), N above one column block.
static const int64_t SHAPES[][3] = {
    {1, 1, 1},    {17, 33, 65},  {1, 513, 7}, {513, 1, 7},  {12, 32, 16}, {13, 33, 17},
    {11, 31, 15}, {6, 16, 3},    {25, 97, 40}, {2, 3, 300}, {37, 45, 2048}, {3, 700, 384},
    {64, 40, 777}, {7, 17, 1},
};

START_TEST(test_sgemm_shapes) {
    const char *isa = ISAS[_i];
    if (!use_isa(isa)) return;
    tu_rng rng;
    tu_rng_seed(&rng, 100 + (uint64_t)_i);
    for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
        run_variants(SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], &rng);
    unsetenv("ROTO_CPU_ISA");
}
END_TEST

// Shapes big enough for the threaded split (a few million flops and up), with
// 2 and 3 threads: rows split (tall), columns split (short and wide), several
// k and column blocks, and act + beta, which keeps K in one block. The fork
// decision's lateness model is switched off so these run threaded even when
// the machine is busy.
START_TEST(test_sgemm_threaded) {
    const char *isa = ISAS[_i];
    if (!use_isa(isa)) return;
    tu_rng rng;
    tu_rng_seed(&rng, 200 + (uint64_t)_i);
    gemm_set_always_fork(1);
    int saved = omp_get_max_threads();
    for (int nth = 2; nth <= 3; nth++) {
        omp_set_num_threads(nth);
        gemm_case cases[] = {
            {301, 700, 390, 1, 1, RT_ACT_GELU, 1.0f, 0.0f, 5},
            {8, 4000, 128, 0, 1, RT_ACT_RELU, 1.0f, 0.0f, 0},
            {150, 67, 1000, 1, 1, RT_ACT_SIGMOID, 0.5f, 0.25f, 3},
            {1000, 96, 96, 1, 0, RT_ACT_NONE, 1.0f, 1.0f, 0},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], &rng);
    }
    omp_set_num_threads(saved);
    gemm_set_always_fork(0);
    unsetenv("ROTO_CPU_ISA");
}
END_TEST

// The epilogue activations over a wide input range, isolated: C = act(x) from
// a 1 x N x 1 GEMM with A = 1 and B = x (exp clamping, erfc both signs).
START_TEST(test_sgemm_activations) {
    const char *isa = ISAS[_i];
    if (!use_isa(isa)) return;
    enum { N = 333 };
    float one = 1.0f, x[N], y[N];
    double ref[N];
    for (int i = 0; i < N; i++) x[i] = -20.0f + 40.0f * (float)i / (N - 1);
    x[0] = -100.0f, x[1] = 100.0f, x[2] = -1e-6f, x[3] = 1e-6f, x[4] = 0.0f;
    for (int a = 0; a < 4; a++) {
        tu_poison_f32(y, N);
        cpu_gemm_args g = {
            .M = 1, .N = N, .K = 1, .A = &one, .lda = 1, .B = x, .ldb = N, .trans_b = 0,
            .C = y, .ldc = N, .bias = NULL, .act = (rt_act)a, .alpha = 1.0f, .beta = 0.0f,
        };
        cpu_sgemm(&g);
        for (int i = 0; i < N; i++) ref[i] = ref_act(x[i], (rt_act)a);
        char what[64];
        snprintf(what, sizeof what, "%s act %s", isa, ACT_NAMES[a]);
        // Tighter than TU_TOL_F32 so a wrong polynomial coefficient shows: the
        // vector exp / erfc are good to ~1e-6 relative (GELU measured 9.6e-7),
        // and no sum is involved.
        tu_check_close(y, ref, N, (tu_tol){1e-6, 4e-6}, what);
    }
    unsetenv("ROTO_CPU_ISA");
}
END_TEST

// K == 0: C = act(bias) + beta*C. M == 0 or N == 0: nothing is written.
START_TEST(test_sgemm_degenerate) {
    float A[4] = {0}, B[4] = {0}, bias[3] = {-1.0f, 0.5f, 2.0f}, C[6], C0[6];
    double ref[6];
    for (int a = 0; a < 4; a++)
        for (int with_beta = 0; with_beta < 2; with_beta++) {
            for (int i = 0; i < 6; i++) C[i] = C0[i] = 0.1f * (float)i - 0.2f;
            float beta = with_beta ? 0.5f : 0.0f;
            cpu_gemm_args g = {
                .M = 2, .N = 3, .K = 0, .A = A, .lda = 1, .B = B, .ldb = 3, .trans_b = a & 1,
                .C = C, .ldc = 3, .bias = bias, .act = (rt_act)a, .alpha = 1.0f, .beta = beta,
            };
            cpu_sgemm(&g);
            ref_gemm(2, 3, 0, A, 1, B, 3, a & 1, bias, (rt_act)a, 1.0, beta, C0, 3, ref);
            tu_check_close(C, ref, 6, TU_TOL_F32, "K == 0 with bias");
        }
    // K == 0, no bias, beta 0: zeros (C starts as NaN).
    tu_poison_f32(C, 6);
    cpu_gemm_args z = {.M = 2, .N = 3, .K = 0, .A = A, .lda = 1, .B = B, .ldb = 3, .C = C,
                       .ldc = 3, .alpha = 1.0f};
    cpu_sgemm(&z);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(C[i], 0.0f);
    // Empty outputs: C untouched.
    for (int i = 0; i < 6; i++) C[i] = 5.0f;
    cpu_gemm_args e = {.M = 0, .N = 3, .K = 2, .A = A, .lda = 2, .B = B, .ldb = 3, .C = C,
                       .ldc = 3, .alpha = 1.0f};
    cpu_sgemm(&e);
    e.M = 2, e.N = 0;
    cpu_sgemm(&e);
    cpu_sgemm_batched(&e, 4, 4, 0, 6);
    e.N = 3;
    cpu_sgemm_batched(&e, 0, 4, 0, 6);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(C[i], 5.0f);
}
END_TEST

// cpu_sgemm_batched: many small GEMMs (split over the batch: attention-like
// 64x64x96), a few large ones (split inside each GEMM), B broadcast
// (stride_b 0; without gaps that is one GEMM of batch*M rows) and batch
// strides with gaps between the matrices.
static void run_batched(int64_t batch, int64_t M, int64_t N, int64_t K, int trans_b,
                        int broadcast_b, float beta, int gaps, tu_rng *rng) {
    int64_t sa = M * K + (gaps ? 3 : 0), sc = M * N + (gaps ? 5 : 0);
    int64_t brows = trans_b ? N : K, bcols = trans_b ? K : N;
    int64_t sb = broadcast_b ? 0 : brows * bcols + (gaps ? 7 : 0);
    size_t na = (size_t)(batch * sa), nb = (size_t)(broadcast_b ? brows * bcols : batch * sb);
    size_t nc = (size_t)(batch * sc);
    float *A = tu_alloc_f32(na), *B = tu_alloc_f32(nb), *C = tu_alloc_f32(nc),
          *C0 = tu_alloc_f32(nc);
    double *ref = malloc(sizeof(double) * (size_t)(batch * M * N));
    float *got = tu_alloc_f32((size_t)(batch * M * N));
    ck_assert_ptr_nonnull(ref);
    tu_fill_uniform(rng, A, na, -1, 1);
    tu_fill_uniform(rng, B, nb, -1, 1);
    if (beta != 0.0f) tu_fill_uniform(rng, C, nc, -1, 1);
    else tu_poison_f32(C, nc);
    memcpy(C0, C, nc * sizeof(float));
    cpu_gemm_args g = {
        .M = M, .N = N, .K = K, .A = A, .lda = K, .B = B, .ldb = bcols, .trans_b = trans_b,
        .C = C, .ldc = N, .bias = NULL, .act = RT_ACT_NONE, .alpha = 0.125f, .beta = beta,
    };
    cpu_sgemm_batched(&g, batch, sa, sb, sc);
    for (int64_t i = 0; i < batch; i++) {
        ref_gemm(M, N, K, A + i * sa, K, B + i * sb, bcols, trans_b, NULL, RT_ACT_NONE, 0.125,
                 beta, C0 + i * sc, N, ref + i * M * N);
        memcpy(got + i * M * N, C + i * sc, (size_t)(M * N) * sizeof(float));
    }
    char what[128];
    snprintf(what, sizeof what, "%s batched %lld x %lldx%lldx%lld trans_b %d bcast %d",
             gemm_isa_active()->name, (long long)batch, (long long)M, (long long)N,
             (long long)K, trans_b, broadcast_b);
    tu_check_close(got, ref, (size_t)(batch * M * N), gemm_tol(K), what);
    free(A), free(B), free(C), free(C0), free(ref), free(got);
}

START_TEST(test_sgemm_batched) {
    const char *isa = ISAS[_i];
    if (!use_isa(isa)) return;
    tu_rng rng;
    tu_rng_seed(&rng, 300 + (uint64_t)_i);
    gemm_set_always_fork(1);
    int saved = omp_get_max_threads();
    omp_set_num_threads(2);
    run_batched(64, 64, 64, 96, 1, 0, 0.0f, 1, &rng);    // q @ k^T per head/window
    run_batched(64, 64, 96, 64, 0, 0, 0.0f, 0, &rng);    // p @ v
    run_batched(37, 5, 19, 23, 0, 1, 0.5f, 1, &rng);     // odd sizes, B broadcast, beta
    run_batched(37, 5, 19, 23, 1, 1, 0.0f, 0, &rng);     // broadcast, merged into one GEMM
    run_batched(3, 150, 120, 300, 1, 0, 0.0f, 1, &rng);  // few large: split inside each
    run_batched(3, 150, 120, 300, 0, 1, 1.0f, 1, &rng);
    run_batched(1, 9, 9, 9, 1, 0, 0.0f, 0, &rng);
    omp_set_num_threads(saved);
    gemm_set_always_fork(0);
    unsetenv("ROTO_CPU_ISA");
}
END_TEST

// Several threads of the caller's own parallel region each run a GEMM at once
// (each then runs single-threaded with its own packing buffer).
START_TEST(test_sgemm_from_threads) {
    enum { T = 3, M = 100, N = 70, K = 90 };
    tu_rng rng;
    tu_rng_seed(&rng, 350);
    float *A = tu_alloc_f32(T * M * K), *B = tu_alloc_f32(T * N * K), *C = tu_alloc_f32(T * M * N);
    double *ref = malloc(sizeof(double) * T * M * N);
    ck_assert_ptr_nonnull(ref);
    tu_fill_uniform(&rng, A, T * M * K, -1, 1);
    tu_fill_uniform(&rng, B, T * N * K, -1, 1);
    tu_poison_f32(C, T * M * N);
#pragma omp parallel for num_threads(T)
    for (int t = 0; t < T; t++) {
        cpu_gemm_args g = {
            .M = M, .N = N, .K = K, .A = A + t * M * K, .lda = K, .B = B + t * N * K, .ldb = K,
            .trans_b = 1, .C = C + t * M * N, .ldc = N, .act = RT_ACT_RELU, .alpha = 1.0f,
        };
        cpu_sgemm(&g);
    }
    for (int t = 0; t < T; t++)
        ref_gemm(M, N, K, A + t * M * K, K, B + t * N * K, K, 1, NULL, RT_ACT_RELU, 1.0, 0.0,
                 NULL, N, ref + t * M * N);
    tu_check_close(C, ref, T * M * N, TU_TOL_F32, "cpu_sgemm from 3 caller threads");
    free(A), free(B), free(C), free(ref);
}
END_TEST

// ---- the op layer --------------------------------------------------------------

// rt_linear with 1-d, 3-d and 4-d x, every activation, with and without bias.
START_TEST(test_linear_op) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 400);
    const int64_t K = 37, N = 45;
    const int64_t lead[][3] = {{0, 0, 0}, {2, 5, 0}, {2, 3, 4}};  // leading dims
    for (int l = 0; l < 3; l++)
        for (int a = 0; a < 4; a++) {
            int ndim = l == 0 ? 1 : l + 2;
            int64_t M = 1, xs[4], ys[4];
            for (int i = 0; i + 1 < ndim; i++) M *= lead[l][i], xs[i] = ys[i] = lead[l][i];
            xs[ndim - 1] = K, ys[ndim - 1] = N;
            float *x = tu_alloc_f32((size_t)(M * K)), *w = tu_alloc_f32((size_t)(N * K));
            float *b = tu_alloc_f32((size_t)N), *y = tu_alloc_f32((size_t)(M * N));
            double *ref = malloc(sizeof(double) * (size_t)(M * N));
            tu_fill_uniform(&rng, x, (size_t)(M * K), -1, 1);
            tu_fill_uniform(&rng, w, (size_t)(N * K), -1, 1);
            tu_fill_uniform(&rng, b, (size_t)N, -1, 1);
            tu_poison_f32(y, (size_t)(M * N));
            rt_tensor tx = rt_tensor_make(x, RT_F32, RT_DEV_CPU, ndim, xs);
            rt_tensor ty = rt_tensor_make(y, RT_F32, RT_DEV_CPU, ndim, ys);
            rt_tensor tw = rt_f32_2d(w, N, K), tb = rt_f32_1d(b, N);
            int with_bias = (a + l) % 2 == 0;
            roto_status st = rt_linear(&ctx, &ty, &tx, &tw, with_bias ? &tb : NULL, (rt_act)a);
            ck_assert_msg(st == ROTO_OK, "rt_linear: %s", roto_last_error());
            ref_gemm(M, N, K, x, K, w, K, 1, with_bias ? b : NULL, (rt_act)a, 1.0, 0.0, NULL, N,
                     ref);
            tu_check_close(y, ref, (size_t)(M * N), TU_TOL_F32, "rt_linear");
            free(x), free(w), free(b), free(y), free(ref);
        }
    rt_ctx_destroy(&ctx);
}
END_TEST

// Compare c (any strides, 3-d or 4-d) with a reference walking the same views.
static void check_matmul(const rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                         const float *c_before, int trans_b, float alpha, float beta,
                         const char *what) {
    int d = a->ndim;
    int64_t M = a->shape[d - 2], K = a->shape[d - 1];
    int64_t N = c->shape[d - 1];
    int64_t B0 = d == 4 ? a->shape[0] : 1, B1 = d == 4 ? a->shape[1] : a->shape[0];
    double *ref = malloc(sizeof(double) * (size_t)(B0 * B1 * M * N));
    float *got = malloc(sizeof(float) * (size_t)(B0 * B1 * M * N));
    ck_assert(ref && got);
    int64_t bb0 = d == 4 ? bm->shape[0] : 1, bb1 = d == 4 ? bm->shape[1] : bm->shape[0];
    for (int64_t i0 = 0; i0 < B0; i0++)
        for (int64_t i1 = 0; i1 < B1; i1++) {
            // Element pointers of this batch (a 1-batch b broadcasts).
            int64_t j0 = bb0 == 1 ? 0 : i0, j1 = bb1 == 1 ? 0 : i1;
            const float *pa = d == 4 ? rt_elem_ptr(a, i0, i1, 0, 0) : rt_elem_ptr(a, i1, 0, 0, 0);
            const float *pb = d == 4 ? rt_elem_ptr(bm, j0, j1, 0, 0) : rt_elem_ptr(bm, j1, 0, 0, 0);
            float *pc = d == 4 ? rt_elem_ptr(c, i0, i1, 0, 0) : rt_elem_ptr(c, i1, 0, 0, 0);
            const float *pc0 = c_before + (pc - (float *)c->data);
            int64_t idx = (i0 * B1 + i1) * M * N;
            ref_gemm(M, N, K, pa, a->stride[d - 2], pb, bm->stride[d - 2], trans_b, NULL,
                     RT_ACT_NONE, alpha, beta, pc0, c->stride[d - 2], ref + idx);
            for (int64_t m = 0; m < M; m++)
                memcpy(got + idx + m * N, pc + m * c->stride[d - 2], (size_t)N * sizeof(float));
        }
    tu_check_close(got, ref, (size_t)(B0 * B1 * M * N), gemm_tol(K), what);
    free(ref), free(got);
}

// rt_matmul on contiguous 3-d and 4-d tensors: both trans_b, alpha/beta, a
// broadcast b.
START_TEST(test_matmul_op) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 500);
    const int64_t M = 17, K = 33, N = 20;
    for (int t = 0; t < 2; t++)
        for (int bcast = 0; bcast < 2; bcast++)
            for (int four = 0; four < 2; four++) {
                int64_t B0 = four ? 2 : 1, B1 = 3, nbb = bcast ? 1 : B0 * B1;
                float *a = tu_alloc_f32((size_t)(B0 * B1 * M * K));
                float *b = tu_alloc_f32((size_t)(nbb * K * N));
                float *c = tu_alloc_f32((size_t)(B0 * B1 * M * N));
                float *c0 = tu_alloc_f32((size_t)(B0 * B1 * M * N));
                tu_fill_uniform(&rng, a, (size_t)(B0 * B1 * M * K), -1, 1);
                tu_fill_uniform(&rng, b, (size_t)(nbb * K * N), -1, 1);
                tu_fill_uniform(&rng, c, (size_t)(B0 * B1 * M * N), -1, 1);
                memcpy(c0, c, sizeof(float) * (size_t)(B0 * B1 * M * N));
                int64_t br = t ? N : K, bc = t ? K : N;
                rt_tensor ta, tb, tc;
                if (four) {
                    ta = rt_f32_4d(a, B0, B1, M, K);
                    tb = bcast ? rt_f32_4d(b, 1, 1, br, bc) : rt_f32_4d(b, B0, B1, br, bc);
                    tc = rt_f32_4d(c, B0, B1, M, N);
                } else {
                    ta = rt_f32_3d(a, B1, M, K);
                    tb = bcast ? rt_f32_3d(b, 1, br, bc) : rt_f32_3d(b, B1, br, bc);
                    tc = rt_f32_3d(c, B1, M, N);
                }
                float alpha = 0.5f, beta = t ? 0.0f : 0.25f;
                roto_status st = rt_matmul(&ctx, &tc, &ta, &tb, t, alpha, beta);
                ck_assert_msg(st == ROTO_OK, "rt_matmul: %s", roto_last_error());
                char what[96];
                snprintf(what, sizeof what, "rt_matmul %s trans_b %d bcast %d",
                         four ? "4-d" : "3-d", t, bcast);
                check_matmul(&tc, &ta, &tb, c0, t, alpha, beta, what);
                free(a), free(b), free(c), free(c0);
            }
    rt_ctx_destroy(&ctx);
}
END_TEST

// Attention through rt_matmul on strided views of a packed qkv buffer
// [1, L, 3*H*D]: q, k, v are [1, H, L, D] views (slice + permute), scores
// = q @ k^T, out = scores @ v written into a [1, L, H, D] buffer through a
// permuted view.
START_TEST(test_matmul_qkv_views) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 600);
    const int64_t L = 29, H = 3, D = 24;
    float *qkv = tu_alloc_f32((size_t)(L * 3 * H * D));
    float *scores = tu_alloc_f32((size_t)(H * L * L)), *out = tu_alloc_f32((size_t)(L * H * D));
    tu_fill_uniform(&rng, qkv, (size_t)(L * 3 * H * D), -1, 1);
    tu_poison_f32(scores, (size_t)(H * L * L));
    tu_poison_f32(out, (size_t)(L * H * D));
    rt_tensor packed = rt_f32_4d(qkv, 1, L, 3 * H, D), views[3];
    const int perm[4] = {0, 2, 1, 3};
    for (int i = 0; i < 3; i++) {
        rt_tensor s;
        ck_assert_int_eq(rt_view_slice(&s, &packed, 2, i * H, H), ROTO_OK);  // [1, L, H, D]
        ck_assert_int_eq(rt_view_permute(&views[i], &s, perm), ROTO_OK);      // [1, H, L, D]
    }
    rt_tensor ts = rt_f32_4d(scores, 1, H, L, L), o = rt_f32_4d(out, 1, L, H, D), to;
    ck_assert_int_eq(rt_view_permute(&to, &o, perm), ROTO_OK);
    float scale = 1.0f / sqrtf((float)D);
    roto_status st = rt_matmul(&ctx, &ts, &views[0], &views[1], 1, scale, 0.0f);
    ck_assert_msg(st == ROTO_OK, "q @ k^T: %s", roto_last_error());
    check_matmul(&ts, &views[0], &views[1], scores, 1, scale, 0.0f, "q @ k^T on qkv views");
    st = rt_matmul(&ctx, &to, &ts, &views[2], 0, 1.0f, 0.0f);
    ck_assert_msg(st == ROTO_OK, "p @ v: %s", roto_last_error());
    check_matmul(&to, &ts, &views[2], out, 0, 1.0f, 0.0f, "scores @ v into a permuted view");
    free(qkv), free(scores), free(out);
    rt_ctx_destroy(&ctx);
}
END_TEST

// Bad arguments come back as a status with a message, never a crash.
START_TEST(test_gemm_op_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float x[6 * 8], w[5 * 8], y[6 * 5], bias[10];
    uint16_t h[64];
    memset(x, 0, sizeof x), memset(w, 0, sizeof w), memset(bias, 0, sizeof bias);
    memset(h, 0, sizeof h);
    rt_tensor tx = rt_f32_2d(x, 6, 8), tw = rt_f32_2d(w, 5, 8), ty = rt_f32_2d(y, 6, 5);
    rt_tensor tb = rt_f32_1d(bias, 5);
    // Shapes.
    rt_tensor bad_w = rt_f32_2d(w, 8, 5);
    ck_assert_int_eq(rt_linear(&ctx, &ty, &tx, &bad_w, NULL, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "linear: w"));
    rt_tensor bad_y = rt_f32_2d(y, 5, 6);
    ck_assert_int_eq(rt_linear(&ctx, &bad_y, &tx, &tw, NULL, RT_ACT_NONE), ROTO_ERR_SHAPE);
    rt_tensor bad_b = rt_f32_1d(bias, 4);
    ck_assert_int_eq(rt_linear(&ctx, &ty, &tx, &tw, &bad_b, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_linear(&ctx, &ty, NULL, &tw, NULL, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    // f16 compute is refused by the CPU backend; a bias of another dtype or a
    // strided bias by the op layer (so every backend gets the same checks).
    int64_t hs[2] = {4, 8}, ws[2] = {2, 8}, ys2[2] = {4, 2};
    rt_tensor hx = rt_tensor_make(h, RT_F16, RT_DEV_CPU, 2, hs);
    rt_tensor hw = rt_tensor_make(h + 32, RT_F16, RT_DEV_CPU, 2, ws);
    rt_tensor hy = rt_tensor_make(h + 48, RT_F16, RT_DEV_CPU, 2, ys2);
    ck_assert_int_eq(rt_linear(&ctx, &hy, &hx, &hw, NULL, RT_ACT_NONE), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "f32"));
    int64_t bs = 5;
    rt_tensor ib = rt_tensor_make(bias, RT_I32, RT_DEV_CPU, 1, &bs);
    ck_assert_int_eq(rt_linear(&ctx, &ty, &tx, &tw, &ib, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "linear: b"));
    rt_tensor sb = tb;
    sb.stride[0] = 2;
    ck_assert_int_eq(rt_linear(&ctx, &ty, &tx, &tw, &sb, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "contiguous"));

    // rt_matmul.
    float a[2 * 3 * 4] = {0}, b[2 * 4 * 5] = {0}, c[2 * 3 * 5];
    rt_tensor ta = rt_f32_3d(a, 2, 3, 4), tbm = rt_f32_3d(b, 2, 4, 5), tc = rt_f32_3d(c, 2, 3, 5);
    ck_assert_int_eq(rt_matmul(&ctx, &tc, &ta, &tbm, 0, 1, 0), ROTO_OK);
    ck_assert_int_eq(rt_matmul(&ctx, &tc, &ta, &tbm, 1, 1, 0), ROTO_ERR_SHAPE);  // K 4 vs 5
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "inner dims"));
    rt_tensor a2 = rt_f32_2d(a, 3, 4), b2 = rt_f32_2d(b, 4, 5), c2 = rt_f32_2d(c, 3, 5);
    ck_assert_int_eq(rt_matmul(&ctx, &c2, &a2, &b2, 0, 1, 0), ROTO_ERR_SHAPE);  // 2-d
    rt_tensor c1 = rt_f32_3d(c, 1, 3, 5);
    ck_assert_int_eq(rt_matmul(&ctx, &c1, &ta, &tbm, 0, 1, 0), ROTO_ERR_SHAPE);  // batches
    float b3[3 * 4 * 5] = {0};
    rt_tensor tb3 = rt_f32_3d(b3, 3, 4, 5);
    ck_assert_int_eq(rt_matmul(&ctx, &tc, &ta, &tb3, 0, 1, 0), ROTO_ERR_SHAPE);
    rt_tensor ta_t = ta;  // last dim not contiguous
    ta_t.stride[2] = 2;
    ck_assert_int_eq(rt_matmul(&ctx, &tc, &ta_t, &tbm, 0, 1, 0), ROTO_ERR_SHAPE);
    rt_tensor alias = rt_f32_3d(a, 2, 3, 5);
    ck_assert_int_eq(rt_matmul(&ctx, &alias, &ta, &tbm, 0, 1, 0), ROTO_ERR_INVALID_ARG);
    // q of a packed qkv buffer with 2 sequences: its batch dims do not merge.
    float qkv[2 * 4 * 3 * 2 * 8] = {0};
    rt_tensor packed = rt_f32_4d(qkv, 2, 4, 3 * 2, 8), s, q;
    const int perm[4] = {0, 2, 1, 3};
    ck_assert_int_eq(rt_view_slice(&s, &packed, 2, 0, 2), ROTO_OK);
    ck_assert_int_eq(rt_view_permute(&q, &s, perm), ROTO_OK);  // [2, 2, 4, 8]
    float sc[2 * 2 * 4 * 4];
    rt_tensor tsc = rt_f32_4d(sc, 2, 2, 4, 4);
    ck_assert_int_eq(rt_matmul(&ctx, &tsc, &q, &q, 1, 1, 0), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "cannot be merged"));
    // f16 matmul: refused by the CPU backend.
    int64_t s3[3] = {1, 2, 2};
    rt_tensor h1 = rt_tensor_make(h, RT_F16, RT_DEV_CPU, 3, s3);
    rt_tensor h2 = rt_tensor_make(h + 8, RT_F16, RT_DEV_CPU, 3, s3);
    rt_tensor h3 = rt_tensor_make(h + 16, RT_F16, RT_DEV_CPU, 3, s3);
    ck_assert_int_eq(rt_matmul(&ctx, &h3, &h1, &h2, 0, 1, 0), ROTO_ERR_UNSUPPORTED);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *gemm_suite(void) {
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("sgemm");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_sgemm_shapes, 0, NISAS);
    tcase_add_loop_test(tc, test_sgemm_threaded, 0, NISAS);
    tcase_add_loop_test(tc, test_sgemm_activations, 0, NISAS);
    tcase_add_loop_test(tc, test_sgemm_batched, 0, NISAS);
    tcase_add_test(tc, test_sgemm_degenerate);
    tcase_add_test(tc, test_sgemm_from_threads);
    suite_add_tcase(s, tc);
    TCase *ops = tcase_create("ops");
    tcase_add_test(ops, test_linear_op);
    tcase_add_test(ops, test_matmul_op);
    tcase_add_test(ops, test_matmul_qkv_views);
    tcase_add_test(ops, test_gemm_op_errors);
    suite_add_tcase(s, ops);
    return s;
}

TU_MAIN(gemm_suite)
