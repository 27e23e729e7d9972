// conv.cu: 2-D convolution through cuDNN (NHWC, with a direct fallback
// kernel) and the k == stride transposed convolution as GEMM + depth-to-space.
// defines: cu_conv2d, cu_conv_transpose, cu_conv_cache_free
//
// cuDNN: the legacy cudnnConvolutionForward API. Our layouts map directly:
// x [N, H, W, Cin] is an NHWC tensor, w [Cout, KH, KW, Cin/groups] (OHWI) is
// an NHWC filter (cuDNN's KRSC), groups (depthwise) via
// cudnnSetConvolutionGroupCount. The algorithm comes from
// cudnnGetConvolutionForwardAlgorithm_v7 (heuristics only: no trial runs, so
// nothing synchronises), cached per shape with its descriptors. Bias and the
// activation run afterwards as one elementwise pass (cuDNN's fused
// bias-activation supports only ReLU and ties the algorithm choice).
//
// Math type follows the context's precision for f32 data: FP32 -> FMA only,
// TF32 -> default math (TF32 tensor cores allowed), BF16/FP16 -> tensor ops
// with down-conversion allowed. f16/bf16 data always uses tensor cores.
//
// When cuDNN offers no algorithm for a case (or is given odd strides), a
// direct kernel (one thread per output) computes it instead.
#include <cudnn.h>
#include <string.h>

#include "cuda_device.cuh"

#define DNN_TRY(call)                                                                    \
    do {                                                                                 \
        cudnnStatus_t _s = (call);                                                       \
        if (_s != CUDNN_STATUS_SUCCESS)                                                  \
            return roto_fail(ROTO_ERR_DEVICE, "cudnn: %s failed: %s", #call,             \
                             cudnnGetErrorString(_s));                                   \
    } while (0)

// ---- direct fallback kernel --------------------------------------------------------------

struct conv_geom {
    int64_t N, H, W, Cin, Ho, Wo, Cout, KH, KW;
    int sh, sw, ph, pw, dh, dw, groups;
    cu_t4 xd;  // x strides
};

template <typename T>
__global__ void k_conv_direct(T *y, const T *x, const T *w, const void *bias, int bias_type,
                              conv_geom g, rt_act act, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t co = i % g.Cout, r = i / g.Cout;
        int64_t wo = r % g.Wo;
        r /= g.Wo;
        int64_t ho = r % g.Ho, img = r / g.Ho;
        int64_t cpg_in = g.Cin / g.groups, cpg_out = g.Cout / g.groups;
        int64_t ci0 = (co / cpg_out) * cpg_in;
        const T *wr = w + co * g.KH * g.KW * cpg_in;
        float acc = 0.f;
        for (int64_t kh = 0; kh < g.KH; kh++) {
            int64_t h = ho * g.sh - g.ph + kh * g.dh;
            if (h < 0 || h >= g.H) continue;
            for (int64_t kw = 0; kw < g.KW; kw++) {
                int64_t ww = wo * g.sw - g.pw + kw * g.dw;
                if (ww < 0 || ww >= g.W) continue;
                const T *xp = x + img * g.xd.s[0] + h * g.xd.s[1] + ww * g.xd.s[2] + ci0 * g.xd.s[3];
                const T *wp = wr + (kh * g.KW + kw) * cpg_in;
                for (int64_t c = 0; c < cpg_in; c++) acc += cu_ld(xp + c * g.xd.s[3]) * cu_ld(wp + c);
            }
        }
        if (bias) acc += cu_ld_dyn(bias, co, bias_type);
        cu_st(y + i, cu_act(acc, act));
    }
}

template <typename T>
static roto_status conv_direct_t(cu_state *st, rt_tensor *y, const rt_tensor *x,
                                 const rt_tensor *w, const rt_tensor *b, const conv_geom *g,
                                 rt_act act) {
    int64_t n = rt_numel(y);
    if (n == 0) return ROTO_OK;
    k_conv_direct<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (T *)y->data, (const T *)x->data, (const T *)w->data, b ? b->data : NULL,
        b ? (int)b->dtype : 0, *g, act, n);
    CU_LAUNCH_CHECK("k_conv_direct");
    return ROTO_OK;
}

// ---- cuDNN plans -------------------------------------------------------------------------

typedef struct {
    int32_t n, h, w, cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, dtype, math;
    int64_t xs[4];  // x strides (n, h, w, c)
} conv_key;

typedef struct {
    conv_key key;
    int used, has_algo;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws_bytes;
} conv_plan;

#define CONV_SLOTS 128
typedef struct {
    conv_plan p[CONV_SLOTS];
    int next;
} conv_cache;

static void conv_plan_release(conv_plan *p) {
    if (p->xd) cudnnDestroyTensorDescriptor(p->xd);
    if (p->yd) cudnnDestroyTensorDescriptor(p->yd);
    if (p->wd) cudnnDestroyFilterDescriptor(p->wd);
    if (p->cd) cudnnDestroyConvolutionDescriptor(p->cd);
    memset(p, 0, sizeof *p);
}

extern "C" void cu_conv_cache_free(cu_state *st) {
    conv_cache *c = (conv_cache *)st->conv_cache;
    if (c) {
        for (int i = 0; i < CONV_SLOTS; i++)
            if (c->p[i].used) conv_plan_release(&c->p[i]);
        free(c);
        st->conv_cache = NULL;
    }
    if (st->dnn) cudnnDestroy((cudnnHandle_t)st->dnn);
    st->dnn = NULL;
}

static cudnnDataType_t dnn_type(rt_dtype t) {
    switch (t) {
    case RT_F16: return CUDNN_DATA_HALF;
    case RT_BF16: return CUDNN_DATA_BFLOAT16;
    default: return CUDNN_DATA_FLOAT;
    }
}

static cudnnMathType_t dnn_math(const cu_state *st, rt_dtype t) {
    if (t != RT_F32) return CUDNN_TENSOR_OP_MATH;
    switch (st->precision) {
    case RT_PREC_TF32: return CUDNN_DEFAULT_MATH;
    case RT_PREC_BF16:
    case RT_PREC_FP16: return CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    default: return CUDNN_FMA_MATH;
    }
}

static roto_status dnn_handle(cu_state *st, cudnnHandle_t *h) {
    if (!st->dnn) {
        cudnnHandle_t nh = NULL;
        DNN_TRY(cudnnCreate(&nh));
        st->dnn = nh;
    }
    *h = (cudnnHandle_t)st->dnn;
    DNN_TRY(cudnnSetStream(*h, st->stream));
    return ROTO_OK;
}

static roto_status conv_plan_make(cu_state *st, cudnnHandle_t h, conv_plan *p, const conv_key *k,
                                  int64_t ho, int64_t wo) {
    memset(p, 0, sizeof *p);
    p->key = *k;
    p->used = 1;
    cudnnDataType_t dt = dnn_type((rt_dtype)k->dtype);
    DNN_TRY(cudnnCreateTensorDescriptor(&p->xd));
    DNN_TRY(cudnnCreateTensorDescriptor(&p->yd));
    DNN_TRY(cudnnCreateFilterDescriptor(&p->wd));
    DNN_TRY(cudnnCreateConvolutionDescriptor(&p->cd));
    // x through its strides (NHWC when packed); y packed NHWC.
    DNN_TRY(cudnnSetTensor4dDescriptorEx(p->xd, dt, k->n, k->cin, k->h, k->w, (int)k->xs[0],
                                         (int)k->xs[3], (int)k->xs[1], (int)k->xs[2]));
    DNN_TRY(cudnnSetTensor4dDescriptor(p->yd, CUDNN_TENSOR_NHWC, dt, k->n, k->cout, (int)ho,
                                       (int)wo));
    DNN_TRY(cudnnSetFilter4dDescriptor(p->wd, dt, CUDNN_TENSOR_NHWC, k->cout, k->cin / k->groups,
                                       k->kh, k->kw));
    DNN_TRY(cudnnSetConvolution2dDescriptor(p->cd, k->ph, k->pw, k->sh, k->sw, k->dh, k->dw,
                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    DNN_TRY(cudnnSetConvolutionGroupCount(p->cd, k->groups));
    cudnnMathType_t math = (cudnnMathType_t)k->math;
    DNN_TRY(cudnnSetConvolutionMathType(p->cd, math));
    int n_out[4] = {0, 0, 0, 0};
    DNN_TRY(cudnnGetConvolution2dForwardOutputDim(p->cd, p->xd, p->wd, &n_out[0], &n_out[1],
                                                  &n_out[2], &n_out[3]));
    if (n_out[0] != k->n || n_out[1] != k->cout || n_out[2] != ho || n_out[3] != wo)
        return roto_fail(ROTO_ERR_INTERNAL, "cudnn: output dims %dx%dx%dx%d, expected %dx%lldx%lldx%d",
                         n_out[0], n_out[2], n_out[3], n_out[1], k->n, (long long)ho,
                         (long long)wo, k->cout);
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n_perf = 0;
    cudnnStatus_t s = cudnnGetConvolutionForwardAlgorithm_v7(
        h, p->xd, p->wd, p->cd, p->yd, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n_perf, perf);
    if (s != CUDNN_STATUS_SUCCESS) return ROTO_OK;  // no algorithm: fallback kernel
    const size_t ws_cap = (size_t)1 << 30;
    for (int i = 0; i < n_perf; i++) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > ws_cap) continue;
        // In FP32 mode never take a tensor-op algorithm.
        if (math == CUDNN_FMA_MATH && perf[i].mathType != CUDNN_FMA_MATH) continue;
        if (perf[i].mathType != math) DNN_TRY(cudnnSetConvolutionMathType(p->cd, perf[i].mathType));
        size_t ws = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(h, p->xd, p->wd, p->cd, p->yd, perf[i].algo,
                                                    &ws) != CUDNN_STATUS_SUCCESS)
            continue;
        p->algo = perf[i].algo;
        p->ws_bytes = ws;
        p->has_algo = 1;
        break;
    }
    return ROTO_OK;
}

static roto_status conv_plan_get(cu_state *st, cudnnHandle_t h, const conv_key *k, int64_t ho,
                                 int64_t wo, conv_plan **out) {
    conv_cache *c = (conv_cache *)st->conv_cache;
    if (!c) {
        c = (conv_cache *)calloc(1, sizeof *c);
        if (!c) return roto_fail(ROTO_ERR_OOM, "cuda conv: cannot allocate the plan cache");
        st->conv_cache = c;
    }
    for (int i = 0; i < CONV_SLOTS; i++)
        if (c->p[i].used && memcmp(&c->p[i].key, k, sizeof *k) == 0) {
            *out = &c->p[i];
            return ROTO_OK;
        }
    int slot = -1;
    for (int i = 0; i < CONV_SLOTS && slot < 0; i++)
        if (!c->p[i].used) slot = i;
    if (slot < 0) {
        slot = c->next;
        c->next = (c->next + 1) % CONV_SLOTS;
        conv_plan_release(&c->p[slot]);
    }
    // A case cuDNN refuses while setting up (unsupported layout, group count,
    // ...) is remembered as "no algorithm": the direct kernel computes it.
    if (conv_plan_make(st, h, &c->p[slot], k, ho, wo) != ROTO_OK) {
        conv_plan_release(&c->p[slot]);
        c->p[slot].key = *k;
        c->p[slot].used = 1;
        c->p[slot].has_algo = 0;
        roto_clear_error();
    }
    *out = &c->p[slot];
    return ROTO_OK;
}

static int fits_int(int64_t v) { return v >= 0 && v <= 0x7fffffff; }

extern "C" roto_status cu_conv2d(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                                 const rt_tensor *w, const rt_tensor *b,
                                 const rt_conv_params *cp, rt_act act) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype || w->dtype != x->dtype || !cu_is_float(x->dtype))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "conv2d: x, w, y must share a float dtype on cuda");
    if (b && !cu_is_float(b->dtype))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "conv2d: bias must be float on cuda");
    conv_geom g;
    memset(&g, 0, sizeof g);
    g.N = x->shape[0], g.H = x->shape[1], g.W = x->shape[2], g.Cin = x->shape[3];
    g.Cout = w->shape[0], g.KH = w->shape[1], g.KW = w->shape[2];
    g.Ho = y->shape[1], g.Wo = y->shape[2];
    g.sh = cp->stride_h, g.sw = cp->stride_w, g.ph = cp->pad_h, g.pw = cp->pad_w;
    g.dh = cp->dil_h, g.dw = cp->dil_w, g.groups = cp->groups > 0 ? cp->groups : 1;
    g.xd = cu_t4_of(x);
    // cu_t4 zeroes strides of size-1 dims; cuDNN wants real ones.
    int64_t xs[4] = {x->stride[0], x->stride[1], x->stride[2], x->stride[3]};
    if (rt_numel(y) == 0) return ROTO_OK;
    int y_packed = rt_is_contiguous(y);
    int use_dnn = y_packed && xs[3] == 1;
    int64_t dims[] = {g.N, g.H, g.W, g.Cin, g.Cout, g.KH, g.KW, xs[0], xs[1], xs[2], g.Ho, g.Wo};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++) use_dnn &= fits_int(dims[i]);

    cudnnHandle_t h = NULL;
    if (use_dnn && dnn_handle(st, &h) != ROTO_OK) {
        // No usable cuDNN (library/driver mismatch): compute with the direct kernel.
        roto_clear_error();
        use_dnn = 0;
    }
    if (use_dnn) {
        conv_key k;
        memset(&k, 0, sizeof k);
        k.n = (int32_t)g.N, k.h = (int32_t)g.H, k.w = (int32_t)g.W, k.cin = (int32_t)g.Cin;
        k.cout = (int32_t)g.Cout, k.kh = (int32_t)g.KH, k.kw = (int32_t)g.KW;
        k.sh = g.sh, k.sw = g.sw, k.ph = g.ph, k.pw = g.pw, k.dh = g.dh, k.dw = g.dw;
        k.groups = g.groups, k.dtype = x->dtype, k.math = dnn_math(st, x->dtype);
        for (int i = 0; i < 4; i++) k.xs[i] = xs[i];
        // Size-1 dims: any stride is valid there; make it the packed one so
        // cuDNN sees a plain NHWC tensor.
        if (g.W == 1) k.xs[2] = g.Cin;
        if (g.H == 1) k.xs[1] = g.W * k.xs[2];
        if (g.N == 1) k.xs[0] = g.H * k.xs[1];
        conv_plan *p = NULL;
        ROTO_TRY(conv_plan_get(st, h, &k, g.Ho, g.Wo, &p));
        if (p->has_algo) {
            ROTO_TRY(cu_buf_reserve(st, &st->dnn_ws, p->ws_bytes, "cuDNN workspace"));
            float alpha = 1.f, beta = 0.f;
            DNN_TRY(cudnnConvolutionForward(h, &alpha, p->xd, x->data, p->wd, w->data, p->cd,
                                            p->algo, st->dnn_ws.ptr, p->ws_bytes, &beta, p->yd,
                                            y->data));
            return cu_bias_act(st, y->data, y->dtype, rt_numel(y) / g.Cout, g.Cout,
                               b ? b->data : NULL, b ? b->dtype : RT_F32, act);
        }
    }
    if (!y_packed) return roto_fail(ROTO_ERR_UNSUPPORTED, "conv2d: y must be contiguous on cuda");
    CU_DISPATCH_FLOAT(x->dtype, "conv2d", conv_direct_t, st, y, x, w, b, &g, act);
}

// ---- transposed convolution, kernel == stride ------------------------------------------------
// y[n, h*K+i, w*K+j, co] = b[co] + sum_ci x[n, h, w, ci] * w[ci, co, i, j].
// PyTorch's weight [Cin, Cout, K, K] is already the row-major Cin x (Cout*K*K)
// matrix this needs, so: Z = X [NHW, Cin] @ W [Cin, Cout*K*K] (one GEMM into
// scratch), then a depth-to-space pass adds the bias while scattering.

template <typename T>
__global__ void k_depth_to_space(T *y, const T *z, const void *bias, int bias_type, int64_t H,
                                 int64_t W, int64_t Cout, int K, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        // i walks y [N, H*K, W*K, Cout] contiguously.
        int64_t co = i % Cout, r = i / Cout;
        int64_t xw = r % (W * K);
        r /= W * K;
        int64_t yh = r % (H * K), img = r / (H * K);
        int64_t h = yh / K, ki = yh % K, w = xw / K, kj = xw % K;
        int64_t zrow = (img * H + h) * W + w;
        float v = cu_ld(z + zrow * Cout * K * K + (co * K + ki) * K + kj);
        if (bias) v += cu_ld_dyn(bias, co, bias_type);
        cu_st(y + i, v);
    }
}

template <typename T>
static roto_status d2s_t(cu_state *st, rt_tensor *y, const void *z, const rt_tensor *b, int64_t H,
                         int64_t W, int64_t Cout, int K) {
    int64_t n = rt_numel(y);
    k_depth_to_space<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (T *)y->data, (const T *)z, b ? b->data : NULL, b ? (int)b->dtype : 0, H, W, Cout, K, n);
    CU_LAUNCH_CHECK("k_depth_to_space");
    return ROTO_OK;
}

extern "C" roto_status cu_conv_transpose(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                                         const rt_tensor *w, const rt_tensor *b, int k) {
    cu_state *st = cu_get(ctx);
    if (x->dtype != y->dtype || w->dtype != x->dtype || !cu_is_float(x->dtype))
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "conv_transpose: x, w, y must share a float dtype on cuda");
    if (!rt_is_contiguous(x) || !rt_is_contiguous(y) || !rt_is_contiguous(w))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "conv_transpose: contiguous tensors expected on cuda");
    if (b && !cu_is_float(b->dtype))
        return roto_fail(ROTO_ERR_UNSUPPORTED, "conv_transpose: bias must be float on cuda");
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], Cin = x->shape[3];
    int64_t Cout = w->shape[1];
    int64_t rows = N * H * W, cols = Cout * k * k;
    if (rows * cols == 0) return ROTO_OK;
    void *z = NULL;
    ROTO_TRY(cu_scratch(st, (size_t)(rows * cols) * rt_dtype_size(y->dtype), &z));
    cu_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = rows, g.N = cols, g.K = Cin, g.batch = 1;
    g.A = x->data, g.lda = Cin;
    g.B = w->data, g.ldb = cols, g.trans_b = 0;
    g.C = z, g.ldc = cols;
    g.ab_type = x->dtype, g.c_type = y->dtype;
    g.act = RT_ACT_NONE, g.alpha = 1.f, g.beta = 0.f;
    ROTO_TRY(cu_gemm(st, &g));
    CU_DISPATCH_FLOAT(y->dtype, "conv_transpose", d2s_t, st, y, z, b, H, W, Cout, k);
}
