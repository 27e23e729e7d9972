// cuda_emu.h: a small host emulator for CUDA kernels that use warp-level
// collectives, so kernel logic can be checked on a machine without a GPU.
//
// Each CUDA thread of a block is a ucontext coroutine on one OS thread. Every
// synchronisation point (__syncthreads, a shuffle, ldmatrix, mma) yields to a
// scheduler that resumes all threads in turn, so all threads of the block pass
// each point together ("lockstep at every collective"). This requires uniform
// control flow across the block for collectives, which CUDA requires anyway
// for __syncthreads and *_sync(0xffffffff) intrinsics.
//
// Emulated primitives (PTX semantics as documented in the PTX ISA):
// - __syncthreads, __shfl_xor_sync, __shfl_up_sync
// - cp.async 16-byte copies with src-size 0 zero-fill; commit_group and
//   wait_group N are per thread: a group's copies land when a wait_group
//   leaves at most N newer groups pending (so waiting on the wrong group
//   reads stale shared memory, as on the GPU).
// - ldmatrix.m8n8.x4(.trans).b16 and mma.m16n8k16 (f16/bf16 -> f32), with
//   the fragment layouts of the PTX ISA; mma sums the 16 products in fp32 in
//   k order (the hardware's internal order and precision may differ slightly).
// What it cannot show: data races and timing (everything is lockstep), memory
// faults outside host memory checks (build with -fsanitize=address for that).
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
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

// Host compilers get no launch bounds.
#ifdef __launch_bounds__
#undef __launch_bounds__
#endif
#define __launch_bounds__(...)

struct emu_uint3 {
    unsigned x, y, z;
};

struct emu_copy {
    void *dst;
    const void *src;
    int bytes;  // 0: zero-fill 16 bytes
};

struct emu_thread {
    ucontext_t uc;
    std::vector<char> stack;
    emu_uint3 idx;
    int done;
    std::vector<emu_copy> pending;               // cp.async not yet committed
    std::vector<std::vector<emu_copy>> groups;   // committed, oldest first
};

struct emu_state {
    ucontext_t sched;
    std::vector<emu_thread> threads;
    emu_thread *cur;
    emu_uint3 block_idx, block_dim, grid_dim;
    std::vector<unsigned char> smem;  // dynamic shared memory of the block
    // Warp exchange buffers: [warp][lane][slot].
    std::vector<uint64_t> xbuf;
};

static emu_state g_emu;

#define threadIdx (g_emu.cur->idx)
#define blockIdx (g_emu.block_idx)
#define blockDim (g_emu.block_dim)
#define gridDim (g_emu.grid_dim)

static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }

// Yield to the scheduler: the block-wide lockstep point.
static inline void emu_yield() { swapcontext(&g_emu.cur->uc, &g_emu.sched); }
static inline void __syncthreads() { emu_yield(); }

static inline int emu_tid() { return (int)threadIdx.x; }
static inline uint64_t *emu_slot(int lane_global, int slot) {
    return &g_emu.xbuf[(size_t)lane_global * 8 + slot];
}

static inline float __shfl_xor_sync(unsigned, float v, int m) {
    int t = emu_tid();
    uint32_t u;
    memcpy(&u, &v, 4);
    *emu_slot(t, 0) = u;
    emu_yield();
    int src = (t & ~31) | ((t & 31) ^ m);
    uint32_t r = (uint32_t)*emu_slot(src, 0);
    emu_yield();
    float f;
    memcpy(&f, &r, 4);
    return f;
}

static inline int __shfl_up_sync(unsigned, int v, int d) {
    int t = emu_tid();
    *emu_slot(t, 0) = (uint32_t)v;
    emu_yield();
    int lane = t & 31;
    int r = lane >= d ? (int)(uint32_t)*emu_slot(t - d, 0) : v;
    emu_yield();
    return r;
}

// ---- cp.async --------------------------------------------------------------------------
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

// ---- ldmatrix ----------------------------------------------------------------------------
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
                row = (const uint16_t *)(uintptr_t)*emu_slot(warp0 + 8 * i + lane / 4, 0);
                col = 2 * (lane % 4) + j;
            } else {
                row = (const uint16_t *)(uintptr_t)*emu_slot(warp0 + 8 * i + 2 * (lane % 4) + j, 0);
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

// ---- mma.m16n8k16 -------------------------------------------------------------------------
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
        int src = warp0 + (r % 8) * 4 + (k % 8) / 2;
        int reg = (r >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
        uint32_t v = (uint32_t)*emu_slot(src, reg);
        return emu_h2f<T>((uint16_t)(k % 2 ? v >> 16 : v & 0xffff));
    };
    auto B = [&](int k, int n) {
        int src = warp0 + n * 4 + (k % 8) / 2;
        uint32_t v = (uint32_t)*emu_slot(src, k >= 8 ? 5 : 4);
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

// ---- launching ------------------------------------------------------------------------------

static void (*g_emu_body)(void *);
static void *g_emu_arg;

static void emu_entry() {
    g_emu_body(g_emu_arg);
    g_emu.cur->done = 1;
    // Returning ends this context; uc_link brings us back to the scheduler.
}

// Run fn(arg) as a grid of blocks of `threads` threads (1-d blocks), one
// block at a time; `smem_bytes` of dynamic shared memory per block (poisoned
// with 0xff before each block so unwritten reads stand out as NaN).
static void emu_launch(unsigned gx, unsigned gy, unsigned gz, unsigned threads, size_t smem_bytes,
                       void (*fn)(void *), void *arg) {
    g_emu_body = fn;
    g_emu_arg = arg;
    g_emu.grid_dim = {gx, gy, gz};
    g_emu.block_dim = {threads, 1, 1};
    g_emu.threads.resize(threads);
    g_emu.xbuf.assign((size_t)threads * 8, 0);
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                g_emu.block_idx = {x, y, z};
                g_emu.smem.assign(smem_bytes + 16, 0xff);
                for (unsigned t = 0; t < threads; t++) {
                    emu_thread &th = g_emu.threads[t];
                    th.stack.resize(256 << 10);
                    th.idx = {t, 0, 0};
                    th.done = 0;
                    th.pending.clear();
                    th.groups.clear();
                    getcontext(&th.uc);
                    th.uc.uc_stack.ss_sp = th.stack.data();
                    th.uc.uc_stack.ss_size = th.stack.size();
                    th.uc.uc_link = &g_emu.sched;
                    makecontext(&th.uc, emu_entry, 0);
                }
                for (;;) {
                    int running = 0, finished = 0;
                    for (unsigned t = 0; t < threads; t++) {
                        emu_thread &th = g_emu.threads[t];
                        if (th.done) continue;
                        g_emu.cur = &th;
                        swapcontext(&g_emu.sched, &th.uc);
                        if (th.done) finished++;
                        else running++;
                    }
                    if (running == 0) break;
                    if (finished) {
                        fprintf(stderr, "emu: threads exited while others wait at a barrier "
                                        "(non-uniform collective) in block %u,%u,%u\n", x, y, z);
                        exit(2);
                    }
                }
            }
}

#endif
