// union_find.cuh: lock-free union-find over pixel indices for GPU connected
// components (Playne & Hawick's atomic union), shared by ccl.cu (SAM 2's
// hole filling) and matte.cu (matte hole filling / island removal).
// parent[p] == p for a root; merges always link the larger root under the
// smaller with atomicMin, so parents only decrease and a set's root is its
// smallest index (its first pixel in raster order).
#ifndef ROTO_CUDA_UNION_FIND_CUH
#define ROTO_CUDA_UNION_FIND_CUH

#include <stdint.h>

// Root of a, through volatile loads: other threads are linking roots.
__device__ __forceinline__ int32_t uf_find(const volatile int32_t *par, int32_t a) {
    int32_t p = par[a];
    while (p != a) {
        a = p;
        p = par[a];
    }
    return a;
}

// Merge the sets of a and b. When b stopped being a root meanwhile,
// atomicMin still keeps it connected to its old parent (parent[b] <= b),
// which is merged with a on the next round.
__device__ __forceinline__ void uf_union(int32_t *par, int32_t a, int32_t b) {
    for (;;) {
        a = uf_find(par, a);
        b = uf_find(par, b);
        if (a == b) return;
        if (a > b) {
            int32_t t = a;
            a = b;
            b = t;
        }
        int32_t old = atomicMin(par + b, a);
        if (old == b) return;
        b = old;
    }
}

#endif
