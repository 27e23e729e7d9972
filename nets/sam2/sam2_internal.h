// sam2_internal.h: the SAM 2.1 model struct shared by the loader (sam2_load.c),
// the image encoder (sam2_encoder.c), the prompt encoder + mask decoder
// (sam2_decoder.c, used by the image predictor and the video heads alike) and the
// layers they share (sam2_layers.c). Every rt_tensor here lives on the context's
// device (f32, persistent); the few host copies are named *_host.
#ifndef ROTO_SAM2_INTERNAL_H
#define ROTO_SAM2_INTERNAL_H

#include "engine/ops.h"
#include "sam2.h"

typedef struct {
    rt_tensor w, b;  // Linear: w [out, in], b [out]; LayerNorm: w, b [C]
} sam2_param;

// One Hiera MultiScaleBlock.
typedef struct {
    int dim, dim_out, heads;
    int window;  // 0: global attention
    int q_pool;  // first block of stages 2..4: 2x2 max-pool of q and of the shortcut
    sam2_param norm1, norm2, qkv, proj, mlp0, mlp1;
    sam2_param shortcut;  // "proj" of the block (dim != dim_out only)
} sam2_block;

// The decoder's Attention (q/k/v/out projections, internal dim d / downsample).
typedef struct {
    sam2_param q, k, v, out;
    int internal;
} sam2_attn;

typedef struct {
    sam2_attn self_attn, t2i, i2t;
    sam2_param norm1, norm2, norm3, norm4, mlp0, mlp1;
} sam2_twoway_layer;

typedef struct {
    sam2_param l[3];  // 3-layer MLP, ReLU between
} sam2_mlp3;

// ---- video (memory) path: see sam2_memory.c, sam2_memattn.c, sam2_track.c ----------------

#define SAM2_MAX_MEMATTN 8
#define SAM2_MAX_FUSER 4

// One ConvNeXt block of the memory encoder's fuser.
typedef struct {
    rt_tensor dw_w, dw_b;  // depthwise 7x7, OHWI [d, 7, 7, 1], [d]
    sam2_param norm;       // LayerNorm2d(d), eps 1e-6
    sam2_param pw1, pw2;   // Linear d -> 4d, 4d -> d
    rt_tensor gamma;       // layer scale [d]
} sam2_cxblock;

// One pre-norm memory-attention layer (self-attn with RoPE, cross-attn to the memory
// with RoPE on its spatial keys, ReLU FFN).
typedef struct {
    sam2_attn self_attn, cross_attn;  // cross: k/v projections take mem_dim inputs
    sam2_param norm1, norm2, norm3;
    sam2_param lin1, lin2;
} sam2_memattn_layer;

// The tensors only the video predictor uses (loaded when the checkpoint has them).
typedef struct {
    int mem_dim;       // memory channels (out_proj of the memory encoder, 64)
    int num_maskmem;   // memory frames attended: 1 conditioning slot + 6 previous (7)
    int n_layers;      // memory-attention layers (4)
    int ffn;           // memory-attention FFN width (2048)
    int n_fuser;       // CXBlocks in the fuser (2)
    // memory encoder: mask downsampler (4 x conv3x3 s2 + LayerNorm2d + GELU, then 1x1)
    rt_tensor mds_w[4], mds_b[4];  // OHWI [c_out, 3, 3, c_in]
    sam2_param mds_norm[4];
    sam2_param mds_out;            // 1x1 conv as Linear [d, 256]
    sam2_param pix_feat_proj;      // 1x1 conv as Linear [d, d]
    sam2_cxblock fuser[SAM2_MAX_FUSER];
    sam2_param out_proj;           // 1x1 conv as Linear [mem_dim, d]
    // memory attention
    sam2_memattn_layer layers[SAM2_MAX_MEMATTN];
    sam2_param norm;
    // object pointers and memory embeddings
    sam2_mlp3 obj_ptr_proj;        // 3-layer MLP d -> d -> d -> d
    sam2_param obj_ptr_tpos_proj;  // Linear [mem_dim, d]
    rt_tensor mask_downsample_w, mask_downsample_b;  // conv 4x4 s4, OHWI [1, 4, 4, 1], [1]
    float *maskmem_tpos_host;      // [num_maskmem, mem_dim]
    float *no_obj_ptr_host;        // [d]
    float *no_obj_embed_spatial_host;  // [mem_dim]
    float *no_mem_embed_host;      // [d]
} sam2_video_weights;

// One persistent allocation (freed with the model).
typedef struct {
    void *ptr;
    size_t bytes;
} sam2_alloc;

struct sam2_model {
    sam2_config cfg;
    rt_ctx *ctx;
    int n_blocks;
    int stage_end[4];   // index of the last block of each stage
    int grid;           // trunk grid after the patch embed: image_size / 4
    int emb;            // image embedding size: image_size / 16
    int low_res;        // low-res mask size: 4 * emb

    // ---- image encoder
    rt_tensor patch_w, patch_b;  // OHWI [E, 7, 7, 3], [E]
    rt_tensor pos_embed;         // [1, grid, grid, E]: bicubic pos_embed + tiled window embed
    sam2_block blocks[SAM2_MAX_BLOCKS];
    sam2_param neck[4];          // 1x1 convs as Linear [d, C]; neck[0] takes the stride-32 map
    sam2_param conv_s0, conv_s1; // decoder high-res projections (Linear [d/8, d], [d/4, d])
    rt_tensor no_mem_embed;      // [d]
    rt_tensor pix_mean, pix_inv_std;  // [3]

    // ---- prompt encoder
    float *pe_gauss_host;        // [2, d/2] positional_encoding_gaussian_matrix
    float *point_embed_host;     // [4, d]: labels 0, 1, 2 (box top-left), 3 (bottom-right)
    float *not_a_point_host;     // [d]
    float *out_tokens_host;      // [6, d]: obj_score, iou, 4 mask tokens
    rt_tensor no_mask_embed;     // [d]
    rt_tensor dense_pe;          // [1, emb, emb, d] the random-Fourier PE of the grid
    rt_tensor md_conv0_w, md_conv0_b;  // mask_downscaling.0 OHWI [4, 2, 2, 1]
    sam2_param md_norm0;               // .1 LayerNorm2d(4)
    rt_tensor md_conv1_w, md_conv1_b;  // .3 OHWI [16, 2, 2, 4]
    sam2_param md_norm1;               // .4 LayerNorm2d(16)
    sam2_param md_conv2;               // .6 1x1 conv as Linear [d, 16]

    // ---- mask decoder
    sam2_twoway_layer layers[2];
    sam2_attn final_attn;
    sam2_param norm_final;
    rt_tensor up0_w, up0_b;      // ConvTranspose [d, d/4, 2, 2]
    sam2_param up_norm;          // LayerNorm2d(d/4)
    rt_tensor up1_w, up1_b;      // ConvTranspose [d/4, d/8, 2, 2]
    sam2_mlp3 hyper[4];
    sam2_mlp3 iou_head, obj_head;

    // ---- cached features of the last set_image
    int have_image;
    int img_h, img_w;
    rt_tensor image_embed;       // [1, emb, emb, d] (no_mem_embed added)
    rt_tensor feat_s0;           // [1, 4*emb, 4*emb, d/8]
    rt_tensor feat_s1;           // [1, 2*emb, 2*emb, d/4]

    sam2_tap_fn tap;
    void *tap_user;

    // ---- video path (NULL for image-only checkpoints)
    sam2_video_weights *video;

    sam2_alloc *allocs;
    int n_allocs, cap_allocs;
};

// sam2_layers.c: blocks shared by the decoder, the video heads and memory attention.

// Rows [row, row + n) of a contiguous [1, L, C] sequence as a [1, n, C] view.
rt_tensor sam2_rows(const rt_tensor *t, int64_t row, int64_t n);

// RoPE of RoPEAttention: cos / sin tables [positions, head_dim / 2] (rt_rope), applied
// to every query and to the first n_rot_k keys (the rest, object pointers, unrotated).
typedef struct {
    const rt_tensor *cos, *sin;
    int64_t n_rot_k;
} sam2_rope;

// Attention of sam/transformer.py: q/k/v projections to a->internal channels, `heads`
// heads, softmax(q k^T / sqrt(head dim)) v, out projection into out [1, Lq, d]
// (preallocated). rope: NULL, or RoPEAttention's rotation after the projections.
roto_status sam2_attention(sam2_model *m, const sam2_attn *a, int heads, const sam2_rope *rope,
                           rt_tensor *out, const rt_tensor *q_in, const rt_tensor *k_in,
                           const rt_tensor *v_in);

// MLP(in, hidden, out, num_layers=3): ReLU after the first two layers, `last` after
// the third. in [1, n, C], out [1, n, C_out] (preallocated).
roto_status sam2_mlp3_forward(sam2_model *m, const sam2_mlp3 *p, rt_tensor *out,
                              const rt_tensor *in, rt_act last);

// sam2_load.c
roto_status sam2_alloc_tensor(sam2_model *m, rt_tensor *t, int ndim, const int64_t *shape);

// sam2_encoder.c
// Encode an RGB image (u8 h x w x 3) into m->image_embed (with no_mem_embed),
// m->feat_s0 and m->feat_s1; resets the arena. raw: NULL, or a persistent f32
// [1, e, e, d] tensor that receives the stride-16 FPN level before no_mem_embed
// (the backbone's vision_features, which the video path's memory encoder and memory
// attention take).
roto_status sam2_encode_image(sam2_model *m, const uint8_t *rgb, int h, int w, rt_tensor *raw);
roto_status sam2_compute_pos_embed(sam2_model *m, const rt_tensor *pos_bkg,
                                   const rt_tensor *pos_window);

// sam2_decoder.c: the prompt encoder and mask decoder, shared by the image predictor
// (sam2_predict) and the video path (sam2_video_heads).
void sam2_compute_dense_pe(const sam2_model *m, float *out);

// What one mask-decoder run takes. The high-res features are always m->feat_s0 / s1
// of the last encoded image.
typedef struct {
    const rt_tensor *backbone;  // [1, e, e, d]: image_embed (+ no_mem_embed), the raw map,
                                // or memory-conditioned features
    const float *points_xy;     // n_points (x, y) in model-input pixels (scaled to image_size)
    const int *labels;          // -1 not a point, 0 background, 1 foreground, 2 / 3 box corners
    int n_points;               // 0: no point tokens
    int pad_point;              // append the pad point (label -1), as PromptEncoder does
                                // whenever points come with boxes=None
    const rt_tensor *mask;      // low-res mask logits [1, L, L, 1] on the device, or NULL
} sam2_dec_in;

typedef struct {
    rt_tensor tokens;   // [1, T, d] decoder output tokens: 0 object score, 1 IoU, 2..5 the
                        // mask tokens, then the prompt tokens (in the arena)
    rt_tensor masks;    // [1, 4, L*L] low-res logits of the 4 mask tokens (in the arena)
    float *masks_host;  // set by the caller: [4, L, L] receives the same logits
    float iou[4];       // predicted IoU of the 4 masks
    float obj_score;    // object-score logit
} sam2_dec_out;

// PromptEncoder + MaskDecoder.predict_masks on any backbone map. Taps "sparse", "dense",
// "tokens", "keys", "low_res_all", "iou_all", "obj_score". out's tensors live in the
// arena (the caller releases them with its mark).
roto_status sam2_decode(sam2_model *m, const sam2_dec_in *in, sam2_dec_out *out);

// Which outputs to keep from the 4 masks of a decoder run.
typedef enum {
    SAM2_PICK_MULTI_ALL,   // SAM2ImagePredictor, multimask: masks 1..3, all of them
    SAM2_PICK_MULTI_BEST,  // SAM2Base._forward_sam_heads, multimask: the best IoU of
                           // masks 1..3, and its token for the object pointer
    SAM2_PICK_SINGLE,      // single mask: mask 0, or the best of 1..3 when mask 0 is
                           // unstable; the pointer token stays 0 either way
} sam2_pick_rule;

typedef struct {
    int first, count;  // masks first .. first + count - 1
    int token;         // mask token (0..3) for the object pointer
} sam2_pick;

sam2_pick sam2_pick_masks(sam2_pick_rule rule, const float *masks, int64_t n, const float *iou);

// Prompts given in pixels of a W x H picture (the image of sam2_predict, a video frame):
// at most SAM2_MAX_POINTS clicks inside the picture with labels 0 / 1, a box inside it
// with x0 <= x1, y0 <= y1. Messages start with `who` and call the picture `what`.
roto_status sam2_check_clicks(const char *who, const char *what, int W, int H,
                              const float *points, const int *labels, int n_points,
                              const float *box);
// The box corners (labels 2, 3) then the clicks, scaled to the model input
// (SAM2Transforms.transform_coords), written to xy / out_labels; returns the count.
int sam2_points_to_model(const sam2_model *m, int W, int H, const float *box, const float *points,
                         const int *labels, int n_points, float *xy, int *out_labels);

// Index of the mask to output for single-mask prediction (the official
// _dynamic_multimask_via_stability): 0 when mask 0 is stable, else the best-IoU
// mask among 1..3. masks [4, n] logits, iou [4].
int sam2_select_single_mask(const float *masks, int64_t n, const float *iou);

// sam2_load.c: the video tensors (memory encoder, memory attention, pointers), when the
// store has them; m->video stays NULL otherwise.
roto_status sam2_load_video_weights(sam2_model *m, const rt_weights *w);

static inline void sam2_tap(sam2_model *m, const char *name, const rt_tensor *t) {
    if (m->tap) m->tap(m->tap_user, name, t);
}

#endif
