// sam2.h: SAM 2.1 image segmentation (the official SAM2ImagePredictor): load a
// checkpoint, encode an image once (Hiera trunk + FPN neck), then predict masks
// for any number of prompts (points, box, low-res mask) on the cached embedding.
//
//   rt_ctx ctx;  rt_ctx_create(&ctx, rt_cpu_backend(), sam2_arena_bytes(&cfg, h, w));
//   sam2_model *m;  sam2_load(&ctx, "sam2.1_hiera_tiny.pt", NULL, &m);  // variant detected
//   sam2_set_image(m, rgb, h, w);                                       // u8 RGB, HWC
//   sam2_prompt p = {.points = xy, .labels = lab, .n_points = 1, .multimask = 1};
//   sam2_result r;  sam2_predict(m, &p, &r);  ...  sam2_result_free(&r);
//   sam2_free(m);
//
// Everything runs through the rt_* op API on the context's backend; the image
// embedding and the decoder's high-res features live in persistent buffers.
#ifndef ROTO_SAM2_H
#define ROTO_SAM2_H

#include <stdint.h>

#include "engine/ctx.h"
#include "engine/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SAM2_MAX_BLOCKS 64
#define SAM2_MAX_GLOBAL 8
#define SAM2_MAX_POINTS 64

// Architecture of one SAM 2.1 model (the yaml's model.image_encoder.trunk and neck
// plus the image size). Prompt encoder and mask decoder sizes follow from d_model.
typedef struct {
    char name[32];          // "tiny", "small", "base_plus", "large", or a custom name
    int image_size;         // 1024 for the released models
    int embed_dim;          // Hiera stage-1 channels (96, 96, 112, 144)
    int num_heads;          // Hiera stage-1 heads (doubled at each stage)
    int stages[4];          // blocks per stage
    int window_spec[4];     // window size per stage (0 = global)
    int global_blocks[SAM2_MAX_GLOBAL];  // blocks with global attention
    int n_global;
    int pos_bkg[2];         // window_pos_embed_bkg_spatial_size (h, w)
    int d_model;            // neck / prompt / decoder width (256)
} sam2_config;

// The four released variants by name: "tiny", "small", "base_plus" (or "b+"), "large".
roto_status sam2_config_variant(sam2_config *cfg, const char *name);
// Arena bytes that one set_image / predict needs for an image of h x w pixels.
size_t sam2_arena_bytes(const sam2_config *cfg, int h, int w);

typedef struct sam2_model sam2_model;

// Load from a checkpoint file (official .pt or safetensors, official or HF names).
// cfg NULL: detect the released variant from the tensors. Weights are converted to
// f32 and uploaded to ctx's device; ctx must outlive the model.
roto_status sam2_load(rt_ctx *ctx, const char *path, const sam2_config *cfg, sam2_model **out);
// The same from an open weight store (the caller closes it after this returns;
// for HF-named files it must have rt_namemap_attach(w, RT_NAMES_SAM2) applied).
roto_status sam2_load_weights(rt_ctx *ctx, const rt_weights *w, const sam2_config *cfg,
                              sam2_model **out);
void sam2_free(sam2_model *m);
const sam2_config *sam2_model_config(const sam2_model *m);

// Encode an RGB image (u8, h x w x 3, row-major) and cache its features.
roto_status sam2_set_image(sam2_model *m, const uint8_t *rgb, int h, int w);

typedef struct {
    const float *points;      // n_points (x, y) pairs in image pixels, or NULL
    const int *labels;        // n_points labels: 1 foreground, 0 background
    int n_points;             // 0..SAM2_MAX_POINTS
    const float *box;         // x0, y0, x1, y1 in image pixels, or NULL
    const float *mask_input;  // low-res logits [L, L] (L = image_size / 4) or NULL
    int multimask;            // 1: three masks; 0: one mask (stability fallback)
} sam2_prompt;

typedef struct {
    int n_masks;              // 3 (multimask) or 1
    int height, width;        // the image size given to set_image
    int low_res;              // L = image_size / 4
    uint8_t *masks;           // [n_masks, height, width], 1 where logit > 0
    float *mask_logits;       // [n_masks, height, width] upsampled logits
    float *low_res_logits;    // [n_masks, L, L], clamped to [-32, 32]
    float iou[3];             // predicted IoU per mask
    float obj_score;          // object-score logit (> 0: object present)
} sam2_result;

// Predict masks for one prompt on the image of the last set_image.
roto_status sam2_predict(sam2_model *m, const sam2_prompt *p, sam2_result *r);
void sam2_result_free(sam2_result *r);

// Debugging / tests: called with every intermediate (device tensors, valid only
// during the call) under the names the reference dumps use ("patch_embed",
// "stage0", "neck2", "image_embed", "tokens", "low_res_all", ...).
typedef void (*sam2_tap_fn)(void *user, const char *name, const rt_tensor *t);
void sam2_set_tap(sam2_model *m, sam2_tap_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
