// cuda_emu.h: a small host emulator for CUDA kernels, so the kernels of
// kernels/cuda can be run and checked on a machine without a GPU.
//
// Each CUDA thread of a block is a ucontext coroutine on one OS thread. At a
// synchronisation point a thread yields to a scheduler: a warp collective (a
// shuffle, ldmatrix, mma) is released when every live lane of its warp has
// arrived, __syncthreads when every live thread of the block has. Threads may
// exit early (a warp past the last row); a collective that reads a lane that
// has exited, or a warp split between a collective and a barrier, is
// reported as an error. Blocks run one after another. When the
// first block of a launch never yields, the remaining blocks run as plain
// calls (much faster for elementwise kernels).
//
// Emulated primitives (PTX semantics as documented in the PTX ISA):
// - __syncthreads, __shfl_xor_sync (float), __shfl_up_sync (int), atomics
//   (plain read-modify-write: only one coroutine runs at a time)
// - cp.async 16-byte copies with src-size 0 zero-fill; commit_group and
//   wait_group N are per thread: a group's copies land when a wait_group
//   leaves at most N newer groups pending (waiting on the wrong group reads
//   stale shared memory, as on the GPU)
// - ldmatrix.m8n8.x4(.trans).b16 and mma.m16n8k16 (f16/bf16 -> f32), with
//   the fragment layouts of the PTX ISA; mma sums its 16 products in fp32 in
//   k order (the hardware's internal order and precision may differ slightly)
// - the correctly rounded __f*_rn / __d*_rn intrinsics (g++ in ISO C++ mode
//   does not contract a*b+c, so plain operators are exact here)
// - __shared__ variables become function statics (one copy, shared by the
//   block's coroutines; blocks run sequentially)
// - kernel launches: a source rewrite turns `k<<<g, b, smem, s>>>(args)` into
//   `emu_kernel(k, g, b, smem, s)(args)` (see run_emu_tests.sh); launches run
//   at once, or are recorded while a stream capture is open and replayed by
//   cudaGraphLaunch (cuda_emu_rt.cpp emulates the runtime API).
// What it cannot show: data races and timing (everything is lockstep),
// hardware limits (shared memory size, registers), cuBLASLt and cuDNN (the
// emulated libraries report "not supported", so the fallback kernels run).
#ifndef ROTO_CUDA_EMU_H
#define ROTO_CUDA_EMU_H

#define ROTO_CUDA_EMU 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

// Host compilers: no launch bounds; __shared__ variables are shared statics.
#ifdef __launch_bounds__
#undef __launch_bounds__
#endif
#define __launch_bounds__(...)
#ifdef __shared__
#undef __shared__
#endif
#define __shared__ static

struct emu_uint3 {
    unsigned x, y, z;
};

struct emu_copy {
    void *dst;
    const void *src;
    int bytes;  // 0: zero-fill 16 bytes
};

enum { EMU_RUNNABLE = 0, EMU_AT_WARP_SYNC, EMU_AT_BLOCK_SYNC, EMU_DONE };

struct emu_thread {
    ucontext_t uc;
    char *stack;
    emu_uint3 idx;
    int done;
    int state;  // EMU_*
    std::vector<emu_copy> pending;              // cp.async not yet committed
    std::vector<std::vector<emu_copy>> groups;  // committed, oldest first
};

#define EMU_STACK_BYTES (128 << 10)
#define EMU_MAX_THREADS 1024

struct emu_state {
    ucontext_t sched;
    emu_thread threads[EMU_MAX_THREADS];
    emu_thread *cur;
    int plain;    // running blocks as plain calls: a yield is an error
    int yielded;  // some thread of the current launch yielded
    emu_uint3 block_idx, block_dim, grid_dim;
    std::vector<unsigned char> smem;  // dynamic shared memory of the block
    uint64_t xbuf[EMU_MAX_THREADS * 8];  // collective exchange slots [thread][slot]
    const std::function<void()> *body;
    // Stream capture (cuda_emu_rt.cpp): recorded work, replayed by graphs.
    int capturing;
    std::vector<std::function<void()>> *capture;
};

inline emu_state g_emu;

#define threadIdx (g_emu.cur->idx)
#define blockIdx (g_emu.block_idx)
#define blockDim (g_emu.block_dim)
#define gridDim (g_emu.grid_dim)

static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }

static inline void emu_die(const char *msg) {
    fprintf(stderr, "cuda emulator: %s (block %u,%u,%u thread %u)\n", msg, g_emu.block_idx.x,
            g_emu.block_idx.y, g_emu.block_idx.z, g_emu.cur ? g_emu.cur->idx.x : 0u);
    exit(3);
}

// Wait at a synchronisation point: a warp collective (released when every
// live lane of the warp is there) or a block barrier (every live thread).
static inline void emu_wait(int kind) {
    if (g_emu.plain) emu_die("a kernel synchronised in a block after its first block did not");
    g_emu.yielded = 1;
    g_emu.cur->state = kind;
    swapcontext(&g_emu.cur->uc, &g_emu.sched);
}
static inline void emu_yield() { emu_wait(EMU_AT_WARP_SYNC); }
static inline void __syncthreads() { emu_wait(EMU_AT_BLOCK_SYNC); }

static inline int emu_tid() { return (int)threadIdx.x; }
static inline uint64_t *emu_slot(int t, int slot) { return &g_emu.xbuf[(size_t)t * 8 + slot]; }
// A slot written by thread t in this collective: t must still be running.
static inline uint64_t emu_read(int t, int slot) {
    if (t < 0 || t >= (int)g_emu.block_dim.x || g_emu.threads[t].done)
        emu_die("a warp collective reads a lane that has exited or does not exist");
    return *emu_slot(t, slot);
}

static inline float __shfl_xor_sync(unsigned, float v, int m) {
    int t = emu_tid();
    uint32_t u;
    memcpy(&u, &v, 4);
    *emu_slot(t, 0) = u;
    emu_yield();
    uint32_t r = (uint32_t)emu_read((t & ~31) | ((t & 31) ^ m), 0);
    emu_yield();
    float f;
    memcpy(&f, &r, 4);
    return f;
}

static inline int __shfl_up_sync(unsigned, int v, int d) {
    int t = emu_tid();
    *emu_slot(t, 0) = (uint32_t)v;
    emu_yield();
    int r = (t & 31) >= d ? (int)(uint32_t)emu_read(t - d, 0) : v;
    emu_yield();
    return r;
}

// ---- atomics, math intrinsics ---------------------------------------------------------------
static inline int atomicMin(int *p, int v) {
    int old = *p;
    if (v < old) *p = v;
    return old;
}
static inline int atomicAdd(int *p, int v) {
    int old = *p;
    *p = old + v;
    return old;
}
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }

// ---- cp.async --------------------------------------------------------------------------------
static inline void cp_async16(void *smem, const void *gmem, bool pred) {
    g_emu.cur->pending.push_back({smem, gmem, pred ? 16 : 0});
}
static inline void cp_async_commit() {
    g_emu.cur->groups.push_back(g_emu.cur->pending);
    g_emu.cur->pending.clear();
}
template <int N> static inline void cp_async_wait() {
    auto &gs = g_emu.cur->groups;
    while ((int)gs.size() > N) {
        for (const emu_copy &c : gs.front()) {
            if (c.bytes) memcpy(c.dst, c.src, 16);
            else memset(c.dst, 0, 16);
        }
        gs.erase(gs.begin());
    }
}

// ---- ldmatrix ----------------------------------------------------------------------------------
// Each lane supplies one row address; lanes 8i..8i+7 give the 8 rows of matrix i.
// Without .trans lane l receives row l/4, elements 2(l%4), 2(l%4)+1 of each
// matrix; with .trans it receives (row 2(l%4), col l/4) and (row 2(l%4)+1, col l/4).
static inline void emu_ldsm(uint32_t (&r)[4], const void *smem, bool trans) {
    int t = emu_tid(), warp0 = t & ~31, lane = t & 31;
    *emu_slot(t, 0) = (uint64_t)(uintptr_t)smem;
    emu_yield();
    for (int i = 0; i < 4; i++) {
        uint16_t e[2];
        for (int j = 0; j < 2; j++) {
            const uint16_t *row;
            int col;
            if (!trans) {
                row = (const uint16_t *)(uintptr_t)emu_read(warp0 + 8 * i + lane / 4, 0);
                col = 2 * (lane % 4) + j;
            } else {
                row = (const uint16_t *)(uintptr_t)emu_read(warp0 + 8 * i + 2 * (lane % 4) + j, 0);
                col = lane / 4;
            }
            e[j] = row[col];
        }
        r[i] = (uint32_t)e[0] | ((uint32_t)e[1] << 16);
    }
    emu_yield();
}
static inline void ldsm_x4(uint32_t (&r)[4], const void *smem) { emu_ldsm(r, smem, false); }
static inline void ldsm_x4_t(uint32_t (&r)[4], const void *smem) { emu_ldsm(r, smem, true); }

// ---- mma.m16n8k16 --------------------------------------------------------------------------------
// Fragments (g = lane/4, t = lane%4), two 16-bit elements per register, the
// lower column in the low half:
//   A 16x16: a0 (g, 2t..), a1 (g+8, 2t..), a2 (g, 2t+8..), a3 (g+8, 2t+8..)
//   B 16x8:  b0 (k = 2t.., n = g), b1 (k = 2t+8.., n = g)
//   C 16x8:  c0,c1 (g, 2t..), c2,c3 (g+8, 2t..)
template <typename T> static inline float emu_h2f(uint16_t h);
template <> inline float emu_h2f<__nv_bfloat16>(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
template <> inline float emu_h2f<__half>(uint16_t h) {
    __half_raw r;
    r.x = h;
    return __half2float(__half(r));
}

template <typename T>
static inline void emu_mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    int t = emu_tid(), warp0 = t & ~31, lane = t & 31;
    for (int i = 0; i < 4; i++) *emu_slot(t, i) = a[i];
    *emu_slot(t, 4) = b0;
    *emu_slot(t, 5) = b1;
    emu_yield();
    auto A = [&](int r, int k) {
        uint32_t v = (uint32_t)emu_read(warp0 + (r % 8) * 4 + (k % 8) / 2,
                                        (r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0));
        return emu_h2f<T>((uint16_t)(k % 2 ? v >> 16 : v & 0xffff));
    };
    auto B = [&](int k, int n) {
        uint32_t v = (uint32_t)emu_read(warp0 + n * 4 + (k % 8) / 2, k >= 8 ? 5 : 4);
        return emu_h2f<T>((uint16_t)(k % 2 ? v >> 16 : v & 0xffff));
    };
    int g = lane / 4, tg = lane % 4;
    float out[4];
    for (int e = 0; e < 4; e++) {
        int r = g + (e >= 2 ? 8 : 0), c = 2 * tg + (e & 1);
        float s = d[e];
        for (int k = 0; k < 16; k++) s += A(r, k) * B(k, c);
        out[e] = s;
    }
    emu_yield();
    for (int e = 0; e < 4; e++) d[e] = out[e];
}

template <typename T> struct fa_mma;
template <> struct fa_mma<__nv_bfloat16> {
    static inline uint32_t pack(float lo, float hi) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
        uint32_t u;
        memcpy(&u, &v, 4);
        return u;
    }
    static inline void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
        emu_mma<__nv_bfloat16>(d, a, b0, b1);
    }
};
template <> struct fa_mma<__half> {
    static inline uint32_t pack(float lo, float hi) {
        __half2 v = __floats2half2_rn(lo, hi);
        uint32_t u;
        memcpy(&u, &v, 4);
        return u;
    }
    static inline void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
        emu_mma<__half>(d, a, b0, b1);
    }
};

#define FA_DYNAMIC_SMEM(name) unsigned char *name = g_emu.smem.data()

// ---- running a grid ----------------------------------------------------------------------------

static void emu_entry() {
    (*g_emu.body)();
    g_emu.cur->done = 1;
    g_emu.cur->state = EMU_DONE;
    // Returning ends this context; uc_link brings us back to the scheduler.
}

static inline void emu_run_block(unsigned threads) {
    g_emu.smem.assign(g_emu.smem.size(), 0xff);  // unwritten shared memory reads as NaN
    if (g_emu.plain) {
        for (unsigned t = 0; t < threads; t++) {
            emu_thread &th = g_emu.threads[t];
            th.idx = {t, 0, 0};
            th.done = 0;
            th.pending.clear();
            th.groups.clear();
            g_emu.cur = &th;
            (*g_emu.body)();
            th.done = 1;
        }
        return;
    }
    for (unsigned t = 0; t < threads; t++) {
        emu_thread &th = g_emu.threads[t];
        if (!th.stack) th.stack = (char *)malloc(EMU_STACK_BYTES);
        th.idx = {t, 0, 0};
        th.done = 0;
        th.state = EMU_RUNNABLE;
        th.pending.clear();
        th.groups.clear();
        getcontext(&th.uc);
        th.uc.uc_stack.ss_sp = th.stack;
        th.uc.uc_stack.ss_size = EMU_STACK_BYTES;
        th.uc.uc_link = &g_emu.sched;
        makecontext(&th.uc, emu_entry, 0);
    }
    for (;;) {
        int progress = 0, live = 0, at_block = 0;
        for (unsigned t = 0; t < threads; t++) {
            emu_thread &th = g_emu.threads[t];
            if (th.state != EMU_RUNNABLE) continue;
            g_emu.cur = &th;
            swapcontext(&g_emu.sched, &th.uc);
            progress = 1;
        }
        // Release warps whose live lanes all wait at a warp collective.
        for (unsigned w = 0; w * 32 < threads; w++) {
            unsigned end = std::min(threads, (w + 1) * 32);
            int waiting = 0, other = 0;
            for (unsigned t = w * 32; t < end; t++) {
                int st = g_emu.threads[t].state;
                waiting += st == EMU_AT_WARP_SYNC;
                other += st == EMU_RUNNABLE || st == EMU_AT_BLOCK_SYNC;
            }
            if (waiting && !other) {
                for (unsigned t = w * 32; t < end; t++)
                    if (g_emu.threads[t].state == EMU_AT_WARP_SYNC)
                        g_emu.threads[t].state = EMU_RUNNABLE;
                progress = 1;
            } else if (waiting && other) {
                int at_blk = 0;
                for (unsigned t = w * 32; t < end; t++)
                    at_blk += g_emu.threads[t].state == EMU_AT_BLOCK_SYNC;
                if (at_blk)
                    emu_die("a warp collective with lanes waiting at __syncthreads (divergence)");
            }
        }
        for (unsigned t = 0; t < threads; t++) {
            int st = g_emu.threads[t].state;
            live += st != EMU_DONE;
            at_block += st == EMU_AT_BLOCK_SYNC;
        }
        if (!live) break;
        if (at_block == live) {  // a block barrier every live thread reached
            for (unsigned t = 0; t < threads; t++)
                if (g_emu.threads[t].state == EMU_AT_BLOCK_SYNC) g_emu.threads[t].state = EMU_RUNNABLE;
            progress = 1;
        }
        if (!progress) emu_die("deadlock: threads wait at different synchronisation points");
    }
}

// Run body() for every thread of a grid of 1-d blocks, now.
static inline void emu_run_grid(emu_uint3 grid, unsigned threads, size_t smem_bytes,
                                const std::function<void()> &body) {
    if (threads == 0 || threads > EMU_MAX_THREADS) emu_die("bad block size");
    const std::function<void()> *saved_body = g_emu.body;
    g_emu.body = &body;
    g_emu.grid_dim = grid;
    g_emu.block_dim = {threads, 1, 1};
    g_emu.smem.assign(smem_bytes + 16, 0xff);
    g_emu.plain = 0;
    g_emu.yielded = 0;
    int first = 1;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                g_emu.block_idx = {x, y, z};
                emu_run_block(threads);
                if (first && !g_emu.yielded) g_emu.plain = 1;
                first = 0;
            }
    g_emu.plain = 0;
    g_emu.body = saved_body;
}

// Old entry point (flash_emu.cpp): fn(arg) on a gx x gy x gz grid.
static inline void emu_launch(unsigned gx, unsigned gy, unsigned gz, unsigned threads,
                              size_t smem_bytes, void (*fn)(void *), void *arg) {
    std::function<void()> body = [fn, arg]() { fn(arg); };
    emu_run_grid({gx, gy, gz}, threads, smem_bytes, body);
}

// `k<<<grid, block, smem, stream>>>(args...)` becomes
// `emu_kernel(k, grid, block, smem, stream)(args...)`: the arguments are
// copied now (as a launch does) and the kernel runs now, or is recorded when
// a stream capture is open.
template <typename K> struct emu_launcher {
    K kernel;
    dim3 grid, block;
    size_t smem;
    template <typename... A> void operator()(A... args) const {
        K k = kernel;
        emu_uint3 g = {grid.x, grid.y, grid.z};
        unsigned threads = block.x * block.y * block.z;
        size_t sm = smem;
        std::function<void()> run = [k, g, threads, sm, args...]() {
            std::function<void()> body = [&]() { k(args...); };
            emu_run_grid(g, threads, sm, body);
        };
        if (g_emu.capturing) g_emu.capture->push_back(run);
        else run();
    }
};

template <typename K>
static inline emu_launcher<K> emu_kernel(K k, dim3 grid, dim3 block, size_t smem = 0,
                                         cudaStream_t = 0) {
    if (block.y != 1 || block.z != 1) emu_die("only 1-d blocks are emulated");
    return emu_launcher<K>{k, grid, block, smem};
}

#endif
