// gpu_bench.c: GPU kernel benchmarks for the CUDA backend, written to
// bench/results/<date>-<gpu>-kernels.json.
//
// - bf16 matrix peak: a large square bf16 GEMM (8192^3), the best of
//   cublasGemmEx and every algorithm cuBLASLt's heuristic offers.
// - GEMM at SAM 2.1 shapes (bf16 data, and f32 data in TF32 mode): roto's
//   cuBLASLt path (cu_gemm: cached plan, first heuristic algorithm) against
//   cublasGemmEx and against the best of a sweep over cuBLASLt's top
//   algorithms.
// - Attention at SAM 2.1 shapes (bf16): the flash kernel against the naive
//   path (cuBLASLt S = q k^T, softmax kernel, cuBLASLt P v). cuDNN's fused SDPA
//   is not here: its graph API was too much to write correctly without a GPU;
//   bench/kernels/torch_sdpa.py times PyTorch's SDPA backends (cuDNN, flash)
//   at the same shapes instead.
// Timing: CUDA events on the context's stream around `iters` back-to-back
// calls after a warm-up, repeated `reps` times; the median per call is kept.
// Inputs are random (never zeros). Shapes bigger than L2 dominate, so cache
// effects are small; the smallest shapes are flagged in the output.
//
// usage: gpu_bench [--out DIR] [--quick]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cudnn.h>

#include "bench/kernels/bench_env.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "kernels/cuda/cuda_internal.h"

static rt_ctx g_ctx;
static cu_state *g_st;
static cublasHandle_t g_blas;
static int g_iters = 20, g_reps = 5;

static void die(const char *what) {
    fprintf(stderr, "gpu_bench: %s: %s\n", what, roto_last_error());
    exit(1);
}
#define CK(call)                                                                              \
    do {                                                                                      \
        cudaError_t _e = (call);                                                              \
        if (_e != cudaSuccess) {                                                              \
            fprintf(stderr, "gpu_bench: %s: %s\n", #call, cudaGetErrorString(_e));            \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

// ---- timing --------------------------------------------------------------------------------

typedef int (*bench_fn)(void *arg);  // returns 0 on success

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Median milliseconds per call, or -1 when fn fails.
static double time_ms(bench_fn fn, void *arg) {
    for (int i = 0; i < 3; i++)
        if (fn(arg)) return -1;
    CK(cudaStreamSynchronize(g_st->stream));
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    double t[32];
    int reps = g_reps < 32 ? g_reps : 32;
    for (int r = 0; r < reps; r++) {
        CK(cudaEventRecord(a, g_st->stream));
        for (int i = 0; i < g_iters; i++)
            if (fn(arg)) return -1;
        CK(cudaEventRecord(b, g_st->stream));
        CK(cudaEventSynchronize(b));
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, a, b));
        t[r] = ms / g_iters;
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    return t[reps / 2];
}

// A device buffer of n random values in [lo, hi) of dtype dt.
static void *dev_random(rt_dtype dt, size_t n, float lo, float hi, uint64_t seed) {
    size_t es = rt_dtype_size(dt);
    float *h = malloc(n * sizeof(float));
    void *hc = malloc(n * es);
    if (!h || !hc) die("host malloc");
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        h[i] = lo + (hi - lo) * (float)((double)((s * 2685821657736338717ull) >> 11) / 9007199254740992.0);
    }
    rt_convert_from_f32(hc, dt, h, n);
    void *d = NULL;
    if (rt_ctx_alloc_persistent(&g_ctx, &d, n * es)) die("device alloc");
    if (rt_ctx_upload(&g_ctx, d, hc, n * es)) die("upload");
    free(h);
    free(hc);
    return d;
}

static void dev_free(void *p, size_t bytes) { rt_ctx_free_persistent(&g_ctx, p, bytes); }

// ---- GEMM ------------------------------------------------------------------------------------

typedef struct {
    cu_gemm_args g;
    cublasComputeType_t compute;
    cudaDataType_t type;
    // cuBLASLt sweep state
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
} gemm_run;

static int run_roto(void *p) { return cu_gemm(g_st, &((gemm_run *)p)->g) != ROTO_OK; }

// C^T (N x M, col-major) = W (op T of col-major K x N) * X^T (col-major K x M).
static int run_gemmex(void *p) {
    gemm_run *r = p;
    const float one = 1.f, zero = 0.f;
    cublasStatus_t s = cublasGemmEx(g_blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)r->g.N, (int)r->g.M,
                                    (int)r->g.K, &one, r->g.B, r->type, (int)r->g.K, r->g.A, r->type,
                                    (int)r->g.K, &zero, r->g.C, r->type, (int)r->g.N, r->compute,
                                    CUBLAS_GEMM_DEFAULT);
    return s != CUBLAS_STATUS_SUCCESS;
}

static int run_lt_algo(void *p) {
    gemm_run *r = p;
    const float one = 1.f, zero = 0.f;
    return cublasLtMatmul(g_st->lt, r->op, &one, r->g.B, r->la, r->g.A, r->lb, &zero, r->g.C, r->lc,
                          r->g.C, r->lc, &r->algo, g_st->lt_ws.ptr, g_st->lt_ws.bytes,
                          g_st->stream) != CUBLAS_STATUS_SUCCESS;
}

// Best time over cuBLASLt's top heuristic algorithms (up to 16).
static double lt_sweep_ms(gemm_run *r, int *n_algos) {
    *n_algos = 0;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    if (cublasLtMatmulDescCreate(&r->op, r->compute, CUDA_R_32F)) return -1;
    cublasLtMatmulDescSetAttribute(r->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    cublasLtMatmulDescSetAttribute(r->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    cublasLtMatrixLayoutCreate(&r->la, r->type, (uint64_t)r->g.K, (uint64_t)r->g.N, r->g.K);
    cublasLtMatrixLayoutCreate(&r->lb, r->type, (uint64_t)r->g.K, (uint64_t)r->g.M, r->g.K);
    cublasLtMatrixLayoutCreate(&r->lc, r->type, (uint64_t)r->g.N, (uint64_t)r->g.M, r->g.N);
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulPreferenceCreate(&pref);
    uint64_t ws = g_st->lt_ws.bytes;
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulHeuristicResult_t res[16];
    int n = 0;
    cublasLtMatmulAlgoGetHeuristic(g_st->lt, r->op, r->la, r->lb, r->lc, r->lc, pref, 16, res, &n);
    cublasLtMatmulPreferenceDestroy(pref);
    double best = -1;
    for (int i = 0; i < n; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        r->algo = res[i].algo;
        double t = time_ms(run_lt_algo, r);
        if (t > 0 && (best < 0 || t < best)) best = t;
        (*n_algos)++;
    }
    cublasLtMatrixLayoutDestroy(r->la);
    cublasLtMatrixLayoutDestroy(r->lb);
    cublasLtMatrixLayoutDestroy(r->lc);
    cublasLtMatmulDescDestroy(r->op);
    return best;
}

typedef struct {
    const char *name;
    int64_t M, N, K;
} gemm_shape;

typedef struct {
    double roto, gemmex, sweep;  // TFLOP/s (0 when it failed)
    int n_algos;
} gemm_result;

static double tflops(double flop, double ms) { return ms > 0 ? flop / (ms * 1e-3) / 1e12 : 0.0; }

// f32 = 0: bf16 data. f32 = 1: f32 data in TF32 mode.
static gemm_result bench_gemm(const gemm_shape *s, int f32) {
    gemm_result out = {0, 0, 0, 0};
    rt_dtype dt = f32 ? RT_F32 : RT_BF16;
    size_t es = rt_dtype_size(dt);
    gemm_run r;
    memset(&r, 0, sizeof r);
    r.g.M = s->M, r.g.N = s->N, r.g.K = s->K, r.g.batch = 1;
    r.g.A = dev_random(dt, (size_t)(s->M * s->K), -1, 1, 1);
    r.g.B = dev_random(dt, (size_t)(s->N * s->K), -1, 1, 2);
    r.g.C = dev_random(dt, (size_t)(s->M * s->N), -1, 1, 3);
    r.g.lda = s->K, r.g.ldb = s->K, r.g.trans_b = 1, r.g.ldc = s->N;
    r.g.ab_type = r.g.c_type = dt;
    r.g.act = RT_ACT_NONE, r.g.alpha = 1.f, r.g.beta = 0.f;
    r.type = f32 ? CUDA_R_32F : CUDA_R_16BF;
    r.compute = f32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    rt_cuda_set_precision(&g_ctx, f32 ? RT_PREC_TF32 : RT_PREC_FP32);
    double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    out.roto = tflops(flop, time_ms(run_roto, &r));
    out.gemmex = tflops(flop, time_ms(run_gemmex, &r));
    out.sweep = tflops(flop, lt_sweep_ms(&r, &out.n_algos));
    dev_free((void *)r.g.A, (size_t)(s->M * s->K) * es);
    dev_free((void *)r.g.B, (size_t)(s->N * s->K) * es);
    dev_free(r.g.C, (size_t)(s->M * s->N) * es);
    rt_cuda_set_precision(&g_ctx, RT_PREC_FP32);
    return out;
}

// ---- attention ---------------------------------------------------------------------------------

typedef struct {
    const char *name;
    int B, H, Lq, Lk, D;
} attn_shape;

typedef struct {
    rt_tensor q, k, v, o;
    int path;
} attn_run;

static int run_attn(void *p) {
    attn_run *a = p;
    return cu_attention_path(&g_ctx, &a->o, &a->q, &a->k, &a->v, NULL, 1.0f / sqrtf((float)a->q.shape[3]),
                             a->path) != ROTO_OK;
}

static void bench_attn(const attn_shape *s, double *flash_tf, double *naive_tf, double *flash_ms,
                       double *naive_ms) {
    int64_t qs[4] = {s->B, s->H, s->Lq, s->D}, ks[4] = {s->B, s->H, s->Lk, s->D};
    size_t nq = (size_t)s->B * s->H * s->Lq * s->D, nk = (size_t)s->B * s->H * s->Lk * s->D;
    attn_run a;
    a.q = rt_tensor_make(dev_random(RT_BF16, nq, -2, 2, 4), RT_BF16, RT_DEV_CUDA, 4, qs);
    a.k = rt_tensor_make(dev_random(RT_BF16, nk, -1, 1, 5), RT_BF16, RT_DEV_CUDA, 4, ks);
    a.v = rt_tensor_make(dev_random(RT_BF16, nk, -1, 1, 6), RT_BF16, RT_DEV_CUDA, 4, ks);
    a.o = rt_tensor_make(dev_random(RT_BF16, nq, -1, 1, 7), RT_BF16, RT_DEV_CUDA, 4, qs);
    double flop = 4.0 * s->B * s->H * (double)s->Lq * (double)s->Lk * s->D;
    a.path = 1;
    *flash_ms = time_ms(run_attn, &a);
    if (*flash_ms < 0) fprintf(stderr, "flash failed on %s: %s\n", s->name, roto_last_error());
    a.path = 2;
    *naive_ms = time_ms(run_attn, &a);
    if (*naive_ms < 0) fprintf(stderr, "naive failed on %s: %s\n", s->name, roto_last_error());
    *flash_tf = tflops(flop, *flash_ms);
    *naive_tf = tflops(flop, *naive_ms);
    dev_free(a.q.data, nq * 2);
    dev_free(a.k.data, nk * 2);
    dev_free(a.v.data, nk * 2);
    dev_free(a.o.data, nq * 2);
}

int main(int argc, char **argv) {
    const char *out_dir = "bench/results";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else {
            fprintf(stderr, "usage: %s [--out DIR] [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (quick) g_iters = 5, g_reps = 3;
    if (rt_ctx_create(&g_ctx, rt_cuda_backend(), 0)) die("cuda context");
    g_st = cu_get(&g_ctx);
    if (cublasCreate(&g_blas) != CUBLAS_STATUS_SUCCESS) die("cublasCreate");
    cublasSetStream(g_blas, g_st->stream);
    cublasSetWorkspace(g_blas, g_st->lt_ws.ptr, g_st->lt_ws.bytes);

    char gpu[256], driver[64], commit[64], date[32];
    int cc_major = 0, cc_minor = 0, dev = 0, rt_ver = 0, drv_ver = 0;
    rt_cuda_ctx_info(&g_ctx, &dev, gpu, sizeof gpu, &cc_major, &cc_minor);
    cudaRuntimeGetVersion(&rt_ver);
    cudaDriverGetVersion(&drv_ver);
    bench_shell_line("nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null", driver,
                     sizeof driver);
    if (!driver[0]) snprintf(driver, sizeof driver, "unknown (CUDA driver API %d)", drv_ver);
    bench_commit(commit, sizeof commit);
    bench_date(date, sizeof date);
    printf("GPU %s (sm_%d%d, %d SMs), driver %s, CUDA runtime %d, cuBLASLt %zu, cuDNN %zu, commit %s\n",
           gpu, cc_major, cc_minor, g_st->sm_count, driver, rt_ver, cublasLtGetVersion(),
           cudnnGetVersion(), commit);

    // bf16 peak: 8192^3.
    gemm_shape peak_shape = {"square_8192", 8192, 8192, 8192};
    gemm_result pk = bench_gemm(&peak_shape, 0);
    double peak = pk.sweep > pk.gemmex ? pk.sweep : pk.gemmex;
    if (pk.roto > peak) peak = pk.roto;
    printf("bf16 matrix peak (8192^3): %.1f TFLOP/s (gemmex %.1f, sweep %.1f, roto %.1f)\n", peak,
           pk.gemmex, pk.sweep, pk.roto);

    static const gemm_shape gemms[] = {
        {"hiera_t_s1_qkv", 65536, 288, 96},      {"hiera_t_s1_mlp_up", 65536, 384, 96},
        {"hiera_l_s3_mlp_up", 4096, 2304, 576},  {"hiera_l_s3_mlp_down", 4096, 576, 2304},
        {"neck_l_s0_1x1", 65536, 256, 144},      {"memattn_q_out", 4096, 256, 256},
        {"memattn_ffn_up", 4096, 2048, 256},     {"memattn_ffn_down", 4096, 256, 2048},
        {"memattn_cross_kv", 28736, 256, 64},    {"memenc_pw_up", 4096, 1024, 256},
        {"mask_gemm", 4, 65536, 32},
    };
    static const attn_shape attns[] = {
        {"memory_attn_cross", 1, 1, 4096, 28736, 256},
        {"memory_attn_self", 1, 1, 4096, 4096, 256},
        {"hiera_ts_global_hd96", 1, 4, 4096, 4096, 96},
        {"hiera_bplus_global_hd56", 1, 8, 4096, 4096, 56},
        {"hiera_l_global_hd72", 1, 8, 4096, 4096, 72},
        {"hiera_t_s1_window64_hd96", 1024, 1, 64, 64, 96},
        {"hiera_ts_s3_window196_hd96", 25, 4, 196, 196, 96},
        {"decoder_token_to_image_hd32", 1, 8, 8, 4096, 32},
    };
    const int ng = sizeof gemms / sizeof *gemms, na = sizeof attns / sizeof *attns;

    char path[512];
    bench_result_path(path, sizeof path, out_dir, date, gpu, "kernels");
    FILE *js = fopen(path, "w");
    if (!js) {
        fprintf(stderr, "gpu_bench: cannot write %s\n", path);
        return 1;
    }
    fprintf(js, "{\n  \"date\": \"%s\",\n  \"gpu\": \"%s\",\n  \"compute_capability\": \"%d.%d\",\n", date,
            gpu, cc_major, cc_minor);
    fprintf(js, "  \"sms\": %d,\n  \"driver\": \"%s\",\n  \"cuda_runtime\": %d,\n", g_st->sm_count,
            driver, rt_ver);
    fprintf(js, "  \"cublaslt\": %zu,\n  \"cudnn\": %zu,\n  \"git_commit\": \"%s\",\n",
            cublasLtGetVersion(), cudnnGetVersion(), commit);
    fprintf(js, "  \"timing\": \"median of %d reps of %d calls, CUDA events, after 3 warm-up calls\",\n",
            g_reps, g_iters);
    fprintf(js, "  \"bf16_peak_tflops\": %.2f,\n  \"gemm\": [\n", peak);

    printf("\n%-22s %6s %6s %6s %5s | %9s %9s %9s  (TFLOP/s)\n", "GEMM", "M", "N", "K", "type",
           "roto", "gemmex", "lt-best");
    for (int f32 = 0; f32 < 2; f32++)
        for (int i = 0; i < ng; i++) {
            gemm_result r = bench_gemm(&gemms[i], f32);
            printf("%-22s %6lld %6lld %6lld %5s | %9.1f %9.1f %9.1f\n", gemms[i].name,
                   (long long)gemms[i].M, (long long)gemms[i].N, (long long)gemms[i].K,
                   f32 ? "tf32" : "bf16", r.roto, r.gemmex, r.sweep);
            fprintf(js,
                    "    {\"name\": \"%s\", \"M\": %lld, \"N\": %lld, \"K\": %lld, \"type\": \"%s\", "
                    "\"roto_tflops\": %.2f, \"cublas_gemmex_tflops\": %.2f, "
                    "\"cublaslt_sweep_best_tflops\": %.2f, \"sweep_algos\": %d}%s\n",
                    gemms[i].name, (long long)gemms[i].M, (long long)gemms[i].N,
                    (long long)gemms[i].K, f32 ? "f32 (tf32)" : "bf16", r.roto, r.gemmex, r.sweep,
                    r.n_algos, f32 == 1 && i == ng - 1 ? "" : ",");
        }
    fprintf(js, "  ],\n  \"attention\": [\n");
    printf("\n%-28s %5s %3s %5s %6s %4s | %9s %9s | %8s %8s %7s\n", "attention (bf16)", "B", "H",
           "Lq", "Lk", "D", "flash TF", "naive TF", "flash ms", "naive ms", "%peak");
    double mem_flash = 0, mem_naive = 0;
    for (int i = 0; i < na; i++) {
        double ft, nt, fm, nm;
        bench_attn(&attns[i], &ft, &nt, &fm, &nm);
        if (i == 0) mem_flash = ft, mem_naive = nt;
        printf("%-28s %5d %3d %5d %6d %4d | %9.1f %9.1f | %8.3f %8.3f %6.1f%%\n", attns[i].name,
               attns[i].B, attns[i].H, attns[i].Lq, attns[i].Lk, attns[i].D, ft, nt, fm, nm,
               peak > 0 ? 100.0 * ft / peak : 0.0);
        fprintf(js,
                "    {\"name\": \"%s\", \"B\": %d, \"H\": %d, \"Lq\": %d, \"Lk\": %d, \"D\": %d, "
                "\"flash_ms\": %.4f, \"flash_tflops\": %.2f, \"naive_ms\": %.4f, "
                "\"naive_tflops\": %.2f, \"flash_pct_of_bf16_peak\": %.1f}%s\n",
                attns[i].name, attns[i].B, attns[i].H, attns[i].Lq, attns[i].Lk, attns[i].D, fm, ft,
                nm, nt, peak > 0 ? 100.0 * ft / peak : 0.0, i == na - 1 ? "" : ",");
    }
    int beats = mem_flash > mem_naive;
    double pct = peak > 0 ? 100.0 * mem_flash / peak : 0.0;
    fprintf(js, "  ],\n  \"acceptance\": {\"memory_attn_flash_beats_naive\": %s, "
                "\"memory_attn_flash_pct_of_peak\": %.1f, \"target_pct\": 50}\n}\n",
            beats ? "true" : "false", pct);
    fclose(js);
    printf("\nacceptance (memory attention 4096 x 28736 x 256): flash %s naive (%.1f vs %.1f "
           "TFLOP/s), %.1f%% of the bf16 peak (target >= 50%%)\n",
           beats ? "beats" : "does NOT beat", mem_flash, mem_naive, pct);
    printf("wrote %s\n", path);
    cublasDestroy(g_blas);
    rt_ctx_destroy(&g_ctx);
    return 0;
}
