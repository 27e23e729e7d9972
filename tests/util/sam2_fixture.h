// sam2_fixture.h: reading the model configuration that the SAM 2.1 reference
// dumps (tests/fixtures/sam2*/<size>/index.json, tools/refgen) record, for the
// tests that build nets/sam2 directly; and the device, precision and tolerances
// the parity tests (test_sam2_image, test_sam2_video) run with.
#ifndef ROTO_SAM2_FIXTURE_H
#define ROTO_SAM2_FIXTURE_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/cuda/cuda_kernels.h"
#include "nets/sam2/sam2.h"

// Up to max integers of a JSON array into dst; *n (if given) how many were read.
void sam2_fixture_ints(json_t *a, int *dst, int max, int *n);

// Fills cfg (zeroed first) from the "config" object of a dump's index.json.
void sam2_fixture_config(json_t *config, sam2_config *cfg);

// Intersection over union of two masks of n pixels (nonzero = inside); 1 when
// both are empty.
double sam2_fixture_mask_iou(const uint8_t *a, const uint8_t *b, size_t n);

// ---- device and precision of a parity run ---------------------------------------
//
// SAM2_PARITY_DEVICE=cpu|cuda (default cpu) and SAM2_PARITY_PRECISION=fp32|tf32|
// bf16|fp16 (default fp32; the others need cuda) pick where the parity tests run.
// The CUDA precision is set on the context (rt_cuda_set_precision), as roto_model_load
// does for roto_model_opts.precision.
typedef struct {
    int cuda;            // 1: the CUDA backend
    rt_precision prec;   // RT_PREC_FP32 on the CPU
    char label[24];      // "cpu", "cuda fp32", "cuda bf16", ... for the logs
} sam2_parity_mode;

// The mode of this run (read from the environment by sam2_parity_main).
const sam2_parity_mode *sam2_parity_mode_get(void);

// A context on the mode's backend with an arena of arena_bytes, the precision set.
roto_status sam2_parity_ctx(rt_ctx *ctx, size_t arena_bytes);

// main() of a parity test program: reads the mode (a bad value: message, exit 2);
// with SAM2_PARITY_DEVICE=cuda and no CUDA (a build without it, no device) prints
// one "SKIP: ..." line and returns 0. CUDA runs do not fork (the device probe has
// initialised CUDA in this process, which a forked child cannot use).
int sam2_parity_main(Suite *s, const char *what);

// ---- tolerances --------------------------------------------------------------------
//
// Every bound the parity tests check, for the running mode; 0 = printed, not checked.
// The values and why they are what they are: sam2_parity_tol() in sam2_fixture.c.
typedef struct {
    double stage_rel_l2;  // intermediate tensors (taps): ||got - ref|| / ||ref||
    double out_rel_l2;    // outputs: low-res logits (image, video), object pointers (video)
    double score_abs;     // predicted IoU / object score: |got - ref| <= score_abs * (1 + |ref|)
    double min_iou;       // binary masks: IoU of every mask (image) / every result (video)
    double mean_iou;      // video: the mean IoU over all results
    int presence;         // video: object present (score > 0) agrees with the reference
    double input_rel_l2;  // video: the preprocessed frame (no GEMMs: near-exact on every mode)
    double input_abs;
} sam2_tol;

// video: 1 for test_sam2_video, 0 for test_sam2_image; parity: a released variant's
// dumps (SAM2_PARITY_DIR / SAM2_VIDEO_PARITY_DIR), 0 for the committed small config.
sam2_tol sam2_parity_tol(int video, int parity);

#endif
