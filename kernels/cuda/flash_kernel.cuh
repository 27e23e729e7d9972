// flash_kernel.cuh: the flash-attention forward kernel and its split-KV
// combine kernel (the design is described at the top of attention.cu), kept
// in a header so the same source also compiles on the host under the warp
// emulator in kernels/cuda/emu/ (ROTO_CUDA_EMU defined), which checks the
// kernel's logic on a CPU. Nothing here depends on the rest of roto.
#ifndef ROTO_FLASH_KERNEL_CUH
#define ROTO_FLASH_KERNEL_CUH

#include <math.h>
#include <stdint.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#define FA_BM 64
#define FA_THREADS 128
#define LOG2E_F 1.4426950408889634f

#ifndef ROTO_CUDA_EMU
#define FA_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]

// ---- PTX wrappers -----------------------------------------------------------------------

__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, bool pred) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    int n = pred ? 16 : 0;  // 0: write 16 zero bytes, read nothing
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void *smem) {
    unsigned a = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t (&r)[4], const void *smem) {
    unsigned a = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

template <typename T> struct fa_mma;
template <> struct fa_mma<__nv_bfloat16> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
        return *reinterpret_cast<uint32_t *>(&v);
    }
    static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                               uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
            "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};
template <> struct fa_mma<__half> {
    static __device__ __forceinline__ uint32_t pack(float lo, float hi) {
        __half2 v = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<uint32_t *>(&v);
    }
    static __device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                               uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
            "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

#endif  // !ROTO_CUDA_EMU (the emulator supplies these primitives)

template <typename TO> __device__ __forceinline__ void fa_store(TO *p, float v);
template <> __device__ __forceinline__ void fa_store<float>(float *p, float v) { *p = v; }
template <> __device__ __forceinline__ void fa_store<__half>(__half *p, float v) {
    *p = __float2half_rn(v);
}
template <> __device__ __forceinline__ void fa_store<__nv_bfloat16>(__nv_bfloat16 *p, float v) {
    *p = __float2bfloat16_rn(v);
}

// ---- flash kernel ------------------------------------------------------------------------

struct fa_params {
    const void *q, *k, *v;
    void *o;                 // direct output (type T), or NULL when writing partials
    float *part_o;           // [split][B*H][Lq][D] fp32 (normalised per split)
    float *part_lse;         // [split][B*H][Lq] log2-sum-exp
    int64_t q_sb, q_sh, q_sl, k_sb, k_sh, k_sl, v_sb, v_sh, v_sl, o_sb, o_sh, o_sl;
    const float *bias;       // [B, Lk] or NULL
    int64_t bias_sb;
    int B, H, Lq, Lk, D;
    int tiles_per_split;
    float scale_log2;        // scale * log2(e)
};

// Keys per shared-memory tile: 64, or 32 for head dim 256 (registers, smem).
static inline constexpr int fa_block_n(int DP) { return DP > 128 ? 32 : 64; }

template <int DP> struct fa_cfg {
    static constexpr int BN = fa_block_n(DP);
    static constexpr int LD = DP + 8;  // smem row stride in elements
    static constexpr size_t smem_bytes = (size_t)(FA_BM + 4 * BN) * LD * 2;
};

template <typename T, int DP>
__global__ void __launch_bounds__(FA_THREADS) k_flash_fwd(fa_params p) {
    constexpr int BN = fa_cfg<DP>::BN, LD = fa_cfg<DP>::LD;
    constexpr int CPR = DP / 8;         // 16-byte chunks per row
    constexpr int NT_S = BN / 8;        // n-tiles of S per warp
    constexpr int NT_O = DP / 8;        // n-tiles of O per warp
    FA_DYNAMIC_SMEM(fa_smem_buf);
    T *Qs = reinterpret_cast<T *>(fa_smem_buf);  // FA_BM x LD
    T *Ks = Qs + FA_BM * LD;                 // 2 stages x BN x LD
    T *Vs = Ks + 2 * BN * LD;                // 2 stages x BN x LD

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, tig = lane & 3;
    const int bh = blockIdx.x, b = bh / p.H, h = bh % p.H;
    const int q0 = blockIdx.y * FA_BM;
    const int n_tiles = (p.Lk + BN - 1) / BN;
    const int t_begin = blockIdx.z * p.tiles_per_split;
    const int t_end = min(n_tiles, t_begin + p.tiles_per_split);

    const T *qg = (const T *)p.q + b * p.q_sb + h * p.q_sh;
    const T *kg = (const T *)p.k + b * p.k_sb + h * p.k_sh;
    const T *vg = (const T *)p.v + b * p.v_sb + h * p.v_sh;
    const float *bias = p.bias ? p.bias + b * p.bias_sb : nullptr;

    // Q tile: rows past Lq and columns past D are zero-filled.
    for (int c = tid; c < FA_BM * CPR; c += FA_THREADS) {
        int r = c / CPR, col = (c % CPR) * 8;
        bool ok = q0 + r < p.Lq && col < p.D;
        cp_async16(Qs + r * LD + col, ok ? (const void *)(qg + (int64_t)(q0 + r) * p.q_sl + col) : p.q,
                   ok);
    }
    cp_async_commit();

    auto load_kv = [&](int t, int stage) {
        T *ks = Ks + stage * BN * LD, *vs = Vs + stage * BN * LD;
        int kv0 = t * BN;
        for (int c = tid; c < BN * CPR; c += FA_THREADS) {
            int r = c / CPR, col = (c % CPR) * 8;
            bool ok = kv0 + r < p.Lk && col < p.D;
            int64_t row = kv0 + r;
            cp_async16(ks + r * LD + col, ok ? (const void *)(kg + row * p.k_sl + col) : p.k, ok);
            cp_async16(vs + r * LD + col, ok ? (const void *)(vg + row * p.v_sl + col) : p.v, ok);
        }
    };
    if (t_begin < t_end) load_kv(t_begin, 0);
    cp_async_commit();

    float o[NT_O][4];
#pragma unroll
    for (int j = 0; j < NT_O; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;  // rows g and g + 8

    const T *q_frag_base = Qs + (warp * 16 + (lane & 15)) * LD + (lane >> 4) * 8;
    // Head dims up to 128 keep the warp's Q fragments in registers (loaded
    // once, at the first tile); 256 would not fit beside the accumulators.
    constexpr bool Q_IN_REGS = DP <= 128;
    uint32_t qf[Q_IN_REGS ? DP / 16 : 1][4];
    const int k_row = (lane & 7) + ((lane >> 4) << 3), k_col = ((lane >> 3) & 1) * 8;
    const int v_row = (lane & 7) + (((lane >> 3) & 1) << 3), v_col = (lane >> 4) * 8;

    for (int t = t_begin; t < t_end; t++) {
        const int stage = (t - t_begin) & 1;
        if (t + 1 < t_end) load_kv(t + 1, stage ^ 1);
        cp_async_commit();  // possibly empty: keeps the group count uniform
        cp_async_wait<1>(); // everything but the newest group: Q and tile t
        __syncthreads();
        const T *ks = Ks + stage * BN * LD, *vs = Vs + stage * BN * LD;
        if (Q_IN_REGS && t == t_begin) {
#pragma unroll
            for (int kk = 0; kk < (Q_IN_REGS ? DP / 16 : 0); kk++)
                ldsm_x4(qf[kk], q_frag_base + kk * 16);
        }

        // S = Q K^T for this warp's 16 rows.
        float s[NT_S][4];
#pragma unroll
        for (int j = 0; j < NT_S; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < DP / 16; kk++) {
            uint32_t a[4];
            if constexpr (Q_IN_REGS) {
                a[0] = qf[kk][0], a[1] = qf[kk][1], a[2] = qf[kk][2], a[3] = qf[kk][3];
            } else {
                ldsm_x4(a, q_frag_base + kk * 16);
            }
#pragma unroll
            for (int j2 = 0; j2 < NT_S / 2; j2++) {
                uint32_t bf[4];
                ldsm_x4(bf, ks + (j2 * 16 + k_row) * LD + kk * 16 + k_col);
                fa_mma<T>::mma(s[2 * j2], a, bf[0], bf[1]);
                fa_mma<T>::mma(s[2 * j2 + 1], a, bf[2], bf[3]);
            }
        }

        // Logits in base 2, masks, row maxima.
        const int kv0 = t * BN;
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int j = 0; j < NT_S; j++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = kv0 + j * 8 + tig * 2 + (e & 1);
                float x = -INFINITY;
                if (key < p.Lk) {
                    x = s[j][e] * p.scale_log2;
                    if (bias) x += bias[key] * LOG2E_F;
                }
                s[j][e] = x;
            }
            mx0 = fmaxf(mx0, fmaxf(s[j][0], s[j][1]));
            mx1 = fmaxf(mx1, fmaxf(s[j][2], s[j][3]));
        }
        // The 4 threads of a quad hold one row between them.
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
        // Fully masked so far: subtract 0 instead of -inf (avoids inf - inf).
        float ms0 = mn0 == -INFINITY ? 0.f : mn0, ms1 = mn1 == -INFINITY ? 0.f : mn1;
        float al0 = exp2f(m0 - ms0), al1 = exp2f(m1 - ms1);
        m0 = mn0;
        m1 = mn1;
        float rs0 = 0.f, rs1 = 0.f;
#pragma unroll
        for (int j = 0; j < NT_S; j++) {
            s[j][0] = exp2f(s[j][0] - ms0);
            s[j][1] = exp2f(s[j][1] - ms0);
            s[j][2] = exp2f(s[j][2] - ms1);
            s[j][3] = exp2f(s[j][3] - ms1);
            rs0 += s[j][0] + s[j][1];
            rs1 += s[j][2] + s[j][3];
        }
        l0 = l0 * al0 + rs0;  // per-thread partial sums; the quad is summed at the end
        l1 = l1 * al1 + rs1;
#pragma unroll
        for (int j = 0; j < NT_O; j++) {
            o[j][0] *= al0;
            o[j][1] *= al0;
            o[j][2] *= al1;
            o[j][3] *= al1;
        }

        // O += P V. The S accumulator layout of two adjacent n-tiles is the A
        // fragment layout of one k-step of 16 keys.
#pragma unroll
        for (int j2 = 0; j2 < NT_S / 2; j2++) {
            uint32_t a[4];
            a[0] = fa_mma<T>::pack(s[2 * j2][0], s[2 * j2][1]);
            a[1] = fa_mma<T>::pack(s[2 * j2][2], s[2 * j2][3]);
            a[2] = fa_mma<T>::pack(s[2 * j2 + 1][0], s[2 * j2 + 1][1]);
            a[3] = fa_mma<T>::pack(s[2 * j2 + 1][2], s[2 * j2 + 1][3]);
#pragma unroll
            for (int dn = 0; dn < NT_O / 2; dn++) {
                uint32_t bf[4];
                ldsm_x4_t(bf, vs + (j2 * 16 + v_row) * LD + dn * 16 + v_col);
                fa_mma<T>::mma(o[2 * dn], a, bf[0], bf[1]);
                fa_mma<T>::mma(o[2 * dn + 1], a, bf[2], bf[3]);
            }
        }
        __syncthreads();  // this stage is reloaded two iterations on
    }
    cp_async_wait<0>();

    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
    const int r0 = q0 + warp * 16 + g, r1 = r0 + 8;

    if (p.o) {
        T *og = (T *)p.o + b * p.o_sb + h * p.o_sh;
#pragma unroll
        for (int j = 0; j < NT_O; j++) {
            int d = j * 8 + tig * 2;
            if (d >= p.D) continue;
            if (r0 < p.Lq)
                *reinterpret_cast<uint32_t *>(og + (int64_t)r0 * p.o_sl + d) =
                    fa_mma<T>::pack(o[j][0] * inv0, o[j][1] * inv0);
            if (r1 < p.Lq)
                *reinterpret_cast<uint32_t *>(og + (int64_t)r1 * p.o_sl + d) =
                    fa_mma<T>::pack(o[j][2] * inv1, o[j][3] * inv1);
        }
    } else {
        int64_t part = (int64_t)blockIdx.z * p.B * p.H + bh;
        float *po = p.part_o + part * p.Lq * p.D;
        float *pl = p.part_lse + part * p.Lq;
#pragma unroll
        for (int j = 0; j < NT_O; j++) {
            int d = j * 8 + tig * 2;
            if (d >= p.D) continue;
            if (r0 < p.Lq)
                *reinterpret_cast<float2 *>(po + (int64_t)r0 * p.D + d) =
                    make_float2(o[j][0] * inv0, o[j][1] * inv0);
            if (r1 < p.Lq)
                *reinterpret_cast<float2 *>(po + (int64_t)r1 * p.D + d) =
                    make_float2(o[j][2] * inv1, o[j][3] * inv1);
        }
        if (tig == 0) {
            if (r0 < p.Lq) pl[r0] = l0 > 0.f ? m0 + log2f(l0) : -INFINITY;
            if (r1 < p.Lq) pl[r1] = l1 > 0.f ? m1 + log2f(l1) : -INFINITY;
        }
    }
}

// Merge split partials: out = sum_s 2^(lse_s - M) O_s / sum_s 2^(lse_s - M).
template <typename TO>
__global__ void k_flash_combine(TO *o, int64_t o_sb, int64_t o_sh, int64_t o_sl,
                                const float *part_o, const float *part_lse, int splits, int B,
                                int H, int Lq, int D, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int d = (int)(i % D);
        int64_t r = i / D;
        int row = (int)(r % Lq);
        int bh = (int)(r / Lq);
        int64_t BH = (int64_t)B * H;
        float M = -INFINITY;
        for (int s = 0; s < splits; s++) M = fmaxf(M, part_lse[(s * BH + bh) * Lq + row]);
        float out = 0.f;
        if (M != -INFINITY) {
            float num = 0.f, den = 0.f;
            for (int s = 0; s < splits; s++) {
                float w = exp2f(part_lse[(s * BH + bh) * Lq + row] - M);
                num += w * part_o[((s * BH + bh) * Lq + row) * D + d];
                den += w;
            }
            out = num / den;
        }
        fa_store(o + (bh / H) * o_sb + (bh % H) * o_sh + (int64_t)row * o_sl + d, out);
    }
}

// ---- planning (host) ---------------------------------------------------------------------

static inline int fa_pad_dim(int D) {
    static const int dims[] = {16, 32, 64, 80, 96, 128, 256};
    for (int i = 0; i < 7; i++)
        if (D <= dims[i]) return dims[i];
    return 0;
}

static inline size_t fa_smem(int DP) {
    switch (DP) {
    case 16: return fa_cfg<16>::smem_bytes;
    case 32: return fa_cfg<32>::smem_bytes;
    case 64: return fa_cfg<64>::smem_bytes;
    case 80: return fa_cfg<80>::smem_bytes;
    case 96: return fa_cfg<96>::smem_bytes;
    case 128: return fa_cfg<128>::smem_bytes;
    default: return fa_cfg<256>::smem_bytes;
    }
}

// Split-KV plan: how many splits of the key range, and tiles per split, so
// that B*H*ceil(Lq/64) query blocks times the splits fill `slots` CTA slots
// (SMs x resident CTAs per SM) without starving a split (>= 4 tiles each).
static inline void fa_plan(int64_t qblocks, int n_tiles, int64_t slots, int *splits_out,
                           int *tps_out) {
    int splits = 1;
    if (qblocks < slots) {
        int64_t s = slots / qblocks;
        int max_by_tiles = n_tiles / 4;
        if (s > max_by_tiles) s = max_by_tiles;
        if (s > 32) s = 32;
        splits = s < 1 ? 1 : (int)s;
    }
    int tps = (n_tiles + splits - 1) / splits;
    if (tps < 1) tps = 1;
    splits = (n_tiles + tps - 1) / tps;  // no empty trailing split
    if (splits < 1) splits = 1;
    *splits_out = splits;
    *tps_out = tps;
}

#endif
