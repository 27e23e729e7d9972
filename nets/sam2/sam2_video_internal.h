// sam2_video_internal.h: the pieces of the SAM 2.1 video predictor shared by the
// tracking session (sam2_track.c): video-frame preprocessing, the SAM heads as the
// video path runs them (sam2_video_decoder.c), the memory encoder (sam2_memory.c) and
// the memory attention (sam2_memattn.c). Tensors live on the model's device unless
// named *_host.
#ifndef ROTO_SAM2_VIDEO_INTERNAL_H
#define ROTO_SAM2_VIDEO_INTERNAL_H

#include "sam2_internal.h"

// SAM2Base constants of the released 2.1 configs.
#define SAM2_NO_OBJ_SCORE (-1024.0f)       // low-res logits of a frame without the object
#define SAM2_MEM_SIGMOID_SCALE 20.0f       // sigmoid_scale_for_mem_enc
#define SAM2_MEM_SIGMOID_BIAS (-10.0f)     // sigmoid_bias_for_mem_enc
#define SAM2_MAX_OBJ_PTRS 16               // max_obj_ptrs_in_encoder

// ---- sam2_video_pre.c ---------------------------------------------------------------------

// PIL's Image.resize((S, S)) with its default filter for RGB (BICUBIC, a = -0.5,
// support scaled when downsampling), on u8 exactly as Pillow computes it: separable,
// horizontal pass first into a u8 image, 22-bit fixed-point coefficients, rounding
// and clipping after each pass. src h x w x 3, dst S x S x 3.
roto_status sam2_resize_pil_bicubic(const uint8_t *src, int w, int h, uint8_t *dst, int S);

// PositionEmbeddingSine(channels) (normalize, scale 2 pi, temperature 1e4) on an
// n x n grid, NHWC [n, n, channels]: y channels first, each half sin/cos interleaved.
void sam2_sine_pe(float *out, int n, int channels);

// get_1d_sine_pe(pos, dim): [sin(pos / t_k), cos(pos / t_k)] halves concatenated.
void sam2_sine_pe_1d(float *out, float pos, int dim);

// ---- sam2_video_decoder.c ----------------------------------------------------------------

// What SAM2Base._forward_sam_heads returns, selected as the video path does.
typedef struct {
    float *low_res_host;  // [L, L] chosen mask logits (NO_OBJ_SCORE where the object is absent)
    float *obj_ptr_host;  // [d] object pointer (no_obj_ptr mixed in when absent)
    float obj_score;      // object-score logit
    float iou;
} sam2_heads_out;

// Prompt encoder + mask decoder (sam2_decode) on `backbone` [1, e, e, d]
// (memory-conditioned features, the raw features + no_mem_embed, or the raw features)
// with the frame's high-res features m->feat_s0/s1.
// points: model-input coordinates (already scaled to image_size) with labels 0..3; with
// none a single "not a point" is used; a pad point always follows (boxes=None). mask:
// low-res logits [1, L, L, 1] on the device, or NULL. multimask: 3 outputs, best IoU
// taken (and its token for the pointer); else mask 0 with the stability fallback (token
// 0 for the pointer). out's host buffers are allocated by the caller (L*L and d floats).
roto_status sam2_video_heads(sam2_model *m, const rt_tensor *backbone, const float *points_xy,
                             const int *labels, int n_points, const rt_tensor *mask,
                             int multimask, sam2_heads_out *out);

// ---- sam2_memory.c ---------------------------------------------------------------------------

// MemoryEncoder + SAM2Base._encode_new_memory after the sigmoid/scale step:
// mask_for_mem [1, S, S, 1] (already mapped to [-10, 10]) and the raw backbone map
// pix_feat [1, e, e, d] -> out [1, e, e, mem_dim] (f32, caller-allocated);
// no_obj_embed_spatial is added when obj_present is 0.
roto_status sam2_memory_encode(sam2_model *m, const rt_tensor *pix_feat,
                               const rt_tensor *mask_for_mem, int obj_present, rt_tensor *out);

// ---- sam2_memattn.c ------------------------------------------------------------------------

// MemoryAttention: curr [1, HW, d] raw features, curr_pos [1, HW, d] their sine PE,
// memory / memory_pos [1, Nm, mem_dim] with the last n_ptr_tokens being object-pointer
// tokens (no RoPE on them), rope_cos / rope_sin [HW, d/2] the axial table of the e x e
// grid. out [1, HW, d].
roto_status sam2_memory_attention(sam2_model *m, const rt_tensor *curr, const rt_tensor *curr_pos,
                                  const rt_tensor *memory, const rt_tensor *memory_pos,
                                  int64_t n_ptr_tokens, const rt_tensor *rope_cos,
                                  const rt_tensor *rope_sin, rt_tensor *out);

#endif
