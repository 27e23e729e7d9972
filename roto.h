// roto.h: the public C API of roto for integrators: SAM 2.1 image
// segmentation (load a checkpoint, set an image once, predict masks for any
// number of prompts) and checkpoint conversion. A thin, stable layer over
// nets/sam2; link libroto.a (see the Makefile's LDLIBS for its dependencies).
//
//   roto_model *m;
//   if (roto_model_load("sam2.1_hiera_tiny.pt", NULL, &m) != ROTO_OK) {
//       fprintf(stderr, "%s\n", roto_last_error());
//       return 1;
//   }
//   roto_image_set(m, rgb, width, height, 0, ROTO_PIXELS_RGB8);   // encoded once
//   float xy[2] = {500, 375};
//   roto_prompt p = {.points = xy, .n_points = 1};                 // one foreground click
//   roto_result *r;
//   roto_predict(m, &p, NULL, &r);      // r->masks: width*height bytes, 1 inside
//   printf("IoU %.3f\n", r->iou[r->best]);
//   roto_result_free(r);
//   ... more prompts on the same image ...
//   roto_model_free(m);
//
// Conventions
// - Every function returns ROTO_OK or an error code (engine/status.h) and then
//   roto_last_error() holds a one-line message naming what went wrong (the
//   file, the prompt, the sizes). Nothing here exits or aborts on bad input.
// - Coordinates are pixels of the image given to roto_image_set: x to the
//   right, y down, pixel (i, j) covers [i, i+1) x [j, j+1) (the official
//   predictor's convention; it adds 0.5 to reach the pixel centre itself).
// - Structs the caller fills (options, prompts) are valid when zeroed; zero
//   means "the default" for every field.
// - A model is used by one thread at a time; separate models are independent.
//   Messages are per thread.
#ifndef ROTO_H
#define ROTO_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"  // roto_status, roto_last_error(), roto_status_name()

#ifdef __cplusplus
extern "C" {
#endif

#define ROTO_VERSION "0.1.0"
const char *roto_version(void);  // ROTO_VERSION of the library linked

// ---- models ------------------------------------------------------------------------------

typedef struct roto_model roto_model;  // opaque

typedef enum { ROTO_DEVICE_CPU = 0, ROTO_DEVICE_CUDA = 1 } roto_device_kind;

// How GEMMs, convolutions and attention multiply on the GPU (weights and
// activations stay f32; accumulation is always fp32). The CPU computes in fp32
// only and refuses the others.
typedef enum {
    ROTO_PRECISION_FP32 = 0,
    ROTO_PRECISION_TF32,
    ROTO_PRECISION_BF16,
    ROTO_PRECISION_FP16,
} roto_precision;

typedef struct {
    roto_device_kind device;   // CPU (default) or CUDA
    int cuda_device;           // CUDA device index (0 = the first)
    roto_precision precision;  // FP32 (default)
    int threads;               // CPU threads; 0 = all cores (OpenMP default). Sets the
                               // calling thread's OpenMP thread count (GEMMs follow it).
    const char *config;        // architecture JSON for a checkpoint that is not one of the
                               // released variants (see docs/cli.md), or NULL: detected
                               // from the tensors, or read from a roto-converted file
} roto_model_opts;

// Load a SAM 2 / 2.1 checkpoint: official .pt, safetensors with official or
// Hugging Face names, or a file written by roto_convert; f32/f16/bf16.
// opts may be NULL (CPU, fp32, all cores). Errors: unreadable or malformed
// file (ROTO_ERR_IO / FORMAT, naming it), not a SAM 2 model (UNSUPPORTED),
// built without CUDA or no CUDA device (UNSUPPORTED / DEVICE), a precision
// other than FP32 on the CPU (UNSUPPORTED).
roto_status roto_model_load(const char *path, const roto_model_opts *opts, roto_model **out);
void roto_model_free(roto_model *m);  // NULL is fine

typedef struct {
    char family[16];     // "sam2"
    char variant[32];    // "tiny", "small", "base_plus", "large", or the config's name
    int image_size;      // the network's input size (1024 for the released models)
    int low_res;         // side of the low-res logits (image_size / 4)
    char device[64];     // "cpu" or "cuda"
    char precision[8];   // "fp32", "tf32", "bf16", "fp16"
} roto_model_info;

roto_status roto_model_get_info(const roto_model *m, roto_model_info *info);

// ---- images ------------------------------------------------------------------------------

typedef enum {
    ROTO_PIXELS_RGB8 = 0,  // 3 bytes per pixel, sRGB-encoded
    ROTO_PIXELS_RGBA8,     // 4 bytes, alpha ignored
    ROTO_PIXELS_GRAY8,     // 1 byte, replicated to R, G, B
    ROTO_PIXELS_RGB_F32,   // 3 floats, sRGB-encoded in [0, 1] (clamped; NaN -> 0)
} roto_pixel_format;

// Encode an image (any size from 1x1 up to 32768 on a side) and keep its
// features for roto_predict. row_bytes: bytes from one row to the next, 0 =
// tightly packed. The network takes 8-bit RGB: float pixels are rounded to
// round(v * 255), exactly like saving them as an 8-bit image first.
// Replaces the previous image; results already returned stay valid. On an
// argument error the previous image stays set; if encoding fails, none is.
roto_status roto_image_set(roto_model *m, const void *pixels, int width, int height,
                           size_t row_bytes, roto_pixel_format format);

// ---- prompts and results ---------------------------------------------------------------------

typedef struct {
    const float *points;       // n_points (x, y) pairs in image pixels, or NULL
    const int *labels;         // n_points labels: 1 foreground, 0 background; NULL = all 1
    int n_points;              // 0..64
    const float *box;          // x0, y0, x1, y1 in image pixels (x0 <= x1, y0 <= y1), or NULL
    // At most one of the two mask prompts:
    const float *mask;         // a matte of the image's size (width*height floats, row-major,
                               // 0..1), or NULL. Converted as SAM 2 converts a user's mask
                               // (SAM2Base._use_mask_as_output): binarised at 0.5, mapped
                               // to logits +10 / -10, resized to low_res x low_res
                               // (bilinear, antialiased, align_corners false).
    const float *mask_logits;  // low_res x low_res logits, e.g. a previous result's
                               // low_res_logits + k * low_res^2 (the official predictor's
                               // mask_input), or NULL
} roto_prompt;

typedef struct {
    int multimask;         // 0 (default): one mask, the official multimask_output=False
                           // result; 1: the three candidates (see roto_result.best)
    float mask_threshold;  // a pixel is in a mask where its logit > this (default 0, as
                           // SAM2ImagePredictor's mask_threshold)
} roto_predict_opts;

// Masks at the resolution of the image, all owned by the result.
typedef struct {
    int n_masks;                  // 1, or 3 with multimask
    int width, height;            // the image given to roto_image_set
    int best;                     // index of the highest predicted IoU (0 when n_masks is 1)
    const uint8_t *masks;         // [n_masks][height][width]: 1 inside, 0 outside
    const float *logits;          // [n_masks][height][width]: mask logits upsampled from
                                  // low-res (bilinear), before thresholding
    int low_res;                  // L = image_size / 4
    const float *low_res_logits;  // [n_masks][L][L], clamped to [-32, 32]
    float iou[3];                 // predicted IoU per mask
    float object_score;           // object-score logit (> 0: an object is present)
} roto_result;

// Predict masks for one prompt on the image of the last roto_image_set. A
// prompt with no points, box or mask is allowed (the network's guess). opts may
// be NULL. Errors (ROTO_ERR_INVALID_ARG, naming the point or box and the image
// size): no image set, a point or box outside the image, a label other than
// 0/1, a flipped box, more than 64 points, both mask prompts.
roto_status roto_predict(roto_model *m, const roto_prompt *prompt, const roto_predict_opts *opts,
                         roto_result **out);
void roto_result_free(roto_result *r);  // NULL is fine

// ---- checkpoint conversion --------------------------------------------------------------------

typedef enum { ROTO_DTYPE_F32 = 0, ROTO_DTYPE_F16, ROTO_DTYPE_BF16 } roto_dtype;

typedef struct {
    roto_dtype dtype;    // floating-point tensors are written in this type (default f32)
    const char *config;  // architecture JSON stored in the file for a non-released model
} roto_convert_opts;

typedef struct {
    int n_tensors;
    uint64_t data_bytes;  // bytes of tensor data written
    char family[24];      // "sam2", ...
    char variant[32];     // "tiny", ... or the config's name
} roto_convert_stats;

// Read a checkpoint (official .pt or safetensors, official or Hugging Face
// names) and write the canonical roto file: safetensors with the official
// tensor names, sorted by name, every float tensor in opts->dtype, data 64-byte
// aligned, and __metadata__ {"format": "roto", "family", "variant", "source"
// (the input's file name), "roto_version", "dtype"} (plus "sam2_config" for a
// custom architecture). Written atomically: a failure leaves no file at out.
// opts and stats may be NULL.
roto_status roto_convert(const char *in, const char *out, const roto_convert_opts *opts,
                         roto_convert_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
