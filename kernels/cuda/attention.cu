// attention.cu: scaled dot-product attention: a flash-attention forward kernel
// on tensor cores (mma.sync m16n8k16, f16/bf16, fp32 accumulation and
// softmax), and the naive GEMM + softmax + GEMM path it is tested against.
// defines: cu_attention, cu_attention_path
//
// Flash kernel (FlashAttention-2 forward, written from the algorithm):
// - One CTA = 4 warps = 64 query rows of one (batch, head); each warp owns 16
//   rows. Keys/values stream through shared memory in tiles of BN rows
//   (64, or 32 for head dim 256), double-buffered with cp.async.
// - Per tile: S = Q K^T (mma), logits x = S*scale*log2(e) + bias*log2(e),
//   online softmax in base 2 (running max m, running sum l, rescale of the
//   output accumulator), then O += P V with P rounded to the input type.
// - Head dims are padded to DP in {16, 32, 64, 80, 96, 128, 256}: the padded
//   columns of Q, K and V are zero-filled in shared memory (cp.async with
//   src-size 0), so they add nothing to Q K^T and are never stored.
// - Keys past Lk are masked to -inf and their V rows zero-filled; query rows
//   past Lq are computed on zeros and not stored.
// - A key_bias of -inf masks a key; a row with every key masked gets l = 0
//   and writes zeros.
// - Split-KV: when (query blocks x batch x heads) cannot fill the GPU (SAM
//   2.1's memory attention: 4096 queries, 1 head), the key range is split over
//   grid.z; each split writes its normalised partial output and log-sum-exp in
//   fp32 and a combine kernel merges them. The same partial path serves f32
//   outputs (the combine writes f32).
// Requirements (else the naive path runs): q, k, v f16/bf16 (f32 data is
// first converted when the context precision is BF16/FP16), D == Dv, D a
// multiple of 8, every row start 16-byte aligned (base and strides).
//
// Shared-memory rows are padded by 8 elements (16 bytes) so the 8 row
// addresses of each ldmatrix fall in distinct bank groups.
#include <math.h>
#include <string.h>

#include "cuda_device.cuh"
#include "flash_kernel.cuh"

// ---- flash launcher ----------------------------------------------------------------------

template <typename T, int DP>
static roto_status fa_launch_dp(cu_state *st, const fa_params &p, int splits, int *ctas_per_sm) {
    auto kern = k_flash_fwd<T, DP>;
    size_t smem = fa_cfg<DP>::smem_bytes;
    if (!st->capturing)  // host-side attribute; done on the eager warm-up run
        CU_TRY(cudaFuncSetAttribute((const void *)kern, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    (int)smem));
    if (ctas_per_sm) {
        CU_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(ctas_per_sm, (const void *)kern,
                                                             FA_THREADS, smem));
        return ROTO_OK;
    }
    dim3 grid((unsigned)(p.B * p.H), (unsigned)((p.Lq + FA_BM - 1) / FA_BM), (unsigned)splits);
    kern<<<grid, FA_THREADS, smem, st->stream>>>(p);
    CU_LAUNCH_CHECK("k_flash_fwd");
    return ROTO_OK;
}

// Launch for the padded dim (or, with ctas_per_sm, only query the occupancy).
template <typename T>
static roto_status fa_launch(cu_state *st, int DP, const fa_params &p, int splits,
                             int *ctas_per_sm) {
    switch (DP) {
    case 16: return fa_launch_dp<T, 16>(st, p, splits, ctas_per_sm);
    case 32: return fa_launch_dp<T, 32>(st, p, splits, ctas_per_sm);
    case 64: return fa_launch_dp<T, 64>(st, p, splits, ctas_per_sm);
    case 80: return fa_launch_dp<T, 80>(st, p, splits, ctas_per_sm);
    case 96: return fa_launch_dp<T, 96>(st, p, splits, ctas_per_sm);
    case 128: return fa_launch_dp<T, 128>(st, p, splits, ctas_per_sm);
    case 256: return fa_launch_dp<T, 256>(st, p, splits, ctas_per_sm);
    default: return roto_fail(ROTO_ERR_INTERNAL, "flash: no kernel for head dim %d", DP);
    }
}

template <typename TO>
static roto_status fa_combine(cu_state *st, const rt_tensor *out, const fa_params &p, int splits) {
    int64_t n = (int64_t)p.B * p.H * p.Lq * p.D;
    k_flash_combine<TO><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (TO *)out->data, out->stride[0], out->stride[1], out->stride[2], p.part_o, p.part_lse,
        splits, p.B, p.H, p.Lq, p.D, n);
    CU_LAUNCH_CHECK("k_flash_combine");
    return ROTO_OK;
}

static int aligned16(const rt_tensor *t) {
    size_t es = rt_dtype_size(t->dtype);
    if ((uintptr_t)t->data % 16) return 0;
    for (int i = 0; i < 3; i++)
        if (t->shape[i] > 1 && (t->stride[i] * (int64_t)es) % 16) return 0;
    return 1;
}

static size_t align256(size_t x) { return (x + 255) & ~(size_t)255; }

// The compute type flash would use for these inputs, or -1 when flash cannot run.
static int flash_type(const cu_state *st, const rt_tensor *q, const rt_tensor *k,
                      const rt_tensor *v, const rt_tensor *out, const rt_tensor *bias) {
    if (q->dtype != k->dtype || q->dtype != v->dtype) return -1;
    int D = (int)q->shape[3];
    if (v->shape[3] != D || D % 8 != 0 || D > 256 || D < 1) return -1;
    if (q->shape[2] > 0x7fffffff || k->shape[2] > 0x7fffffff) return -1;
    if (q->shape[0] * q->shape[1] > 0x7fffffff || (q->shape[2] + FA_BM - 1) / FA_BM > 65535)
        return -1;
    if (bias && (bias->dtype != RT_F32 || (bias->shape[1] > 1 && bias->stride[1] != 1))) return -1;
    if (!cu_is_float(out->dtype)) return -1;
    if (st->smem_optin < fa_smem(fa_pad_dim(D))) return -1;
    if (q->dtype == RT_F32) {
        if (st->precision == RT_PREC_BF16) return RT_BF16;
        if (st->precision == RT_PREC_FP16) return RT_F16;
        return -1;
    }
    if (q->dtype != RT_F16 && q->dtype != RT_BF16) return -1;
    if (!aligned16(q) || !aligned16(k) || !aligned16(v)) return -1;
    return q->dtype;
}

// T is the compute type (tt its rt_dtype): __half/RT_F16 or __nv_bfloat16/RT_BF16.
template <typename T>
static roto_status flash_run(cu_state *st, rt_tensor *out, const rt_tensor *q0,
                             const rt_tensor *k0, const rt_tensor *v0, const rt_tensor *bias,
                             float scale, rt_dtype tt) {
    int B = (int)q0->shape[0], H = (int)q0->shape[1], Lq = (int)q0->shape[2];
    int Lk = (int)k0->shape[2], D = (int)q0->shape[3];
    int DP = fa_pad_dim(D);
    int BN = fa_block_n(DP);
    int n_tiles = (Lk + BN - 1) / BN;
    int64_t qblocks = (int64_t)B * H * ((Lq + FA_BM - 1) / FA_BM);

    // Split the key range when the query blocks alone leave SMs idle.
    static const int dps[7] = {16, 32, 64, 80, 96, 128, 256};
    int dpi = 0;
    while (dpi < 6 && dps[dpi] != DP) dpi++;
    int *per_sm = &st->fa_ctas_per_sm[tt == RT_BF16][dpi];
    if (*per_sm <= 0) {  // first use (eager): query once
        ROTO_TRY(fa_launch<T>(st, DP, fa_params(), 1, per_sm));
        if (*per_sm < 1) *per_sm = 1;
    }
    int splits = 1, tps = 1;
    fa_plan(qblocks, n_tiles, (int64_t)st->sm_count * *per_sm, &splits, &tps);

    int convert_in = q0->dtype == RT_F32;
    int direct_out = splits == 1 && out->dtype == tt && aligned16(out);
    size_t in_q = convert_in ? align256((size_t)B * H * Lq * D * sizeof(T)) : 0;
    size_t in_kv = convert_in ? align256((size_t)B * H * Lk * D * sizeof(T)) : 0;
    size_t po = direct_out ? 0 : align256((size_t)splits * B * H * Lq * D * 4);
    size_t pl = direct_out ? 0 : align256((size_t)splits * B * H * Lq * 4);
    char *scr = NULL;
    size_t scratch_bytes = in_q + 2 * in_kv + po + pl;
    if (scratch_bytes) ROTO_TRY(cu_scratch(st, scratch_bytes, (void **)&scr));

    rt_tensor q = *q0, k = *k0, v = *v0;
    if (convert_in) {
        int64_t sq[4] = {B, H, Lq, D}, sk[4] = {B, H, Lk, D};
        q = rt_tensor_make(scr, tt, RT_DEV_CUDA, 4, sq);
        k = rt_tensor_make(scr + in_q, tt, RT_DEV_CUDA, 4, sk);
        v = rt_tensor_make(scr + in_q + in_kv, tt, RT_DEV_CUDA, 4, sk);
        ROTO_TRY(cu_copy_raw(st, &q, q0));
        ROTO_TRY(cu_copy_raw(st, &k, k0));
        ROTO_TRY(cu_copy_raw(st, &v, v0));
    }
    fa_params p;
    memset(&p, 0, sizeof p);
    p.q = q.data, p.k = k.data, p.v = v.data;
    p.q_sb = q.stride[0], p.q_sh = q.stride[1], p.q_sl = q.stride[2];
    p.k_sb = k.stride[0], p.k_sh = k.stride[1], p.k_sl = k.stride[2];
    p.v_sb = v.stride[0], p.v_sh = v.stride[1], p.v_sl = v.stride[2];
    p.bias = bias ? (const float *)bias->data : NULL;
    p.bias_sb = bias ? bias->stride[0] : 0;
    if (bias && bias->shape[0] == 1) p.bias_sb = 0;
    p.B = B, p.H = H, p.Lq = Lq, p.Lk = Lk, p.D = D;
    p.tiles_per_split = tps;
    p.scale_log2 = scale * LOG2E_F;
    if (direct_out) {
        p.o = out->data;
        p.o_sb = out->stride[0], p.o_sh = out->stride[1], p.o_sl = out->stride[2];
    } else {
        p.part_o = (float *)(scr + in_q + 2 * in_kv);
        p.part_lse = (float *)(scr + in_q + 2 * in_kv + po);
    }
    ROTO_TRY(fa_launch<T>(st, DP, p, splits, NULL));
    if (direct_out) return ROTO_OK;
    switch (out->dtype) {
    case RT_F32: return fa_combine<float>(st, out, p, splits);
    case RT_F16: return fa_combine<__half>(st, out, p, splits);
    default: return fa_combine<__nv_bfloat16>(st, out, p, splits);
    }
}

// ---- naive path ------------------------------------------------------------------------------
// Per batch and chunk of queries: S = q k^T (f32, all heads batched), then a
// row softmax of S*scale + bias into P (the type of v), then out = P v.

template <typename TP>
__global__ void k_attn_softmax(TP *P, const float *S, const float *bias, int64_t rows,
                               int64_t n, float scale) {
    int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float *sr = S + row * n;
    TP *pr = P + row * n;
    float m = -INFINITY;
    for (int64_t i = lane; i < n; i += 32) m = fmaxf(m, sr[i] * scale + (bias ? bias[i] : 0.f));
    m = cu_warp_max(m);
    if (m == -INFINITY) {  // every key masked: zeros
        for (int64_t i = lane; i < n; i += 32) cu_st(pr + i, 0.f);
        return;
    }
    float s = 0.f;
    for (int64_t i = lane; i < n; i += 32) s += expf(sr[i] * scale + (bias ? bias[i] : 0.f) - m);
    float inv = 1.f / cu_warp_sum(s);
    for (int64_t i = lane; i < n; i += 32)
        cu_st(pr + i, expf(sr[i] * scale + (bias ? bias[i] : 0.f) - m) * inv);
}

template <typename TP>
static roto_status attn_softmax(cu_state *st, void *P, const float *S, const float *bias,
                                int64_t rows, int64_t n, float scale) {
    const int warps = 8;
    k_attn_softmax<TP><<<(unsigned)((rows + warps - 1) / warps), warps * 32, 0, st->stream>>>(
        (TP *)P, S, bias, rows, n, scale);
    CU_LAUNCH_CHECK("k_attn_softmax");
    return ROTO_OK;
}

static roto_status naive_run(cu_state *st, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                             const rt_tensor *v, const rt_tensor *bias, float scale) {
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    int64_t Lk = k->shape[2], Dv = v->shape[3];
    if (q->dtype != k->dtype || q->dtype != v->dtype || !cu_is_float(q->dtype) ||
        !cu_is_float(out->dtype))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "attention: q, k, v must share a float dtype on cuda");
    if (bias && bias->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "attention: key_bias must be f32 on cuda");
    if (bias && bias->shape[1] > 1 && bias->stride[1] != 1)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "attention: key_bias rows must be contiguous");
    rt_dtype pt = v->dtype;  // P multiplies v, so it takes v's type
    size_t ps = rt_dtype_size(pt);
    // Query chunk so S + P stay under 512 MiB.
    const size_t budget = (size_t)512 << 20;
    size_t per_row = (size_t)H * Lk * (4 + ps);
    int64_t qc = per_row ? (int64_t)(budget / per_row) : Lq;
    if (qc < 1) qc = 1;
    if (qc > Lq) qc = Lq;
    size_t s_bytes = align256((size_t)H * qc * Lk * 4);
    char *scr = NULL;
    ROTO_TRY(cu_scratch(st, s_bytes + (size_t)H * qc * Lk * ps, (void **)&scr));
    float *S = (float *)scr;
    void *P = scr + s_bytes;
    size_t qes = rt_dtype_size(q->dtype), oes = rt_dtype_size(out->dtype);
    for (int64_t b = 0; b < B; b++) {
        const float *bias_row =
            bias ? (const float *)bias->data + (bias->shape[0] == 1 ? 0 : b * bias->stride[0]) : NULL;
        for (int64_t r0 = 0; r0 < Lq; r0 += qc) {
            int64_t m = Lq - r0 < qc ? Lq - r0 : qc;
            cu_gemm_args g;
            memset(&g, 0, sizeof g);
            g.M = m, g.N = Lk, g.K = D, g.batch = H;
            g.A = (const char *)q->data + (b * q->stride[0] + r0 * q->stride[2]) * qes;
            g.lda = q->stride[2], g.stride_a = q->stride[1];
            g.B = (const char *)k->data + b * k->stride[0] * qes;
            g.ldb = k->stride[2], g.stride_b = k->stride[1], g.trans_b = 1;
            g.C = S, g.ldc = Lk, g.stride_c = m * Lk;
            g.ab_type = q->dtype, g.c_type = RT_F32;
            g.act = RT_ACT_NONE, g.alpha = 1.f, g.beta = 0.f;
            ROTO_TRY(cu_gemm(st, &g));
            int64_t rows = H * m;
            switch (pt) {
            case RT_F32: ROTO_TRY(attn_softmax<float>(st, P, S, bias_row, rows, Lk, scale)); break;
            case RT_F16: ROTO_TRY(attn_softmax<__half>(st, P, S, bias_row, rows, Lk, scale)); break;
            default: ROTO_TRY(attn_softmax<__nv_bfloat16>(st, P, S, bias_row, rows, Lk, scale)); break;
            }
            memset(&g, 0, sizeof g);
            g.M = m, g.N = Dv, g.K = Lk, g.batch = H;
            g.A = P, g.lda = Lk, g.stride_a = m * Lk;
            g.B = (const char *)v->data + b * v->stride[0] * qes;
            g.ldb = v->stride[2], g.stride_b = v->stride[1], g.trans_b = 0;
            g.C = (char *)out->data + (b * out->stride[0] + r0 * out->stride[2]) * oes;
            g.ldc = out->stride[2], g.stride_c = out->stride[1];
            g.ab_type = pt, g.c_type = out->dtype;
            g.act = RT_ACT_NONE, g.alpha = 1.f, g.beta = 0.f;
            ROTO_TRY(cu_gemm(st, &g));
        }
    }
    return ROTO_OK;
}

// ---- entry points -------------------------------------------------------------------------------

extern "C" roto_status cu_attention_path(rt_ctx *ctx, rt_tensor *out, const rt_tensor *q,
                                         const rt_tensor *k, const rt_tensor *v,
                                         const rt_tensor *key_bias, float scale, int path) {
    cu_state *st = cu_get(ctx);
    if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4 || out->ndim != 4)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "attention: 4-d tensors expected on cuda");
    if (rt_numel(out) == 0) return ROTO_OK;
    if (k->shape[2] == 0) {  // no keys: every row is "fully masked", i.e. zeros
        size_t es = rt_dtype_size(out->dtype);
        int64_t Lq = out->shape[2], Dv = out->shape[3];
        size_t pitch = Lq > 1 ? (size_t)out->stride[2] * es : (size_t)Dv * es;
        for (int64_t b = 0; b < out->shape[0]; b++)
            for (int64_t h = 0; h < out->shape[1]; h++)
                CU_TRY(cudaMemset2DAsync(
                    (char *)out->data + (b * out->stride[0] + h * out->stride[1]) * es, pitch, 0,
                    (size_t)Dv * es, (size_t)Lq, st->stream));
        return ROTO_OK;
    }
    int ft = path == 2 ? -1 : flash_type(st, q, k, v, out, key_bias);
    if (ft < 0) {
        if (path == 1)
            return roto_fail(ROTO_ERR_UNSUPPORTED,
                             "attention: the flash kernel does not apply (dtype %s, precision %d, "
                             "head dim %lld, alignment)",
                             rt_dtype_name(q->dtype), (int)st->precision, (long long)q->shape[3]);
        return naive_run(st, out, q, k, v, key_bias, scale);
    }
    if (ft == RT_F16) return flash_run<__half>(st, out, q, k, v, key_bias, scale, RT_F16);
    return flash_run<__nv_bfloat16>(st, out, q, k, v, key_bias, scale, RT_BF16);
}

extern "C" roto_status cu_attention(rt_ctx *ctx, rt_tensor *out, const rt_tensor *q,
                                    const rt_tensor *k, const rt_tensor *v,
                                    const rt_tensor *key_bias, float scale) {
    return cu_attention_path(ctx, out, q, k, v, key_bias, scale, 0);
}
