// test_io_matte.c: matte operations against simple, slow references:
// brute-force distance / disc morphology, a direct 2D Gaussian sum, and
// connected components by label relaxation (a different algorithm from the
// BFS under test). Odd sizes, radii of 0, fractional and larger than the
// image, both connectivities, bad arguments.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/matte.h"
#include "util/test_util.h"

// Random matte: blobs of 1, background 0, some soft pixels in between.
static float *random_matte(int w, int h, uint64_t seed, double p_fg) {
    tu_rng r;
    tu_rng_seed(&r, seed);
    float *m = malloc((size_t)w * h * sizeof *m);
    for (int i = 0; i < w * h; i++) {
        double u = tu_rng_uniform(&r);
        m[i] = u < p_fg ? 1.0f : (u < p_fg + 0.1 ? (float)tu_rng_uniform(&r) : 0.0f);
    }
    return m;
}

START_TEST(test_threshold) {
    float *m = random_matte(13, 7, 1, 0.4);
    float out[91];
    ck_assert_int_eq(roto_matte_threshold(m, out, 13, 7, 0.3f), ROTO_OK);
    for (int i = 0; i < 91; i++) ck_assert_float_eq(out[i], m[i] >= 0.3f ? 1.0f : 0.0f);
    ck_assert_int_eq(roto_matte_threshold(m, m, 13, 7, 0.5f), ROTO_OK);  // in place
    free(m);
}
END_TEST

START_TEST(test_distance_transform) {
    const int sizes[4][2] = {{1, 1}, {17, 1}, {1, 9}, {31, 23}};
    for (int s = 0; s < 4; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        for (int seed = 0; seed < 3; seed++) {
            tu_rng r;
            tu_rng_seed(&r, (uint64_t)(s * 10 + seed));
            unsigned char *mask = malloc((size_t)w * h);
            for (int i = 0; i < w * h; i++) mask[i] = tu_rng_uniform(&r) < (seed == 2 ? 0.02 : 0.2);
            float *d2 = malloc((size_t)w * h * sizeof *d2);
            tu_poison_f32(d2, (size_t)w * h);
            ck_assert_int_eq(roto_matte_distance2(mask, d2, w, h), ROTO_OK);
            int any = 0;
            for (int i = 0; i < w * h; i++) any |= mask[i];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double best = 1e30;
                    for (int yy = 0; yy < h; yy++)
                        for (int xx = 0; xx < w; xx++)
                            if (mask[yy * w + xx]) best = fmin(best, (double)(x - xx) * (x - xx) + (double)(y - yy) * (y - yy));
                    if (!any) ck_assert(d2[y * w + x] >= 1e19f);
                    else ck_assert_msg(d2[y * w + x] == (float)best, "%dx%d (%d,%d): %g vs %g", w, h, x, y,
                                       (double)d2[y * w + x], best);
                }
            free(mask);
            free(d2);
        }
    }
}
END_TEST

// Brute force: max (dilate) / min (erode) of the binary matte over a closed
// disc, ignoring pixels outside the image.
static void ref_morph(const float *in, float *out, int w, int h, float radius, int erode) {
    int rr = (int)ceilf(radius);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int v = erode ? 1 : 0;
            for (int dy = -rr; dy <= rr; dy++)
                for (int dx = -rr; dx <= rr; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    if ((double)dx * dx + (double)dy * dy > (double)radius * radius) continue;
                    int b = in[yy * w + xx] >= 0.5f;
                    if (erode) v &= b;
                    else v |= b;
                }
            out[y * w + x] = (float)v;
        }
}

START_TEST(test_dilate_erode) {
    const int sizes[3][2] = {{1, 1}, {37, 29}, {16, 5}};
    const float radii[6] = {0.0f, 1.0f, 1.5f, 2.9f, 5.0f, 40.0f};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 6; k++)
            for (int erode = 0; erode <= 1; erode++) {
                int w = sizes[s][0], h = sizes[s][1];
                float *m = random_matte(w, h, (uint64_t)(s * 100 + k), erode ? 0.75 : 0.08);
                float *got = malloc((size_t)w * h * sizeof *got), *ref = malloc((size_t)w * h * sizeof *ref);
                tu_poison_f32(got, (size_t)w * h);
                roto_status st = erode ? roto_matte_erode(m, got, w, h, radii[k]) : roto_matte_dilate(m, got, w, h, radii[k]);
                ck_assert_int_eq(st, ROTO_OK);
                ref_morph(m, ref, w, h, radii[k], erode);
                for (int i = 0; i < w * h; i++)
                    ck_assert_msg(got[i] == ref[i], "%s r=%g %dx%d pixel %d: %g vs %g", erode ? "erode" : "dilate",
                                  (double)radii[k], w, h, i, (double)got[i], (double)ref[i]);
                // In place gives the same.
                ck_assert_int_eq(erode ? roto_matte_erode(m, m, w, h, radii[k]) : roto_matte_dilate(m, m, w, h, radii[k]),
                                 ROTO_OK);
                ck_assert(!memcmp(m, ref, (size_t)w * h * sizeof *m));
                free(m);
                free(got);
                free(ref);
            }
    // A full-frame matte does not erode from the image border.
    float full[12];
    for (int i = 0; i < 12; i++) full[i] = 1.0f;
    ck_assert_int_eq(roto_matte_erode(full, full, 4, 3, 2.0f), ROTO_OK);
    for (int i = 0; i < 12; i++) ck_assert_float_eq(full[i], 1.0f);
}
END_TEST

// Large radius cost does not grow with the radius (distance transform).
START_TEST(test_dilate_large_radius_fast) {
    const int w = 1920, h = 1080;
    float *m = calloc((size_t)w * h, sizeof *m);
    m[(h / 2) * w + w / 2] = 1.0f;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(roto_matte_dilate(m, m, w, h, 300.0f), ROTO_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    // A disc of radius 300 around the centre.
    ck_assert_float_eq(m[(h / 2) * w + w / 2 + 300], 1.0f);
    ck_assert_float_eq(m[(h / 2) * w + w / 2 + 301], 0.0f);
    ck_assert_float_eq(m[(h / 2 - 212) * w + w / 2 + 212], 1.0f);  // 212*sqrt(2) = 299.8
    ck_assert_float_eq(m[(h / 2 - 213) * w + w / 2 + 213], 0.0f);  // 301.2
    ck_assert_msg(s < 5.0, "1080p dilate by 300 px took %.2f s", s);
    free(m);
}
END_TEST

START_TEST(test_feather) {
    const int w = 23, h = 17;
    const float radii[4] = {0.0f, 1.0f, 2.5f, 12.0f};
    for (int k = 0; k < 4; k++) {
        float *m = random_matte(w, h, (uint64_t)k, 0.3);
        float *got = malloc((size_t)w * h * sizeof *got);
        double *ref = malloc((size_t)w * h * sizeof *ref);
        tu_poison_f32(got, (size_t)w * h);
        ck_assert_int_eq(roto_matte_feather(m, got, w, h, radii[k]), ROTO_OK);
        int half = (int)ceil(radii[k]);
        double sigma = radii[k] / 3.0, norm = 0;
        for (int i = -half; i <= half; i++) norm += half ? exp(-0.5 * i * i / (sigma * sigma)) : 1.0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double acc = 0;
                for (int dy = -half; dy <= half; dy++)
                    for (int dx = -half; dx <= half; dx++) {
                        int xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx;
                        int yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy;
                        double wgt = half ? exp(-0.5 * (dx * dx + dy * dy) / (sigma * sigma)) / (norm * norm) : 1.0;
                        acc += wgt * m[yy * w + xx];
                    }
                ref[y * w + x] = acc;
            }
        char what[32];
        snprintf(what, sizeof what, "feather r=%g", (double)radii[k]);
        tu_check_close(got, ref, (size_t)w * h, TU_TOL_F32, what);
        free(m);
        free(got);
        free(ref);
    }
    float one = 0.25f;
    ck_assert_int_eq(roto_matte_feather(&one, &one, 1, 1, 50.0f), ROTO_OK);
    ck_assert_float_eq_tol(one, 0.25f, 1e-6f);
}
END_TEST

// Reference components: label relaxation (each pixel takes the smallest label
// among its same-class neighbours until nothing changes).
static void ref_components(const unsigned char *cls, int w, int h, int conn, int *label) {
    for (int i = 0; i < w * h; i++) label[i] = i;
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        if (!dx && !dy) continue;
                        if (conn == 4 && dx && dy) continue;
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                        int a = y * w + x, b = yy * w + xx;
                        if (cls[a] != cls[b]) continue;
                        if (label[b] < label[a]) {
                            label[a] = label[b];
                            changed = 1;
                        }
                    }
    }
}

static void ref_holes_islands(const float *in, float *out, int w, int h, long limit, int conn, int holes) {
    int n = w * h;
    unsigned char *cls = malloc((size_t)n);
    int *label = malloc((size_t)n * sizeof *label), *area = calloc((size_t)n, sizeof *area);
    unsigned char *border = calloc((size_t)n, 1);
    for (int i = 0; i < n; i++) cls[i] = in[i] >= 0.5f;
    ref_components(cls, w, h, conn, label);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int l = label[y * w + x];
            area[l]++;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1) border[l] = 1;
        }
    for (int i = 0; i < n; i++) {
        int l = label[i];
        out[i] = in[i];
        if (holes && !cls[i] && !border[l] && (limit <= 0 || area[l] <= limit)) out[i] = 1.0f;
        if (!holes && cls[i] && area[l] < limit) out[i] = 0.0f;
    }
    free(cls);
    free(label);
    free(area);
    free(border);
}

START_TEST(test_holes_and_islands) {
    const int sizes[3][2] = {{1, 1}, {29, 19}, {8, 40}};
    const long limits[4] = {0, 1, 3, 20};
    for (int s = 0; s < 3; s++)
        for (int li = 0; li < 4; li++)
            for (int conn = 4; conn <= 8; conn += 4)
                for (int holes = 0; holes <= 1; holes++) {
                    int w = sizes[s][0], h = sizes[s][1];
                    float *m = random_matte(w, h, (uint64_t)(s * 1000 + li * 10 + conn + holes), holes ? 0.6 : 0.3);
                    float *got = malloc((size_t)w * h * sizeof *got), *ref = malloc((size_t)w * h * sizeof *ref);
                    roto_status st = holes ? roto_matte_fill_holes(m, got, w, h, limits[li], conn)
                                           : roto_matte_remove_islands(m, got, w, h, limits[li], conn);
                    ck_assert_int_eq(st, ROTO_OK);
                    ref_holes_islands(m, ref, w, h, limits[li], conn, holes);
                    for (int i = 0; i < w * h; i++)
                        ck_assert_msg(got[i] == ref[i], "%s limit %ld conn %d %dx%d pixel %d: %g vs %g",
                                      holes ? "holes" : "islands", limits[li], conn, w, h, i, (double)got[i],
                                      (double)ref[i]);
                    free(m);
                    free(got);
                    free(ref);
                }
    // A hand-made case: a ring with a 1-pixel hole.
    float ring[25] = {0, 0, 0, 0, 0,  //
                      0, 1, 1, 1, 0,  //
                      0, 1, 0, 1, 0,  //
                      0, 1, 1, 1, 0,  //
                      0, 0, 0, 0, 0};
    float out[25];
    ck_assert_int_eq(roto_matte_fill_holes(ring, out, 5, 5, 0, 4), ROTO_OK);
    ck_assert_float_eq(out[12], 1.0f);
    ck_assert_float_eq(out[0], 0.0f);
    // Open the ring's top-right corner (3,1): the hole (2,2) now touches the
    // outside diagonally, so it is a hole for 4-connectivity only.
    ring[8] = 0;
    ring[4] = 1;  // and a lone pixel at (4,0) for the island test below
    ck_assert_int_eq(roto_matte_fill_holes(ring, out, 5, 5, 0, 4), ROTO_OK);
    ck_assert_float_eq(out[12], 1.0f);
    ck_assert_int_eq(roto_matte_fill_holes(ring, out, 5, 5, 0, 8), ROTO_OK);
    ck_assert_float_eq(out[12], 0.0f);
    ck_assert_int_eq(roto_matte_remove_islands(ring, out, 5, 5, 2, 4), ROTO_OK);
    ck_assert_float_eq(out[4], 0.0f);  // the lone pixel at (4,0) is an island of 1
    ck_assert_float_eq(out[6], 1.0f);
}
END_TEST

START_TEST(test_core_edge) {
    const int w = 21, h = 15;
    float *m = calloc((size_t)w * h, sizeof *m);
    for (int y = 3; y < 12; y++)
        for (int x = 4; x < 17; x++) m[y * w + x] = (x == 4 || x == 16) ? 0.6f : 1.0f;
    float *core = malloc((size_t)w * h * sizeof *core), *edge = malloc((size_t)w * h * sizeof *edge);
    float *ref = malloc((size_t)w * h * sizeof *ref);
    ck_assert_int_eq(roto_matte_core_edge(m, core, edge, w, h, 2.0f), ROTO_OK);
    ref_morph(m, ref, w, h, 2.0f, 1);
    for (int i = 0; i < w * h; i++) {
        ck_assert_float_eq(core[i], ref[i]);
        float e = m[i] - ref[i];
        ck_assert_float_eq(edge[i], e > 0 ? e : 0.0f);
        ck_assert(core[i] + edge[i] >= m[i] - 1e-7f);
    }
    ck_assert_float_eq(core[7 * w + 10], 1.0f);
    ck_assert_float_eq(edge[7 * w + 10], 0.0f);
    ck_assert_float_eq(edge[7 * w + 4], 0.6f);
    // Aliasing: core may be the input buffer.
    ck_assert_int_eq(roto_matte_core_edge(m, m, edge, w, h, 2.0f), ROTO_OK);
    ck_assert(!memcmp(m, ref, (size_t)w * h * sizeof *m));
    free(m);
    free(core);
    free(edge);
    free(ref);
}
END_TEST

START_TEST(test_bad_args) {
    float a[4] = {0};
    ck_assert_int_eq(roto_matte_dilate(NULL, a, 2, 2, 1), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_matte_dilate(a, a, 0, 2, 1), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_matte_erode(a, a, 2, 2, -1), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_matte_erode(a, a, 2, 2, NAN), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_matte_feather(a, a, 2, 2, -3), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_matte_fill_holes(a, a, 2, 2, 0, 6), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "connectivity"));
    ck_assert_int_eq(roto_matte_remove_islands(a, a, -1, 2, 0, 4), ROTO_ERR_INVALID_ARG);
}
END_TEST

static Suite *io_matte_suite(void) {
    Suite *s = suite_create("io_matte");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_threshold);
    tcase_add_test(tc, test_distance_transform);
    tcase_add_test(tc, test_dilate_erode);
    tcase_add_test(tc, test_dilate_large_radius_fast);
    tcase_add_test(tc, test_feather);
    tcase_add_test(tc, test_holes_and_islands);
    tcase_add_test(tc, test_core_edge);
    tcase_add_test(tc, test_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_matte_suite)
