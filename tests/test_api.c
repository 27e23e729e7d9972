// test_api.c: the public C API (roto.h) on the committed small SAM 2.1 fixture
// (tests/fixtures/sam2/small: random weights, image size 128, the official
// predictor's dumps). Checks:
// - every fixture prompt, all on one roto_image_set: against the official dumps
//   (same tolerances as test_sam2_image.c) and bit-exactly against nets/sam2
//   called directly (the API is a wrapper and must not change a value);
// - pixel formats and row strides give the same result as packed RGB8;
// - a matte as mask prompt equals the documented conversion (>= 0.5 -> +10 /
//   -10, antialiased bilinear to L x L, the fp64 reference of
//   tests/ref/ref_resample.c), exactly where the resize is the identity;
// - labels default, mask_threshold, odd image sizes (1x1, 7x5000, 5000x7) and
//   several sizes on one model;
// - errors: each returns a status and a message naming the problem, and the
//   model stays usable.
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nets/sam2/sam2.h"
#include "ref/ref_resample.h"
#include "roto.h"
#include "util/cli_util.h"
#include "util/sam2_fixture.h"
#include "util/test_util.h"

// ---- fixture ---------------------------------------------------------------------------

static char g_dir[PATH_MAX];

// tests/fixtures/sam2/small from the working directory (make runs the tests from
// the repository root), else relative to the binary: <root>/<build>/tests/test_api.
static const char *fixdir(void) {
    if (!g_dir[0]) cu_repo_dir(g_dir, sizeof g_dir, "tests/fixtures/sam2/small", "index.json");
    return g_dir;
}

static const char *fx_path(const char *file) {
    static _Thread_local char buf[2][PATH_MAX + 64];
    static _Thread_local int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", fixdir(), file);
    return buf[k];
}

typedef struct {
    json_t *index;
    sam2_config cfg;
    uint8_t *image;  // 150 x 100 RGB8
    int w, h;
} fixture;

static fixture FX;

static void fixture_load(void) {
    if (FX.index) return;
    json_error_t err;
    FX.index = json_load_file(fx_path("index.json"), 0, &err);
    ck_assert_msg(FX.index != NULL, "index.json: %s", err.text);
    // The config the same way test_sam2_image.c reads it, for nets/sam2 directly.
    json_t *c = json_object_get(FX.index, "config");
    sam2_fixture_config(c, &FX.cfg);
    json_t *im = json_object_get(FX.index, "image");
    FX.w = (int)json_integer_value(json_object_get(im, "width"));
    FX.h = (int)json_integer_value(json_object_get(im, "height"));
    size_t n;
    FX.image = cu_must_read(fx_path("image.rgb"), &n);
    ck_assert_int_eq(n, (size_t)FX.w * FX.h * 3);
}

static roto_model *load_api_model(void) {
    fixture_load();
    roto_model_opts o = {.config = fx_path("index.json")};
    roto_model *m = NULL;
    roto_status st = roto_model_load(fx_path("weights.safetensors"), &o, &m);
    ck_assert_msg(st == ROTO_OK, "roto_model_load: %s", roto_last_error());
    return m;
}

// nets/sam2 on its own context, sized for one image.
typedef struct {
    rt_ctx ctx;
    sam2_model *m;
} direct_net;

static void direct_open(direct_net *d, const uint8_t *rgb, int w, int h) {
    fixture_load();
    tu_cpu_ctx(&d->ctx, sam2_arena_bytes(&FX.cfg, h, w));
    roto_status st = sam2_load(&d->ctx, fx_path("weights.safetensors"), &FX.cfg, &d->m);
    ck_assert_msg(st == ROTO_OK, "sam2_load: %s", roto_last_error());
    ck_assert_int_eq(sam2_set_image(d->m, rgb, h, w), ROTO_OK);
}

static void direct_close(direct_net *d) {
    sam2_free(d->m);
    rt_ctx_destroy(&d->ctx);
}

// The API result must be the net's result, bit for bit.
static void expect_same_as_net(const roto_result *r, const sam2_result *s, const char *what) {
    ck_assert_msg(r->n_masks == s->n_masks && r->width == s->width && r->height == s->height &&
                      r->low_res == s->low_res,
                  "%s: shapes differ", what);
    size_t npix = (size_t)r->width * r->height, L2 = (size_t)r->low_res * r->low_res;
    ck_assert_msg(!memcmp(r->masks, s->masks, r->n_masks * npix), "%s: masks differ", what);
    ck_assert_msg(!memcmp(r->logits, s->mask_logits, r->n_masks * npix * sizeof(float)),
                  "%s: logits differ", what);
    ck_assert_msg(!memcmp(r->low_res_logits, s->low_res_logits, r->n_masks * L2 * sizeof(float)),
                  "%s: low-res logits differ", what);
    for (int k = 0; k < r->n_masks; k++) ck_assert_msg(r->iou[k] == s->iou[k], "%s: iou %d", what, k);
    ck_assert_msg(r->object_score == s->obj_score, "%s: object score", what);
}

static double rel_l2(const float *got, const float *ref, size_t n) {
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        d2 += d * d;
        r2 += (double)ref[i] * ref[i];
    }
    return r2 > 0 ? sqrt(d2 / r2) : sqrt(d2);
}

static float *ref_floats(const char *key, size_t *n) {
    json_t *t = json_object_get(json_object_get(FX.index, "tensors"), key);
    ck_assert_msg(t != NULL, "no reference %s", key);
    size_t bytes;
    float *p = cu_must_read(fx_path(json_string_value(json_object_get(t, "file"))), &bytes);
    *n = bytes / sizeof(float);
    return p;
}

// ---- tests ---------------------------------------------------------------------------------

// Every fixture prompt on one encoded image: official dumps + nets/sam2 exactly.
START_TEST(test_fixture_prompts) {
    roto_model *m = load_api_model();
    roto_model_info info;
    ck_assert_int_eq(roto_model_get_info(m, &info), ROTO_OK);
    ck_assert_str_eq(info.family, "sam2");
    ck_assert_str_eq(info.variant, "small");  // the fixture config's name
    ck_assert_int_eq(info.image_size, 128);
    ck_assert_int_eq(info.low_res, 32);
    ck_assert_str_eq(info.device, "cpu");
    ck_assert_str_eq(info.precision, "fp32");
    ck_assert_int_eq(roto_image_set(m, FX.image, FX.w, FX.h, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    direct_net d;
    direct_open(&d, FX.image, FX.w, FX.h);

    json_t *prompts = json_object_get(FX.index, "prompts");
    ck_assert_int_eq(json_array_size(prompts), 5);
    for (size_t pi = 0; pi < json_array_size(prompts); pi++) {
        json_t *jp = json_array_get(prompts, pi);
        const char *name = json_string_value(json_object_get(jp, "name"));
        float pts[2 * SAM2_MAX_POINTS], box[4];
        int labels[SAM2_MAX_POINTS], np = 0;
        json_t *jpts = json_object_get(jp, "points");
        for (size_t k = 0; k < json_array_size(jpts); k++, np++) {
            pts[2 * np] = (float)json_number_value(json_array_get(json_array_get(jpts, k), 0));
            pts[2 * np + 1] = (float)json_number_value(json_array_get(json_array_get(jpts, k), 1));
            labels[np] = (int)json_integer_value(json_array_get(json_object_get(jp, "labels"), k));
        }
        json_t *jb = json_object_get(jp, "box");
        for (int k = 0; k < 4 && json_is_array(jb); k++)
            box[k] = (float)json_number_value(json_array_get(jb, (size_t)k));
        float *mask_in = NULL;
        size_t n;
        if (json_is_string(json_object_get(jp, "mask_input")))
            mask_in = ref_floats(json_string_value(json_object_get(jp, "mask_input")), &n);
        int multi = json_is_true(json_object_get(jp, "multimask"));

        roto_prompt p = {.points = np ? pts : NULL, .labels = labels, .n_points = np,
                         .box = json_is_array(jb) ? box : NULL, .mask_logits = mask_in};
        roto_predict_opts po = {.multimask = multi};
        roto_result *r = NULL;
        ck_assert_msg(roto_predict(m, &p, &po, &r) == ROTO_OK, "%s: %s", name, roto_last_error());
        ck_assert_int_eq(r->n_masks, multi ? 3 : 1);
        ck_assert_int_eq(r->width, FX.w);
        ck_assert_int_eq(r->height, FX.h);
        int best = 0;
        for (int k = 1; k < r->n_masks; k++)
            if (r->iou[k] > r->iou[best]) best = k;
        ck_assert_int_eq(r->best, best);

        sam2_prompt sp = {.points = pts, .labels = labels, .n_points = np, .box = p.box,
                          .mask_input = mask_in, .multimask = multi};
        sam2_result s;
        ck_assert_int_eq(sam2_predict(d.m, &sp, &s), ROTO_OK);
        expect_same_as_net(r, &s, name);
        sam2_result_free(&s);

        // The official predictor's outputs.
        char key[96];
        snprintf(key, sizeof key, "%s.low_res", name);
        float *ref = ref_floats(key, &n);
        ck_assert_int_eq(n, (size_t)r->n_masks * r->low_res * r->low_res);
        double e = rel_l2(r->low_res_logits, ref, n);
        ck_assert_msg(e <= 1e-4, "%s: low-res logits rel L2 %.3g", name, e);
        free(ref);
        snprintf(key, sizeof key, "%s.iou", name);
        ref = ref_floats(key, &n);
        for (int k = 0; k < r->n_masks; k++)
            ck_assert_msg(fabsf(r->iou[k] - ref[k]) <= 1e-4f, "%s: iou %d", name, k);
        free(ref);
        snprintf(key, sizeof key, "%s.obj_score", name);
        ref = ref_floats(key, &n);
        ck_assert_msg(fabsf(r->object_score - ref[0]) <= 1e-4f * (1 + fabsf(ref[0])), "%s", name);
        free(ref);
        snprintf(key, sizeof key, "%s.masks", name);
        json_t *jt = json_object_get(json_object_get(FX.index, "tensors"), key);
        uint8_t *ref_masks = cu_must_read(fx_path(json_string_value(json_object_get(jt, "file"))), &n);
        size_t npix = (size_t)FX.w * FX.h;
        ck_assert_int_eq(n, r->n_masks * npix);
        for (int k = 0; k < r->n_masks; k++) {
            double iou = sam2_fixture_mask_iou(r->masks + k * npix, ref_masks + k * npix, npix);
            ck_assert_msg(iou >= 0.999, "%s: mask %d IoU %.6f", name, k, iou);
        }
        free(ref_masks);
        free(mask_in);
        roto_result_free(r);
    }
    direct_close(&d);
    roto_model_free(m);
}
END_TEST

static roto_result *predict_point(roto_model *m, float x, float y, int multimask) {
    float xy[2] = {x, y};
    roto_prompt p = {.points = xy, .n_points = 1};
    roto_predict_opts o = {.multimask = multimask};
    roto_result *r = NULL;
    ck_assert_msg(roto_predict(m, &p, &o, &r) == ROTO_OK, "%s", roto_last_error());
    return r;
}

static void expect_same_result(const roto_result *a, const roto_result *b, const char *what) {
    size_t npix = (size_t)a->width * a->height;
    ck_assert_msg(a->n_masks == b->n_masks && a->width == b->width && a->height == b->height,
                  "%s: shapes", what);
    ck_assert_msg(!memcmp(a->masks, b->masks, a->n_masks * npix), "%s: masks differ", what);
    ck_assert_msg(!memcmp(a->logits, b->logits, a->n_masks * npix * sizeof(float)), "%s: logits",
                  what);
    for (int k = 0; k < a->n_masks; k++) ck_assert_msg(a->iou[k] == b->iou[k], "%s: iou", what);
    ck_assert_msg(a->object_score == b->object_score, "%s: score", what);
}

START_TEST(test_pixel_formats) {
    roto_model *m = load_api_model();
    int W = FX.w, H = FX.h;
    size_t npix = (size_t)W * H;
    ck_assert_int_eq(roto_image_set(m, FX.image, W, H, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    roto_result *ref = predict_point(m, 78, 55, 1);

    // RGBA with a random alpha, and a padded stride: alpha and padding ignored.
    tu_rng rng;
    tu_rng_seed(&rng, 7);
    size_t stride = (size_t)W * 4 + 13;
    uint8_t *rgba = malloc(stride * H);
    for (size_t i = 0; i < stride * H; i++) rgba[i] = (uint8_t)tu_rng_u64(&rng);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) memcpy(rgba + y * stride + 4 * x, FX.image + 3 * ((size_t)y * W + x), 3);
    ck_assert_int_eq(roto_image_set(m, rgba, W, H, stride, ROTO_PIXELS_RGBA8), ROTO_OK);
    roto_result *r = predict_point(m, 78, 55, 1);
    expect_same_result(r, ref, "RGBA8 with padded rows");
    roto_result_free(r);

    // Floats: code / 255 round to the same codes; out-of-range values clamp.
    float *f = malloc(npix * 3 * sizeof(float));
    for (size_t i = 0; i < npix * 3; i++) f[i] = FX.image[i] / 255.0f;
    ck_assert_int_eq(roto_image_set(m, f, W, H, 0, ROTO_PIXELS_RGB_F32), ROTO_OK);
    r = predict_point(m, 78, 55, 1);
    expect_same_result(r, ref, "RGB_F32");
    roto_result_free(r);
    uint8_t *clamped = malloc(npix * 3);
    for (size_t i = 0; i < npix * 3; i++) {
        int kind = (int)(i % 7);
        f[i] = kind == 0 ? -0.5f : kind == 1 ? 3.0f : kind == 2 ? NAN : FX.image[i] / 255.0f;
        clamped[i] = kind == 0 || kind == 2 ? 0 : kind == 1 ? 255 : FX.image[i];
    }
    ck_assert_int_eq(roto_image_set(m, f, W, H, 0, ROTO_PIXELS_RGB_F32), ROTO_OK);
    roto_result *rf = predict_point(m, 78, 55, 1);
    ck_assert_int_eq(roto_image_set(m, clamped, W, H, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    r = predict_point(m, 78, 55, 1);
    expect_same_result(rf, r, "RGB_F32 clamping");
    roto_result_free(r);
    roto_result_free(rf);

    // Gray is replicated to R, G, B.
    uint8_t *gray = malloc(npix), *rgb = malloc(npix * 3);
    for (size_t i = 0; i < npix; i++) {
        gray[i] = FX.image[3 * i + 1];
        rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = gray[i];
    }
    ck_assert_int_eq(roto_image_set(m, gray, W, H, 0, ROTO_PIXELS_GRAY8), ROTO_OK);
    rf = predict_point(m, 78, 55, 1);
    ck_assert_int_eq(roto_image_set(m, rgb, W, H, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    r = predict_point(m, 78, 55, 1);
    expect_same_result(rf, r, "GRAY8");
    roto_result_free(r);
    roto_result_free(rf);

    free(gray);
    free(rgb);
    free(clamped);
    free(f);
    free(rgba);
    roto_result_free(ref);
    roto_model_free(m);
}
END_TEST

// A blob matte with soft values around the 0.5 threshold.
static float *make_matte(int W, int H) {
    float *m = malloc((size_t)W * H * sizeof(float));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double dx = (x - 0.55 * W) / (0.3 * W), dy = (y - 0.45 * H) / (0.35 * H);
            double r = sqrt(dx * dx + dy * dy);
            m[(size_t)y * W + x] = (float)(r < 0.8 ? 1.0 : r < 1.0 ? 0.7 : r < 1.2 ? 0.5 : r < 1.4 ? 0.3 : 0.0);
        }
    return m;
}

START_TEST(test_mask_prompt) {
    roto_model *m = load_api_model();
    const int L = 32;
    roto_predict_opts po = {.multimask = 1};
    float box[4] = {3, 4, 20, 25};

    // At L x L the resize is the identity: the logits are exactly +10 / -10.
    uint8_t *img = malloc(L * L * 3);
    for (int i = 0; i < L * L * 3; i++) img[i] = FX.image[i];
    ck_assert_int_eq(roto_image_set(m, img, L, L, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    float *matte = make_matte(L, L);
    float logits[32 * 32];
    for (int i = 0; i < L * L; i++) logits[i] = matte[i] >= 0.5f ? 10.0f : -10.0f;
    roto_prompt pm = {.box = box, .mask = matte}, pl = {.box = box, .mask_logits = logits};
    roto_result *a = NULL, *b = NULL;
    ck_assert_msg(roto_predict(m, &pm, &po, &a) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(roto_predict(m, &pl, &po, &b), ROTO_OK);
    expect_same_result(a, b, "matte at L x L");
    roto_result_free(a);
    roto_result_free(b);
    // Both mask prompts at once are refused.
    roto_prompt both = {.mask = matte, .mask_logits = logits};
    ck_assert_int_eq(roto_predict(m, &both, NULL, &a), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "not both"));
    free(matte);

    // An odd size (down in x, up in y): the fp64 reference of the antialiased resize.
    const int W = 53, H = 27;
    uint8_t *img2 = malloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++) memcpy(img2 + (size_t)y * W * 3, FX.image + (size_t)y * FX.w * 3, (size_t)W * 3);
    ck_assert_int_eq(roto_image_set(m, img2, W, H, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    matte = make_matte(W, H);
    float *pm10 = malloc((size_t)W * H * sizeof(float));
    for (int i = 0; i < W * H; i++) pm10[i] = matte[i] >= 0.5f ? 10.0f : -10.0f;
    double ref[32 * 32];
    rt_interp_params ip = {.mode = RT_INTERP_BILINEAR, .align_corners = 0, .antialias = 1};
    ref_interpolate(ref, pm10, 1, H, W, 1, L, L, &ip);
    for (int i = 0; i < L * L; i++) logits[i] = (float)ref[i];
    pm.mask = matte;
    ck_assert_int_eq(roto_predict(m, &pm, &po, &a), ROTO_OK);
    ck_assert_int_eq(roto_predict(m, &pl, &po, &b), ROTO_OK);
    // fp32 resize vs fp64 reference feed the decoder: stated 1e-4 (rel L2).
    double e = rel_l2(a->low_res_logits, b->low_res_logits, (size_t)3 * L * L);
    ck_assert_msg(e <= 1e-4, "matte at %dx%d: low-res rel L2 %.3g", W, H, e);
    for (int k = 0; k < 3; k++) {
        double iou = sam2_fixture_mask_iou(a->masks + (size_t)k * W * H, b->masks + (size_t)k * W * H, (size_t)W * H);
        ck_assert_msg(iou >= 0.999, "matte at %dx%d: mask %d IoU %.6f", W, H, k, iou);
    }
    // The mask prompt changes the answer (it is not ignored).
    roto_prompt nomask = {.box = box};
    roto_result *c = NULL;
    ck_assert_int_eq(roto_predict(m, &nomask, &po, &c), ROTO_OK);
    ck_assert_msg(rel_l2(c->low_res_logits, a->low_res_logits, (size_t)3 * L * L) > 1e-3,
                  "the mask prompt made no difference");
    roto_result_free(c);
    roto_result_free(a);
    roto_result_free(b);
    free(pm10);
    free(matte);
    free(img2);
    free(img);
    roto_model_free(m);
}
END_TEST

START_TEST(test_labels_and_threshold) {
    roto_model *m = load_api_model();
    ck_assert_int_eq(roto_image_set(m, FX.image, FX.w, FX.h, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    float xy[4] = {67.5f, 50, 90, 62};
    int ones[2] = {1, 1};
    roto_prompt p1 = {.points = xy, .n_points = 2}, p2 = {.points = xy, .labels = ones, .n_points = 2};
    roto_result *a, *b;
    ck_assert_int_eq(roto_predict(m, &p1, NULL, &a), ROTO_OK);
    ck_assert_int_eq(roto_predict(m, &p2, NULL, &b), ROTO_OK);
    expect_same_result(a, b, "labels NULL = all foreground");
    ck_assert_int_eq(a->n_masks, 1);
    ck_assert_int_eq(a->best, 0);
    roto_result_free(b);
    for (float t = -2.0f; t <= 2.0f; t += 1.0f) {
        roto_predict_opts o = {.mask_threshold = t};
        ck_assert_int_eq(roto_predict(m, &p1, &o, &b), ROTO_OK);
        size_t npix = (size_t)FX.w * FX.h;
        for (size_t i = 0; i < npix; i++) ck_assert_int_eq(b->masks[i], a->logits[i] > t);
        if (t == 0.0f) ck_assert(!memcmp(a->masks, b->masks, npix));
        roto_result_free(b);
    }
    roto_predict_opts bad = {.mask_threshold = NAN};
    ck_assert_int_eq(roto_predict(m, &p1, &bad, &b), ROTO_ERR_INVALID_ARG);
    roto_result_free(a);
    roto_model_free(m);
}
END_TEST

// Odd sizes, one model (the arena grows and shrinks as needed), each checked
// against nets/sam2 run on a context of its own.
START_TEST(test_image_sizes) {
    roto_model *m = load_api_model();
    static const int sizes[][2] = {{1, 1}, {7, 5000}, {5000, 7}, {150, 100}, {2, 3}};
    tu_rng rng;
    tu_rng_seed(&rng, 11);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int W = sizes[s][0], H = sizes[s][1];
        size_t n = (size_t)W * H * 3;
        uint8_t *img = malloc(n);
        for (size_t i = 0; i < n; i++) img[i] = (uint8_t)(FX.image[i % ((size_t)FX.w * FX.h * 3)] ^ (tu_rng_u64(&rng) & 15));
        ck_assert_msg(roto_image_set(m, img, W, H, 0, ROTO_PIXELS_RGB8) == ROTO_OK, "%dx%d: %s", W,
                      H, roto_last_error());
        // A click in the middle, a box over the whole image (corners on the border).
        float xy[2] = {W / 2.0f, H / 2.0f}, box[4] = {0, 0, (float)W, (float)H};
        int lab = 1;
        roto_prompt p = {.points = xy, .labels = &lab, .n_points = 1, .box = box};
        roto_predict_opts o = {.multimask = 1};
        roto_result *r;
        ck_assert_msg(roto_predict(m, &p, &o, &r) == ROTO_OK, "%dx%d: %s", W, H, roto_last_error());
        ck_assert_int_eq(r->width, W);
        ck_assert_int_eq(r->height, H);
        direct_net d;
        direct_open(&d, img, W, H);
        sam2_prompt sp = {.points = xy, .labels = &lab, .n_points = 1, .box = box, .multimask = 1};
        sam2_result sr;
        ck_assert_int_eq(sam2_predict(d.m, &sp, &sr), ROTO_OK);
        char what[32];
        snprintf(what, sizeof what, "%dx%d", W, H);
        expect_same_as_net(r, &sr, what);
        sam2_result_free(&sr);
        direct_close(&d);
        roto_result_free(r);
        free(img);
    }
    roto_model_free(m);
}
END_TEST

START_TEST(test_errors) {
    fixture_load();
    roto_model *m = NULL;
    roto_model_opts o = {.config = fx_path("index.json")};

    // Files.
    ck_assert_int_eq(roto_model_load("no/such/model.pt", &o, &m), ROTO_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "no/such/model.pt"));
    ck_assert_int_eq(roto_model_load(NULL, &o, &m), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_model_load(fx_path("index.json"), &o, &m), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "index.json"));
    char other[PATH_MAX + 64];
    snprintf(other, sizeof other, "%s/../../ckpt/tensors.safetensors", fixdir());
    ck_assert_int_eq(roto_model_load(other, NULL, &m), ROTO_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(roto_last_error(), "not a SAM 2 model"), "%s", roto_last_error());
    // A custom size without its architecture; a broken or mismatched one.
    ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), NULL, &m), ROTO_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(roto_last_error(), "--config"), "%s", roto_last_error());
    char tmp[] = "/tmp/roto_api_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    char cfg[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", tmp);
    static const char *bad_cfgs[] = {
        "{\"embed_dim\": 4",  // syntax
        "{\"embed_dim\": 4, \"num_heads\": 1, \"stages\": [1,2,2,2], \"window_spec\": [8,4,6,3], "
        "\"global_att_blocks\": [4], \"window_pos_embed_bkg_spatial_size\": [4,4], \"d_model\": 16, "
        "\"imagesize\": 128}",  // typo
        "{\"embed_dim\": 4, \"num_heads\": 1, \"stages\": [1,2,2], \"window_spec\": [8,4,6,3], "
        "\"global_att_blocks\": [4], \"window_pos_embed_bkg_spatial_size\": [4,4]}",  // 3 stages
        "{\"num_heads\": 1, \"stages\": [1,2,2,2], \"window_spec\": [8,4,6,3], "
        "\"global_att_blocks\": [4], \"window_pos_embed_bkg_spatial_size\": [4,4]}",  // no embed_dim
    };
    static const char *bad_words[] = {"cfg.json:1", "imagesize", "stages", "embed_dim"};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(cfg, "w");
        fputs(bad_cfgs[i], f);
        fclose(f);
        roto_model_opts oc = {.config = cfg};
        ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), &oc, &m), ROTO_ERR_FORMAT);
        ck_assert_msg(strstr(roto_last_error(), bad_words[i]), "%d: %s", i, roto_last_error());
    }
    // Valid JSON, wrong architecture for the file: the first tensor that differs.
    FILE *f = fopen(cfg, "w");
    fputs("{\"embed_dim\": 8, \"num_heads\": 1, \"stages\": [1,2,2,2], \"window_spec\": [8,4,6,3], "
          "\"global_att_blocks\": [4], \"window_pos_embed_bkg_spatial_size\": [4,4], \"d_model\": 16, "
          "\"image_size\": 128}", f);
    fclose(f);
    roto_model_opts oc = {.config = cfg};
    ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), &oc, &m), ROTO_ERR_SHAPE);
    ck_assert_msg(strstr(roto_last_error(), "patch_embed"), "%s", roto_last_error());
    ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), &(roto_model_opts){.config = "no/cfg.json"}, &m),
                     ROTO_ERR_IO);
    unlink(cfg);
    rmdir(tmp);

    // Devices and precisions.
    roto_model_opts op = o;
    op.precision = ROTO_PRECISION_BF16;
    ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), &op, &m), ROTO_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(roto_last_error(), "bf16") && strstr(roto_last_error(), "fp32"), "%s",
                  roto_last_error());
    op = o;
    op.device = ROTO_DEVICE_CUDA;
    roto_status st = roto_model_load(fx_path("weights.safetensors"), &op, &m);
    if (!rt_cuda_backend()) {
        ck_assert_int_eq(st, ROTO_ERR_UNSUPPORTED);
        ck_assert_msg(strstr(roto_last_error(), "without CUDA"), "%s", roto_last_error());
    } else if (st != ROTO_OK) {
        ck_assert_int_eq(st, ROTO_ERR_DEVICE);  // a CUDA build on a machine without a GPU
    } else {
        roto_model_free(m);
        m = NULL;
    }
    op = o;
    op.threads = -1;
    ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), &op, &m), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_model_load(fx_path("weights.safetensors"), &o, NULL), ROTO_ERR_INVALID_ARG);

    // Images and prompts.
    m = load_api_model();
    roto_result *r = (roto_result *)1;
    float xy[2] = {10, 10};
    roto_prompt p = {.points = xy, .n_points = 1};
    ck_assert_int_eq(roto_predict(m, &p, NULL, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "roto_image_set"));
    ck_assert_int_eq(roto_image_set(m, FX.image, 0, 5, 0, ROTO_PIXELS_RGB8), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_image_set(m, FX.image, 40000, 1, 0, ROTO_PIXELS_RGB8), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_image_set(m, NULL, 5, 5, 0, ROTO_PIXELS_RGB8), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_image_set(m, FX.image, 5, 5, 14, ROTO_PIXELS_RGB8), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "row_bytes"));
    ck_assert_int_eq(roto_image_set(m, FX.image, 5, 5, 0, (roto_pixel_format)9), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_image_set(m, FX.image, FX.w, FX.h, 0, ROTO_PIXELS_RGB8), ROTO_OK);

    xy[0] = 151;
    ck_assert_int_eq(roto_predict(m, &p, NULL, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_msg(strstr(roto_last_error(), "150x100") && strstr(roto_last_error(), "point 0"), "%s",
                  roto_last_error());
    xy[0] = 10;
    int lab = 3;
    p.labels = &lab;
    ck_assert_int_eq(roto_predict(m, &p, NULL, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "label 3"));
    p.labels = NULL;
    float box[4] = {10, 10, 5, 20};
    roto_prompt pb = {.box = box};
    ck_assert_int_eq(roto_predict(m, &pb, NULL, &r), ROTO_ERR_INVALID_ARG);
    box[2] = 200;
    ck_assert_int_eq(roto_predict(m, &pb, NULL, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "150x100"));
    p.n_points = 65;
    ck_assert_int_eq(roto_predict(m, &p, NULL, &r), ROTO_ERR_INVALID_ARG);
    p.n_points = 1;
    ck_assert_int_eq(roto_predict(NULL, &p, NULL, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_predict(m, NULL, NULL, &r), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_model_get_info(NULL, NULL), ROTO_ERR_INVALID_ARG);

    // An argument error keeps the previous image.
    ck_assert_int_eq(roto_image_set(m, FX.image, 0, 1, 0, ROTO_PIXELS_RGB8), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_predict(m, &p, NULL, &r), ROTO_OK);
    roto_result_free(r);
    ck_assert_int_eq(roto_image_set(m, FX.image, FX.w, FX.h, 0, ROTO_PIXELS_RGB8), ROTO_OK);
    roto_prompt none = {0};
    ck_assert_int_eq(roto_predict(m, &none, NULL, &r), ROTO_OK);  // no prompt at all: allowed
    ck_assert_int_eq(r->n_masks, 1);
    roto_result_free(r);
    roto_result_free(NULL);
    roto_model_free(m);
    roto_model_free(NULL);
    ck_assert_str_eq(roto_version(), ROTO_VERSION);
}
END_TEST

static Suite *api_suite(void) {
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fixture_prompts);
    tcase_add_test(tc, test_pixel_formats);
    tcase_add_test(tc, test_mask_prompt);
    tcase_add_test(tc, test_labels_and_threshold);
    tcase_add_test(tc, test_image_sizes);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(api_suite)
