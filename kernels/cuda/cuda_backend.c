// cuda_backend.c: the CUDA backend table and everything that is not a kernel:
// per-context state (device, stream, cuBLASLt/cuDNN handles, workspaces),
// device memory with clear out-of-memory messages, host <-> device copies,
// device selection, precision, CUDA graph capture/replay, pinned host memory.
// The ops themselves live in the .cu files (one per op family).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.h"

// cuBLASLt workspace: 32 MiB is NVIDIA's recommendation for Hopper.
#define CU_LT_WORKSPACE (32u << 20)

// Device for new contexts: -1 = from ROTO_DEVICE, else 0.
static int g_selected_device = -1;

// ---- errors -------------------------------------------------------------------

roto_status cu_fail_cuda(cudaError_t e, const char *what, const char *file, int line) {
    roto_status code = e == cudaErrorMemoryAllocation ? ROTO_ERR_OOM : ROTO_ERR_DEVICE;
    return roto_set_error(code, file, line, "cuda: %s failed: %s (%s)", what,
                          cudaGetErrorString(e), cudaGetErrorName(e));
}

roto_status cu_fail_lt(cublasStatus_t s, const char *what, const char *file, int line) {
    return roto_set_error(ROTO_ERR_DEVICE, file, line, "cublasLt: %s failed: status %d", what,
                          (int)s);
}

// ---- device memory --------------------------------------------------------------

// Device memory comes from the device's default stream-ordered pool
// (cudaMallocAsync/cudaFreeAsync on the context's stream) with its release
// threshold raised, so freed blocks stay in the pool for reuse: weights,
// memory banks and scratch can come and go between frames without the
// device-wide synchronisation cudaFree implies. Everything that touches these
// buffers runs on the same stream, so stream order keeps frees safe.
static cudaError_t pool_malloc(cu_state *st, void **ptr, size_t bytes) {
    cudaError_t e = cudaMallocAsync(ptr, bytes ? bytes : 1, st->stream);
    if (e == cudaErrorMemoryAllocation) {
        // The pool may hold freed blocks of the wrong sizes: give them back, retry once.
        cudaGetLastError();
        cudaStreamSynchronize(st->stream);
        cudaMemPoolTrimTo(st->pool, 0);
        e = cudaMallocAsync(ptr, bytes ? bytes : 1, st->stream);
    }
    return e;
}

static void pool_free(cu_state *st, void *ptr) {
    if (ptr) cudaFreeAsync(ptr, st->stream);
}

// An allocation with an error that names the request and what is in use.
static roto_status dev_malloc(rt_ctx *ctx, cu_state *st, void **ptr, size_t bytes,
                              const char *what) {
    *ptr = NULL;
    cudaError_t e = pool_malloc(st, ptr, bytes);
    if (e == cudaSuccess) return ROTO_OK;
    *ptr = NULL;
    cudaGetLastError();  // clear the (non-sticky) allocation error
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    uint64_t pool_reserved = 0, pool_used = 0;
    cudaMemPoolGetAttribute(st->pool, cudaMemPoolAttrReservedMemCurrent, &pool_reserved);
    cudaMemPoolGetAttribute(st->pool, cudaMemPoolAttrUsedMemCurrent, &pool_used);
    size_t scratch = st->scratch.bytes + st->dnn_ws.bytes + st->lt_ws.bytes;
    // A request beyond the device's memory is out of memory whatever the code says.
    roto_status code = e == cudaErrorMemoryAllocation || (total_b && bytes > total_b)
                           ? ROTO_ERR_OOM
                           : ROTO_ERR_DEVICE;
    return roto_fail(code,
                     "cuda: cannot allocate %zu bytes for %s on device %d (%s): %s; device has "
                     "%zu of %zu bytes free, the memory pool reserves %llu and uses %llu; this "
                     "context holds arena %zu, persistent %zu, scratch %zu bytes",
                     bytes, what, st->device, st->name, cudaGetErrorString(e), free_b, total_b,
                     (unsigned long long)pool_reserved, (unsigned long long)pool_used,
                     ctx ? ctx->arena.capacity : 0, ctx ? ctx->persistent_bytes : 0, scratch);
}

roto_status cu_buf_reserve(cu_state *st, cu_buf *buf, size_t bytes, const char *what) {
    if (buf->bytes >= bytes) return ROTO_OK;
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "cuda: %s must grow to %zu bytes during a graph capture; run the ops "
                         "once eagerly before rt_cuda_graph_begin (or rt_cuda_reserve_scratch)",
                         what, bytes);
    // Round up so a sequence of slightly growing requests does not reallocate each time.
    size_t want = bytes + bytes / 4;
    want = (want + 0xfffff) & ~(size_t)0xfffff;
    if (buf->ptr) {
        pool_free(st, buf->ptr);  // stream-ordered: queued work still sees it
        buf->ptr = NULL;
        buf->bytes = 0;
    }
    ROTO_TRY(dev_malloc(NULL, st, &buf->ptr, want, what));
    buf->bytes = want;
    return ROTO_OK;
}

roto_status cu_scratch(cu_state *st, size_t bytes, void **ptr) {
    ROTO_TRY(cu_buf_reserve(st, &st->scratch, bytes, "scratch buffer"));
    *ptr = st->scratch.ptr;
    return ROTO_OK;
}

cu_state *cu_get(rt_ctx *ctx) {
    cu_state *st = (cu_state *)ctx->backend_state;
    int cur = -1;
    if (cudaGetDevice(&cur) == cudaSuccess && cur != st->device) cudaSetDevice(st->device);
    return st;
}

// ---- device selection ----------------------------------------------------------------

roto_status rt_cuda_device_count(int *n) {
    *n = 0;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return roto_fail(ROTO_ERR_DEVICE, "no CUDA device (cudaGetDeviceCount: %s)",
                         cudaGetErrorString(e));
    }
    if (count == 0) return roto_fail(ROTO_ERR_DEVICE, "no CUDA device (cudaGetDeviceCount: 0)");
    *n = count;
    return ROTO_OK;
}

int rt_cuda_parse_device(const char *s, int *device) {
    if (!s || strncmp(s, "cuda", 4) != 0) return 0;
    if (s[4] == '\0') {
        *device = 0;
        return 1;
    }
    if (s[4] != ':' || s[5] < '0' || s[5] > '9') return 0;
    char *end = NULL;
    long v = strtol(s + 5, &end, 10);
    if (*end != '\0' || v < 0 || v > 1024) return 0;
    *device = (int)v;
    return 1;
}

roto_status rt_cuda_select_device(int device) {
    int n = 0;
    ROTO_TRY(rt_cuda_device_count(&n));
    if (device < 0 || device >= n)
        return roto_fail(ROTO_ERR_DEVICE, "cuda: device %d does not exist (%d devices)", device, n);
    g_selected_device = device;
    return ROTO_OK;
}

int rt_cuda_parse_precision(const char *s, rt_precision *p) {
    if (!s) return 0;
    if (!strcmp(s, "fp32") || !strcmp(s, "f32")) *p = RT_PREC_FP32;
    else if (!strcmp(s, "tf32")) *p = RT_PREC_TF32;
    else if (!strcmp(s, "bf16")) *p = RT_PREC_BF16;
    else if (!strcmp(s, "fp16") || !strcmp(s, "f16")) *p = RT_PREC_FP16;
    else return 0;
    return 1;
}

// ---- context init / shutdown -------------------------------------------------------

static void state_free(cu_state *st) {
    if (!st) return;
    cudaSetDevice(st->device);
    if (st->stream) cudaStreamSynchronize(st->stream);
    cu_gemm_cache_free(st);
    cu_conv_cache_free(st);  // also destroys the cuDNN handle
    if (st->lt) cublasLtDestroy(st->lt);
    if (st->stream) {
        pool_free(st, st->lt_ws.ptr);
        pool_free(st, st->scratch.ptr);
        pool_free(st, st->dnn_ws.ptr);
        cudaStreamSynchronize(st->stream);
        cudaStreamDestroy(st->stream);
    }
    free(st);
}

static roto_status cuda_ctx_init(rt_ctx *ctx) {
    ctx->backend_state = NULL;
    int n = 0;
    ROTO_TRY(rt_cuda_device_count(&n));
    int device = 0;
    const char *env = getenv("ROTO_DEVICE");
    if (g_selected_device >= 0) {
        device = g_selected_device;
    } else if (env && env[0] && !rt_cuda_parse_device(env, &device)) {
        if (strcmp(env, "cpu") != 0)
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "ROTO_DEVICE=%s: expected cpu, cuda or cuda:N", env);
    }
    if (device >= n)
        return roto_fail(ROTO_ERR_DEVICE, "cuda: device %d does not exist (%d devices)", device, n);

    cu_state *st = (cu_state *)calloc(1, sizeof *st);
    if (!st) return roto_fail(ROTO_ERR_OOM, "cuda: cannot allocate the context state");
    st->device = device;
    roto_status rs = ROTO_OK;
    cudaError_t e = cudaSetDevice(device);
    struct cudaDeviceProp prop;
    if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess) {
        rs = cu_fail_cuda(e, "cudaSetDevice/cudaGetDeviceProperties", __FILE__, __LINE__);
        goto fail;
    }
    snprintf(st->name, sizeof st->name, "%s", prop.name);
    st->sm_count = prop.multiProcessorCount;
    st->cc_major = prop.major;
    st->cc_minor = prop.minor;
    st->smem_optin = prop.sharedMemPerBlockOptin;
    if (prop.major < 8) {
        rs = roto_fail(ROTO_ERR_DEVICE,
                       "cuda: device %d (%s) has compute capability %d.%d; roto needs 8.0 "
                       "(Ampere) or newer",
                       device, prop.name, prop.major, prop.minor);
        goto fail;
    }
    e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        st->stream = NULL;
        rs = cu_fail_cuda(e, "cudaStreamCreateWithFlags", __FILE__, __LINE__);
        goto fail;
    }
    // Keep freed pool memory for reuse instead of returning it at each sync.
    e = cudaDeviceGetDefaultMemPool(&st->pool, device);
    uint64_t keep = UINT64_MAX;
    if (e == cudaSuccess)
        e = cudaMemPoolSetAttribute(st->pool, cudaMemPoolAttrReleaseThreshold, &keep);
    if (e != cudaSuccess) {
        rs = cu_fail_cuda(e, "cudaDeviceGetDefaultMemPool/cudaMemPoolSetAttribute", __FILE__,
                          __LINE__);
        goto fail;
    }
    cublasStatus_t ls = cublasLtCreate(&st->lt);
    if (ls != CUBLAS_STATUS_SUCCESS) {
        st->lt = NULL;
        rs = cu_fail_lt(ls, "cublasLtCreate", __FILE__, __LINE__);
        goto fail;
    }
    rs = dev_malloc(ctx, st, &st->lt_ws.ptr, CU_LT_WORKSPACE, "the cuBLASLt workspace");
    if (rs != ROTO_OK) goto fail;
    st->lt_ws.bytes = CU_LT_WORKSPACE;
    st->precision = RT_PREC_FP32;
    const char *prec = getenv("ROTO_PRECISION");
    if (prec && prec[0] && !rt_cuda_parse_precision(prec, &st->precision)) {
        rs = roto_fail(ROTO_ERR_INVALID_ARG, "ROTO_PRECISION=%s: expected fp32, tf32, bf16 or fp16",
                       prec);
        goto fail;
    }
    ctx->backend_state = st;
    return ROTO_OK;
fail:
    state_free(st);
    return rs;
}

static void cuda_ctx_shutdown(rt_ctx *ctx) {
    if (!ctx || !ctx->backend_state) return;
    state_free((cu_state *)ctx->backend_state);
    ctx->backend_state = NULL;
}

// ---- backend memory entries ------------------------------------------------------

// The arena and persistent buffers: usable on any stream once this returns
// (a stream-ordered allocation is only ordered with its own stream).
static roto_status cuda_alloc(rt_ctx *ctx, void **ptr, size_t bytes) {
    cu_state *st = cu_get(ctx);
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG, "cuda: allocation during a graph capture");
    ROTO_TRY(dev_malloc(ctx, st, ptr, bytes, "a device buffer"));
    CU_TRY(cudaStreamSynchronize(st->stream));
    return ROTO_OK;
}

static void cuda_free(rt_ctx *ctx, void *ptr) {
    if (!ptr || !ctx->backend_state) return;
    pool_free(cu_get(ctx), ptr);
}

static int host_is_pinned(const void *p) {
    struct cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return a.type == cudaMemoryTypeHost;
}

// Upload returns when `src_host` may be reused. From pageable memory
// cudaMemcpyAsync returns once the data is staged, so no wait is needed; from
// pinned memory the copy is truly asynchronous and we wait for it.
static roto_status cuda_upload(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    cu_state *st = cu_get(ctx);
    if (!bytes) return ROTO_OK;
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG, "cuda: rt_ctx_upload during a graph capture");
    CU_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st->stream));
    if (host_is_pinned(src)) CU_TRY(cudaStreamSynchronize(st->stream));
    return ROTO_OK;
}

static roto_status cuda_download(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    cu_state *st = cu_get(ctx);
    if (!bytes) return ROTO_OK;
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG, "cuda: rt_ctx_download during a graph capture");
    CU_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, st->stream));
    CU_TRY(cudaStreamSynchronize(st->stream));
    return ROTO_OK;
}

static roto_status cuda_synchronize(rt_ctx *ctx) {
    cu_state *st = cu_get(ctx);
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG, "cuda: synchronize during a graph capture");
    CU_TRY(cudaStreamSynchronize(st->stream));
    return ROTO_OK;
}

// ---- public helpers (cuda_kernels.h) ----------------------------------------------------

static roto_status need_cuda_ctx(const rt_ctx *ctx, const char *fn) {
    if (!ctx || !ctx->be || ctx->be->device != RT_DEV_CUDA || !ctx->backend_state)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: not a CUDA context", fn);
    return ROTO_OK;
}

roto_status rt_cuda_ctx_info(rt_ctx *ctx, int *device, char *name, size_t name_len,
                             int *cc_major, int *cc_minor) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_ctx_info"));
    cu_state *st = (cu_state *)ctx->backend_state;
    if (device) *device = st->device;
    if (name && name_len) snprintf(name, name_len, "%s", st->name);
    if (cc_major) *cc_major = st->cc_major;
    if (cc_minor) *cc_minor = st->cc_minor;
    return ROTO_OK;
}

roto_status rt_cuda_set_precision(rt_ctx *ctx, rt_precision p) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_set_precision"));
    if ((int)p < RT_PREC_FP32 || (int)p > RT_PREC_FP16)
        return roto_fail(ROTO_ERR_INVALID_ARG, "rt_cuda_set_precision: bad precision %d", (int)p);
    ((cu_state *)ctx->backend_state)->precision = p;
    return ROTO_OK;
}

rt_precision rt_cuda_get_precision(const rt_ctx *ctx) {
    if (!ctx || !ctx->backend_state || ctx->be->device != RT_DEV_CUDA) return RT_PREC_FP32;
    return ((const cu_state *)ctx->backend_state)->precision;
}

roto_status rt_cuda_reserve_scratch(rt_ctx *ctx, size_t bytes) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_reserve_scratch"));
    cu_state *st = cu_get(ctx);
    return cu_buf_reserve(st, &st->scratch, bytes, "scratch buffer");
}

roto_status rt_cuda_host_alloc(void **ptr, size_t bytes) {
    if (!ptr) return roto_fail(ROTO_ERR_INVALID_ARG, "rt_cuda_host_alloc: NULL ptr");
    *ptr = NULL;
    cudaError_t e = cudaHostAlloc(ptr, bytes ? bytes : 1, cudaHostAllocDefault);
    if (e != cudaSuccess) {
        *ptr = NULL;
        cudaGetLastError();
        return roto_fail(e == cudaErrorMemoryAllocation ? ROTO_ERR_OOM : ROTO_ERR_DEVICE,
                         "cuda: cannot allocate %zu bytes of pinned host memory: %s", bytes,
                         cudaGetErrorString(e));
    }
    return ROTO_OK;
}

void rt_cuda_host_free(void *ptr) {
    if (ptr) cudaFreeHost(ptr);
}

roto_status rt_cuda_upload_async(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_upload_async"));
    cu_state *st = cu_get(ctx);
    if (bytes) CU_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st->stream));
    return ROTO_OK;
}

roto_status rt_cuda_download_async(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_download_async"));
    cu_state *st = cu_get(ctx);
    if (bytes) CU_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, st->stream));
    return ROTO_OK;
}

// ---- CUDA graphs ---------------------------------------------------------------------

struct rt_cuda_graph {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    int device;
};

roto_status rt_cuda_graph_begin(rt_ctx *ctx) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_graph_begin"));
    cu_state *st = cu_get(ctx);
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG, "rt_cuda_graph_begin: already capturing");
    // Thread-local mode: other threads' CUDA calls are unaffected; this
    // thread's unsafe calls (cudaMalloc, syncs) fail instead of corrupting it.
    CU_TRY(cudaStreamBeginCapture(st->stream, cudaStreamCaptureModeThreadLocal));
    st->capturing = 1;
    return ROTO_OK;
}

roto_status rt_cuda_graph_end(rt_ctx *ctx, rt_cuda_graph **out) {
    if (out) *out = NULL;
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_graph_end"));
    if (!out) return roto_fail(ROTO_ERR_INVALID_ARG, "rt_cuda_graph_end: NULL graph pointer");
    cu_state *st = cu_get(ctx);
    if (!st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG, "rt_cuda_graph_end: no capture in progress");
    st->capturing = 0;
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamEndCapture(st->stream, &graph);
    if (e != cudaSuccess) {
        if (graph) cudaGraphDestroy(graph);
        cudaGetLastError();
        return roto_fail(ROTO_ERR_DEVICE,
                         "cuda: graph capture failed (%s): an op inside the capture "
                         "synchronised, allocated or failed; run the ops eagerly first",
                         cudaGetErrorString(e));
    }
    rt_cuda_graph *g = (rt_cuda_graph *)calloc(1, sizeof *g);
    if (!g) {
        cudaGraphDestroy(graph);
        return roto_fail(ROTO_ERR_OOM, "cuda: cannot allocate a graph handle");
    }
    g->graph = graph;
    g->device = st->device;
    e = cudaGraphInstantiate(&g->exec, graph, 0);
    if (e != cudaSuccess) {
        cudaGraphDestroy(graph);
        free(g);
        return cu_fail_cuda(e, "cudaGraphInstantiate", __FILE__, __LINE__);
    }
    *out = g;
    return ROTO_OK;
}

roto_status rt_cuda_graph_launch(rt_ctx *ctx, rt_cuda_graph *g) {
    ROTO_TRY(need_cuda_ctx(ctx, "rt_cuda_graph_launch"));
    if (!g) return roto_fail(ROTO_ERR_INVALID_ARG, "rt_cuda_graph_launch: NULL graph");
    cu_state *st = cu_get(ctx);
    if (g->device != st->device)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "rt_cuda_graph_launch: graph was captured on device %d, context is on %d",
                         g->device, st->device);
    CU_TRY(cudaGraphLaunch(g->exec, st->stream));
    return ROTO_OK;
}

void rt_cuda_graph_destroy(rt_cuda_graph *g) {
    if (!g) return;
    if (g->exec) cudaGraphExecDestroy(g->exec);
    if (g->graph) cudaGraphDestroy(g->graph);
    free(g);
}

// ---- the table ----------------------------------------------------------------------

static const rt_backend g_cuda = {
    .name = "cuda",
    .device = RT_DEV_CUDA,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .synchronize = cuda_synchronize,
    .linear = cu_linear,
    .matmul = cu_matmul,
    .conv2d = cu_conv2d,
    .conv_transpose = cu_conv_transpose,
    .layernorm = cu_layernorm,
    .activation = cu_activation,
    .softmax = cu_softmax,
    .attention = cu_attention,
    .rope = cu_rope,
    .window_partition = cu_window_partition,
    .window_unpartition = cu_window_unpartition,
    .maxpool2x2 = cu_maxpool2x2,
    .interpolate = cu_interpolate,
    .copy = cu_copy,
    .concat = cu_concat,
    .binary = cu_binary,
    .scale = cu_scale,
    .fill = cu_fill,
    .connected_components = cu_connected_components,
    .matte_threshold = cu_matte_threshold,
    .matte_morph = cu_matte_morph,
    .matte_feather = cu_matte_feather,
    .matte_components = cu_matte_components,
    .matte_core_edge = cu_matte_core_edge,
    .ctx_init = cuda_ctx_init,
    .ctx_shutdown = cuda_ctx_shutdown,
};

const rt_backend *rt_cuda_backend_impl(void) { return &g_cuda; }
