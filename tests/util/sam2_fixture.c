// sam2_fixture.c: see sam2_fixture.h.
#include "sam2_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "test_util.h"

void sam2_fixture_ints(json_t *a, int *dst, int max, int *n) {
    int k = 0;
    for (size_t i = 0; i < json_array_size(a) && k < max; i++)
        dst[k++] = (int)json_integer_value(json_array_get(a, i));
    if (n) *n = k;
}

void sam2_fixture_config(json_t *c, sam2_config *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", json_string_value(json_object_get(c, "name")));
    g->image_size = (int)json_integer_value(json_object_get(c, "image_size"));
    g->embed_dim = (int)json_integer_value(json_object_get(c, "embed_dim"));
    g->num_heads = (int)json_integer_value(json_object_get(c, "num_heads"));
    g->d_model = (int)json_integer_value(json_object_get(c, "d_model"));
    sam2_fixture_ints(json_object_get(c, "stages"), g->stages, 4, NULL);
    sam2_fixture_ints(json_object_get(c, "window_spec"), g->window_spec, 4, NULL);
    sam2_fixture_ints(json_object_get(c, "global_att_blocks"), g->global_blocks, SAM2_MAX_GLOBAL, &g->n_global);
    sam2_fixture_ints(json_object_get(c, "window_pos_embed_bkg_spatial_size"), g->pos_bkg, 2, NULL);
}

double sam2_fixture_mask_iou(const uint8_t *a, const uint8_t *b, size_t n) {
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        inter += a[i] && b[i];
        uni += a[i] || b[i];
    }
    return uni ? (double)inter / (double)uni : 1.0;
}

// ---- device and precision -------------------------------------------------------------

static sam2_parity_mode MODE = {0, RT_PREC_FP32, "cpu"};

const sam2_parity_mode *sam2_parity_mode_get(void) { return &MODE; }

// Parsed here, not with rt_cuda_parse_precision: a build without CUDA must still
// tell a typo from a valid precision it cannot run.
static int parse_precision(const char *s, rt_precision *p) {
    static const char *const names[] = {"fp32", "tf32", "bf16", "fp16"};
    static const rt_precision values[] = {RT_PREC_FP32, RT_PREC_TF32, RT_PREC_BF16, RT_PREC_FP16};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *p = values[i];
            return 1;
        }
    return 0;
}

roto_status sam2_parity_ctx(rt_ctx *ctx, size_t arena_bytes) {
    if (!MODE.cuda) {
        tu_cpu_ctx(ctx, arena_bytes);
        return ROTO_OK;
    }
    ROTO_TRY(rt_ctx_create(ctx, rt_cuda_backend(), arena_bytes));
    roto_status st = rt_cuda_set_precision(ctx, MODE.prec);
    if (st != ROTO_OK) rt_ctx_destroy(ctx);
    return st;
}

int sam2_parity_main(Suite *s, const char *what) {
    const char *dev = getenv("SAM2_PARITY_DEVICE");
    const char *prec = getenv("SAM2_PARITY_PRECISION");
    if (dev && *dev && strcmp(dev, "cpu") && strcmp(dev, "cuda")) {
        fprintf(stderr, "%s: SAM2_PARITY_DEVICE=%s: expected cpu or cuda\n", what, dev);
        return 2;
    }
    MODE.cuda = dev && !strcmp(dev, "cuda");
    if (prec && *prec && !parse_precision(prec, &MODE.prec)) {
        fprintf(stderr, "%s: SAM2_PARITY_PRECISION=%s: expected fp32, tf32, bf16 or fp16\n",
                what, prec);
        return 2;
    }
    if (!MODE.cuda && MODE.prec != RT_PREC_FP32) {
        fprintf(stderr, "%s: SAM2_PARITY_PRECISION=%s needs SAM2_PARITY_DEVICE=cuda (the CPU "
                "backend computes in fp32 only)\n", what, prec);
        return 2;
    }
    snprintf(MODE.label, sizeof MODE.label, "%s%s", MODE.cuda ? "cuda " : "cpu",
             MODE.cuda ? (prec && *prec ? prec : "fp32") : "");
    if (MODE.cuda) {
        int n = 0;
        if (!rt_cuda_backend()) {
            printf("SKIP: %s on %s: this roto was built without CUDA (CUDA=0 or no nvcc)\n",
                   what, MODE.label);
            return 0;
        }
        if (rt_cuda_device_count(&n) != ROTO_OK || n == 0) {
            printf("SKIP: %s on %s: no CUDA device (%s)\n", what, MODE.label, roto_last_error());
            return 0;
        }
    }
    printf("%s: device %s\n", what, MODE.label);
    SRunner *sr = srunner_create(s);
    if (MODE.cuda) srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

// ---- tolerances ----------------------------------------------------------------------------
//
//                    stage rel L2   outputs rel L2  scores          IoU per mask/result  video mean IoU
//   cpu, image       1e-4 (p 1e-3)  1e-4 (p 1e-3)   1e-4            0.999                -
//   cpu, video       1e-4           1e-4 (p 1e-2)   1e-4 (p 1e-2)   0.999 (p 0.99)       - (p 0.998)
//   cuda fp32        the cpu bounds, rel L2 and scores at least 1e-3   as cpu               as cpu
//   cuda tf32, image 5e-2           5e-2            5e-2            0.99                 -
//   cuda tf32, video 5e-2           printed         printed         printed              0.99
//   bf16/fp16, image printed        printed         printed         0.99                 -
//   bf16/fp16, video printed        printed         printed         printed              0.99
// (p: a released variant's dumps; scores: |got - ref| <= bound * (1 + |ref|))
//
// Why:
// - cpu: fp32 against fp32 in a different summation order; the released variants
//   run deeper trunks (global attention over 4096 tokens) and the video replay
//   feeds every result back through the memory, so their bounds are looser. These
//   are the values the tests had before devices were added (unchanged).
// - cuda fp32: still fp32 everywhere, but cuBLAS(Lt) / cuDNN / roto's kernels sum in
//   yet another order (split-K, tree reductions, fused softmax), so rel L2 up to 1e-3.
// - tf32: products with a 10-bit mantissa (relative error ~5e-4 each) through ~30
//   layers: the project's criterion is the masks (IoU >= 0.99, the done
//   criterion); stages are checked only loosely (5e-2) to catch a wrong kernel, not
//   rounding. In the video the errors feed back through the memory frame after frame,
//   so only the masks are checked there (mean IoU; each result printed).
// - bf16 / fp16: 8 (bf16) or 11 (fp16) bit mantissas: stage and logit errors of
//   several percent are expected and only printed; the criterion is the masks.
// - the preprocessed frame (resize, normalise) involves no GEMM: 1e-6 on the CPU,
//   1e-5 on CUDA (the normalisation may round once differently, e.g. an FMA).
sam2_tol sam2_parity_tol(int video, int parity) {
    sam2_tol t;
    // The CPU bounds (as before devices were added).
    if (!video) {
        t = (sam2_tol){.stage_rel_l2 = parity ? 1e-3 : 1e-4, .out_rel_l2 = parity ? 1e-3 : 1e-4,
                       .score_abs = 1e-4, .min_iou = 0.999};
    } else {
        t = (sam2_tol){.stage_rel_l2 = 1e-4, .out_rel_l2 = parity ? 1e-2 : 1e-4,
                       .score_abs = parity ? 1e-2 : 1e-4, .min_iou = parity ? 0.99 : 0.999,
                       .mean_iou = parity ? 0.998 : 0, .presence = 1, .input_rel_l2 = 1e-6,
                       .input_abs = 1e-5};
    }
    if (!MODE.cuda) return t;
    t.input_rel_l2 = video ? 1e-5 : 0;
    t.input_abs = video ? 1e-4 : 0;
    if (MODE.prec == RT_PREC_FP32) {
        if (t.stage_rel_l2 < 1e-3) t.stage_rel_l2 = 1e-3;
        if (t.out_rel_l2 < 1e-3) t.out_rel_l2 = 1e-3;
        if (t.score_abs < 1e-3) t.score_abs = 1e-3;
        return t;
    }
    int tf32 = MODE.prec == RT_PREC_TF32;
    t.stage_rel_l2 = tf32 ? 5e-2 : 0;
    t.out_rel_l2 = tf32 && !video ? 5e-2 : 0;
    t.score_abs = tf32 && !video ? 5e-2 : 0;
    t.min_iou = video ? 0 : 0.99;
    t.mean_iou = video ? 0.99 : 0;
    t.presence = 0;
    return t;
}
