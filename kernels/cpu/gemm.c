// gemm.c: the CPU SGEMM driver (cpu_sgemm, cpu_sgemm_batched; API in gemm.h):
// run-time choice of micro-kernel (AVX-512, AVX2 or portable C), cache
// blocking, B packing, OpenMP work split and the fused epilogue plumbing.
//
// Data flow (see gemm_internal.h for the micro-kernel contract):
// - B is packed whole into NR-column panels (K x NR floats each, zero-padded
//   past N); for a Linear weight that is a transpose, done by the ISA's pack.
// - A is read in place, never packed: the kernel broadcasts from its rows, an
//   MR-row slice of A stays in L1 while the kernel walks every panel of a
//   column block, so packing A would cost as much as a small-N GEMM itself.
// - Loops for one piece of C (rows m0..m1 x a column block of nc):
//     for pc over K in blocks of kc:          kc x nc of packed B stays in L2
//       for i over the rows in steps of MR:   A[i.., pc..] stays in L1
//         for each NR panel of the block:     C tile (+)= A tile @ B panel
//   Over several k blocks C holds the running sum; bias, activation and beta
//   are applied exactly once (see block_epilogue).
// - Threads claim such pieces from a shared counter and pack panels on first
//   use (gemm_parallel); batches of small GEMMs are spread over threads whole.
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"

// Cache blocking. A packed B block holds at most GEMM_B_BLOCK floats (512 KiB,
// half of a 1 MiB L2) and k blocks are at most GEMM_KC_MAX deep, which also
// bounds one A micro-panel (MR rows x kc) to 18 KiB of L1.
#define GEMM_KC_MAX 384
#define GEMM_B_BLOCK (128 * 1024)
// Below about this many flops per thread, another thread costs more than it gives.
#define GEMM_FLOPS_PER_THREAD (1 << 21)
// Most MR-row tiles in one work item of the threaded split.
#define GEMM_MAX_CHUNK_TILES 32

// ---- activation and the portable kernel -----------------------------------------------

float gemm_act_scalar(float v, rt_act act) {
    switch (act) {
    case RT_ACT_RELU: return v > 0 ? v : 0;
    case RT_ACT_GELU: return 0.5f * v * erfcf(-v * 0.70710678118654752f);
    case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    default: return v;
    }
}

#define SC_MR 4
#define SC_NR 16

// Plain C micro-kernel for CPUs without AVX2 (the compiler may still vectorise
// the inner j loops with SSE).
static void kernel_scalar(int64_t kc, const float *a, int64_t lda, const float *bp, float *c,
                          int64_t ldc, int mr, int nr, const gemm_epilogue *ep) {
    float acc[SC_MR][SC_NR];
    memset(acc, 0, sizeof acc);
    for (int64_t k = 0; k < kc; k++) {
        const float *b = bp + k * SC_NR;
        for (int i = 0; i < mr; i++) {
            float av = a[i * lda + k];
            for (int j = 0; j < SC_NR; j++) acc[i][j] += av * b[j];
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float *cp = c + i * ldc + j;
            float v = ep->alpha * acc[i][j];
            if (ep->cmode == GEMM_C_PRE) v += ep->cscale * *cp;
            if (ep->bias) v += ep->bias[j];
            v = gemm_act_scalar(v, ep->act);
            if (ep->cmode == GEMM_C_POST) v += ep->cscale * *cp;
            *cp = v;
        }
}

static void pack_bt_scalar(const float *b, int64_t ldb, int nb, int64_t kb, float *dst) {
    for (int jj = 0; jj < nb; jj++)
        for (int64_t k = 0; k < kb; k++) dst[k * SC_NR + jj] = b[jj * ldb + k];
    if (nb < SC_NR)
        for (int64_t k = 0; k < kb; k++)
            for (int jj = nb; jj < SC_NR; jj++) dst[k * SC_NR + jj] = 0;
}

static const gemm_isa gemm_isa_scalar = {"scalar", SC_MR, SC_NR, kernel_scalar, pack_bt_scalar,
                                         15e9};

// ---- ISA choice ---------------------------------------------------------------------

#if defined(__x86_64__) || defined(__i386__)
static int have_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
}
static int have_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static int have_avx512(void) { return 0; }
static int have_avx2(void) { return 0; }
#endif

const gemm_isa *gemm_isa_active(void) {
    const char *want = getenv("ROTO_CPU_ISA");
    if (want && strcmp(want, "scalar") == 0) return &gemm_isa_scalar;
    if (want && strcmp(want, "avx2") == 0 && have_avx2()) return &gemm_isa_avx2;
    // "avx512", unset or unknown: the best this CPU runs.
    if (have_avx512()) return &gemm_isa_avx512;
    if (have_avx2()) return &gemm_isa_avx2;
    return &gemm_isa_scalar;
}

// ---- packing ----------------------------------------------------------------------

// Pack columns [j, j+nb) (nb <= nr) and all K rows of op(B) into one panel:
// dst[k*nr + jj] = op(B)[k][j+jj], columns nb..nr-1 zero.
static void pack_b_panel(const cpu_gemm_args *g, const gemm_isa *isa, int64_t j, int nb,
                         float *dst) {
    int nr = isa->nr;
    if (g->trans_b) {  // B is [N, K]: the ISA's transposing pack
        isa->pack_bt(g->B + j * g->ldb, g->ldb, nb, g->K, dst);
        return;
    }
    for (int64_t k = 0; k < g->K; k++) {
        float *d = dst + k * nr;
        memcpy(d, g->B + k * g->ldb + j, (size_t)nb * sizeof(float));
        for (int jj = nb; jj < nr; jj++) d[jj] = 0;
    }
}

// ---- plan ---------------------------------------------------------------------------

typedef struct {
    const cpu_gemm_args *g;
    const gemm_isa *isa;
    int64_t kc, nc;   // block sizes (nc a multiple of nr)
    int64_t panels;   // NR-column panels of B: ceil(N / nr)
} gemm_plan;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static gemm_plan make_plan(const cpu_gemm_args *g, const gemm_isa *isa) {
    gemm_plan p = {g, isa, g->K, 0, ceil_div(g->N, isa->nr)};
    // Split K evenly; but keep it whole when act and beta are both used,
    // because act must come before the beta term and C is overwritten by the
    // first k block (the header reserves beta for RT_ACT_NONE, this keeps the
    // combination correct all the same).
    if (!(g->act != RT_ACT_NONE && g->beta != 0.0f)) {
        int64_t nk = ceil_div(g->K, GEMM_KC_MAX);
        p.kc = ceil_div(g->K, nk);
    }
    int64_t nr = isa->nr;
    int64_t nc_max = (GEMM_B_BLOCK / p.kc) / nr * nr;
    if (nc_max < nr) nc_max = nr;
    int64_t nj = ceil_div(g->N, nc_max);
    p.nc = ceil_div(ceil_div(g->N, nj), nr) * nr;
    return p;
}

// B is packed whole: panel q (columns q*nr ..) is K rows of nr floats at
// bpack + q*K*nr, so k block pc of it starts pc*nr further on.
static size_t plan_bpack_floats(const gemm_plan *p) {
    return (size_t)(p->panels * p->g->K * p->isa->nr);
}

static void pack_panel(const gemm_plan *p, float *bpack, int64_t q) {
    int nr = p->isa->nr;
    int64_t j = q * nr;
    int nb = (int)(p->g->N - j < nr ? p->g->N - j : nr);
    pack_b_panel(p->g, p->isa, j, nb, bpack + q * p->g->K * nr);
}

// The epilogue of one k block: the first block brings in beta*C, later ones
// accumulate into C, the last adds the bias and applies the activation.
static gemm_epilogue block_epilogue(const cpu_gemm_args *g, int first, int last) {
    gemm_epilogue ep = {g->alpha, 0.0f, GEMM_C_NONE, NULL, RT_ACT_NONE};
    if (first && g->beta != 0.0f) {
        ep.cscale = g->beta;
        ep.cmode = last && g->act != RT_ACT_NONE ? GEMM_C_POST : GEMM_C_PRE;
    }
    if (!first) {
        ep.cscale = 1.0f;
        ep.cmode = GEMM_C_PRE;
    }
    if (last) {
        ep.bias = g->bias;
        ep.act = g->act;
    }
    return ep;
}

// C rows [m0, m1) x columns [j0, j0 + jb) (j0 a multiple of nr), all of K,
// from the packed B. Loop order: k blocks, then MR-row tiles (A rows stay in
// L1), then panels (the kc x jb block of B stays in L2).
static void compute_rows(const gemm_plan *p, const float *bpack, int64_t m0, int64_t m1,
                         int64_t j0, int64_t jb) {
    const cpu_gemm_args *g = p->g;
    int mr_max = p->isa->mr, nr_max = p->isa->nr;
    gemm_kernel_fn kernel = p->isa->kernel;
    int64_t panel_floats = g->K * nr_max;
    const float *b0 = bpack + j0 / nr_max * panel_floats;
    for (int64_t pc = 0; pc < g->K; pc += p->kc) {
        int64_t kb = g->K - pc < p->kc ? g->K - pc : p->kc;
        gemm_epilogue ep0 = block_epilogue(g, pc == 0, pc + kb == g->K), ep = ep0;
        for (int64_t i = m0; i < m1; i += mr_max) {
            int mr = (int)(m1 - i < mr_max ? m1 - i : mr_max);
            const float *a = g->A + i * g->lda + pc;
            for (int64_t j = 0; j < jb; j += nr_max) {
                int nr = (int)(jb - j < nr_max ? jb - j : nr_max);
                ep.bias = ep0.bias ? ep0.bias + j0 + j : NULL;
                kernel(kb, a, g->lda, b0 + j / nr_max * panel_floats + pc * nr_max,
                       g->C + i * g->ldc + j0 + j, g->ldc, mr, nr, &ep);
            }
        }
    }
}

// ---- K == 0 ---------------------------------------------------------------------------

// No products: C = act(bias) + beta*C (bias 0 when NULL).
static void gemm_k0(const cpu_gemm_args *g) {
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t n = 0; n < g->N; n++) {
            float *c = g->C + m * g->ldc + n;
            float v = gemm_act_scalar(g->bias ? g->bias[n] : 0.0f, g->act);
            *c = g->beta != 0.0f ? v + g->beta * *c : v;
        }
}

// ---- one GEMM on one thread ------------------------------------------------------------

static void gemm_serial(const gemm_plan *p, float *bpack) {
    for (int64_t q = 0; q < p->panels; q++) pack_panel(p, bpack, q);
    for (int64_t j0 = 0; j0 < p->g->N; j0 += p->nc)
        compute_rows(p, bpack, 0, p->g->M, j0, p->g->N - j0 < p->nc ? p->g->N - j0 : p->nc);
}

// ---- when threads pay off ------------------------------------------------------------
//
// An OpenMP parallel region returns only once every thread of the team has
// checked in. When the CPU is oversubscribed (other processes busy), a worker
// can be kept off a core for milliseconds: the caller's thread then takes all
// the work from the shared counter, but still waits for the late worker at
// the join, and a 0.1 ms GEMM takes 10 ms. So every region measures how late
// its workers arrived, a moving average of that is kept, and a GEMM only goes
// parallel when one thread would need clearly longer than that. On an idle
// machine workers arrive within tens of microseconds and this keeps only tiny
// GEMMs, which gain nothing from a second thread anyway, on one thread.

// Threads worth using for `flops` of work, by size alone.
static int threads_for(double flops, int limit) {
    double t = flops / GEMM_FLOPS_PER_THREAD;
    if (t < 1) return 1;
    return t < limit ? (int)t : limit;
}

static _Atomic double g_fork_late_s = 50e-6;  // average lateness of workers (s)
static atomic_int g_always_fork;               // test hook: ignore the lateness

void gemm_set_always_fork(int on) { atomic_store(&g_always_fork, on); }

typedef struct {
    double t0;               // when the region was entered
    _Atomic double latest;   // latest arrival of a worker (s after t0)
} fork_clock;

static void fork_start(fork_clock *c) {
    c->t0 = omp_get_wtime();
    atomic_init(&c->latest, 0.0);
}

// Called by every thread on entering the region.
static void fork_arrived(fork_clock *c) {
    if (omp_get_thread_num() == 0) return;
    double late = omp_get_wtime() - c->t0;
    double seen = atomic_load_explicit(&c->latest, memory_order_relaxed);
    while (late > seen && !atomic_compare_exchange_weak(&c->latest, &seen, late)) {
    }
}

static void fork_end(fork_clock *c) {
    double avg = atomic_load_explicit(&g_fork_late_s, memory_order_relaxed);
    double late = atomic_load_explicit(&c->latest, memory_order_relaxed);
    atomic_store_explicit(&g_fork_late_s, 0.75 * avg + 0.25 * late, memory_order_relaxed);
}

// Threads for `flops` of work (up to limit): several only when one thread
// would take more than twice as long as workers are late on average. Each
// refusal on those grounds shrinks the average a little, so that a parallel
// region runs now and then and measures again (the CPU may have calmed down).
static int fork_threads(double flops, const gemm_isa *isa, int limit) {
    int nth = threads_for(flops, limit);
    if (nth <= 1 || atomic_load_explicit(&g_always_fork, memory_order_relaxed)) return nth;
    double late = atomic_load_explicit(&g_fork_late_s, memory_order_relaxed);
    if (flops / isa->core_flops < 2.0 * late) {
        atomic_store_explicit(&g_fork_late_s, 0.98 * late, memory_order_relaxed);
        return 1;
    }
    return nth;
}

// ---- one GEMM on a team of threads ------------------------------------------------------
//
// The work is a list of items (a chunk of rows x a block of nc columns, all of
// K) that threads claim from an atomic counter, and B panels are packed on
// first use by whoever needs them first (a per-panel state word). There is no
// barrier: a thread that the OS deschedules (other processes, a busy VM) holds
// up at most the item it is on, while the others take the rest. OpenMP's spin
// waiting at barriers made a static split collapse under such contention.

enum { PANEL_EMPTY = 0, PANEL_BUSY, PANEL_READY };

typedef struct {
    const gemm_plan *p;
    float *bpack;
    atomic_int *panel_state;  // one per panel
    atomic_llong next_item;
    int64_t nc, njb;          // column blocks of the work split
    int64_t chunk_rows, nchunks;
    fork_clock clock;
} gemm_team;

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Make panels [q0, q0+nq) ready: pack the empty ones (starting at a different
// one per caller so threads spread out), then wait for those others pack.
static void ensure_panels(gemm_team *t, int64_t q0, int64_t nq, int64_t start) {
    for (int64_t s = 0; s < nq; s++) {
        int64_t q = q0 + (start + s) % nq;
        int expected = PANEL_EMPTY;
        if (atomic_load_explicit(&t->panel_state[q], memory_order_relaxed) == PANEL_EMPTY &&
            atomic_compare_exchange_strong(&t->panel_state[q], &expected, PANEL_BUSY)) {
            pack_panel(t->p, t->bpack, q);
            atomic_store_explicit(&t->panel_state[q], PANEL_READY, memory_order_release);
        }
    }
    for (int64_t q = q0; q < q0 + nq; q++)
        for (int spins = 0;
             atomic_load_explicit(&t->panel_state[q], memory_order_acquire) != PANEL_READY;
             spins++) {
            if (spins < 1000) cpu_relax();
            else sched_yield();
        }
}

static void team_worker(gemm_team *t) {
    fork_arrived(&t->clock);
    const gemm_plan *p = t->p;
    const cpu_gemm_args *g = p->g;
    int nr = p->isa->nr;
    int64_t items = t->njb * t->nchunks;
    for (;;) {
        int64_t it = atomic_fetch_add_explicit(&t->next_item, 1, memory_order_relaxed);
        if (it >= items) break;
        // Consecutive items share a column block, so running threads share its B.
        int64_t jblock = it / t->nchunks, chunk = it % t->nchunks;
        int64_t j0 = jblock * t->nc, jb = g->N - j0 < t->nc ? g->N - j0 : t->nc;
        ensure_panels(t, j0 / nr, ceil_div(jb, nr), chunk);
        int64_t m0 = chunk * t->chunk_rows;
        int64_t m1 = m0 + t->chunk_rows < g->M ? m0 + t->chunk_rows : g->M;
        compute_rows(p, t->bpack, m0, m1, j0, jb);
    }
}

// Returns 0, or -1 when the panel states cannot be allocated.
static int gemm_parallel(const gemm_plan *p, float *bpack, int nth) {
    const cpu_gemm_args *g = p->g;
    int mr = p->isa->mr, nr = p->isa->nr;
    gemm_team t;
    t.p = p;
    t.bpack = bpack;
    t.panel_state = malloc(sizeof(atomic_int) * (size_t)p->panels);
    if (!t.panel_state) return -1;
    for (int64_t q = 0; q < p->panels; q++) atomic_init(&t.panel_state[q], PANEL_EMPTY);
    atomic_init(&t.next_item, 0);
    // About 8 items per thread so that claiming evens out speed differences;
    // narrower column blocks when there are too few row tiles (small M).
    int64_t want = 8 * (int64_t)nth, mtiles = ceil_div(g->M, mr);
    t.nc = p->nc;
    t.njb = ceil_div(g->N, t.nc);
    if (mtiles * t.njb < want) {
        int64_t nc = ceil_div(ceil_div(g->N, ceil_div(want, mtiles)), nr) * nr;
        if (nc < t.nc) t.nc = nc;
        t.njb = ceil_div(g->N, t.nc);
    }
    int64_t chunk_tiles = ceil_div(mtiles * t.njb, want);
    if (chunk_tiles > GEMM_MAX_CHUNK_TILES) chunk_tiles = GEMM_MAX_CHUNK_TILES;
    t.chunk_rows = chunk_tiles * mr;
    t.nchunks = ceil_div(g->M, t.chunk_rows);
    fork_start(&t.clock);
#pragma omp parallel num_threads(nth)
    team_worker(&t);
    fork_end(&t.clock);
    free(t.panel_state);
    return 0;
}

// ---- buffers and entry points ------------------------------------------------------------

// Each calling thread keeps its packing buffer between calls (GEMMs come in
// long sequences of similar sizes); it only grows.
static _Thread_local float *tls_buf;
static _Thread_local size_t tls_buf_floats;

static float *thread_buffer(size_t floats) {
    if (floats > tls_buf_floats) {
        free(tls_buf);
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        tls_buf = aligned_alloc(64, bytes);
        tls_buf_floats = tls_buf ? floats : 0;
    }
    return tls_buf;
}

// One GEMM with up to nth threads. Returns 0, or -1 if no buffer could be had.
static int gemm_one(const cpu_gemm_args *g, const gemm_isa *isa, int nth) {
    if (g->M <= 0 || g->N <= 0) return 0;
    if (g->K <= 0) {
        gemm_k0(g);
        return 0;
    }
    gemm_plan p = make_plan(g, isa);
    float *bpack = thread_buffer(plan_bpack_floats(&p));
    if (!bpack) return -1;
    nth = fork_threads(2.0 * (double)g->M * (double)g->N * (double)g->K, isa, nth);
    int64_t tiles = ceil_div(g->M, isa->mr) * ceil_div(g->N, isa->nr);
    if (nth > tiles) nth = (int)tiles;
    if (nth <= 1) {
        gemm_serial(&p, bpack);
        return 0;
    }
    return gemm_parallel(&p, bpack, nth);
}

// Last resort when the packing buffer cannot be allocated: the plain loops.
static void gemm_unblocked(const cpu_gemm_args *g) {
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t n = 0; n < g->N; n++) {
            float s = 0;
            for (int64_t k = 0; k < g->K; k++)
                s += g->A[m * g->lda + k] *
                     (g->trans_b ? g->B[n * g->ldb + k] : g->B[k * g->ldb + n]);
            float *c = g->C + m * g->ldc + n;
            float v = gemm_act_scalar(g->alpha * s + (g->bias ? g->bias[n] : 0.0f), g->act);
            *c = g->beta != 0.0f ? v + g->beta * *c : v;
        }
}

// Threads to use: the caller's limit or all OpenMP offers, and one when called
// from inside a parallel region (nested regions would get one thread each anyway).
static int max_threads(const cpu_gemm_args *g) {
    if (omp_in_parallel()) return 1;
    return g->threads > 0 ? g->threads : omp_get_max_threads();
}

void cpu_sgemm(const cpu_gemm_args *g) {
    if (gemm_one(g, gemm_isa_active(), max_threads(g)) != 0) gemm_unblocked(g);
}

// Many GEMMs on a team: threads claim chunks of the batch from a counter (as
// in gemm_parallel, so a thread kept off its core holds up little) and run
// each GEMM alone with their own packing buffer.
typedef struct {
    const cpu_gemm_args *g;
    const gemm_isa *isa;
    int64_t batch, stride_a, stride_b, stride_c, chunk;
    atomic_llong next;
    fork_clock clock;
} batch_team;

static void batch_worker(batch_team *t) {
    fork_arrived(&t->clock);
    for (;;) {
        int64_t i0 = atomic_fetch_add_explicit(&t->next, t->chunk, memory_order_relaxed);
        if (i0 >= t->batch) break;
        int64_t i1 = i0 + t->chunk < t->batch ? i0 + t->chunk : t->batch;
        for (int64_t i = i0; i < i1; i++) {
            cpu_gemm_args b = *t->g;
            b.A += i * t->stride_a;
            b.B += i * t->stride_b;
            b.C += i * t->stride_c;
            if (gemm_one(&b, t->isa, 1) != 0) gemm_unblocked(&b);
        }
    }
}

void cpu_sgemm_batched(const cpu_gemm_args *g, int64_t batch, int64_t stride_a,
                       int64_t stride_b, int64_t stride_c) {
    if (batch <= 0 || g->M <= 0 || g->N <= 0) return;
    if (stride_b == 0 && stride_a == g->M * g->lda && stride_c == g->M * g->ldc) {
        // One B for all and the batches of A and C follow on row by row: a
        // single GEMM with batch*M rows (B packed once).
        cpu_gemm_args one = *g;
        one.M = g->M * batch;
        cpu_sgemm(&one);
        return;
    }
    const gemm_isa *isa = gemm_isa_active();
    int nth_max = max_threads(g);
    double flops = 2.0 * (double)g->M * (double)g->N * (double)g->K;
    // Over the batch when every thread gets enough whole GEMMs (balanced or
    // small ones, as in attention: many heads x windows); else inside each GEMM.
    int nth = fork_threads(flops * (double)batch, isa, nth_max);
    if (nth > batch) nth = (int)batch;
    int over_batch = nth > 1 && (flops < 8e6 || batch % nth == 0 || batch >= 8 * nth);
    if (!over_batch) {
        for (int64_t i = 0; i < batch; i++) {
            cpu_gemm_args b = *g;
            b.A += i * stride_a;
            b.B += i * stride_b;
            b.C += i * stride_c;
            if (gemm_one(&b, isa, nth_max) != 0) gemm_unblocked(&b);
        }
        return;
    }
    batch_team t = {.g = g, .isa = isa, .batch = batch, .stride_a = stride_a,
                    .stride_b = stride_b, .stride_c = stride_c, .chunk = batch / (8 * nth)};
    if (t.chunk < 1) t.chunk = 1;
    atomic_init(&t.next, 0);
    fork_start(&t.clock);
#pragma omp parallel num_threads(nth)
    batch_worker(&t);
    fork_end(&t.clock);
}
