// gemm_bench.c: GFLOP/s of roto's cpu_sgemm against OpenBLAS cblas_sgemm at
// the GEMM shapes of SAM 2.1 (Linear layers: A = activations [M, K] row-major,
// B = weight [N, K], i.e. trans_b = 1), same machine, same thread count.
//
//   make bench                      (or build-dir/bench/gemm_bench [options])
//   --threads N    threads for both libraries (default: OMP_NUM_THREADS or all)
//   --reps N       timed runs per shape and library (default 9), median reported
//   --json FILE    also write the table as JSON
//   --quick        only the two acceptance shapes
//   --shape MxNxK[:batch[:trans_b]]  only this shape (repeatable; trans_b 1
//                  unless given)
//
// The libraries must not run interleaved: after a call, each one's idle worker
// threads keep spinning for a while (OpenBLAS's for up to ~0.1 s) and would
// steal the cores from the other. So each library runs its timed calls as a
// block after a pause and two untimed warm-up calls; three rounds of blocks per
// shape spread slow phases of a noisy (virtual) machine over both. The two
// outputs are compared as a sanity check (max relative difference is printed).
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/ctx.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_internal.h"

// After roto's headers: OpenBLAS's cblas.h pulls in <complex.h>, whose macro
// `I` would clash with parameter names there.
#include <cblas.h>

// OpenBLAS extensions (declared in its cblas.h, repeated so the intent is clear).
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

typedef struct {
    int64_t M, N, K;
    const char *what;
    int acceptance;   // part of the project's acceptance criterion
    int64_t batch;    // > 1: cpu_sgemm_batched vs a loop of cblas_sgemm calls
    int trans_b;
} shape;

#define LINEAR(M, N, K, what, acc) {M, N, K, what, acc, 1, 1}

// SAM 2.1 shapes (docs: /work/shared/research/sam2_spec.md, section 3).
static const shape SHAPES[] = {
    LINEAR(4096, 256, 256, "mem-attn q/k/v/out proj", 1),
    LINEAR(16384, 384, 96, "Hiera stage-1 MLP up (M cut)", 1),
    LINEAR(65536, 96, 96, "Hiera stage-1 attn proj (T/S)", 0),
    LINEAR(16384, 288, 96, "Hiera stage-1 qkv (T/S, M cut)", 0),
    LINEAR(16384, 96, 384, "Hiera stage-1 MLP down (M cut)", 0),
    LINEAR(4096, 2048, 256, "mem-attn FFN up", 0),
    LINEAR(4096, 256, 2048, "mem-attn FFN down", 0),
    LINEAR(16384, 256, 64, "mem-attn cross k/v proj (M cut)", 0),
    LINEAR(16384, 64, 256, "conv_s1 1x1", 0),
    LINEAR(4096, 1024, 256, "mem-encoder pointwise up", 0),
    LINEAR(4096, 768, 768, "Hiera-L stage-3 qkv-ish (d=576->3d)", 0),
    LINEAR(16, 65536, 32, "mask GEMM [B*4,32]x[32,65536] (B=4)", 0),
    LINEAR(10, 2048, 256, "decoder token MLP", 0),
    // Window attention of Hiera stage 1 (64-token windows, head dim 96), per
    // window and head: batched GEMMs (OpenBLAS: one call per matrix).
    {64, 64, 96, "batched q @ k^T (1024 windows)", 0, 1024, 1},
    {64, 96, 64, "batched p @ v (1024 windows)", 0, 1024, 0},
};
#define NSHAPES ((int)(sizeof SHAPES / sizeof *SHAPES))

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void run_ours(const shape *s, const float *A, const float *B, float *C) {
    cpu_gemm_args g = {
        .M = s->M, .N = s->N, .K = s->K, .A = A, .lda = s->K, .B = B,
        .ldb = s->trans_b ? s->K : s->N, .trans_b = s->trans_b, .C = C, .ldc = s->N,
        .bias = NULL, .act = RT_ACT_NONE, .alpha = 1.0f, .beta = 0.0f,
    };
    if (s->batch > 1)
        cpu_sgemm_batched(&g, s->batch, s->M * s->K, s->N * s->K, s->M * s->N);
    else
        cpu_sgemm(&g);
}

static void run_openblas(const shape *s, const float *A, const float *B, float *C) {
    for (int64_t i = 0; i < s->batch; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, s->trans_b ? CblasTrans : CblasNoTrans,
                    (int)s->M, (int)s->N, (int)s->K, 1.0f, A + i * s->M * s->K, (int)s->K,
                    B + i * s->N * s->K, s->trans_b ? (int)s->K : (int)s->N, 0.0f,
                    C + i * s->M * s->N, (int)s->N);
}

#define ROUNDS 3

typedef void (*gemm_fn)(const shape *, const float *, const float *, float *);

// Pause (other threads go idle), warm up twice, then time n calls.
static void time_block(gemm_fn fn, const shape *s, const float *A, const float *B, float *C,
                       double *times, int n) {
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    fn(s, A, B, C);
    fn(s, A, B, C);
    for (int r = 0; r < n; r++) {
        double t0 = rt_now_seconds();
        fn(s, A, B, C);
        times[r] = rt_now_seconds() - t0;
    }
}

static float *alloc_random(size_t n, unsigned *seed) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "gemm_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return p;
}

int main(int argc, char **argv) {
    int threads = 0, reps = 9, quick = 0, nuser = 0;
    shape user[16];
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc && nuser < 16) {
            long long m, n, k, batch = 1;
            int tb = 1;
            int got = sscanf(argv[++i], "%lldx%lldx%lld:%lld:%d", &m, &n, &k, &batch, &tb);
            if (got < 3 || m < 1 || n < 1 || k < 1 || batch < 1) {
                fprintf(stderr, "gemm_bench: --shape wants MxNxK[:batch[:trans_b]], got %s\n",
                        argv[i]);
                return 2;
            }
            user[nuser++] = (shape){m, n, k, "user", 0, batch, tb != 0};
        }
        else {
            fprintf(stderr,
                    "usage: %s [--threads N] [--reps N] [--json FILE] [--quick] "
                    "[--shape MxNxK[:batch[:trans_b]]]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads <= 0) threads = omp_get_max_threads();
    if (reps < 1) reps = 1;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);

    printf("cpu_sgemm (%s kernel) vs OpenBLAS (%s core), %d threads, median of %d runs\n",
           gemm_isa_active()->name, openblas_get_corename(), threads, reps);
    printf("C[M,N] = A[M,K] @ B[N,K]^T (trans_b = 1, as Linear uses) unless noted\n\n");
    printf("%5s %6s %6s %5s  %9s %9s  %6s  %-9s %s\n", "batch", "M", "N", "K", "ours", "openblas", "ratio",
           "max rdiff", "shape");
    printf("%5s %6s %6s %5s  %9s %9s\n", "", "", "", "", "GFLOP/s", "GFLOP/s");

    FILE *js = NULL;
    if (json_path) {
        js = fopen(json_path, "w");
        if (!js) {
            fprintf(stderr, "gemm_bench: cannot write %s\n", json_path);
            return 1;
        }
        fprintf(js, "{\n  \"threads\": %d, \"reps\": %d, \"isa\": \"%s\", \"openblas_core\": \"%s\",\n"
                    "  \"results\": [\n",
                threads, reps, gemm_isa_active()->name, openblas_get_corename());
    }

    int worst_acceptance_ok = 1, first_json = 1;
    double *t_ours = malloc(sizeof(double) * (size_t)reps);
    double *t_blas = malloc(sizeof(double) * (size_t)reps);
    unsigned seed = 12345;
    int nshapes = nuser ? nuser : NSHAPES;
    for (int si = 0; si < nshapes; si++) {
        const shape *s = nuser ? &user[si] : &SHAPES[si];
        if (quick && !s->acceptance) continue;
        size_t nbat = (size_t)s->batch;
        float *A = alloc_random(nbat * (size_t)(s->M * s->K), &seed);
        float *B = alloc_random(nbat * (size_t)(s->N * s->K), &seed);
        float *C1 = alloc_random(nbat * (size_t)(s->M * s->N), &seed);
        float *C2 = alloc_random(nbat * (size_t)(s->M * s->N), &seed);
        for (int round = 0, r = 0; round < ROUNDS; round++) {
            int r_end = reps * (round + 1) / ROUNDS;
            time_block(run_ours, s, A, B, C1, t_ours + r, r_end - r);
            time_block(run_openblas, s, A, B, C2, t_blas + r, r_end - r);
            r = r_end;
        }
        double flops = 2.0 * (double)s->batch * (double)s->M * (double)s->N * (double)s->K;
        double g_ours = flops / median(t_ours, reps) * 1e-9;
        double g_blas = flops / median(t_blas, reps) * 1e-9;
        double rdiff = 0, cmax = 0;
        for (int64_t i = 0; i < s->batch * s->M * s->N; i++) {
            double d = fabs((double)C1[i] - (double)C2[i]);
            if (!(d <= rdiff)) rdiff = d;
            if (fabs((double)C2[i]) > cmax) cmax = fabs((double)C2[i]);
        }
        rdiff = cmax > 0 ? rdiff / cmax : rdiff;
        double ratio = g_ours / g_blas;
        if (s->acceptance && ratio < 0.70) worst_acceptance_ok = 0;
        printf("%5lld %6lld %6lld %5lld  %9.1f %9.1f  %5.0f%%  %-9.1e %s%s\n", (long long)s->batch,
               (long long)s->M,
               (long long)s->N, (long long)s->K, g_ours, g_blas, 100 * ratio, rdiff, s->what,
               s->acceptance ? " [target >= 70%]" : "");
        fflush(stdout);
        if (js) {
            fprintf(js,
                    "%s    {\"batch\": %lld, \"M\": %lld, \"N\": %lld, \"K\": %lld, "
                    "\"trans_b\": %d, \"what\": \"%s\", "
                    "\"ours_gflops\": %.2f, \"openblas_gflops\": %.2f, \"ratio\": %.3f, "
                    "\"acceptance\": %s}",
                    first_json ? "" : ",\n", (long long)s->batch, (long long)s->M,
                    (long long)s->N, (long long)s->K, s->trans_b, s->what, g_ours, g_blas, ratio, s->acceptance ? "true" : "false");
            first_json = 0;
        }
        free(A);
        free(B);
        free(C1);
        free(C2);
    }
    printf("\nacceptance (>= 70%% of OpenBLAS at the marked shapes): %s\n",
           worst_acceptance_ok ? "met" : "NOT met");
    if (js) {
        fprintf(js, "\n  ],\n  \"acceptance_met\": %s\n}\n", worst_acceptance_ok ? "true" : "false");
        fclose(js);
    }
    free(t_ours);
    free(t_blas);
    return 0;
}
