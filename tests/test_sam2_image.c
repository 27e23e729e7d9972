// test_sam2_image.c: SAM 2.1 image segmentation against the official PyTorch
// implementation. tools/refgen/gen_sam2_fixtures.py ran the official
// SAM2ImagePredictor (sam2 1.1.0) with random weights and dumped every stage; here
// the same weights go through nets/sam2 and each stage is compared with the dump.
//
// By default the committed small config (tests/fixtures/sam2/small) is used. With
// SAM2_PARITY_DIR=build/parity/sam2/<variant>-<image> the same checks run on a released
// variant's dumps (make parity-sam2-image); the measured errors are printed.
// SAM2_PARITY_DEVICE=cuda and SAM2_PARITY_PRECISION=fp32|tf32|bf16|fp16 run it on the
// CUDA backend (make parity-gpu); without CUDA that prints one SKIP line.
//
// Tolerances (all in sam2_parity_tol, tests/util/sam2_fixture.c, with the reasons).
// On the CPU (fp32 against fp32, both summing in different orders):
// - every stage: relative L2 error <= 1e-4 (||got - ref|| / ||ref||) and max abs
//   error <= 1e-3 * (1 + max |ref|) (parity: 1e-3 and 1e-2);
// - low-res mask logits: relative L2 <= 1e-4; IoU / object score: abs <= 1e-4;
// - binary masks at the image size: IoU with the reference >= 0.999.
// CUDA fp32: rel L2 and scores 1e-3; tf32: 5e-2 and IoU >= 0.99 per mask; bf16 / fp16:
// errors printed, IoU >= 0.99 per mask.
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/namemap.h"
#include "nets/sam2/sam2.h"
#include "nets/sam2/sam2_internal.h"
#include "util/cli_util.h"
#include "util/sam2_fixture.h"
#include "util/test_util.h"

#define DEFAULT_DIR "tests/fixtures/sam2/small"

// ---- fixture --------------------------------------------------------------------

typedef struct {
    char dir[512];
    json_t *index;
    int parity;  // a released variant (SAM2_PARITY_DIR)
    sam2_config cfg;
    sam2_tol tol;  // for this device, precision and fixture
    uint8_t *image;
    int h, w;
} fixture;

static fixture FX;

static char *path_in(const char *dir, const char *file) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", dir, file);
    return buf;
}

// A dumped tensor by name (NULL if the dump has none); *n its element count.
static float *ref_tensor(const char *name, size_t *n) {
    json_t *t = json_object_get(json_object_get(FX.index, "tensors"), name);
    if (!t) return NULL;
    size_t bytes = 0;
    float *p = cu_read_file(path_in(FX.dir, json_string_value(json_object_get(t, "file"))), &bytes);
    ck_assert_msg(p != NULL, "cannot read the dump of %s in %s", name, FX.dir);
    *n = bytes / sizeof(float);
    return p;
}

static void fixture_load(void) {
    if (FX.index) return;
    const char *env = getenv("SAM2_PARITY_DIR");
    FX.parity = env && *env;
    snprintf(FX.dir, sizeof FX.dir, "%s", FX.parity ? env : DEFAULT_DIR);
    json_error_t err;
    FX.index = json_load_file(path_in(FX.dir, "index.json"), 0, &err);
    ck_assert_msg(FX.index != NULL, "cannot read %s/index.json: %s", FX.dir, err.text);
    json_t *c = json_object_get(FX.index, "config");
    sam2_fixture_config(c, &FX.cfg);
    FX.tol = sam2_parity_tol(0, FX.parity);
    json_t *im = json_object_get(FX.index, "image");
    FX.h = (int)json_integer_value(json_object_get(im, "height"));
    FX.w = (int)json_integer_value(json_object_get(im, "width"));
    size_t n = 0;
    FX.image = cu_read_file(path_in(FX.dir, json_string_value(json_object_get(im, "file"))), &n);
    ck_assert_msg(FX.image && n == (size_t)FX.h * FX.w * 3, "bad fixture image");
}

static const char *weights_path(void) {
    return path_in(FX.dir, json_string_value(json_object_get(FX.index, "weights")));
}

// A context on the run's device (SAM2_PARITY_DEVICE) at its precision.
static void make_ctx(rt_ctx *ctx, int h, int w) {
    roto_status st = sam2_parity_ctx(ctx, sam2_arena_bytes(&FX.cfg, h, w));
    ck_assert_msg(st == ROTO_OK, "context on %s: %s", sam2_parity_mode_get()->label,
                  roto_last_error());
}

// Print every measured error: at real sizes and on CUDA (a GPU log explains itself).
static int verbose(void) {
    return FX.parity || sam2_parity_mode_get()->cuda || getenv("SAM2_VERBOSE");
}

// ---- comparison ------------------------------------------------------------------

typedef struct {
    double rel_l2, max_abs, ref_max;
    size_t n;
} cmp_stats;

static cmp_stats compare(const float *got, const float *ref, size_t n) {
    double d2 = 0, r2 = 0, ma = 0, rm = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        d2 += d * d;
        r2 += (double)ref[i] * ref[i];
        if (!(fabs(d) <= ma)) ma = fabs(d);  // NaN propagates as the max
        if (fabs(ref[i]) > rm) rm = fabs(ref[i]);
    }
    cmp_stats s = {r2 > 0 ? sqrt(d2 / r2) : sqrt(d2), ma, rm, n};
    return s;
}

// The largest stage error of a test, for its summary line.
typedef struct {
    double rel_l2;
    char name[96];
} worst_stage;

#define MAX_TAPS 64
typedef struct {
    rt_ctx *ctx;
    const char *prefix;  // prompt name, or NULL for the encoder
    int n;
    char names[MAX_TAPS][96];
    cmp_stats st[MAX_TAPS];
    int missing_ref[MAX_TAPS];
    worst_stage worst;
} tap_log;

static void tap_compare(void *user, const char *name, const rt_tensor *t) {
    tap_log *log = user;
    if (log->n >= MAX_TAPS) return;
    char full[96];
    if (log->prefix)
        snprintf(full, sizeof full, "%s.%s", log->prefix, name);
    else
        snprintf(full, sizeof full, "%s", name);
    int i = log->n++;
    snprintf(log->names[i], sizeof log->names[i], "%s", full);
    size_t n = 0;
    float *ref = ref_tensor(full, &n);
    if (!ref) {
        log->missing_ref[i] = 1;
        return;
    }
    size_t tn = (size_t)rt_numel(t);
    ck_assert_msg(tn == n, "%s: roto has %zu elements, the reference %zu", full, tn, n);
    float *got = malloc(n * sizeof(float));
    rt_tensor tt = *t;
    ck_assert(rt_is_contiguous(&tt));
    ck_assert_int_eq(rt_ctx_download(log->ctx, got, t->data, n * sizeof(float)), ROTO_OK);
    log->st[i] = compare(got, ref, n);
    free(got);
    free(ref);
}

// Checks the stages against FX.tol.stage_rel_l2 (0: printed only) and records the worst.
static void check_log(tap_log *log, const char *const *skip) {
    double tol = FX.tol.stage_rel_l2;
    for (int i = 0; i < log->n; i++) {
        if (log->missing_ref[i]) continue;
        int skipped = 0;
        for (int k = 0; skip && skip[k]; k++)
            if (strstr(log->names[i], skip[k])) skipped = 1;
        if (skipped) continue;
        const cmp_stats *s = &log->st[i];
        if (verbose())
            printf("  %-34s rel L2 %.2e  max abs %.2e  (max |ref| %.3g, %zu values)\n",
                   log->names[i], s->rel_l2, s->max_abs, s->ref_max, s->n);
        if (!(s->rel_l2 <= log->worst.rel_l2)) {
            log->worst.rel_l2 = s->rel_l2;
            snprintf(log->worst.name, sizeof log->worst.name, "%s", log->names[i]);
        }
        if (tol == 0) continue;
        ck_assert_msg(s->rel_l2 <= tol, "%s: relative L2 error %.3g > %.1g", log->names[i],
                      s->rel_l2, tol);
        ck_assert_msg(s->max_abs <= 10 * tol * (1.0 + s->ref_max),
                      "%s: max abs error %.3g (max |ref| %.3g)", log->names[i], s->max_abs,
                      s->ref_max);
    }
}

// ---- tests ----------------------------------------------------------------------------

static sam2_model *load_model(rt_ctx *ctx) {
    sam2_model *m = NULL;
    // Released variants are detected from the tensors; the small config is given.
    roto_status st = sam2_load(ctx, weights_path(), FX.parity ? NULL : &FX.cfg, &m);
    ck_assert_msg(st == ROTO_OK, "sam2_load: %s", roto_last_error());
    if (FX.parity)  // the generator calls the released "small" small_real
        ck_assert_str_eq(sam2_model_config(m)->name,
                         strcmp(FX.cfg.name, "small_real") ? FX.cfg.name : "small");
    return m;
}

START_TEST(test_encoder_stages) {
    fixture_load();
    rt_ctx ctx;
    make_ctx(&ctx, FX.h, FX.w);
    sam2_model *m = load_model(&ctx);
    tap_log log = {.ctx = &ctx};
    sam2_set_tap(m, tap_compare, &log);
    double t0 = rt_now_seconds();
    roto_status st = sam2_set_image(m, FX.image, FX.h, FX.w);
    double t1 = rt_now_seconds();
    ck_assert_msg(st == ROTO_OK, "set_image: %s", roto_last_error());
    if (verbose()) printf("%s: set_image %.2f s\n", FX.cfg.name, t1 - t0);
    static const char *expect[] = {"input", "patch_embed", "pos_embed", "stage0", "stage1",
                                   "stage2", "stage3", "neck0", "neck1", "neck2", "neck3",
                                   "feat_s0", "feat_s1", "image_embed", "dense_pe"};
    for (size_t k = 0; k < sizeof expect / sizeof *expect; k++) {
        int found = 0;
        for (int i = 0; i < log.n; i++)
            if (!strcmp(log.names[i], expect[k]) && !log.missing_ref[i]) found = 1;
        ck_assert_msg(found, "stage %s was not compared", expect[k]);
    }
    check_log(&log, NULL);
    printf("sam2 image [%s] %s encoder: %d stages, max rel L2 %.3g (%s)\n",
           sam2_parity_mode_get()->label, FX.cfg.name, log.n, log.worst.rel_l2, log.worst.name);
    ck_assert_msg(ctx.arena.peak <= sam2_arena_bytes(&FX.cfg, FX.h, FX.w),
                  "arena peak %zu above sam2_arena_bytes", ctx.arena.peak);
    sam2_free(m);
    rt_ctx_destroy(&ctx);
}
END_TEST

static void float_list(json_t *a, float *dst, int max, int *n) {
    int k = 0;
    for (size_t i = 0; i < json_array_size(a) && k < max; i++) {
        json_t *v = json_array_get(a, i);
        if (json_is_array(v)) {
            for (size_t j = 0; j < json_array_size(v) && k < max; j++)
                dst[k++] = (float)json_number_value(json_array_get(v, j));
        } else {
            dst[k++] = (float)json_number_value(v);
        }
    }
    if (n) *n = k;
}

START_TEST(test_prompts) {
    fixture_load();
    rt_ctx ctx;
    make_ctx(&ctx, FX.h, FX.w);
    sam2_model *m = load_model(&ctx);
    ck_assert_int_eq(sam2_set_image(m, FX.image, FX.h, FX.w), ROTO_OK);
    json_t *prompts = json_object_get(FX.index, "prompts");
    ck_assert_int_ge((int)json_array_size(prompts), 4);
    // For the summary line.
    worst_stage worst = {0, ""};
    double min_iou = 1, sum_iou = 0, max_low = 0, max_score = 0;
    int n_iou = 0;
    for (size_t pi = 0; pi < json_array_size(prompts); pi++) {
        json_t *jp = json_array_get(prompts, pi);
        const char *name = json_string_value(json_object_get(jp, "name"));
        float pts[2 * SAM2_MAX_POINTS], box[4];
        int labels[SAM2_MAX_POINTS], npt = 0, nl = 0, nb = 0;
        float_list(json_object_get(jp, "points"), pts, 2 * SAM2_MAX_POINTS, &npt);
        sam2_fixture_ints(json_object_get(jp, "labels"), labels, SAM2_MAX_POINTS, &nl);
        json_t *jb = json_object_get(jp, "box");
        if (json_is_array(jb)) float_list(jb, box, 4, &nb);
        float *mask_in = NULL;
        json_t *jm = json_object_get(jp, "mask_input");
        if (json_is_string(jm)) {
            size_t n = 0;
            mask_in = ref_tensor(json_string_value(jm), &n);
            ck_assert_int_eq(n, (size_t)(FX.cfg.image_size / 4) * (FX.cfg.image_size / 4));
        }
        sam2_prompt p = {.points = pts, .labels = labels, .n_points = nl,
                         .box = nb == 4 ? box : NULL, .mask_input = mask_in,
                         .multimask = json_is_true(json_object_get(jp, "multimask"))};
        ck_assert_int_eq(npt, 2 * nl);
        tap_log log = {.ctx = &ctx, .prefix = name};
        sam2_set_tap(m, tap_compare, &log);
        sam2_result r;
        double t0 = rt_now_seconds();
        roto_status st = sam2_predict(m, &p, &r);
        double t1 = rt_now_seconds();
        ck_assert_msg(st == ROTO_OK, "%s: predict: %s", name, roto_last_error());
        if (verbose()) printf("%s: predict %.3f s\n", name, t1 - t0);
        // The object score is one scalar that can sit near 0: checked by abs below.
        static const char *const skip[] = {"obj_score", NULL};
        check_log(&log, skip);
        if (!(log.worst.rel_l2 <= worst.rel_l2)) worst = log.worst;

        // Outputs as the predictor returns them.
        char key[96];
        size_t n = 0;
        snprintf(key, sizeof key, "%s.low_res", name);
        float *ref_low = ref_tensor(key, &n);
        ck_assert_ptr_nonnull(ref_low);
        ck_assert_int_eq(n, (size_t)r.n_masks * r.low_res * r.low_res);
        cmp_stats s = compare(r.low_res_logits, ref_low, n);
        if (verbose()) printf("  %-34s rel L2 %.2e  max abs %.2e\n", key, s.rel_l2, s.max_abs);
        if (!(s.rel_l2 <= max_low)) max_low = s.rel_l2;
        ck_assert_msg(FX.tol.out_rel_l2 == 0 || s.rel_l2 <= FX.tol.out_rel_l2,
                      "%s: low-res logits rel L2 %.3g > %.1g", name, s.rel_l2, FX.tol.out_rel_l2);
        free(ref_low);

        // Predicted IoU: abs error; object score: relative to 1 + |ref| (a logit).
        double sb = FX.tol.score_abs;
        snprintf(key, sizeof key, "%s.iou", name);
        float *ref_iou = ref_tensor(key, &n);
        ck_assert_int_eq(n, (size_t)r.n_masks);
        for (int k = 0; k < r.n_masks; k++) {
            double e = fabs((double)r.iou[k] - ref_iou[k]);
            if (!(e <= max_score)) max_score = e;
            ck_assert_msg(sb == 0 || e <= sb, "%s: iou[%d] %g vs %g", name, k, (double)r.iou[k],
                          (double)ref_iou[k]);
        }
        free(ref_iou);
        snprintf(key, sizeof key, "%s.obj_score", name);
        float *ref_obj = ref_tensor(key, &n);
        double oe = fabs((double)r.obj_score - ref_obj[0]);
        if (verbose())
            printf("  %-34s %g (ref %g)\n", key, (double)r.obj_score, (double)ref_obj[0]);
        if (!(oe / (1.0 + fabs(ref_obj[0])) <= max_score)) max_score = oe / (1.0 + fabs(ref_obj[0]));
        ck_assert_msg(sb == 0 || oe <= sb * (1.0 + fabs(ref_obj[0])), "%s: object score %g vs %g",
                      name, (double)r.obj_score, (double)ref_obj[0]);
        free(ref_obj);

        // Binary masks at the image size (the reference stores them as u8).
        json_t *jt = json_object_get(json_object_get(FX.index, "tensors"),
                                     (snprintf(key, sizeof key, "%s.masks", name), key));
        ck_assert_ptr_nonnull(jt);
        size_t nbytes = 0;
        uint8_t *ref_masks =
            cu_read_file(path_in(FX.dir, json_string_value(json_object_get(jt, "file"))), &nbytes);
        ck_assert_int_eq(nbytes, (size_t)r.n_masks * r.height * r.width);
        for (int k = 0; k < r.n_masks; k++) {
            size_t inter = 0, uni = 0, npix = (size_t)r.height * r.width;
            for (size_t i = 0; i < npix; i++) {
                int a = r.masks[k * npix + i], b = ref_masks[k * npix + i];
                inter += a && b;
                uni += a || b;
            }
            double iou = uni ? (double)inter / (double)uni : 1.0;
            if (verbose())
                printf("  %s mask %d: IoU with the reference %.6f (%zu px)\n", name, k, iou, uni);
            if (iou < min_iou) min_iou = iou;
            sum_iou += iou;
            n_iou++;
            ck_assert_msg(iou >= FX.tol.min_iou, "%s: mask %d IoU %.6f < %g", name, k, iou,
                          FX.tol.min_iou);
        }
        free(ref_masks);
        free(mask_in);
        sam2_result_free(&r);
    }
    printf("sam2 image [%s] %s prompts: %d masks, IoU min %.6f mean %.6f; max rel L2: decoder "
           "stage %.3g (%s), low-res logits %.3g; max score error %.3g\n",
           sam2_parity_mode_get()->label, FX.cfg.name, n_iou, min_iou, sum_iou / n_iou,
           worst.rel_l2, worst.name, max_low, max_score);
    sam2_free(m);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_select_single_mask) {
    // The stability fallback on synthetic logits: 4 masks of 100 values.
    float masks[4 * 100], iou[4] = {0.9f, 0.2f, 0.7f, 0.7f};
    for (int i = 0; i < 400; i++) masks[i] = (i % 100) < 50 ? 5.0f : -5.0f;
    ck_assert_int_eq(sam2_select_single_mask(masks, 100, iou), 0);  // stable: mask 0
    // 3 of 53 values in (-0.05, 0.05]: stability 50/53 < 0.98 -> best IoU of 1..3,
    // the first of equal scores (torch.argmax).
    masks[50] = masks[51] = 0.0f;
    masks[52] = 0.05f;
    ck_assert_int_eq(sam2_select_single_mask(masks, 100, iou), 2);
    // Exactly at the threshold counts as stable: 49 / 50 = 0.98.
    for (int i = 0; i < 100; i++) masks[i] = i < 49 ? 1.0f : (i == 49 ? 0.0f : -1.0f);
    ck_assert_int_eq(sam2_select_single_mask(masks, 100, iou), 0);
    // No pixel above -delta: stability defined as 1.
    for (int i = 0; i < 100; i++) masks[i] = -1.0f;
    ck_assert_int_eq(sam2_select_single_mask(masks, 100, iou), 0);
}
END_TEST

// A copy of the fixture's safetensors file with its JSON header edited by `edit`.
static void *edited_weights(void (*edit)(json_t *hdr), size_t *size) {
    size_t n = 0;
    uint8_t *f = cu_read_file(weights_path(), &n);
    ck_assert_ptr_nonnull(f);
    uint64_t hl = 0;
    memcpy(&hl, f, 8);
    json_error_t err;
    json_t *hdr = json_loadb((const char *)f + 8, (size_t)hl, 0, &err);
    ck_assert_ptr_nonnull(hdr);
    edit(hdr);
    char *js = json_dumps(hdr, JSON_COMPACT);
    uint64_t nl = strlen(js);
    size_t data = n - 8 - (size_t)hl;
    uint8_t *out = malloc(8 + nl + data);
    memcpy(out, &nl, 8);
    memcpy(out + 8, js, nl);
    memcpy(out + 8 + nl, f + 8 + hl, data);
    *size = 8 + nl + data;
    free(js);
    json_decref(hdr);
    free(f);
    return out;
}

static const char *MISSING = "image_encoder.trunk.blocks.3.attn.qkv.weight";
static const char *RESHAPED = "sam_mask_decoder.iou_prediction_head.layers.2.weight";

static void drop_tensor(json_t *hdr) {
    json_t *v = json_incref(json_object_get(hdr, MISSING));
    json_object_del(hdr, MISSING);
    json_object_set_new(hdr, "renamed.qkv.weight", v);
}

static void reshape_tensor(json_t *hdr) {
    json_t *v = json_object_get(hdr, RESHAPED);  // [4, 256] -> [8, 128]: same bytes
    json_t *shape = json_object_get(v, "shape");
    int64_t a = json_integer_value(json_array_get(shape, 0));
    int64_t b = json_integer_value(json_array_get(shape, 1));
    json_array_set_new(shape, 0, json_integer(a * 2));
    json_array_set_new(shape, 1, json_integer(b / 2));
}

static roto_status load_edited(void (*edit)(json_t *), rt_ctx *ctx) {
    size_t size = 0;
    void *buf = edited_weights(edit, &size);
    rt_weights w;
    ck_assert_msg(rt_weights_open_buffer(&w, "edited.safetensors", buf, size) == ROTO_OK, "%s",
                  roto_last_error());
    sam2_model *m = NULL;
    roto_status st = sam2_load_weights(ctx, &w, &FX.cfg, &m);
    ck_assert_ptr_null(m);
    rt_weights_close(&w);
    free(buf);
    return st;
}

START_TEST(test_bad_weights) {
    fixture_load();
    if (FX.parity) return;  // edits the committed safetensors fixture
    rt_ctx ctx;
    make_ctx(&ctx, FX.h, FX.w);
    size_t before = ctx.persistent_bytes;
    ck_assert_int_eq(load_edited(drop_tensor, &ctx), ROTO_ERR_NOT_FOUND);
    ck_assert_msg(strstr(roto_last_error(), MISSING), "message: %s", roto_last_error());
    ck_assert_int_eq(load_edited(reshape_tensor, &ctx), ROTO_ERR_SHAPE);
    const char *msg = roto_last_error();
    ck_assert_msg(strstr(msg, RESHAPED) && strstr(msg, "[8, 128]") && strstr(msg, "[4, 256]"),
                  "message: %s", msg);
    ck_assert_int_eq(ctx.persistent_bytes, before);  // a failed load frees what it took

    // A custom config is not one of the released variants: detection says so.
    sam2_model *m = NULL;
    ck_assert_int_eq(sam2_load(&ctx, weights_path(), NULL, &m), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "pass a sam2_config"));
    // A config that does not match the file names the first tensor that differs.
    sam2_config c = FX.cfg;
    c.embed_dim *= 2;
    ck_assert_int_eq(sam2_load(&ctx, weights_path(), &c, &m), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "patch_embed.proj.weight"));
    ck_assert_int_eq(sam2_load(&ctx, "no/such/file.safetensors", &FX.cfg, &m), ROTO_ERR_IO);
    ck_assert_int_eq(ctx.persistent_bytes, before);
    rt_ctx_destroy(&ctx);
}
END_TEST

// The committed fixture under Hugging Face transformers names (the mapping of
// tests/fixtures/ckpt/sam2.1_tiny_official_to_hf.tsv; the four point embeddings
// concatenated into one [4, d] tensor as the HF files store them).
static void *hf_weights(size_t *size) {
    size_t n = 0, tn = 0;
    uint8_t *f = cu_read_file(weights_path(), &n);
    char *tsv = cu_read_file("tests/fixtures/ckpt/sam2.1_tiny_official_to_hf.tsv", &tn);
    ck_assert_msg(f && tsv, "cannot read the fixture or the name table");
    tsv = realloc(tsv, tn + 1);
    tsv[tn] = 0;
    json_t *to_hf = json_object();
    for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char *end = strchr(tab + 1, '\t');
        if (end) *end = 0;
        json_object_set_new(to_hf, line, json_string(tab + 1));
    }
    uint64_t hl = 0;
    memcpy(&hl, f, 8);
    json_error_t err;
    json_t *hdr = json_loadb((const char *)f + 8, (size_t)hl, 0, &err);
    const uint8_t *data = f + 8 + hl;
    json_t *out = json_object();
    uint8_t *buf = malloc(n + 4096);
    size_t used = 0, pe_row = 0;
    uint8_t pe[4][4096];
    const char *key;
    json_t *v;
    json_object_foreach(hdr, key, v) {
        if (!strcmp(key, "__metadata__")) continue;
        json_t *offs = json_object_get(v, "data_offsets");
        size_t a = (size_t)json_integer_value(json_array_get(offs, 0));
        size_t b = (size_t)json_integer_value(json_array_get(offs, 1));
        int idx;
        if (sscanf(key, "sam_prompt_encoder.point_embeddings.%d.weight", &idx) == 1) {
            ck_assert(b - a <= sizeof pe[0] && idx >= 0 && idx < 4);
            pe_row = b - a;
            memcpy(pe[idx], data + a, b - a);
            continue;
        }
        const char *hf = json_string_value(json_object_get(to_hf, key));
        char blk[160], hfblk[160];
        int bi, pos = 0;
        if (!hf && sscanf(key, "image_encoder.trunk.blocks.%d.%n", &bi, &pos) == 1 && pos > 0) {
            // Tiny's q-pool blocks are 1, 3, 10: take block 1's rule for the others.
            snprintf(blk, sizeof blk, "image_encoder.trunk.blocks.1.%s", key + pos);
            const char *h1 = json_string_value(json_object_get(to_hf, blk));
            const char *at = h1 ? strstr(h1, ".blocks.1.") : NULL;
            if (at) {
                snprintf(hfblk, sizeof hfblk, "%.*s.blocks.%d.%s", (int)(at - h1), h1, bi,
                         at + strlen(".blocks.1."));
                hf = hfblk;
            }
        }
        ck_assert_msg(hf != NULL, "no HF name for %s", key);
        json_t *e = json_deep_copy(v);
        json_object_set_new(e, "data_offsets", json_pack("[II]", (json_int_t)used,
                                                         (json_int_t)(used + b - a)));
        json_object_set_new(out, hf, e);
        memcpy(buf + used, data + a, b - a);
        used += b - a;
    }
    ck_assert_int_gt(pe_row, 0);
    int64_t d = FX.cfg.d_model;
    json_object_set_new(out, "prompt_encoder.point_embed.weight",
                        json_pack("{s:s, s:[II], s:[II]}", "dtype", "F16", "shape", (json_int_t)4,
                                  (json_int_t)d, "data_offsets", (json_int_t)used,
                                  (json_int_t)(used + 4 * pe_row)));
    for (int i = 0; i < 4; i++) memcpy(buf + used + i * pe_row, pe[i], pe_row);
    used += 4 * pe_row;
    char *js = json_dumps(out, JSON_COMPACT);
    uint64_t nl = strlen(js);
    uint8_t *file = malloc(8 + nl + used);
    memcpy(file, &nl, 8);
    memcpy(file + 8, js, nl);
    memcpy(file + 8 + nl, buf, used);
    *size = 8 + nl + used;
    free(js);
    free(buf);
    json_decref(out);
    json_decref(hdr);
    json_decref(to_hf);
    free(tsv);
    free(f);
    return file;
}

START_TEST(test_hf_names) {
    fixture_load();
    if (FX.parity) return;
    size_t size = 0;
    void *buf = hf_weights(&size);
    rt_weights w;
    ck_assert_msg(rt_weights_open_buffer(&w, "hf.safetensors", buf, size) == ROTO_OK, "%s",
                  roto_last_error());
    ck_assert_ptr_null(rt_weights_find(&w, "image_encoder.trunk.patch_embed.proj.weight"));
    ck_assert_int_eq(rt_namemap_attach(&w, RT_NAMES_SAM2, NULL), ROTO_OK);
    rt_ctx ctx;
    make_ctx(&ctx, FX.h, FX.w);
    sam2_model *m = NULL;
    roto_status st = sam2_load_weights(&ctx, &w, &FX.cfg, &m);
    ck_assert_msg(st == ROTO_OK, "HF-named load: %s", roto_last_error());
    rt_weights_close(&w);
    free(buf);
    ck_assert_int_eq(sam2_set_image(m, FX.image, FX.h, FX.w), ROTO_OK);
    // The first prompt of the fixture (one click, multimask) gives the same masks.
    json_t *jp = json_array_get(json_object_get(FX.index, "prompts"), 0);
    float pt[2];
    int lab[1];
    float_list(json_object_get(jp, "points"), pt, 2, NULL);
    sam2_fixture_ints(json_object_get(jp, "labels"), lab, 1, NULL);
    sam2_prompt p = {.points = pt, .labels = lab, .n_points = 1,
                     .multimask = json_is_true(json_object_get(jp, "multimask"))};
    sam2_result r;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_OK);
    char key[96];
    snprintf(key, sizeof key, "%s.low_res", json_string_value(json_object_get(jp, "name")));
    size_t n = 0;
    float *ref = ref_tensor(key, &n);
    ck_assert_int_eq(n, (size_t)r.n_masks * r.low_res * r.low_res);
    cmp_stats s = compare(r.low_res_logits, ref, n);
    ck_assert_msg(FX.tol.out_rel_l2 == 0 || s.rel_l2 <= FX.tol.out_rel_l2,
                  "HF-named model: low-res rel L2 %.3g", s.rel_l2);
    free(ref);
    snprintf(key, sizeof key, "%s.masks", json_string_value(json_object_get(jp, "name")));
    json_t *jt = json_object_get(json_object_get(FX.index, "tensors"), key);
    ck_assert_ptr_nonnull(jt);
    size_t nbytes = 0, npix = (size_t)r.height * r.width;
    uint8_t *ref_masks =
        cu_read_file(path_in(FX.dir, json_string_value(json_object_get(jt, "file"))), &nbytes);
    ck_assert_int_eq(nbytes, (size_t)r.n_masks * npix);
    for (int k = 0; k < r.n_masks; k++) {
        double iou = sam2_fixture_mask_iou(r.masks + k * npix, ref_masks + k * npix, npix);
        ck_assert_msg(iou >= FX.tol.min_iou, "HF-named model: mask %d IoU %.6f", k, iou);
    }
    free(ref_masks);
    sam2_result_free(&r);
    sam2_free(m);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_bad_prompts) {
    fixture_load();
    if (FX.parity) return;
    rt_ctx ctx;
    make_ctx(&ctx, FX.h, FX.w);
    sam2_model *m = load_model(&ctx);
    sam2_result r;
    float pt[2] = {10, 10};
    int lab = 1;
    sam2_prompt p = {.points = pt, .labels = &lab, .n_points = 1, .multimask = 1};
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_ERR_INVALID_ARG);  // no image yet
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "sam2_set_image"));
    ck_assert_int_eq(sam2_set_image(m, FX.image, FX.h, FX.w), ROTO_OK);

    pt[0] = (float)FX.w + 5;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_msg(strstr(roto_last_error(), "outside the 150x100 image") ||
                      strstr(roto_last_error(), "outside"),
                  "message: %s", roto_last_error());
    ck_assert_ptr_null(r.masks);
    pt[0] = -1;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_ERR_INVALID_ARG);
    pt[0] = NAN;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_ERR_INVALID_ARG);
    pt[0] = 10;
    lab = 2;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "label 2"));
    lab = 1;
    float box[4] = {5, 5, (float)FX.w + 1, 20};
    sam2_prompt pb = {.box = box};
    ck_assert_int_eq(sam2_predict(m, &pb, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "box"));
    float flipped[4] = {30, 5, 10, 20};
    pb.box = flipped;
    ck_assert_int_eq(sam2_predict(m, &pb, &r), ROTO_ERR_INVALID_ARG);
    p.n_points = SAM2_MAX_POINTS + 1;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(sam2_set_image(m, FX.image, 0, FX.w), ROTO_ERR_INVALID_ARG);

    // Still usable after the errors; a prompt-free call (no sparse tokens) works too.
    p.n_points = 1;
    ck_assert_int_eq(sam2_predict(m, &p, &r), ROTO_OK);
    ck_assert_int_eq(r.n_masks, 3);
    sam2_result_free(&r);
    sam2_prompt none = {.multimask = 0};
    ck_assert_int_eq(sam2_predict(m, &none, &r), ROTO_OK);
    ck_assert_int_eq(r.n_masks, 1);
    sam2_result_free(&r);
    sam2_free(m);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_variants) {
    sam2_config c;
    ck_assert_int_eq(sam2_config_variant(&c, "tiny"), ROTO_OK);
    ck_assert_int_eq(c.embed_dim, 96);
    ck_assert_int_eq(c.stages[2], 7);
    ck_assert_int_eq(sam2_config_variant(&c, "b+"), ROTO_OK);
    ck_assert_int_eq(c.pos_bkg[0], 14);
    ck_assert_int_eq(sam2_config_variant(&c, "large"), ROTO_OK);
    ck_assert_int_eq(c.window_spec[2], 16);
    ck_assert_int_eq(sam2_config_variant(&c, "huge"), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "huge"));
}
END_TEST

static Suite *sam2_suite(void) {
    Suite *s = suite_create("sam2_image");
    TCase *tc = tcase_create("fixture");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_variants);
    tcase_add_test(tc, test_select_single_mask);
    tcase_add_test(tc, test_encoder_stages);
    tcase_add_test(tc, test_prompts);
    tcase_add_test(tc, test_bad_weights);
    tcase_add_test(tc, test_bad_prompts);
    tcase_add_test(tc, test_hf_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sam2_parity_main(sam2_suite(), "test_sam2_image"); }
