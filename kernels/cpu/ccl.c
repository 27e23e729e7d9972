// ccl.c: 8-connected component labelling of a u8 mask on the CPU.
// defines: cpu_connected_components
//
// Two raster passes with union-find, no recursion (any mask size is safe):
// 1. Each foreground pixel joins the set of its already-visited neighbours
//    (left, up-left, up, up-right) or starts a new one. The parent array
//    lives in the labels buffer. Sets are always linked under the smaller pixel
//    index, so a set's root is its first pixel in raster order and every
//    parent index is <= the pixel's own index.
// 2. In raster order a root takes the next label 1, 2, ...; any other pixel
//    copies the final label of its parent, which lies earlier and has already
//    been rewritten. This numbers components in raster order of their first pixel.
// Areas (optional) are counted per label, then written per pixel.
#include <stdlib.h>

#include "cpu_ops.h"

// Root of p's set, compressing the path behind it.
static int32_t find_root(int32_t *parent, int32_t p) {
    int32_t r = p;
    while (parent[r] != r) r = parent[r];
    while (parent[p] != r) {
        int32_t next = parent[p];
        parent[p] = r;
        p = next;
    }
    return r;
}

static void unite(int32_t *parent, int32_t a, int32_t b) {
    int32_t ra = find_root(parent, a), rb = find_root(parent, b);
    if (ra < rb)
        parent[rb] = ra;
    else if (rb < ra)
        parent[ra] = rb;
}

roto_status cpu_connected_components(rt_ctx *ctx, rt_tensor *labels, rt_tensor *areas,
                                     const rt_tensor *mask, int *n_out) {
    (void)ctx;
    const int64_t H = mask->shape[0], W = mask->shape[1];
    const int64_t ms = mask->stride[0];
    const uint8_t *m = (const uint8_t *)mask->data;
    int32_t *lab = (int32_t *)labels->data;
    if (n_out) *n_out = 0;
    if (H * W == 0) return ROTO_OK;

    // Pass 1: provisional sets.
    for (int64_t y = 0; y < H; y++) {
        const uint8_t *row = m + y * ms, *up = y > 0 ? row - ms : NULL;
        for (int64_t x = 0; x < W; x++) {
            const int32_t p = (int32_t)(y * W + x);
            if (!row[x]) {
                lab[p] = 0;
                continue;
            }
            // The three pixels above are mutually adjacent and the left one
            // touches up-left and up, so one neighbour usually decides. A new
            // pixel joins a set by pointing at that neighbour's parent (which
            // is earlier, keeping parent <= index); only "up-right" can bridge
            // two different sets and needs a real union.
            const int up_fg = up && up[x];
            const int left_fg = x > 0 && row[x - 1];
            const int ul_fg = up && x > 0 && up[x - 1];
            const int ur_fg = up && x + 1 < W && up[x + 1];
            if (up_fg) {
                lab[p] = lab[p - W];
            } else if (left_fg || ul_fg) {
                lab[p] = left_fg ? lab[p - 1] : lab[p - W - 1];
                if (ur_fg) unite(lab, p, p - (int32_t)W + 1);
            } else if (ur_fg) {
                lab[p] = lab[p - W + 1];
            } else {
                lab[p] = p;
            }
        }
    }

    // Pass 2: final labels in raster order of each component's first pixel.
    int32_t n = 0;
    for (int64_t y = 0; y < H; y++) {
        const uint8_t *row = m + y * ms;
        for (int64_t x = 0; x < W; x++) {
            const int32_t p = (int32_t)(y * W + x);
            if (!row[x]) continue;  // already 0
            const int32_t parent = lab[p];
            lab[p] = parent == p ? ++n : lab[parent];
        }
    }
    if (n_out) *n_out = n;

    if (areas) {
        int32_t *area = (int32_t *)areas->data;
        int32_t *count = calloc((size_t)n + 1, sizeof(int32_t));
        if (!count)
            return roto_fail(ROTO_ERR_OOM, "connected_components: cannot allocate %lld counters",
                             (long long)n + 1);
        for (int64_t p = 0; p < H * W; p++) count[lab[p]]++;
        count[0] = 0;  // background reads 0
        for (int64_t p = 0; p < H * W; p++) area[p] = count[lab[p]];
        free(count);
    }
    return ROTO_OK;
}
