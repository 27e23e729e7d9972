// gemm_internal.h: what the SGEMM driver (gemm.c) shares with its per-ISA
// micro-kernels (gemm_avx512.c, gemm_avx2.c, and the portable one in gemm.c).
//
// The driver packs B into panels of NR columns (k-major: for every k, NR
// consecutive floats, zero-padded past N) and calls a micro-kernel once per
// MR x NR tile of C. A is read in place (row-major, row stride lda): the kernel
// broadcasts A[i][k] straight from its rows, so A is never copied. The kernel
// keeps the whole tile in registers over kc steps of k, then applies the
// epilogue below and stores only the valid mr x nr corner.
#ifndef ROTO_CPU_GEMM_INTERNAL_H
#define ROTO_CPU_GEMM_INTERNAL_H

#include <stdint.h>

#include "gemm.h"

// How a tile's old C values enter the result.
enum {
    GEMM_C_NONE = 0,  // C is not read (it may hold NaN)
    GEMM_C_PRE,       // v = alpha*acc + cscale*C, then + bias, then act
    GEMM_C_POST,      // v = act(alpha*acc + bias) + cscale*C
};

typedef struct {
    float alpha;
    float cscale;        // coefficient of the old C value (beta, or 1 when accumulating k blocks)
    int cmode;           // GEMM_C_*
    const float *bias;   // bias of this tile's first column, or NULL
    rt_act act;          // applied after the bias
} gemm_epilogue;

// One MR x NR tile: C[0:mr, 0:nr] = epilogue(A[0:mr, 0:kc] @ Bp), where Bp is
// a packed panel (kc rows of NR floats, 64-byte aligned). mr <= MR, nr <= NR.
typedef void (*gemm_kernel_fn)(int64_t kc, const float *a, int64_t lda, const float *bp,
                               float *c, int64_t ldc, int mr, int nr, const gemm_epilogue *ep);

// Pack one panel from a transposed B (trans_b = 1, rows of B are columns of
// op(B)): dst[k*NR + jj] = b[jj*ldb + k] for jj < nb, k < kb; columns nb..NR-1
// are zero. A transpose, so worth vectorising: for small M it costs as much as
// the GEMM itself.
typedef void (*gemm_pack_bt_fn)(const float *b, int64_t ldb, int nb, int64_t kb, float *dst);

typedef struct {
    const char *name;    // "avx512", "avx2", "scalar"
    int mr, nr;          // register tile
    gemm_kernel_fn kernel;
    gemm_pack_bt_fn pack_bt;
    double core_flops;   // rough flop/s of one core, to judge whether threads pay off
} gemm_isa;

// Per-ISA kernels (defined in gemm_avx512.c / gemm_avx2.c).
extern const gemm_isa gemm_isa_avx512;
extern const gemm_isa gemm_isa_avx2;

// The path cpu_sgemm uses now: ROTO_CPU_ISA=avx512|avx2|scalar forces one
// (falling back to the best the CPU supports if it cannot run it), otherwise
// the best supported. Read on every call so tests can switch with setenv.
const gemm_isa *gemm_isa_active(void);

// For tests: nonzero makes every GEMM big enough for several threads use them
// (the measured lateness of workers is ignored, see gemm.c), so the threaded
// paths run deterministically even on a busy machine. 0 restores the default.
void gemm_set_always_fork(int on);

// Scalar activation, shared by the portable kernel and the K == 0 path.
float gemm_act_scalar(float v, rt_act act);

#endif
