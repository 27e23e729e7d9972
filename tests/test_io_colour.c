// test_io_colour.c: the conversion to sRGB-encoded RGB floats for the
// networks: transfer functions at known values, the AUTO rules per source,
// clamping, gray replication, alpha drop, layouts and the log-DPX refusal.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/colour.h"
#include "util/test_util.h"

START_TEST(test_transfer_functions) {
    // sRGB OETF at 0.5 linear: 1.055 * 0.5^(1/2.4) - 0.055
    ck_assert_double_eq_tol(roto_srgb_oetf(0.5), 0.7353569830524495, 1e-12);
    ck_assert_double_eq_tol(roto_srgb_oetf(0.0031308), 0.0031308 * 12.92, 1e-12);
    ck_assert_double_eq_tol(roto_srgb_oetf(1.0), 1.0, 1e-12);
    ck_assert_double_eq(roto_srgb_oetf(-1.0), 0.0);
    ck_assert_double_eq_tol(roto_srgb_eotf(0.7353569830524495), 0.5, 1e-12);
    for (int i = 0; i <= 100; i++) {
        double v = i / 100.0;
        ck_assert_double_eq_tol(roto_srgb_eotf(roto_srgb_oetf(v)), v, 1e-12);
        ck_assert_double_eq_tol(roto_rec709_inverse(roto_rec709_oetf(v)), v, 1e-12);
    }
    // BT.709: 4.5 L below 0.018; 1.099 * 0.5^0.45 - 0.099 at 0.5
    ck_assert_double_eq_tol(roto_rec709_oetf(0.01), 0.045, 1e-12);
    ck_assert_double_eq_tol(roto_rec709_oetf(0.5), 1.099 * pow(0.5, 0.45) - 0.099, 1e-12);
    // Cineon: reference white 685 -> 1.0, reference black 95 -> 0.0
    ck_assert_double_eq_tol(roto_cineon_to_linear(685.0), 1.0, 1e-12);
    ck_assert_double_eq_tol(roto_cineon_to_linear(95.0), 0.0, 1e-12);
    double off = pow(10.0, (95.0 - 685.0) * 0.002 / 0.6);
    ck_assert_double_eq_tol(roto_cineon_to_linear(445.0), (pow(10.0, (445.0 - 685.0) * 0.002 / 0.6) - off) / (1.0 - off),
                            1e-12);
    ck_assert(roto_cineon_to_linear(1023.0) > 1.0);  // highlights above reference white
}
END_TEST

START_TEST(test_parse_names) {
    roto_colorspace cs;
    ck_assert_int_eq(roto_colorspace_parse("sRGB", &cs), ROTO_OK);
    ck_assert_int_eq(cs, ROTO_CS_SRGB);
    ck_assert_int_eq(roto_colorspace_parse("linear", &cs), ROTO_OK);
    ck_assert_int_eq(cs, ROTO_CS_LINEAR);
    ck_assert_int_eq(roto_colorspace_parse("rec709", &cs), ROTO_OK);
    ck_assert_int_eq(roto_colorspace_parse("cineon", &cs), ROTO_OK);
    ck_assert_int_eq(cs, ROTO_CS_CINEON);
    ck_assert_int_eq(roto_colorspace_parse("acescg", &cs), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "acescg"));
    ck_assert_str_eq(roto_colorspace_name(ROTO_CS_REC709), "rec709");
}
END_TEST

// Integer frames (PNG-like): value/maxcode, all codes checked against the
// double formula for every input choice.
START_TEST(test_integer_frames) {
    const int depths[3] = {8, 10, 16};
    const roto_colorspace spaces[4] = {ROTO_CS_SRGB, ROTO_CS_LINEAR, ROTO_CS_REC709, ROTO_CS_CINEON};
    tu_rng r;
    tu_rng_seed(&r, 5);
    for (int di = 0; di < 3; di++) {
        int bits = depths[di];
        roto_frame f;
        ck_assert_int_eq(roto_frame_alloc(&f, 64, 32, 3, ROTO_PIX_U16, bits), ROTO_OK);
        size_t n = 64 * 32 * 3;
        uint16_t *d = f.data;
        for (size_t i = 0; i < n; i++) d[i] = (uint16_t)(tu_rng_u64(&r) & ((1u << bits) - 1));
        d[0] = 0;
        d[1] = (uint16_t)((1u << bits) - 1);
        float *out = malloc(n * sizeof *out);
        double *ref = malloc(n * sizeof *ref);
        for (int s = 0; s < 4; s++) {
            tu_poison_f32(out, n);
            ck_assert_int_eq(roto_frame_to_srgb(&f, spaces[s], 0, out), ROTO_OK);
            double maxc = (double)((1u << bits) - 1);
            for (size_t i = 0; i < n; i++) {
                double v = d[i] / maxc, lin;
                switch (spaces[s]) {
                case ROTO_CS_SRGB: ref[i] = v; continue;
                case ROTO_CS_LINEAR: lin = v; break;
                case ROTO_CS_REC709: lin = roto_rec709_inverse(v); break;
                default: lin = roto_cineon_to_linear(v * 1023.0); break;
                }
                lin = lin < 0 ? 0 : lin > 1 ? 1 : lin;
                ref[i] = roto_srgb_oetf(lin);
            }
            char what[64];
            snprintf(what, sizeof what, "%d-bit %s", bits, roto_colorspace_name(spaces[s]));
            tu_check_close(out, ref, n, (tu_tol){2e-7, 1e-6}, what);
        }
        // AUTO on a PNG-like frame is sRGB: code / max exactly.
        ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_OK);
        ck_assert_float_eq(out[1], 1.0f);
        ck_assert_float_eq_tol(out[2], (float)(d[2] / (double)((1u << bits) - 1)), 1e-7f);
        free(out);
        free(ref);
        roto_frame_free(&f);
    }
}
END_TEST

// Float (EXR-like) frames: linear by default; clamping of negatives, >1 and NaN.
START_TEST(test_float_frames) {
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 3, 1, 3, ROTO_PIX_F32, 16), ROTO_OK);
    f.meta.source_format = ROTO_FMT_EXR;
    f.meta.transfer = ROTO_TF_LINEAR;
    const float v[9] = {0.5f, -0.25f, 4.0f, NAN, INFINITY, -INFINITY, 0.0031308f, 1.0f, 0.18f};
    memcpy(f.data, v, sizeof v);
    float out[9];
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_OK);
    ck_assert_float_eq_tol(out[0], 0.735357f, 1e-6f);
    ck_assert_float_eq(out[1], 0.0f);  // negative -> 0
    ck_assert_float_eq(out[2], 1.0f);  // above 1 -> 1
    ck_assert_float_eq(out[3], 0.0f);  // NaN -> 0
    ck_assert_float_eq(out[4], 1.0f);
    ck_assert_float_eq(out[5], 0.0f);
    ck_assert_float_eq_tol(out[6], 0.0031308f * 12.92f, 1e-6f);
    ck_assert_float_eq(out[7], 1.0f);
    ck_assert_float_eq_tol(out[8], (float)roto_srgb_oetf(0.18), 1e-6f);
    // Explicit srgb: values used as they are (clamped).
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_SRGB, 0, out), ROTO_OK);
    ck_assert_float_eq(out[0], 0.5f);
    ck_assert_float_eq(out[2], 1.0f);
    roto_frame_free(&f);
}
END_TEST

// The table-driven OETF used for float frames against the double formula.
START_TEST(test_linear_fast_path) {
    const int n = 200000;
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, n, 1, 1, ROTO_PIX_F32, 32), ROTO_OK);
    float *v = f.data;
    tu_rng r;
    tu_rng_seed(&r, 11);
    int k = 0;
    for (int e = 0; e < 40; e++) v[k++] = ldexpf(1.0f, -e);  // 1, 1/2, ... tiny
    const float special[] = {0.0031308f, 0.0031307f, 0.0031309f, 0.00195312f, 0.0019531f, 0.99999994f, 1e-38f, 1e-45f};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) v[k++] = special[i];
    for (; k < n / 2; k++) v[k] = (float)tu_rng_uniform(&r);
    for (; k < n; k++) v[k] = (float)pow(tu_rng_uniform(&r), 6.0);  // dense near 0
    float *out = malloc((size_t)n * 3 * sizeof *out);
    double *ref = malloc((size_t)n * 3 * sizeof *ref);
    tu_poison_f32(out, (size_t)n * 3);
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_LINEAR, 0, out), ROTO_OK);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) ref[i * 3 + c] = roto_srgb_oetf(v[i]);
    tu_check_close(out, ref, (size_t)n * 3, (tu_tol){2e-7, 1e-6}, "fast sRGB OETF");
    free(out);
    free(ref);
    roto_frame_free(&f);
}
END_TEST

START_TEST(test_gray_alpha_planar) {
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 2, 2, 2, ROTO_PIX_U16, 8), ROTO_OK);  // gray + alpha
    const uint16_t v[8] = {0, 255, 51, 0, 102, 128, 255, 7};
    memcpy(f.data, v, sizeof v);
    float out[12];
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_OK);
    for (int p = 0; p < 4; p++)
        for (int c = 0; c < 3; c++) ck_assert_float_eq_tol(out[p * 3 + c], v[p * 2] / 255.0f, 1e-7f);
    // Planar [3][H][W].
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 1, out), ROTO_OK);
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < 4; p++) ck_assert_float_eq_tol(out[c * 4 + p], v[p * 2] / 255.0f, 1e-7f);
    roto_frame_free(&f);
    // RGBA: alpha dropped.
    ck_assert_int_eq(roto_frame_alloc(&f, 1, 1, 4, ROTO_PIX_U16, 16), ROTO_OK);
    const uint16_t px[4] = {65535, 0, 32768, 1};
    memcpy(f.data, px, sizeof px);
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_OK);
    ck_assert_float_eq(out[0], 1.0f);
    ck_assert_float_eq(out[1], 0.0f);
    ck_assert_float_eq_tol(out[2], 32768.0f / 65535.0f, 1e-7f);
    roto_frame_free(&f);
}
END_TEST

START_TEST(test_dpx_rules) {
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 2, 1, 3, ROTO_PIX_U16, 10), ROTO_OK);
    uint16_t *d = f.data;
    d[0] = 685, d[1] = 95, d[2] = 445, d[3] = 1023, d[4] = 0, d[5] = 512;
    f.meta.source_format = ROTO_FMT_DPX;
    f.meta.dpx_transfer = 1;
    f.meta.transfer = ROTO_TF_LOG;
    float out[6];
    // Log DPX without an explicit choice: refused, naming the option.
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "cineon"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "input-colorspace"));
    // Cineon: code 685 -> linear 1.0 -> sRGB 1.0; 95 -> 0.
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_CINEON, 0, out), ROTO_OK);
    ck_assert_float_eq_tol(out[0], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(out[2], (float)roto_srgb_oetf(roto_cineon_to_linear(445.0)), 1e-6f);
    ck_assert_float_eq(out[3], 1.0f);  // above reference white: clamped
    ck_assert_float_eq(out[4], 0.0f);  // below reference black: clamped
    // A 16-bit log DPX is rescaled to the 10-bit code range first.
    roto_frame g;
    ck_assert_int_eq(roto_frame_alloc(&g, 1, 1, 3, ROTO_PIX_U16, 16), ROTO_OK);
    g.meta = f.meta;
    uint16_t *e = g.data;
    e[0] = e[1] = e[2] = (uint16_t)(685.0 / 1023.0 * 65535.0 + 0.5);
    ck_assert_int_eq(roto_frame_to_srgb(&g, ROTO_CS_CINEON, 0, out), ROTO_OK);
    ck_assert_float_eq_tol(out[0], 1.0f, 1e-4f);
    roto_frame_free(&g);
    // DPX declaring linear transfer (2) is linear under AUTO.
    f.meta.dpx_transfer = 2;
    f.meta.transfer = ROTO_TF_LINEAR;
    roto_colorspace cs;
    ck_assert_int_eq(roto_colorspace_resolve(&f, ROTO_CS_AUTO, &cs), ROTO_OK);
    ck_assert_int_eq(cs, ROTO_CS_LINEAR);
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_OK);
    ck_assert_float_eq_tol(out[5], (float)roto_srgb_oetf(512.0 / 1023.0), 1e-6f);
    // Other DPX (video, user-defined): sRGB-encoded code/max.
    f.meta.dpx_transfer = 0;
    f.meta.transfer = ROTO_TF_UNKNOWN;
    ck_assert_int_eq(roto_colorspace_resolve(&f, ROTO_CS_AUTO, &cs), ROTO_OK);
    ck_assert_int_eq(cs, ROTO_CS_SRGB);
    roto_frame_free(&f);
    // Empty frame.
    memset(&f, 0, sizeof f);
    ck_assert_int_eq(roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, out), ROTO_ERR_INVALID_ARG);
}
END_TEST

static Suite *io_colour_suite(void) {
    Suite *s = suite_create("io_colour");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_transfer_functions);
    tcase_add_test(tc, test_parse_names);
    tcase_add_test(tc, test_integer_frames);
    tcase_add_test(tc, test_float_frames);
    tcase_add_test(tc, test_linear_fast_path);
    tcase_add_test(tc, test_gray_alpha_planar);
    tcase_add_test(tc, test_dpx_rules);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_colour_suite)
