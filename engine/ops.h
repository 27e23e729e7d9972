// ops.h: the op API every net is written against.
//
// Each rt_* op validates its arguments (shapes, dtypes, devices, aliasing) and
// returns a status with a message on misuse, then dispatches through the
// context's backend table (CPU or CUDA). Backends may therefore assume valid
// arguments. Nets never know which device they run on.
//
// Conventions
// - Compute dtype is f32 for every op unless stated (CUDA may also take f16/bf16).
// - Feature maps are NHWC: [N, H, W, C]. Token sequences are [B, L, C].
// - Outputs are written into caller-provided tensors (usually from the
//   context's activation arena, see ctx.h). An output must not overlap an input
//   unless the op says "in place allowed".
// - "Strided" means any strides with the last dim contiguous (stride 1).
#ifndef ROTO_OPS_H
#define ROTO_OPS_H

#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RT_ACT_NONE = 0, RT_ACT_RELU, RT_ACT_GELU, RT_ACT_SIGMOID } rt_act;

// ---- GEMM ------------------------------------------------------------------

// Linear layer: y[M, N] = act(x[M, K] @ w[N, K]^T + b[N]).
// x and y may have any leading dims (flattened to M); both contiguous.
// w is PyTorch's Linear layout [out, in]; b may be NULL.
roto_status rt_linear(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, rt_act act);

// Batched matmul over dim 0: c[b] = alpha * a[b] @ op(bm[b]) (+ beta * c[b]).
// a [B, M, K], strided. bm [B, K, N] when trans_b == 0, [B, N, K] when 1,
// strided. c [B, M, N], strided. A batch dim of size 1 in `bm` broadcasts.
// 4-D tensors [B0, B1, M, K] are accepted and treated as B = B0*B1 batches
// as long as the two batch dims can be walked with their strides.
roto_status rt_matmul(rt_ctx *ctx, rt_tensor *c, const rt_tensor *a, const rt_tensor *bm,
                      int trans_b, float alpha, float beta);

// ---- Convolution --------------------------------------------------------------

typedef struct {
    int stride_h, stride_w;
    int pad_h, pad_w;
    int dil_h, dil_w;
    int groups;
} rt_conv_params;

// 2-D convolution, NHWC: x [N, H, W, Cin], w [Cout, KH, KW, Cin/groups] (OHWI;
// see rt_weight_oihw_to_ohwi for PyTorch's OIHW), b [Cout] or NULL.
// y [N, Ho, Wo, Cout] with Ho = (H + 2*pad_h - dil_h*(KH-1) - 1)/stride_h + 1.
roto_status rt_conv2d(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, const rt_conv_params *p, rt_act act);

// Transposed conv with kernel == stride (non-overlapping, e.g. 2x2 s2), NHWC:
// x [N, H, W, Cin], w PyTorch layout [Cin, Cout, K, K], b [Cout] or NULL,
// y [N, H*K, W*K, Cout].
roto_status rt_conv_transpose(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                              const rt_tensor *w, const rt_tensor *b, int k);

// Host helper: permute a PyTorch conv weight [O, I, KH, KW] (f32, CPU) into
// OHWI [O, KH, KW, I]. dst and src must not overlap.
void rt_weight_oihw_to_ohwi(float *dst, const float *src, int O, int I, int KH, int KW);

// ---- Normalisation, activations, softmax --------------------------------------

// LayerNorm over the last dim (C): y = (x - mean)/sqrt(var + eps) * w + b.
// x, y [..., C] contiguous, in place allowed; w, b [C] (either may be NULL).
// NHWC LayerNorm2d is the same op.
roto_status rt_layernorm(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, const rt_tensor *w,
                         const rt_tensor *b, float eps);

// y = act(x) elementwise (GELU is the exact erf form). Contiguous, in place allowed.
roto_status rt_activation(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, rt_act act);

// Softmax over the last dim of x * scale. Contiguous, in place allowed.
// A row whose entries are all -inf gives zeros (PyTorch gives NaN).
roto_status rt_softmax(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale);

// ---- Attention ---------------------------------------------------------------

// Scaled dot-product attention, no dropout:
// out = softmax(q @ k^T * scale + key_bias) @ v per batch and head.
// q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv], out [B, H, Lq, Dv]; all
// strided (views of packed qkv buffers are fine). D, Dv in 1..256.
// key_bias: NULL, or f32 [B, Lk] exactly (no broadcasting) added to every query's logits (use -INFINITY
// to mask a key; a row with every key masked gives zeros).
roto_status rt_attention(rt_ctx *ctx, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                         const rt_tensor *v, const rt_tensor *key_bias, float scale);

// 2-D axial RoPE, in place on x [B, H, L, D] (strided), D even.
// cos_t, sin_t [P, D/2] hold the rotation of each complex pair (x[2i], x[2i+1])
// at grid position p (see rt_rope_axial_table). Token t < n_rot uses position
// t % P (so keys tiled over several memory frames repeat the table); tokens
// t >= n_rot (object-pointer tokens) are left unrotated.
roto_status rt_rope(rt_ctx *ctx, rt_tensor *x, const rt_tensor *cos_t, const rt_tensor *sin_t,
                    int64_t n_rot);

// Host helper: the axial tables of SAM 2's compute_axial_cis(dim, end_x, end_y,
// theta) scaled by `scale` (1 for SAM 2; SAM 3 global blocks use < 1).
// cos_t, sin_t: float[end_x*end_y * dim/2]. Pair k < dim/4 rotates by
// x*f_k, pair dim/4 + k by y*f_k with f_k = theta^(-4k/dim), token t = y*end_x + x.
void rt_rope_axial_table(float *cos_t, float *sin_t, int dim, int end_x, int end_y,
                         float theta, float scale);

// ---- Layout ------------------------------------------------------------------

// Window partition with zero padding: x [N, H, W, C] -> y [N*nh*nw, ws, ws, C]
// with nh = ceil(H/ws), nw = ceil(W/ws); padded positions are 0.
roto_status rt_window_partition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws);
// Inverse: x [N*nh*nw, ws, ws, C] -> y [N, H, W, C], padding cropped.
roto_status rt_window_unpartition(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, int ws);

// 2x2 stride-2 max-pool (floor), NHWC: x [N, H, W, C] -> y [N, H/2, W/2, C].
roto_status rt_maxpool2x2(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x);

typedef enum { RT_INTERP_NEAREST = 0, RT_INTERP_BILINEAR, RT_INTERP_BICUBIC } rt_interp_mode;

typedef struct {
    rt_interp_mode mode;
    int align_corners;  // bilinear/bicubic only
    // bilinear/bicubic: use PyTorch's _upsample_*_aa kernels (PIL's algorithm),
    // which differ from the plain kernels whenever the flag is set, also when
    // upscaling (border taps are dropped and renormalised).
    int antialias;
    // Bicubic coefficient, used as given: -0.75 for PyTorch's plain bicubic;
    // PyTorch's antialiased bicubic and PIL's BICUBIC use -0.5. A zeroed struct
    // has 0 here, which is a valid but different filter: always set it.
    float cubic_a;
} rt_interp_params;

// Resize NHWC x [N, H, W, C] to y [N, Ho, Wo, C] with PyTorch's F.interpolate
// semantics (scale = in/out size; nearest is PyTorch's legacy 'nearest').
roto_status rt_interpolate(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x,
                           const rt_interp_params *p);

// Copy any strided x into y of the same shape (y strided too). Use with
// rt_view_permute / rt_view_slice for permute, slice and "contiguous".
// Converts dtype when x and y differ (f32 <-> f16/bf16).
roto_status rt_copy(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x);

// Concatenate n tensors along dim into y (inputs strided, y contiguous).
roto_status rt_concat(rt_ctx *ctx, rt_tensor *y, const rt_tensor *const *xs, int n, int dim);

// ---- Elementwise --------------------------------------------------------------

typedef enum { RT_BIN_ADD = 0, RT_BIN_MUL, RT_BIN_SUB } rt_binop;

// y = a (op) b with NumPy broadcasting over up to 4 dims (dims aligned from the
// right). y has the broadcast shape, contiguous; a and b strided. y may alias a
// when a already has the output shape and is contiguous.
roto_status rt_binary(rt_ctx *ctx, rt_tensor *y, const rt_tensor *a, const rt_tensor *b,
                      rt_binop op);
// y = x * scale + shift (contiguous, in place allowed).
roto_status rt_scale(rt_ctx *ctx, rt_tensor *y, const rt_tensor *x, float scale, float shift);
// Fill a contiguous tensor with a value.
roto_status rt_fill(rt_ctx *ctx, rt_tensor *y, float value);

// ---- Masks ----------------------------------------------------------------------

// 8-connected component labelling of the foreground (mask != 0) of a u8 mask
// [H, W] (CPU and CUDA backends). labels i32 [H, W]: 0 for background,
// components numbered 1..n in raster order of their first pixel. areas i32
// [H, W] (may be NULL): for each pixel, the area of its component (0 for
// background). *n_out receives the number of components.
roto_status rt_connected_components(rt_ctx *ctx, rt_tensor *labels, rt_tensor *areas,
                                    const rt_tensor *mask, int *n_out);

// ---- Matte operations -------------------------------------------------------------

// Clean-up of one matte: alpha f32 [H, W] (0..1), contiguous, at most 2^30
// pixels, on the context's device. `out` may be `in` itself (in place) but must
// not otherwise overlap it. Foreground means alpha >= 0.5 wherever an op needs a
// binary view. The semantics are those of io/matte.h (roto_matte_*, whose
// algorithms the CPU backend runs); the CUDA backend gives bit-identical
// results (feather: within 1e-6 of the CPU).
//   threshold       out = in >= t ? 1 : 0
//   dilate, erode   binary grow / shrink by a closed disc of `radius` pixels
//                   (exact Euclidean distances; radius in [0, 1e6])
//   feather         separable Gaussian, sigma = radius / 3, taps +-ceil(radius),
//                   edges clamped (radius in [0, 10000]; below 1e-3 a copy).
//                   On CUDA it uploads its taps, so not inside a graph capture.
//   fill_holes      background components (connectivity 4 or 8) that do not
//                   touch the border, with area <= max_area (<= 0: any) -> 1
//   remove_islands  foreground components (4 or 8) with area < min_area -> 0
//   core_edge       core = erode(in, radius), edge = max(in - core, 0); core and
//                   edge must not overlap each other (either may be `in`)
roto_status rt_matte_threshold(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float t);
roto_status rt_matte_dilate(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius);
roto_status rt_matte_erode(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius);
roto_status rt_matte_feather(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius);
roto_status rt_matte_fill_holes(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, int64_t max_area,
                                int connectivity);
roto_status rt_matte_remove_islands(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in,
                                    int64_t min_area, int connectivity);
roto_status rt_matte_core_edge(rt_ctx *ctx, rt_tensor *core, rt_tensor *edge, const rt_tensor *in,
                               float radius);

#ifdef __cplusplus
}
#endif
#endif
