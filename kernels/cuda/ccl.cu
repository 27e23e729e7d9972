// ccl.cu: 8-connected component labelling of a u8 mask on the GPU, with
// the CPU's numbering (1..n in raster order of each component's first pixel)
// and optional per-pixel component areas.
// defines: cu_connected_components
//
// Union-find over pixel indices held in the labels buffer (Playne & Hawick's
// atomic union):
// 1. init:    parent[p] = p for foreground, -1 for background.
// 2. union:   each foreground pixel merges with its foreground neighbours
//             left, up-left, up and up-right. A union always links the
//             larger root under the smaller (atomicMin), so parent[p] <= p
//             and a component's root is its smallest index, i.e. its first
//             pixel in raster order.
// 3. flatten: parent[p] = root(p) (no more links change; concurrent
//             rewrites only shorten paths other threads walk).
// 4. areas:   count[root] += 1 (atomics), when areas are wanted.
// 5. number:  roots are flagged; an exclusive scan over the flags (block
//             sums, one-block scan of the sums, block-local scans) gives each
//             root its rank, so label = rank + 1 follows raster order.
// 6. write:   labels[p] = rank[root(p)] + 1 (0 for background), areas[p] =
//             count[root(p)].
// The component count is copied to the host only when n_out is non-NULL
// (that synchronises, so it cannot be part of a CUDA graph; with n_out NULL
// the op is capturable).
#include "cuda_device.cuh"
#include "union_find.cuh"

#define CCL_BLOCK 1024

__global__ void k_ccl_init(int32_t *par, const uint8_t *m, int64_t ms, int64_t H, int64_t W) {
    CU_GRID_STRIDE(p, H * W) {
        int64_t y = p / W, x = p % W;
        par[p] = m[y * ms + x] ? (int32_t)p : -1;
    }
}

__global__ void k_ccl_union(int32_t *par, const uint8_t *m, int64_t ms, int64_t H, int64_t W) {
    CU_GRID_STRIDE(p, H * W) {
        int64_t y = p / W, x = p % W;
        const uint8_t *row = m + y * ms;
        if (!row[x]) continue;
        int32_t pi = (int32_t)p, Wi = (int32_t)W;
        if (x > 0 && row[x - 1]) uf_union(par, pi, pi - 1);
        if (y > 0) {
            const uint8_t *up = row - ms;
            if (x > 0 && up[x - 1]) uf_union(par, pi, pi - Wi - 1);
            if (up[x]) uf_union(par, pi, pi - Wi);
            if (x + 1 < W && up[x + 1]) uf_union(par, pi, pi - Wi + 1);
        }
    }
}

__global__ void k_ccl_flatten(int32_t *par, int32_t *count, int64_t n) {
    CU_GRID_STRIDE(p, n) {
        int32_t a = par[p];
        if (a < 0) continue;
        int32_t r = uf_find(par, (int32_t)p);
        par[p] = r;
        if (count) atomicAdd(count + r, 1);
    }
}

// Exclusive scan of one value per thread over a block of CCL_BLOCK threads;
// returns the prefix and sets *total to the block's sum.
__device__ int32_t block_excl_scan(int32_t v, int32_t *total) {
    __shared__ int32_t warp_sums[CCL_BLOCK / 32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int32_t inc = v;
    for (int o = 1; o < 32; o <<= 1) {
        int32_t t = __shfl_up_sync(0xffffffffu, inc, o);
        if (lane >= o) inc += t;
    }
    __syncthreads();  // warp_sums may still be read from a previous call
    if (lane == 31) warp_sums[warp] = inc;
    __syncthreads();
    if (warp == 0) {
        int32_t s = warp_sums[lane];  // CCL_BLOCK / 32 == 32 warps
        int32_t si = s;
        for (int o = 1; o < 32; o <<= 1) {
            int32_t t = __shfl_up_sync(0xffffffffu, si, o);
            if (lane >= o) si += t;
        }
        warp_sums[lane] = si - s;  // exclusive prefix of warp sums
        if (lane == 31) *total = si;
    }
    __syncthreads();
    return warp_sums[warp] + inc - v;
}

// Root flags per block -> block sums.
__global__ void __launch_bounds__(CCL_BLOCK)
    k_ccl_block_counts(const int32_t *par, int32_t *bsum, int64_t n) {
    __shared__ int32_t tot;
    int64_t p = (int64_t)blockIdx.x * CCL_BLOCK + threadIdx.x;
    int32_t f = p < n && par[p] == (int32_t)p ? 1 : 0;
    block_excl_scan(f, &tot);
    __syncthreads();
    if (threadIdx.x == 0) bsum[blockIdx.x] = tot;
}

// One block: exclusive scan of the block sums in place; total -> *n_total.
__global__ void __launch_bounds__(CCL_BLOCK)
    k_ccl_scan_sums(int32_t *bsum, int64_t nb, int32_t *n_total) {
    __shared__ int32_t tot;
    int32_t carry = 0;
    for (int64_t base = 0; base < nb; base += CCL_BLOCK) {
        int64_t i = base + threadIdx.x;
        int32_t v = i < nb ? bsum[i] : 0;
        int32_t e = block_excl_scan(v, &tot);
        __syncthreads();
        if (i < nb) bsum[i] = carry + e;
        carry += tot;
        __syncthreads();
    }
    if (threadIdx.x == 0) *n_total = carry;
}

// Rank of each root within the whole image.
__global__ void __launch_bounds__(CCL_BLOCK)
    k_ccl_rank(const int32_t *par, const int32_t *bsum, int32_t *rank, int64_t n) {
    __shared__ int32_t tot;
    int64_t p = (int64_t)blockIdx.x * CCL_BLOCK + threadIdx.x;
    int is_root = p < n && par[p] == (int32_t)p;
    int32_t e = block_excl_scan(is_root ? 1 : 0, &tot);
    if (is_root) rank[p] = bsum[blockIdx.x] + e;
}

__global__ void k_ccl_write(int32_t *lab, int32_t *areas, const int32_t *rank,
                            const int32_t *count, int64_t n) {
    CU_GRID_STRIDE(p, n) {
        int32_t r = lab[p];  // root, or -1
        if (areas) areas[p] = r < 0 ? 0 : count[r];
        lab[p] = r < 0 ? 0 : rank[r] + 1;
    }
}

extern "C" roto_status cu_connected_components(rt_ctx *ctx, rt_tensor *labels, rt_tensor *areas,
                                               const rt_tensor *mask, int *n_out) {
    cu_state *st = cu_get(ctx);
    if (n_out) *n_out = 0;
    const int64_t H = mask->shape[0], W = mask->shape[1], n = H * W;
    if (n == 0) return ROTO_OK;
    if (n_out && st->capturing)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "connected_components: n_out needs a host copy, not allowed in a CUDA "
                         "graph capture (pass n_out = NULL there)");
    const int64_t ms = mask->stride[0];
    const int64_t nb = (n + CCL_BLOCK - 1) / CCL_BLOCK;
    if (nb > 0x7fffffff) return roto_fail(ROTO_ERR_UNSUPPORTED, "connected_components: too large");
    // Scratch: rank [n], count [n] (areas only), block sums [nb], total [1].
    size_t rank_b = ((size_t)n * 4 + 255) & ~(size_t)255;
    size_t count_b = areas ? rank_b : 0;
    size_t bsum_b = ((size_t)nb * 4 + 255) & ~(size_t)255;
    char *s = NULL;
    ROTO_TRY(cu_scratch(st, rank_b + count_b + bsum_b + 256, (void **)&s));
    int32_t *rank = (int32_t *)s;
    int32_t *count = areas ? (int32_t *)(s + rank_b) : NULL;
    int32_t *bsum = (int32_t *)(s + rank_b + count_b);
    int32_t *total = (int32_t *)(s + rank_b + count_b + bsum_b);
    int32_t *par = (int32_t *)labels->data;
    const uint8_t *m = (const uint8_t *)mask->data;

    if (count) CU_TRY(cudaMemsetAsync(count, 0, (size_t)n * 4, st->stream));
    k_ccl_init<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(par, m, ms, H, W);
    CU_LAUNCH_CHECK("k_ccl_init");
    k_ccl_union<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(par, m, ms, H, W);
    CU_LAUNCH_CHECK("k_ccl_union");
    k_ccl_flatten<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(par, count, n);
    CU_LAUNCH_CHECK("k_ccl_flatten");
    k_ccl_block_counts<<<(unsigned)nb, CCL_BLOCK, 0, st->stream>>>(par, bsum, n);
    CU_LAUNCH_CHECK("k_ccl_block_counts");
    k_ccl_scan_sums<<<1, CCL_BLOCK, 0, st->stream>>>(bsum, nb, total);
    CU_LAUNCH_CHECK("k_ccl_scan_sums");
    k_ccl_rank<<<(unsigned)nb, CCL_BLOCK, 0, st->stream>>>(par, bsum, rank, n);
    CU_LAUNCH_CHECK("k_ccl_rank");
    k_ccl_write<<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        par, areas ? (int32_t *)areas->data : NULL, rank, count, n);
    CU_LAUNCH_CHECK("k_ccl_write");
    if (n_out) {
        int32_t h_total = 0;
        CU_TRY(cudaMemcpyAsync(&h_total, total, 4, cudaMemcpyDeviceToHost, st->stream));
        CU_TRY(cudaStreamSynchronize(st->stream));
        *n_out = h_total;
    }
    return ROTO_OK;
}
