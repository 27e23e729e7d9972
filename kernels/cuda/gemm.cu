// gemm.cu: matrix products through cuBLASLt, with a plain fallback kernel.
// defines: cu_gemm, cu_gemm_simple, cu_gemm_cache_free, cu_linear, cu_matmul
//
// Row-major trick: cuBLASLt is column-major, and a row-major M x N matrix is
// the same memory as a column-major N x M one. So C = A @ op(B) (row-major)
// is computed as C^T = op(B)^T @ A^T (column-major), i.e. cuBLASLt's "A" is
// our B and its "B" is our A, with m = N, n = M.
//
// Precision: f16/bf16 data multiplies in its type with fp32 accumulation. f32
// data uses the context's precision through the compute type: FP32 ->
// CUBLAS_COMPUTE_32F (true fp32), TF32/BF16/FP16 -> CUBLAS_COMPUTE_32F_FAST_*,
// which lets cuBLASLt round the inputs to that type for the tensor cores.
//
// Epilogues: bias and ReLU are fused (CUBLASLT_EPILOGUE_BIAS / RELU_BIAS).
// GELU is NOT fused: cuBLASLt's GELU epilogue is the tanh approximation and
// the nets need the exact erf form, so GELU (and sigmoid) run as a separate
// elementwise pass (cu_bias_act).
//
// Descriptors, layouts and the heuristic's algorithm are cached per shape
// (key: sizes, strides, types, epilogue, pointer alignments), so steady-state
// calls do no heuristic queries and graph capture sees only the matmul launch.
#include <string.h>

#include "cuda_device.cuh"

// ---- fallback kernel ------------------------------------------------------------------
// 32x32 output tile per 256-thread block, each thread 4 outputs, K in steps
// of 32 through shared memory. Any float types, fp32 accumulation. Used when
// cuBLASLt offers no algorithm (odd strides/alignment) and as a test oracle.

#define SG_TILE 32

template <typename TA, typename TC>
__global__ void k_gemm_simple(cu_gemm_args g) {
    __shared__ float As[SG_TILE][SG_TILE + 1];
    __shared__ float Bs[SG_TILE][SG_TILE + 1];  // Bs[k][n]
    const TA *A0 = (const TA *)g.A;
    const TA *B0 = (const TA *)g.B;
    TC *C0 = (TC *)g.C;
    int tx = threadIdx.x % SG_TILE, ty = threadIdx.x / SG_TILE;  // ty in 0..7
    int64_t row0 = (int64_t)blockIdx.y * SG_TILE, col0 = (int64_t)blockIdx.x * SG_TILE;
    for (int64_t b = blockIdx.z; b < g.batch; b += gridDim.z) {
        const TA *A = A0 + b * g.stride_a;
        const TA *B = B0 + b * g.stride_b;
        TC *C = C0 + b * g.stride_c;
        float acc[4] = {0.f, 0.f, 0.f, 0.f};
        for (int64_t k0 = 0; k0 < g.K; k0 += SG_TILE) {
            for (int r = ty; r < SG_TILE; r += 8) {
                int64_t m = row0 + r, k = k0 + tx;
                As[r][tx] = (m < g.M && k < g.K) ? cu_ld(A + m * g.lda + k) : 0.f;
                // Bs[r][tx] = op(B)[k0 + r][col0 + tx]
                int64_t kk = k0 + r, n = col0 + tx;
                float bv = 0.f;
                if (kk < g.K && n < g.N)
                    bv = g.trans_b ? cu_ld(B + n * g.ldb + kk) : cu_ld(B + kk * g.ldb + n);
                Bs[r][tx] = bv;
            }
            __syncthreads();
            for (int kk = 0; kk < SG_TILE; kk++) {
                float bv = Bs[kk][tx];
                for (int i = 0; i < 4; i++) acc[i] += As[ty + 8 * i][kk] * bv;
            }
            __syncthreads();
        }
        for (int i = 0; i < 4; i++) {
            int64_t m = row0 + ty + 8 * i, n = col0 + tx;
            if (m >= g.M || n >= g.N) continue;
            float v = g.alpha * acc[i];
            if (g.bias) v += cu_ld_dyn(g.bias, n, g.bias_type);
            v = cu_act(v, g.act);
            TC *cp = C + m * g.ldc + n;
            if (g.beta != 0.f) v += g.beta * cu_ld(cp);
            cu_st(cp, v);
        }
    }
}

template <typename TA, typename TC>
static roto_status gemm_simple_t(cu_state *st, const cu_gemm_args *g) {
    dim3 grid((unsigned)((g->N + SG_TILE - 1) / SG_TILE), (unsigned)((g->M + SG_TILE - 1) / SG_TILE),
              (unsigned)(g->batch < 65535 ? g->batch : 65535));
    if (g->M > 65535LL * SG_TILE)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "gemm fallback: M = %lld too large", (long long)g->M);
    k_gemm_simple<TA, TC><<<grid, 256, 0, st->stream>>>(*g);
    CU_LAUNCH_CHECK("k_gemm_simple");
    return ROTO_OK;
}

template <typename TA>
static roto_status gemm_simple_a(cu_state *st, const cu_gemm_args *g) {
    switch (g->c_type) {
    case RT_F32: return gemm_simple_t<TA, float>(st, g);
    case RT_F16: return gemm_simple_t<TA, __half>(st, g);
    case RT_BF16: return gemm_simple_t<TA, __nv_bfloat16>(st, g);
    default: return roto_fail(ROTO_ERR_UNSUPPORTED, "gemm: output dtype not supported on cuda");
    }
}

extern "C" roto_status cu_gemm_simple(cu_state *st, const cu_gemm_args *g) {
    if (g->M == 0 || g->N == 0 || g->batch == 0) return ROTO_OK;
    CU_DISPATCH_FLOAT(g->ab_type, "gemm", gemm_simple_a, st, g);
}

// ---- cuBLASLt plan cache ---------------------------------------------------------------

typedef struct {
    int64_t M, N, K, batch, lda, ldb, ldc, sa, sb, sc;
    int32_t trans_b, ab_type, c_type, compute, epilogue, bias_type;
    uint32_t align[4];  // A, B, C, bias pointer alignments in bytes
} plan_key;

typedef struct {
    plan_key key;
    int used;
    int has_algo;  // 0: cuBLASLt had no algorithm, use the fallback kernel
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;  // cuBLASLt's A (our B), B (our A), C/D
    cublasLtMatmulAlgo_t algo;
} plan;

#define PLAN_SLOTS 256
typedef struct {
    plan p[PLAN_SLOTS];
    int next;  // round-robin victim when full
} plan_cache;

static void plan_release(plan *p) {
    if (p->op) cublasLtMatmulDescDestroy(p->op);
    if (p->la) cublasLtMatrixLayoutDestroy(p->la);
    if (p->lb) cublasLtMatrixLayoutDestroy(p->lb);
    if (p->lc) cublasLtMatrixLayoutDestroy(p->lc);
    memset(p, 0, sizeof *p);
}

extern "C" void cu_gemm_cache_free(cu_state *st) {
    plan_cache *c = (plan_cache *)st->gemm_cache;
    if (!c) return;
    for (int i = 0; i < PLAN_SLOTS; i++)
        if (c->p[i].used) plan_release(&c->p[i]);
    free(c);
    st->gemm_cache = NULL;
}

static cudaDataType_t cuda_type(rt_dtype t) {
    switch (t) {
    case RT_F16: return CUDA_R_16F;
    case RT_BF16: return CUDA_R_16BF;
    default: return CUDA_R_32F;
    }
}

static uint32_t ptr_align(const void *p, int64_t batch, int64_t stride_elems, size_t esize) {
    uintptr_t a = (uintptr_t)p;
    if (batch > 1) a |= (uintptr_t)(stride_elems * (int64_t)esize);
    uint32_t r = 256;
    while (r > 1 && (a % r) != 0) r >>= 1;
    return r;
}

static roto_status layout(cublasLtMatrixLayout_t *l, rt_dtype t, int64_t rows, int64_t cols,
                          int64_t ld, int64_t batch, int64_t stride) {
    LT_TRY(cublasLtMatrixLayoutCreate(l, cuda_type(t), (uint64_t)rows, (uint64_t)cols, ld));
    if (batch > 1) {
        int32_t bc = (int32_t)batch;
        LT_TRY(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc,
                                                sizeof bc));
        LT_TRY(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                &stride, sizeof stride));
    }
    return ROTO_OK;
}

// Build descriptors and ask the heuristic for an algorithm.
static roto_status plan_make(cu_state *st, plan *p, const plan_key *k) {
    memset(p, 0, sizeof *p);
    p->key = *k;
    p->used = 1;
    LT_TRY(cublasLtMatmulDescCreate(&p->op, (cublasComputeType_t)k->compute, CUDA_R_32F));
    cublasOperation_t ta = k->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    cublasLtEpilogue_t epi = (cublasLtEpilogue_t)k->epilogue;
    LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (k->epilogue & CUBLASLT_EPILOGUE_BIAS) {
        int32_t bt = (int32_t)cuda_type((rt_dtype)k->bias_type);
        LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                                              sizeof bt));
    }
    rt_dtype ab = (rt_dtype)k->ab_type, ct = (rt_dtype)k->c_type;
    // cuBLASLt's A = our B: stored N x K row-major (= K x N col-major, op T) or
    // K x N row-major (= N x K col-major, op N).
    if (k->trans_b) ROTO_TRY(layout(&p->la, ab, k->K, k->N, k->ldb, k->batch, k->sb));
    else ROTO_TRY(layout(&p->la, ab, k->N, k->K, k->ldb, k->batch, k->sb));
    ROTO_TRY(layout(&p->lb, ab, k->K, k->M, k->lda, k->batch, k->sa));  // our A, col-major K x M
    ROTO_TRY(layout(&p->lc, ct, k->N, k->M, k->ldc, k->batch, k->sc));

    cublasLtMatmulPreference_t pref;
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t ws = st->lt_ws.bytes;
    // cuBLASLt's A/B are our B/A.
    uint32_t al_a = k->align[1], al_b = k->align[0], al_c = k->align[2];
    cublasStatus_t s = cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                                 &al_a, sizeof al_a);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                                 &al_b, sizeof al_b);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                                 &al_c, sizeof al_c);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                 &al_c, sizeof al_c);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cublasLtMatmulPreferenceDestroy(pref);
        return cu_fail_lt(s, "cublasLtMatmulPreferenceSetAttribute", __FILE__, __LINE__);
    }
    cublasLtMatmulHeuristicResult_t res[4];
    int n_res = 0;
    s = cublasLtMatmulAlgoGetHeuristic(st->lt, p->op, p->la, p->lb, p->lc, p->lc, pref, 4, res,
                                       &n_res);
    cublasLtMatmulPreferenceDestroy(pref);
    // NOT_SUPPORTED / no result: this case goes to the fallback kernel.
    p->has_algo = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        for (int i = 0; i < n_res; i++)
            if (res[i].state == CUBLAS_STATUS_SUCCESS && res[i].workspaceSize <= ws) {
                p->algo = res[i].algo;
                p->has_algo = 1;
                break;
            }
    return ROTO_OK;
}

static roto_status plan_get(cu_state *st, const plan_key *k, plan **out) {
    plan_cache *c = (plan_cache *)st->gemm_cache;
    if (!c) {
        c = (plan_cache *)calloc(1, sizeof *c);
        if (!c) return roto_fail(ROTO_ERR_OOM, "cuda gemm: cannot allocate the plan cache");
        st->gemm_cache = c;
    }
    for (int i = 0; i < PLAN_SLOTS; i++)
        if (c->p[i].used && memcmp(&c->p[i].key, k, sizeof *k) == 0) {
            *out = &c->p[i];
            return ROTO_OK;
        }
    int slot = -1;
    for (int i = 0; i < PLAN_SLOTS && slot < 0; i++)
        if (!c->p[i].used) slot = i;
    if (slot < 0) {
        slot = c->next;
        c->next = (c->next + 1) % PLAN_SLOTS;
        plan_release(&c->p[slot]);
    }
    roto_status rs = plan_make(st, &c->p[slot], k);
    if (rs != ROTO_OK) {
        plan_release(&c->p[slot]);
        return rs;
    }
    *out = &c->p[slot];
    return ROTO_OK;
}

static int32_t compute_type(const cu_state *st, rt_dtype ab) {
    if (ab != RT_F32) return CUBLAS_COMPUTE_32F;
    switch (st->precision) {
    case RT_PREC_TF32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case RT_PREC_BF16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    case RT_PREC_FP16: return CUBLAS_COMPUTE_32F_FAST_16F;
    default: return CUBLAS_COMPUTE_32F;
    }
}

extern "C" roto_status cu_gemm(cu_state *st, const cu_gemm_args *g0) {
    cu_gemm_args g = *g0;
    if (g.M == 0 || g.N == 0 || g.batch == 0) return ROTO_OK;
    if (!cu_is_float(g.ab_type) || !cu_is_float(g.c_type))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "gemm: dtypes %s/%s not supported on cuda",
                         rt_dtype_name(g.ab_type), rt_dtype_name(g.c_type));
    if (g.beta != 0.f && (g.bias || g.act != RT_ACT_NONE))
        return roto_fail(ROTO_ERR_INTERNAL, "gemm: beta with bias/activation is not supported");
    // Empty sum (K = 0): the fallback kernel writes act(bias) + beta*C.
    if (g.K == 0) return cu_gemm_simple(st, &g);
    if (g.batch == 1) g.stride_a = g.stride_b = g.stride_c = 0;
    // A broadcast B over a batch of row-stacked A/C is one tall GEMM.
    if (g.batch > 1 && g.stride_b == 0 && g.stride_a == g.M * g.lda && g.stride_c == g.M * g.ldc) {
        g.M *= g.batch;
        g.batch = 1;
        g.stride_a = g.stride_c = 0;
    }
    // A single row or column: its leading dimension is irrelevant; make it legal.
    if (g.M == 1) {
        if (g.lda < g.K) g.lda = g.K;
        if (g.ldc < g.N) g.ldc = g.N;
    }
    if (g.trans_b ? (g.N == 1 && g.ldb < g.K) : (g.K == 1 && g.ldb < g.N))
        g.ldb = g.trans_b ? g.K : g.N;
    int lt_ok = g.lda >= g.K && g.ldc >= g.N && g.ldb >= (g.trans_b ? g.K : g.N) &&
                g.batch <= 0x7fffffff;

    // Fused epilogue: bias when its dtype matches C's, ReLU; others after.
    int fuse_bias = g.bias && g.bias_type == g.c_type;
    int fuse_relu = g.act == RT_ACT_RELU && (fuse_bias || !g.bias);
    int32_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (fuse_bias) epi = fuse_relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    else if (fuse_relu) epi = CUBLASLT_EPILOGUE_RELU;

    plan *p = NULL;
    if (lt_ok) {
        size_t ea = rt_dtype_size(g.ab_type), ec = rt_dtype_size(g.c_type);
        plan_key k;
        memset(&k, 0, sizeof k);
        k.M = g.M, k.N = g.N, k.K = g.K, k.batch = g.batch;
        k.lda = g.lda, k.ldb = g.ldb, k.ldc = g.ldc;
        k.sa = g.stride_a, k.sb = g.stride_b, k.sc = g.stride_c;
        k.trans_b = g.trans_b, k.ab_type = g.ab_type, k.c_type = g.c_type;
        k.compute = compute_type(st, g.ab_type);
        k.epilogue = epi;
        k.bias_type = fuse_bias ? g.bias_type : -1;
        k.align[0] = ptr_align(g.A, g.batch, g.stride_a, ea);
        k.align[1] = ptr_align(g.B, g.batch, g.stride_b, ea);
        k.align[2] = ptr_align(g.C, g.batch, g.stride_c, ec);
        k.align[3] = fuse_bias ? ptr_align(g.bias, 1, 0, ec) : 0;
        ROTO_TRY(plan_get(st, &k, &p));
        if (!p->has_algo) p = NULL;
    }
    if (!p) return cu_gemm_simple(st, &g);

    if (fuse_bias)
        LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias,
                                              sizeof g.bias));
    float alpha = g.alpha, beta = g.beta;
    LT_TRY(cublasLtMatmul(st->lt, p->op, &alpha, g.B, p->la, g.A, p->lb, &beta, g.C, p->lc, g.C,
                          p->lc, &p->algo, st->lt_ws.ptr, st->lt_ws.bytes, st->stream));
    // What the epilogue did not do.
    const void *rest_bias = fuse_bias ? NULL : g.bias;
    rt_act rest_act = fuse_relu ? RT_ACT_NONE : g.act;
    if (rest_bias || rest_act != RT_ACT_NONE) {
        if (g.batch == 1 && g.ldc == g.N)
            return cu_bias_act(st, g.C, g.c_type, g.M, g.N, rest_bias, g.bias_type, rest_act);
        for (int64_t b = 0; b < g.batch; b++)
            for (int64_t m = 0; m < g.M; m++) {
                // Rare (strided C with GELU): row by row.
                char *row = (char *)g.C + (b * g.stride_c + m * g.ldc) * rt_dtype_size(g.c_type);
                ROTO_TRY(cu_bias_act(st, row, g.c_type, 1, g.N, rest_bias, g.bias_type, rest_act));
            }
    }
    return ROTO_OK;
}

// ---- ops ----------------------------------------------------------------------------------

extern "C" roto_status cu_linear(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                                 const rt_tensor *w, const rt_tensor *b, rt_act act) {
    cu_state *st = cu_get(ctx);
    cu_gemm_args g;
    memset(&g, 0, sizeof g);
    g.K = x->shape[x->ndim - 1];
    g.N = w->shape[0];
    g.M = g.K ? rt_numel(x) / g.K : rt_numel(y) / (g.N ? g.N : 1);
    g.batch = 1;
    g.A = x->data, g.lda = g.K;
    g.B = w->data, g.ldb = g.K, g.trans_b = 1;
    g.C = y->data, g.ldc = g.N;
    g.ab_type = x->dtype, g.c_type = y->dtype;
    g.bias = b ? b->data : NULL;
    g.bias_type = b ? b->dtype : RT_F32;
    g.act = act;
    g.alpha = 1.f, g.beta = 0.f;
    return cu_gemm(st, &g);
}

// Batch geometry of a 3-d or 4-d operand: count and stride of the merged index.
static void batch_of(const rt_tensor *t, int64_t *count, int64_t *stride) {
    if (t->ndim == 4) {
        *count = t->shape[0] * t->shape[1];
        *stride = t->shape[1] > 1 ? t->stride[1] : t->stride[0];
    } else {
        *count = t->shape[0];
        *stride = t->stride[0];
    }
    if (*count <= 1) *stride = 0;
}

extern "C" roto_status cu_matmul(rt_ctx *ctx, rt_tensor *c, const rt_tensor *a,
                                 const rt_tensor *bm, int trans_b, float alpha, float beta) {
    cu_state *st = cu_get(ctx);
    int d = a->ndim;
    cu_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = a->shape[d - 2];
    g.K = a->shape[d - 1];
    g.N = trans_b ? bm->shape[d - 2] : bm->shape[d - 1];
    int64_t nb_b, nb_c;
    batch_of(a, &g.batch, &g.stride_a);
    batch_of(bm, &nb_b, &g.stride_b);  // one batch in b broadcasts: stride 0
    batch_of(c, &nb_c, &g.stride_c);
    g.A = a->data, g.lda = a->stride[d - 2];
    g.B = bm->data, g.ldb = bm->stride[d - 2], g.trans_b = trans_b;
    g.C = c->data, g.ldc = c->stride[d - 2];
    g.ab_type = a->dtype, g.c_type = c->dtype;
    g.act = RT_ACT_NONE;
    g.alpha = alpha, g.beta = beta;
    return cu_gemm(st, &g);
}
