// matte.cu: the matte operations (rt_matte_*, engine/ops.h) on the GPU, with
// the CPU backend's results (kernels/cpu/matte.c) bit for bit.
// defines: cu_matte_threshold, cu_matte_morph, cu_matte_feather,
//          cu_matte_components, cu_matte_core_edge
//
// threshold: a thread per pixel.
//
// dilate / erode: an exact Euclidean distance transform in integers
// (Meijster, Roerdink & Hesselink 2000). Exact squared distances are what the
// CPU's Felzenszwalb-Huttenlocher envelope in doubles computes too, so both
// backends compare the same numbers with radius^2 and agree on every pixel.
// 1. k_edt_cols, a thread per column: g = the distance along the column to
//    the nearest source pixel (foreground for dilate, background for erode),
//    one sweep down and one up; G_INF = w + h when the column has none.
// 2. k_edt_rows, a thread per row: the lower envelope of the parabolas
//    (x - i)^2 + g(i)^2 over the row, built left to right with integer
//    separation points and read right to left, gives d2(x) = the exact minimum
//    as an int64. A pixel is "near" when (float)d2 <= radius^2, compared in
//    double exactly as the CPU compares its float distances (1e20 when there is
//    no source at all, like the CPU).
// Cost O(w h) whatever the radius. The envelope is sequential along a line, so
// each pass runs one thread per line (1080-4096 threads at 1080p-4K): a small
// grid for a GPU, but every pass is one sweep over the image. A banded variant
// (Cao et al.'s PBA) would add parallelism if profiles ask for it.
//
// feather: a horizontal then a vertical pass, a thread per pixel. The taps come
// from the CPU's own code (matte_feather_weights, kernels/cpu/matte.h, run on
// the host) and are uploaded; sums run over the taps in the CPU's order with
// __fmul_rn / __fadd_rn, which keeps the compiler from contracting them into
// FMAs, so each float operation is the CPU's. The upload makes feather unfit
// for a CUDA graph capture (it says so).
//
// fill holes / remove islands: union-find over the pixels of the class the op
// works on (background for holes, foreground for islands) with 4 or 8
// neighbours, links by atomicMin so a root is its component's smallest index
// (Playne & Hawick's scheme, as in ccl.cu); then every pixel adds itself to its
// root's area and, on the image border, to its root's border count; a last pass
// rewrites the pixels of components that qualify. rt_connected_components
// (ccl.cu) is not reused: it is 8-connected only, numbers components in raster
// order (scan passes not needed here) and has no border information.
//
// core / edge: erode into scratch, then one elementwise pass.
#include <stdlib.h>

#include "../cpu/matte.h"
#include "cuda_device.cuh"
#include "union_find.cuh"

// Threads per block of the line kernels: one warp, so the few hundred to few
// thousand lines spread over every SM.
#define LINE_THREADS 32

static size_t align256(size_t b) { return (b + 255) & ~(size_t)255; }

// ---- threshold -----------------------------------------------------------------------

__global__ void k_matte_threshold(float *out, const float *in, int64_t n, float t) {
    CU_GRID_STRIDE(i, n) out[i] = in[i] >= t ? 1.0f : 0.0f;
}

extern "C" roto_status cu_matte_threshold(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float t) {
    cu_state *st = cu_get(ctx);
    const int64_t n = rt_numel(in);
    k_matte_threshold<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((float *)out->data, (const float *)in->data, n, t);
    CU_LAUNCH_CHECK("k_matte_threshold");
    return ROTO_OK;
}

// ---- exact Euclidean distance transform, dilate / erode ------------------------------------

// Pass 1: per column, the distance to the nearest source pixel in that column.
// A pixel is a source when (alpha >= 0.5) != erode (NaN counts as background).
__global__ void k_edt_cols(int32_t *g, const float *in, int W, int H, int erode) {
    const int32_t inf = W + H;  // larger than any in-image distance; W*H <= 2^30 keeps it in int32
    CU_GRID_STRIDE(xi, W) {
        int32_t d = inf;
        for (int64_t y = 0; y < H; y++) {
            int64_t p = y * W + xi;
            int src = (in[p] >= 0.5f) != erode;
            d = src ? 0 : (d == inf ? inf : d + 1);
            g[p] = d;
        }
        d = inf;
        for (int64_t y = H - 1; y >= 0; y--) {
            int64_t p = y * W + xi;
            int32_t gp = g[p];
            d = gp == 0 ? 0 : (d == inf ? inf : d + 1);
            if (d < gp) g[p] = d;
        }
    }
}

// The parabola of column i evaluated at x: (x - i)^2 + g(i)^2.
__device__ __forceinline__ int64_t edt_f(int64_t x, int64_t i, int64_t gi) {
    return (x - i) * (x - i) + gi * gi;
}

// Pass 2: per row, the lower envelope of the column parabolas. Stack entry k
// of row y (the envelope's k-th parabola: its column s and the first x where it
// is the minimum, t) lives at sv/tv[k * H + y], so neighbouring rows' entries
// are neighbours in memory. Writes the dilated (erode = 0) or eroded matte.
__global__ void k_edt_rows(float *out, const int32_t *g, int32_t *sv, int32_t *tv, int W, int H, double r2,
                           int erode) {
    const int64_t inf2 = (int64_t)(W + H) * (W + H);
    CU_GRID_STRIDE(y, H) {
        const int32_t *gr = g + y * W;
        int32_t *S = sv + y, *T = tv + y;  // entry k at S[k * H]
        int q = 0;
        S[0] = 0;
        T[0] = 0;
        for (int u = 1; u < W; u++) {
            int64_t gu = gr[u];
            // Pop the parabolas that u beats (strictly) where they start.
            while (q >= 0) {
                int64_t s = S[(int64_t)q * H], t = T[(int64_t)q * H];
                if (edt_f(t, s, gr[s]) <= edt_f(t, u, gu)) break;
                q--;
            }
            if (q < 0) {  // u is the minimum from x = 0 on (T[0] stays 0)
                q = 0;
                S[0] = u;
            } else {
                // u takes over at w = 1 + floor(num / (2 (u - s))), the first x
                // where it is strictly smaller. num >= 2 t (u - s) >= 0 after
                // the loop above, so integer division is the floor.
                int64_t s = S[(int64_t)q * H], gs = gr[s];
                int64_t num = (int64_t)u * u - s * s + gu * gu - gs * gs;
                int64_t w = 1 + num / (2 * (u - s));
                if (w < W) {
                    q++;
                    S[(int64_t)q * H] = u;
                    T[(int64_t)q * H] = (int32_t)w;
                }
            }
        }
        for (int u = W - 1; u >= 0; u--) {
            int64_t s = S[(int64_t)q * H];
            int64_t d = edt_f(u, s, gr[s]);
            // The CPU's float distance (1e20: no source pixel in the image).
            float d2 = d >= inf2 ? 1e20f : (float)(double)d;
            int near = (double)d2 <= r2;
            out[y * W + u] = erode ? (near ? 0.0f : 1.0f) : (near ? 1.0f : 0.0f);
            if (u == T[(int64_t)q * H]) q--;
        }
    }
}

// Scratch of the distance transform: g and the two stacks, 4 bytes a pixel each.
static size_t edt_bytes(int64_t n) { return 3 * align256((size_t)n * 4); }

// out = dilate / erode of in; in may be out. `s` holds edt_bytes(W * H).
static roto_status morph_into(cu_state *st, float *out, const float *in, int W, int H, float radius, int erode,
                              char *s) {
    const size_t b = align256((size_t)W * H * 4);
    int32_t *g = (int32_t *)s, *sv = (int32_t *)(s + b), *tv = (int32_t *)(s + 2 * b);
    k_edt_cols<<<cu_blocks(W, LINE_THREADS), LINE_THREADS, 0, st->stream>>>(g, in, W, H, erode);
    CU_LAUNCH_CHECK("k_edt_cols");
    const double r2 = (double)radius * radius;  // exact: a float squared fits a double
    k_edt_rows<<<cu_blocks(H, LINE_THREADS), LINE_THREADS, 0, st->stream>>>(out, g, sv, tv, W, H, r2, erode);
    CU_LAUNCH_CHECK("k_edt_rows");
    return ROTO_OK;
}

extern "C" roto_status cu_matte_morph(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius, int erode) {
    cu_state *st = cu_get(ctx);
    const int H = (int)in->shape[0], W = (int)in->shape[1];
    char *s = NULL;
    ROTO_TRY(cu_scratch(st, edt_bytes((int64_t)W * H), (void **)&s));
    return morph_into(st, (float *)out->data, (const float *)in->data, W, H, radius, erode, s);
}

// ---- feather ------------------------------------------------------------------------------

__device__ __forceinline__ int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

// tmp = in blurred along x (edges clamped).
__global__ void k_feather_rows(float *tmp, const float *in, const float *k, int half, int W, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t x = i % W;
        const float *row = in + (i - x);
        float acc = 0.0f;
        for (int j = -half; j <= half; j++)
            acc = __fadd_rn(acc, __fmul_rn(k[j + half], row[clamp64(x + j, 0, W - 1)]));
        tmp[i] = acc;
    }
}

// out = tmp blurred along y (edges clamped).
__global__ void k_feather_cols(float *out, const float *tmp, const float *k, int half, int W, int H, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        int64_t x = i % W, y = i / W;
        float acc = 0.0f;
        for (int j = -half; j <= half; j++)
            acc = __fadd_rn(acc, __fmul_rn(k[j + half], tmp[clamp64(y + j, 0, H - 1) * W + x]));
        out[i] = acc;
    }
}

extern "C" roto_status cu_matte_feather(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius) {
    cu_state *st = cu_get(ctx);
    const int H = (int)in->shape[0], W = (int)in->shape[1];
    const int64_t n = (int64_t)W * H;
    const int half = matte_feather_half(radius);
    if (half == 0) {  // the CPU copies too
        if (out->data != in->data)
            CU_TRY(cudaMemcpyAsync(out->data, in->data, (size_t)n * 4, cudaMemcpyDeviceToDevice, st->stream));
        return ROTO_OK;
    }
    if (st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "matte_feather: uploads its taps from the host, not allowed in a CUDA graph capture");
    const int klen = 2 * half + 1;
    const size_t tmp_b = align256((size_t)n * 4);
    char *s = NULL;
    ROTO_TRY(cu_scratch(st, tmp_b + align256((size_t)klen * 4), (void **)&s));
    float *tmp = (float *)s, *kd = (float *)(s + tmp_b);
    float *k = (float *)malloc((size_t)klen * sizeof(float));
    if (!k) return roto_fail(ROTO_ERR_OOM, "matte_feather: out of memory for %d taps", klen);
    matte_feather_weights(radius, half, k);
    // From pageable memory the copy stages k before it returns, so k can go.
    cudaError_t e = cudaMemcpyAsync(kd, k, (size_t)klen * 4, cudaMemcpyHostToDevice, st->stream);
    free(k);
    if (e != cudaSuccess) return cu_fail_cuda(e, "cudaMemcpyAsync (feather taps)", __FILE__, __LINE__);
    k_feather_rows<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(tmp, (const float *)in->data, kd, half, W, n);
    CU_LAUNCH_CHECK("k_feather_rows");
    k_feather_cols<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((float *)out->data, tmp, kd, half, W, H, n);
    CU_LAUNCH_CHECK("k_feather_cols");
    return ROTO_OK;
}

// ---- fill holes / remove islands -------------------------------------------------------

// The pixel belongs to the class the op works on (value 1: foreground).
__device__ __forceinline__ int cc_member(const float *in, int64_t p, int value) {
    return (in[p] >= 0.5f) == value;
}

__global__ void k_cc_init(int32_t *par, const float *in, int64_t n, int value) {
    CU_GRID_STRIDE(p, n) par[p] = cc_member(in, p, value) ? (int32_t)p : -1;
}

// Each member merges with its members among the earlier neighbours: left and
// up (4-connectivity), plus up-left and up-right (8).
__global__ void k_cc_union(int32_t *par, const float *in, int W, int H, int value, int conn8) {
    CU_GRID_STRIDE(p, (int64_t)W * H) {
        if (!cc_member(in, p, value)) continue;
        int64_t x = p % W, y = p / W;
        int32_t pi = (int32_t)p;
        if (x > 0 && cc_member(in, p - 1, value)) uf_union(par, pi, pi - 1);
        if (y > 0) {
            if (cc_member(in, p - W, value)) uf_union(par, pi, pi - W);
            if (conn8 && x > 0 && cc_member(in, p - W - 1, value)) uf_union(par, pi, pi - W - 1);
            if (conn8 && x + 1 < W && cc_member(in, p - W + 1, value)) uf_union(par, pi, pi - W + 1);
        }
    }
}

// parent = root (no links change any more; concurrent rewrites only shorten
// the paths other threads walk); areas and border pixels counted per root.
__global__ void k_cc_count(int32_t *par, int32_t *area, int32_t *border, int W, int H) {
    CU_GRID_STRIDE(p, (int64_t)W * H) {
        if (par[p] < 0) continue;
        int32_t r = uf_find(par, (int32_t)p);
        par[p] = r;
        atomicAdd(area + r, 1);
        int64_t x = p % W, y = p / W;
        if (x == 0 || y == 0 || x == W - 1 || y == H - 1) atomicAdd(border + r, 1);
    }
}

// out = fill on the components that qualify, in elsewhere.
__global__ void k_cc_apply(float *out, const float *in, const int32_t *par, const int32_t *area,
                           const int32_t *border, int64_t n, int64_t limit, int holes) {
    CU_GRID_STRIDE(p, n) {
        float v = in[p];
        int32_t r = par[p];
        if (r >= 0) {
            int64_t a = area[r];
            int apply = holes ? (border[r] == 0 && (limit <= 0 || a <= limit)) : (a < limit);
            if (apply) v = holes ? 1.0f : 0.0f;
        }
        out[p] = v;
    }
}

extern "C" roto_status cu_matte_components(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, int64_t limit,
                                           int connectivity, int holes) {
    cu_state *st = cu_get(ctx);
    const int H = (int)in->shape[0], W = (int)in->shape[1];
    const int64_t n = (int64_t)W * H;
    const int value = holes ? 0 : 1;  // holes are background components
    const size_t b = align256((size_t)n * 4);
    char *s = NULL;
    ROTO_TRY(cu_scratch(st, 3 * b, (void **)&s));
    int32_t *par = (int32_t *)s, *area = (int32_t *)(s + b), *border = (int32_t *)(s + 2 * b);
    const float *x = (const float *)in->data;
    CU_TRY(cudaMemsetAsync(area, 0, 2 * b, st->stream));  // area and border
    k_cc_init<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(par, x, n, value);
    CU_LAUNCH_CHECK("k_cc_init");
    k_cc_union<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(par, x, W, H, value, connectivity == 8);
    CU_LAUNCH_CHECK("k_cc_union");
    k_cc_count<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(par, area, border, W, H);
    CU_LAUNCH_CHECK("k_cc_count");
    k_cc_apply<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((float *)out->data, x, par, area, border, n, limit,
                                                             holes);
    CU_LAUNCH_CHECK("k_cc_apply");
    return ROTO_OK;
}

// ---- core / edge ---------------------------------------------------------------------------

// edge = max(in - core, 0), then core; reads in[i] before writing, so core or
// edge may be in.
__global__ void k_core_edge(float *core, float *edge, const float *in, const float *eroded, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        float c = eroded[i], e = __fsub_rn(in[i], c);
        edge[i] = e > 0.0f ? e : 0.0f;
        core[i] = c;
    }
}

extern "C" roto_status cu_matte_core_edge(rt_ctx *ctx, rt_tensor *core, rt_tensor *edge, const rt_tensor *in,
                                          float radius) {
    cu_state *st = cu_get(ctx);
    const int H = (int)in->shape[0], W = (int)in->shape[1];
    const int64_t n = (int64_t)W * H;
    char *s = NULL;
    ROTO_TRY(cu_scratch(st, edt_bytes(n) + align256((size_t)n * 4), (void **)&s));
    float *eroded = (float *)(s + edt_bytes(n));
    ROTO_TRY(morph_into(st, eroded, (const float *)in->data, W, H, radius, 1, s));
    k_core_edge<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>((float *)core->data, (float *)edge->data,
                                                              (const float *)in->data, eroded, n);
    CU_LAUNCH_CHECK("k_core_edge");
    return ROTO_OK;
}
