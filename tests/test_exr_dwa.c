// test_exr_dwa.c: roto's DWAA/DWAB codec (io/exr_dwa.c, used by io/exr.c)
// against OpenEXR's C++ library (Debian's 3.1):
//   * decoding files the library wrote (tests/fixtures/io/exr_dwa*.exr: DWAA
//     and DWAB, scanlines and tiles, every channel scheme; see the fixtures'
//     README) must give the library's own decode (the _ref files): lossless
//     channels bit for bit, lossy ones within 1 half ulp (measured: 0, every
//     value equal, because our inverse DCT follows the library's x86-64 order);
//   * version 0/1 blocks (legacy rules) decode like the version 2 block;
//   * our encoder, given the pattern the fixtures were made from
//     (exr_dwa_src.exr), reproduces every one of the library's blocks byte
//     for byte;
//   * files we write (mattes, depth, normals, RGB) are decoded by the library
//     (exrmaketiled -z none) to exactly what our decoder gives (measured: 0
//     differences), lossless channels equal the source, lossy ones stay within
//     the error measured below; exrheader names the compression; the library
//     re-encoding our file as DWAA and DWAB tiles gives blocks our encoder
//     reproduces byte for byte;
//   * roto track --compression dwaa/dwab works end to end;
//   * the block codec round-trips random channel sets and sizes directly;
//   * truncated and corrupted blocks and files fail cleanly (also under ASan).
// Tests that need OpenEXR's tools skip with a message when they are missing.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/dtype.h"
#include "io/exr.h"
#include "io/exr_dwa.h"
#include "io/image.h"
#include "util/cli_util.h"
#include "util/test_util.h"

// ---- helpers --------------------------------------------------------------------------

static char g_fix[PATH_MAX];

static const char *fix(const char *name) {
    static char p[PATH_MAX + 128];
    if (!g_fix[0]) cu_repo_dir(g_fix, sizeof g_fix, "tests/fixtures/io", "README.md");
    snprintf(p, sizeof p, "%s/%s", g_fix, name);
    return p;
}

static roto_frame read_channels(const char *path, const char *channels) {
    roto_read_opts o;
    roto_read_opts_init(&o);
    o.channels = channels;
    roto_frame f;
    roto_status st = roto_image_read(path, &o, &f);
    ck_assert_msg(st == ROTO_OK, "%s [%s]: %s", path, channels, roto_last_error());
    return f;
}

// Distance in half-float steps between two values that are halves (as floats).
static int half_ulps(float a, float b) {
    uint16_t ha = rt_f32_to_f16(a), hb = rt_f32_to_f16(b);
    int ia = ha & 0x8000 ? -(int)(ha & 0x7fff) : (int)ha, ib = hb & 0x8000 ? -(int)(hb & 0x7fff) : (int)hb;
    return abs(ia - ib);
}

static int have_tool(const char *tool) {
    char cmd[128], out[256];
    snprintf(cmd, sizeof cmd, "command -v %s", tool);
    return cu_run_capture(cmd, out, sizeof out) == 0 && out[0];
}

// Chunk k of a single-part EXR file (scanline or tiled): its data bytes.
static const uint8_t *exr_chunk(const uint8_t *f, size_t n, int tiled, int k, size_t *len) {
    size_t p = 8;
    while (p < n && f[p]) {  // attributes: name \0 type \0 int32 size, value
        p += strlen((const char *)f + p) + 1;
        p += strlen((const char *)f + p) + 1;
        int32_t sz;
        memcpy(&sz, f + p, 4);
        p += 4 + (size_t)sz;
    }
    p++;
    uint64_t off;
    ck_assert(p + 8 * (size_t)(k + 1) <= n);
    memcpy(&off, f + p + 8 * (size_t)k, 8);
    size_t head = tiled ? 16 : 4;
    ck_assert(off + head + 4 <= n);
    int32_t sz;
    memcpy(&sz, f + off + head, 4);
    ck_assert(sz > 0 && off + head + 4 + (size_t)sz <= n);
    *len = (size_t)sz;
    return f + off + head + 4;
}

// The channels of the fixture pattern (tools/refgen/exr_ref.cpp), in file order.
static const roto_dwa_channel k_fixture_ch[12] = {
    {"A", ROTO_DWA_HALF, 0},      {"B", ROTO_DWA_HALF, 0},      {"G", ROTO_DWA_HALF, 0},
    {"R", ROTO_DWA_HALF, 0},      {"depth.Z", ROTO_DWA_FLOAT, 0}, {"id", ROTO_DWA_UINT, 0},
    {"lin.Y", ROTO_DWA_HALF, 1},  {"lum.Y", ROTO_DWA_HALF, 0},  {"mask.A", ROTO_DWA_FLOAT, 0},
    {"spec.B", ROTO_DWA_FLOAT, 0}, {"spec.G", ROTO_DWA_FLOAT, 0}, {"spec.R", ROTO_DWA_FLOAT, 0},
};

// Channel groups read through roto's EXR reader (at most 4 at a time).
static const struct {
    const char *channels;
    int lossy;
} k_groups[] = {{"A", 0},     {"mask.A", 0},    {"depth.Z", 0},   {"id", 0}, {"R,G,B", 1},
                {"spec.R,spec.G,spec.B", 1}, {"lum.Y", 1}, {"lin.Y", 1}};

// ---- decoding files written by OpenEXR ----------------------------------------------------

START_TEST(test_decode_official_files) {
    static const char *files[4] = {"exr_dwaa_scan", "exr_dwab_scan", "exr_dwaa_tile", "exr_dwab_tile"};
    int worst = 0;
    for (int i = 0; i < 4; i++)
        for (size_t g = 0; g < sizeof k_groups / sizeof *k_groups; g++) {
            char a[64], b[64];
            snprintf(a, sizeof a, "%s.exr", files[i]);
            snprintf(b, sizeof b, "%s_ref.exr", files[i]);
            roto_frame ours = read_channels(fix(a), k_groups[g].channels);
            roto_frame lib = read_channels(fix(b), k_groups[g].channels);
            ck_assert(ours.width == 13 && ours.height == 33 && ours.channels == lib.channels);
            size_t n = roto_frame_pixels(&ours) * (size_t)ours.channels;
            const float *x = ours.data, *y = lib.data;
            for (size_t k = 0; k < n; k++) {
                if (!k_groups[g].lossy) {
                    ck_assert_msg(x[k] == y[k], "%s %s value %zu: %g, OpenEXR %g", a, k_groups[g].channels, k, x[k],
                                  y[k]);
                    continue;
                }
                int u = half_ulps(x[k], y[k]);
                if (u > worst) worst = u;
                ck_assert_msg(u <= 1, "%s %s value %zu: %g, OpenEXR %g (%d half ulps)", a, k_groups[g].channels, k,
                              x[k], y[k], u);
            }
            roto_frame_free(&ours);
            roto_frame_free(&lib);
        }
    printf("test_exr_dwa: decode of OpenEXR's files: lossy channels within %d half ulp of the library\n", worst);
}
END_TEST

// The same block as version 2 (rules inside), 1 and 0 (legacy rule table:
// r/red, g/grn/green, b/blu/blue, y, by, ry, a; case-insensitive) decodes alike.
START_TEST(test_block_versions) {
    size_t fn, n;
    uint8_t *file = cu_must_read(fix("exr_dwab_scan.exr"), &fn);
    const uint8_t *blk = exr_chunk(file, fn, 0, 0, &n);
    size_t raw = roto_dwa_raw_size(k_fixture_ch, 12, 13, 33);
    ck_assert_uint_eq(raw, 13 * 33 * (2 * 6 + 4 * 6));
    uint8_t *v2 = malloc(raw), *old = malloc(raw);
    ck_assert_msg(roto_dwa_decode(blk, n, k_fixture_ch, 12, 13, 33, v2, raw) == ROTO_OK, "%s", roto_last_error());
    roto_dwa_info info;
    ck_assert_int_eq(roto_dwa_block_info(blk, n, &info), ROTO_OK);
    ck_assert_uint_eq(info.version, 2);
    ck_assert_int_eq(info.n_rules, 9);  // R,G,B half+float, Y half, A half+float: what the channels use
    ck_assert_uint_eq(info.ac_compression, 0);  // static Huffman
    ck_assert_uint_eq(info.rle_raw, 13 * 33 * (2 + 4));          // A, mask.A
    ck_assert_uint_eq(info.unknown_raw, 13 * 33 * (4 + 4));      // depth.Z, id
    ck_assert_uint_eq(info.dc_count, 8 * 2 * 5);                // 8 lossy channels, 2x5 blocks
    // Versions 1 and 0: the same counters and streams without the rules.
    size_t rules = (size_t)(blk[88] | blk[89] << 8);
    uint8_t *legacy = malloc(n);
    memcpy(legacy, blk, 88);
    memcpy(legacy + 88, blk + 88 + rules, n - 88 - rules);
    for (int v = 0; v <= 1; v++) {
        legacy[0] = (uint8_t)v;
        memset(old, 0xee, raw);
        ck_assert_msg(roto_dwa_decode(legacy, n - rules, k_fixture_ch, 12, 13, 33, old, raw) == ROTO_OK, "v%d: %s", v,
                      roto_last_error());
        ck_assert_msg(!memcmp(old, v2, raw), "version %d decodes differently", v);
    }
    // Version 3 does not exist.
    legacy[0] = 3;
    ck_assert_int_eq(roto_dwa_decode(legacy, n - rules, k_fixture_ch, 12, 13, 33, old, raw), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "version 3"));
    free(legacy);
    free(v2);
    free(old);
    free(file);
}
END_TEST

// ---- encoding: the library's blocks, and the library decodes ours ---------------------------

// The fixtures' pattern (exr_dwa_src.exr) in EXR's chunk layout for lines
// [y0, y0 + lines): per line, per channel, 13 little-endian values.
static uint8_t *pattern_chunk(float *const planes[12], int y0, int lines, size_t *raw) {
    const int w = 13;
    *raw = roto_dwa_raw_size(k_fixture_ch, 12, w, lines);
    uint8_t *buf = malloc(*raw), *p = buf;
    for (int y = y0; y < y0 + lines; y++)
        for (int c = 0; c < 12; c++)
            for (int x = 0; x < w; x++) {
                float v = planes[c][y * w + x];
                if (k_fixture_ch[c].type == ROTO_DWA_HALF) {
                    uint16_t h = rt_f32_to_f16(v);
                    memcpy(p, &h, 2);
                    p += 2;
                } else if (k_fixture_ch[c].type == ROTO_DWA_FLOAT) {
                    memcpy(p, &v, 4);
                    p += 4;
                } else {
                    uint32_t u = (uint32_t)v;  // ids below 2^24: exact through float
                    memcpy(p, &u, 4);
                    p += 4;
                }
            }
    return buf;
}

// Our encoder, given the pattern OpenEXR encoded, produces OpenEXR's blocks
// byte for byte: the same rules, quantised coefficients, Huffman codes and
// zlib streams (AC deflated for tiled DWAA, DC at zlib level 4), for every
// chunk of the four fixture files; chunks OpenEXR stored raw do not shrink
// for us either.
START_TEST(test_encoder_matches_openexr) {
    float *planes[12];
    for (int c = 0; c < 12; c++) {
        roto_frame f = read_channels(fix("exr_dwa_src.exr"), k_fixture_ch[c].name);
        ck_assert(f.width == 13 && f.height == 33 && f.channels == 1);
        planes[c] = malloc(sizeof(float) * 13 * 33);
        memcpy(planes[c], f.data, sizeof(float) * 13 * 33);
        roto_frame_free(&f);
    }
    static const struct {
        const char *file;
        int tiled, lines, ac_deflate;
    } files[4] = {{"exr_dwaa_scan.exr", 0, 32, 0}, {"exr_dwab_scan.exr", 0, 256, 0},
                  {"exr_dwaa_tile.exr", 1, 16, 1}, {"exr_dwab_tile.exr", 1, 16, 0}};
    int identical = 0, raw_chunks = 0;
    for (int i = 0; i < 4; i++) {
        size_t fn;
        uint8_t *file = cu_must_read(fix(files[i].file), &fn);
        for (int k = 0, y0 = 0; y0 < 33; k++, y0 += files[i].lines) {
            int lines = 33 - y0 < files[i].lines ? 33 - y0 : files[i].lines;
            size_t raw, n_lib, n_ours;
            uint8_t *chunk = pattern_chunk(planes, y0, lines, &raw), *ours = NULL;
            const uint8_t *lib = exr_chunk(file, fn, files[i].tiled, k, &n_lib);
            roto_dwa_opts o = {45.0f, files[i].ac_deflate, 4};
            ck_assert_msg(roto_dwa_encode(chunk, raw, k_fixture_ch, 12, 13, lines, &o, &ours, &n_ours) == ROTO_OK,
                          "%s", roto_last_error());
            if (n_lib == raw) {  // stored raw by OpenEXR
                ck_assert_msg(!memcmp(lib, chunk, raw), "%s chunk %d: raw data differs from the pattern",
                              files[i].file, k);
                ck_assert_msg(n_ours >= raw, "%s chunk %d: we would compress what OpenEXR stores raw",
                              files[i].file, k);
                raw_chunks++;
            } else {
                ck_assert_msg(n_ours == n_lib && !memcmp(ours, lib, n_lib),
                              "%s chunk %d (%d lines): our block (%zu bytes) differs from OpenEXR's (%zu)",
                              files[i].file, k, lines, n_ours, n_lib);
                identical++;
            }
            free(ours);
            free(chunk);
        }
        free(file);
    }
    printf("test_exr_dwa: our encoder reproduces OpenEXR's %d DWA blocks byte for byte (%d raw chunks agree)\n",
           identical, raw_chunks);
    for (int c = 0; c < 12; c++) free(planes[c]);
}
END_TEST



// OpenEXR's perceptual curve (the domain DWA bounds its error in).
static double perceptual(double v) {
    double a = fabs(v), s = v < 0 ? -1 : 1;
    return s * (a <= 1 ? pow(a, 1 / 2.2) : log(a) / 2.2 + 1);
}

typedef struct {
    int w, h;
    float *a0, *a1, *depth, *normals, *rgb;
} matte_src;

static void make_mattes(matte_src *m, int w, int h) {
    m->w = w;
    m->h = h;
    size_t n = (size_t)w * h;
    m->a0 = malloc(n * 4);
    m->a1 = malloc(n * 4);
    m->depth = malloc(n * 4);
    m->normals = malloc(n * 12);
    m->rgb = malloc(n * 12);
    tu_rng r;
    tu_rng_seed(&r, 42);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double u = x / (w - 1.0), v = y / (h - 1.0), d = hypot(x - 0.4 * w, y - 0.5 * h) / (0.3 * w);
            m->a0[i] = d < 0.9 ? 1.0f : d > 1.1 ? 0.0f : (float)((1.1 - d) / 0.2);  // soft-edged disc
            m->a1[i] = (x / 5 + y / 7) % 3 == 0 ? 1.0f : 0.0f;                         // hard blocks
            m->depth[i] = (float)(2.0 + 30.0 * u * v + 0.01 * tu_rng_uniform(&r));
            m->normals[3 * i] = (float)(u - 0.5);
            m->normals[3 * i + 1] = (float)(v - 0.5);
            m->normals[3 * i + 2] = (float)sqrt(1 - 0.25 * (u * u + v * v));
            // A plate: ramps, a bright patch above 1, grain.
            m->rgb[3 * i] = (float)(0.05 + 0.8 * u + 0.02 * tu_rng_uniform(&r) + (d < 0.5 ? 3.0 : 0.0));
            m->rgb[3 * i + 1] = (float)(0.1 + 0.6 * v * v + 0.02 * tu_rng_uniform(&r));
            m->rgb[3 * i + 2] = (float)(0.2 + 0.3 * sin(0.4 * x) * cos(0.3 * y) + 0.3);
        }
}

static void free_mattes(matte_src *m) {
    free(m->a0);
    free(m->a1);
    free(m->depth);
    free(m->normals);
    free(m->rgb);
}

START_TEST(test_encode_official_decode) {
    if (!have_tool("exrmaketiled") || !have_tool("exrheader")) {
        printf("test_exr_dwa: SKIP test_encode_official_decode: OpenEXR's exrmaketiled/exrheader not found "
               "(apt-get install openexr)\n");
        return;
    }
    char dir[PATH_MAX];
    cu_make_tmp(dir, sizeof dir, "exr_dwa");
    matte_src m;
    make_mattes(&m, 45, 70);  // DWAA: chunks of 32, 32 and 6 lines; DWAB: one of 70
    const char *names[2] = {"person", "car"};
    const float *alphas[2] = {m.a0, m.a1};
    roto_matte_layers layers = {m.w, m.h, 2, names, alphas, 0, m.depth, m.normals, m.rgb};
    double worst_perc = 0, worst_abs = 0;
    int worst_lib = 0;
    for (int k = 0; k < 2; k++) {
        roto_exr_opts o;
        roto_exr_opts_init(&o);
        o.compression = k ? ROTO_EXR_DWAB : ROTO_EXR_DWAA;
        char ours[PATH_MAX + 32], lib[PATH_MAX + 32], cmd[3 * PATH_MAX], out[8192];
        snprintf(ours, sizeof ours, "%s/ours_%d.exr", dir, k);
        snprintf(lib, sizeof lib, "%s/lib_%d.exr", dir, k);
        ck_assert_msg(roto_exr_write_mattes(ours, &layers, &o) == ROTO_OK, "%s", roto_last_error());
        snprintf(cmd, sizeof cmd, "exrheader '%s' 2>&1", ours);
        ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 0);
        ck_assert_msg(strstr(out, k ? "dwa, medium scanline blocks" : "dwa, small scanline blocks"), "%s", out);
        snprintf(cmd, sizeof cmd, "exrmaketiled -z none '%s' '%s' 2>&1", ours, lib);
        ck_assert_msg(cu_run_capture(cmd, out, sizeof out) == 0, "OpenEXR cannot read our file: %s", out);
        static const char *groups[5] = {"obj_person.A", "obj_car.A", "depth.Z", "N.X,N.Y,N.Z", "R,G,B"};
        for (int g = 0; g < 5; g++) {
            roto_frame a = read_channels(ours, groups[g]), b = read_channels(lib, groups[g]);
            ck_assert(a.width == m.w && a.height == m.h && a.channels == b.channels);
            const float *x = a.data, *y = b.data;
            for (int i = 0; i < m.w * m.h; i++)
                for (int c = 0; c < a.channels; c++) {
                    float v = x[i * a.channels + c], lv = y[i * a.channels + c];
                    float src = g == 0 ? m.a0[i] : g == 1 ? m.a1[i] : g == 2 ? m.depth[i]
                                : g == 3 ? m.normals[3 * i + c] : m.rgb[3 * i + c];
                    // N.Y ends in "Y": OpenEXR's rules make it lossy (luminance), like R,G,B.
                    if (g < 4 && !(g == 3 && c == 1)) {  // RLE (half mattes), UNKNOWN (floats): lossless
                        float want = g < 2 ? rt_f16_to_f32(rt_f32_to_f16(src)) : src;
                        ck_assert_msg(v == want && lv == want, "%s pixel %d: ours %g, OpenEXR %g, source %g",
                                      groups[g], i, v, lv, want);
                        continue;
                    }
                    int u = half_ulps(v, lv);
                    if (u > worst_lib) worst_lib = u;
                    ck_assert_msg(u <= 1, "%s pixel %d: ours %g, OpenEXR %g", groups[g], i, v, lv);
                    worst_perc = fmax(worst_perc, fabs(perceptual(v) - perceptual(src)));
                    if (fabsf(src) <= 1) worst_abs = fmax(worst_abs, fabs(v - src));
                }
            roto_frame_free(&a);
            roto_frame_free(&b);
        }
    }
    // Level 45 on this plate (ramps, grain, a 3.0 patch with hard edges, N.Y):
    // measured max error 0.0109 on the perceptual curve (x^(1/2.2) up to 1,
    // log above) and 0.0182 absolute for values in [-1, 1], at the patch's
    // edges (DCT ringing). OpenEXR's own encoder gives the same blocks
    // (test_encoder_matches_openexr), hence the same error.
    printf("test_exr_dwa: our DWA files decoded by OpenEXR: lossy channels within %d half ulp of our decode; "
           "error vs source %.4f perceptual, %.4f absolute (|v| <= 1)\n", worst_lib, worst_perc, worst_abs);
    ck_assert_msg(worst_perc < 0.015 && worst_abs < 0.025, "DWA error %g / %g", worst_perc, worst_abs);
    free_mattes(&m);
    cu_rm_rf(dir);
}
END_TEST

// OpenEXR re-encodes our DWAA file as 64x64 DWAA tiles (deflated AC) and as
// DWAB tiles (Huffman AC): our encoder, given the same pixels (our decode,
// which is the library's), produces each of its tile blocks byte for byte.
// The blocks carry the rules OpenEXR writes and split the channels as it
// does: obj_*.A RLE, depth.Z, N.X and N.Z deflated, R,G,B one lossy set, and
// N.Y lossy too (its suffix is the luminance rule's "Y").
START_TEST(test_tiles_match_openexr) {
    if (!have_tool("exrmaketiled")) {
        printf("test_exr_dwa: SKIP test_tiles_match_openexr: exrmaketiled not found (apt-get install openexr)\n");
        return;
    }
    char dir[PATH_MAX];
    cu_make_tmp(dir, sizeof dir, "exr_dwa_tiles");
    matte_src m;
    make_mattes(&m, 150, 100);  // 3 x 2 tiles, the last column and row partial
    const char *names[2] = {"person", "car"};
    const float *alphas[2] = {m.a0, m.a1};
    roto_matte_layers layers = {m.w, m.h, 2, names, alphas, 0, m.depth, m.normals, m.rgb};
    roto_exr_opts o;
    roto_exr_opts_init(&o);
    o.compression = ROTO_EXR_DWAA;
    char ours[PATH_MAX + 32], lib[PATH_MAX + 32], cmd[3 * PATH_MAX], out[4096];
    snprintf(ours, sizeof ours, "%s/ours.exr", dir);
    ck_assert_msg(roto_exr_write_mattes(ours, &layers, &o) == ROTO_OK, "%s", roto_last_error());
    // The file's channels (sorted) and our decode of them.
    static const roto_dwa_channel ch[9] = {
        {"B", ROTO_DWA_HALF, 0},       {"G", ROTO_DWA_HALF, 0},         {"N.X", ROTO_DWA_FLOAT, 1},
        {"N.Y", ROTO_DWA_FLOAT, 0},    {"N.Z", ROTO_DWA_FLOAT, 1},      {"R", ROTO_DWA_HALF, 0},
        {"depth.Z", ROTO_DWA_FLOAT, 1}, {"obj_car.A", ROTO_DWA_HALF, 1}, {"obj_person.A", ROTO_DWA_HALF, 1}};
    float *planes[9];
    for (int c = 0; c < 9; c++) {
        roto_frame f = read_channels(ours, ch[c].name);
        planes[c] = malloc(sizeof(float) * (size_t)m.w * m.h);
        memcpy(planes[c], f.data, sizeof(float) * (size_t)m.w * m.h);
        roto_frame_free(&f);
    }
    int identical = 0;
    for (int k = 0; k < 2; k++) {
        snprintf(lib, sizeof lib, "%s/lib_%d.exr", dir, k);
        snprintf(cmd, sizeof cmd, "exrmaketiled -t 64 64 -z %s '%s' '%s' 2>&1", k ? "dwab" : "dwaa", ours, lib);
        ck_assert_msg(cu_run_capture(cmd, out, sizeof out) == 0, "%s", out);
        size_t fn;
        uint8_t *file = cu_must_read(lib, &fn);
        for (int t = 0; t < 6; t++) {
            int x0 = (t % 3) * 64, y0 = (t / 3) * 64;
            int w = m.w - x0 < 64 ? m.w - x0 : 64, h = m.h - y0 < 64 ? m.h - y0 : 64;
            size_t raw = roto_dwa_raw_size(ch, 9, w, h), n_lib, n_ours;
            uint8_t *chunk = malloc(raw), *p = chunk, *blk = NULL;
            for (int y = y0; y < y0 + h; y++)
                for (int c = 0; c < 9; c++)
                    for (int x = x0; x < x0 + w; x++) {
                        float v = planes[c][(size_t)y * m.w + x];
                        if (ch[c].type == ROTO_DWA_HALF) {
                            uint16_t hv = rt_f32_to_f16(v);
                            memcpy(p, &hv, 2);
                            p += 2;
                        } else {
                            memcpy(p, &v, 4);
                            p += 4;
                        }
                    }
            const uint8_t *lb = exr_chunk(file, fn, 1, t, &n_lib);
            roto_dwa_opts to = {45.0f, k == 0, 4};
            ck_assert_int_eq(roto_dwa_encode(chunk, raw, ch, 9, w, h, &to, &blk, &n_ours), ROTO_OK);
            ck_assert_msg(n_lib < raw, "tile %d stored raw", t);
            ck_assert_msg(n_ours == n_lib && !memcmp(blk, lb, n_lib), "%s tile %d (%dx%d): %zu bytes, OpenEXR %zu",
                          k ? "dwab" : "dwaa", t, w, h, n_ours, n_lib);
            identical++;
            if (t == 0) {
                roto_dwa_info info;
                ck_assert_int_eq(roto_dwa_block_info(lb, n_lib, &info), ROTO_OK);
                ck_assert_uint_eq(info.version, 2);
                ck_assert_uint_eq(info.ac_compression, k == 0 ? 1 : 0);
                ck_assert_int_eq(info.n_rules, 5);                    // R, G, B, A half; Y float (N.Y)
                ck_assert_uint_eq(info.rle_raw, 2u * 64 * 64 * 2);      // obj_car.A, obj_person.A
                ck_assert_uint_eq(info.unknown_raw, 3u * 64 * 64 * 4);  // depth.Z, N.X, N.Z
                ck_assert_uint_eq(info.dc_count, 4u * 8 * 8);           // R,G,B and N.Y, 8x8 blocks
            }
            free(chunk);
            free(blk);
        }
        free(file);
    }
    printf("test_exr_dwa: our encoder reproduces OpenEXR's %d DWAA/DWAB tiles of our file byte for byte\n",
           identical);
    ck_assert_int_eq(roto_dwa_default_scheme("obj_person.A", ROTO_DWA_HALF), ROTO_DWA_RLE);
    ck_assert_int_eq(roto_dwa_default_scheme("obj_person.A", ROTO_DWA_FLOAT), ROTO_DWA_RLE);
    ck_assert_int_eq(roto_dwa_default_scheme("depth.Z", ROTO_DWA_FLOAT), ROTO_DWA_UNKNOWN);
    ck_assert_int_eq(roto_dwa_default_scheme("N.X", ROTO_DWA_FLOAT), ROTO_DWA_UNKNOWN);
    ck_assert_int_eq(roto_dwa_default_scheme("N.Y", ROTO_DWA_FLOAT), ROTO_DWA_LOSSY_DCT);
    ck_assert_int_eq(roto_dwa_default_scheme("R", ROTO_DWA_HALF), ROTO_DWA_LOSSY_DCT);
    ck_assert_int_eq(roto_dwa_default_scheme("diffuse.B", ROTO_DWA_FLOAT), ROTO_DWA_LOSSY_DCT);
    ck_assert_int_eq(roto_dwa_default_scheme("r", ROTO_DWA_HALF), ROTO_DWA_UNKNOWN);  // case matters in v2
    ck_assert_int_eq(roto_dwa_default_scheme("R", ROTO_DWA_UINT), ROTO_DWA_UNKNOWN);
    for (int c = 0; c < 9; c++) free(planes[c]);
    free_mattes(&m);
    cu_rm_rf(dir);
}
END_TEST

// roto track --compression dwaa/dwab end to end (the small SAM 2.1 video
// fixture, 4 frames): the mattes are RLE in DWA, so they equal the ZIP run's
// bit for bit; exrheader names the compression.
START_TEST(test_track_cli_dwa) {
    char roto[PATH_MAX], root[PATH_MAX], dir[PATH_MAX], p[2 * PATH_MAX];
    cu_find_roto(roto, root, "tests/fixtures/sam2_video/small/index.json");
    cu_make_tmp(dir, sizeof dir, "exr_dwa_track");
    snprintf(p, sizeof p, "%s/seq", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    for (int i = 0; i < 4; i++) {
        size_t n;
        snprintf(p, sizeof p, "%s/tests/fixtures/sam2_video/small/frame_%05d.png", root, i);
        void *png = cu_must_read(p, &n);
        snprintf(p, sizeof p, "%s/seq/plate.%04d.png", dir, 1001 + i);
        FILE *f = fopen(p, "wb");
        ck_assert(f && fwrite(png, 1, n, f) == n);
        fclose(f);
        free(png);
    }
    snprintf(p, sizeof p, "%s/p.json", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"objects\": [{\"name\": \"bed\", \"keyframes\": [{\"frame\": 1001, \"points\": [[70, 40]]}]}]}\n", f);
    fclose(f);
    static const char *comps[3] = {"zip", "dwaa", "dwab"};
    for (int k = 0; k < 3; k++) {
        char cmd[4 * PATH_MAX];
        snprintf(cmd, sizeof cmd,
                 "'%s' track -m '%s/tests/fixtures/sam2_video/small/weights.safetensors' --config "
                 "'%s/tests/fixtures/sam2_video/small/index.json' --threads 1 -i seq/plate.####.png --prompts p.json "
                 "--exr-out %s/m.####.exr --compression %s -q",
                 roto, root, root, comps[k], comps[k]);
        cu_result r = cu_run(dir, cmd, 0);
        ck_assert_msg(r.code == 0, "roto track --compression %s: %s", comps[k], r.err);
        cu_result_free(&r);
    }
    for (int fr = 1001; fr <= 1004; fr++) {
        snprintf(p, sizeof p, "%s/zip/m.%04d.exr", dir, fr);
        roto_frame z = read_channels(p, "obj_bed.A");
        for (int k = 1; k < 3; k++) {
            snprintf(p, sizeof p, "%s/%s/m.%04d.exr", dir, comps[k], fr);
            roto_frame d = read_channels(p, "obj_bed.A");
            ck_assert(d.width == z.width && d.height == z.height);
            ck_assert_msg(!memcmp(d.data, z.data, roto_frame_bytes(&z)), "%s frame %d differs from zip", comps[k], fr);
            roto_frame_free(&d);
            if (fr == 1001 && have_tool("exrheader")) {
                char cmd[2 * PATH_MAX + 32], out[8192];
                snprintf(cmd, sizeof cmd, "exrheader '%s' 2>&1", p);
                ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 0);
                ck_assert_msg(strstr(out, k == 1 ? "dwa, small scanline blocks" : "dwa, medium scanline blocks"), "%s",
                              out);
            }
        }
        roto_frame_free(&z);
    }
    cu_rm_rf(dir);
}
END_TEST

// ---- the block codec directly -----------------------------------------------------------------

// Random chunks: channel names hitting every rule, random types, sizes from 1x1
// up, data with half specials in lossless channels. Lossless channels must
// come back bit for bit; lossy ones (smooth data) close on the perceptual curve.
START_TEST(test_codec_roundtrip) {
    static const char *pool[] = {"R", "G", "B", "A", "Y", "BY", "RY", "Z", "id", "x.R", "x.G", "x.B", "x.A", "N.X"};
    static const int sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {8, 8}, {7, 13}, {13, 32}, {33, 17}, {64, 3}, {100, 40}};
    tu_rng r;
    tu_rng_seed(&r, 7);
    double worst = 0;
    for (int iter = 0; iter < 60; iter++) {
        int w = sizes[iter % 9][0], h = sizes[iter % 9][1];
        roto_dwa_channel ch[8];
        int nch = 0;
        for (size_t p = 0; p < sizeof pool / sizeof *pool && nch < 8; p++)
            if (tu_rng_uniform(&r) < 0.45) ch[nch++] = (roto_dwa_channel){pool[p], tu_rng_int(&r, 0, 2), tu_rng_int(&r, 0, 1)};
        if (!nch) ch[nch++] = (roto_dwa_channel){"R", ROTO_DWA_HALF, 0};
        size_t raw = roto_dwa_raw_size(ch, nch, w, h), line = raw / (size_t)h;
        uint8_t *src = malloc(raw), *dst = malloc(raw);
        int smooth = iter % 2;
        size_t off = 0;
        for (int c = 0; c < nch; c++) {
            size_t b = ch[c].type == ROTO_DWA_HALF ? 2 : 4;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    uint8_t *px = src + (size_t)y * line + off + (size_t)x * b;
                    double v = smooth ? 0.3 + 0.5 * sin(0.2 * x + c) * cos(0.15 * y) : tu_rng_uniform(&r) * 4 - 1;
                    if (ch[c].type == ROTO_DWA_UINT) {
                        uint32_t u = (uint32_t)tu_rng_u64(&r);
                        memcpy(px, &u, 4);
                    } else if (ch[c].type == ROTO_DWA_FLOAT) {
                        float f = (float)v;
                        memcpy(px, &f, 4);
                    } else {
                        // Half: sometimes any bit pattern (inf, NaN, denormals) in non-smooth chunks.
                        uint16_t hv = !smooth && tu_rng_uniform(&r) < 0.1 ? (uint16_t)tu_rng_u64(&r) : rt_f32_to_f16((float)v);
                        memcpy(px, &hv, 2);
                    }
                }
            off += (size_t)w * b;
        }
        roto_dwa_opts o = {tu_rng_uniform(&r) < 0.3 ? 100.0f : 45.0f, iter % 3 == 0, 0};
        uint8_t *blk = NULL;
        size_t n = 0;
        ck_assert_msg(roto_dwa_encode(src, raw, ch, nch, w, h, &o, &blk, &n) == ROTO_OK, "%s", roto_last_error());
        memset(dst, 0xee, raw);
        ck_assert_msg(roto_dwa_decode(blk, n, ch, nch, w, h, dst, raw) == ROTO_OK, "iter %d: %s", iter,
                      roto_last_error());
        off = 0;
        for (int c = 0; c < nch; c++) {
            size_t b = ch[c].type == ROTO_DWA_HALF ? 2 : 4;
            int lossy = roto_dwa_default_scheme(ch[c].name, ch[c].type) == ROTO_DWA_LOSSY_DCT;
            for (int y = 0; y < h; y++) {
                const uint8_t *a = src + (size_t)y * line + off, *d = dst + (size_t)y * line + off;
                if (!lossy) {
                    ck_assert_msg(!memcmp(a, d, (size_t)w * b), "iter %d channel %s row %d differs", iter, ch[c].name, y);
                    continue;
                }
                for (int x = 0; x < w && smooth; x++) {
                    float fa, fd;
                    if (b == 2) {
                        uint16_t ha, hd;
                        memcpy(&ha, a + 2 * x, 2);
                        memcpy(&hd, d + 2 * x, 2);
                        fa = rt_f16_to_f32(ha);
                        fd = rt_f16_to_f32(hd);
                    } else {
                        memcpy(&fa, a + 4 * x, 4);
                        memcpy(&fd, d + 4 * x, 4);
                        ck_assert_msg(fd == rt_f16_to_f32(rt_f32_to_f16(fd)), "float lossy value not a half");
                    }
                    // pLinear lone channels skip the curve: compare linearly there.
                    int curve = !(ch[c].p_linear && strcmp(ch[c].name, "R") && strcmp(ch[c].name, "x.R") &&
                                  strcmp(ch[c].name, "G") && strcmp(ch[c].name, "x.G") && strcmp(ch[c].name, "B") &&
                                  strcmp(ch[c].name, "x.B"));
                    double e = curve ? fabs(perceptual(fd) - perceptual(fa)) : fabs(fd - fa);
                    if (o.level == 45.0f) worst = fmax(worst, e);
                    ck_assert_msg(e < 0.1, "iter %d %s (%d,%d): %g -> %g", iter, ch[c].name, x, y, fa, fd);
                }
            }
            off += (size_t)w * b;
        }
        free(blk);
        free(src);
        free(dst);
    }
    printf("test_exr_dwa: codec round trips: smooth lossy channels within %.4f at level 45\n", worst);
}
END_TEST

// A higher level quantises harder: smaller blocks, larger errors; the
// deflate AC variant decodes like the Huffman one.
START_TEST(test_levels_and_ac_modes) {
    const int w = 64, h = 32;
    roto_dwa_channel ch[3] = {{"B", ROTO_DWA_HALF, 0}, {"G", ROTO_DWA_HALF, 0}, {"R", ROTO_DWA_HALF, 0}};
    size_t raw = roto_dwa_raw_size(ch, 3, w, h);
    uint8_t *src = malloc(raw), *dst = malloc(raw), *dst2 = malloc(raw);
    tu_rng r;
    tu_rng_seed(&r, 3);
    for (int y = 0; y < h; y++)
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < w; x++) {
                uint16_t v = rt_f32_to_f16((float)(0.2 + 0.6 * x / w * (c + 1) / 3 + 0.05 * tu_rng_uniform(&r)));
                memcpy(src + (size_t)y * w * 6 + (size_t)c * w * 2 + 2 * x, &v, 2);
            }
    static const float levels[3] = {5, 45, 300};
    size_t prev_n = SIZE_MAX;
    double prev_e = -1;
    for (int l = 0; l < 3; l++) {
        uint8_t *blk, *blk2;
        size_t n, n2;
        roto_dwa_opts o = {levels[l], 0, 6}, o2 = {levels[l], 1, 6};
        ck_assert_int_eq(roto_dwa_encode(src, raw, ch, 3, w, h, &o, &blk, &n), ROTO_OK);
        ck_assert_int_eq(roto_dwa_encode(src, raw, ch, 3, w, h, &o2, &blk2, &n2), ROTO_OK);
        ck_assert_int_eq(roto_dwa_decode(blk, n, ch, 3, w, h, dst, raw), ROTO_OK);
        ck_assert_int_eq(roto_dwa_decode(blk2, n2, ch, 3, w, h, dst2, raw), ROTO_OK);
        ck_assert_msg(!memcmp(dst, dst2, raw), "Huffman and deflate AC decode differently");
        double e = 0;
        for (size_t i = 0; i < raw / 2; i++) {
            uint16_t a, b;
            memcpy(&a, src + 2 * i, 2);
            memcpy(&b, dst + 2 * i, 2);
            e = fmax(e, fabs(perceptual(rt_f16_to_f32(a)) - perceptual(rt_f16_to_f32(b))));
        }
        ck_assert_msg(n < prev_n && e > prev_e, "level %g: %zu bytes, error %g", levels[l], n, e);
        prev_n = n;
        prev_e = e;
        free(blk);
        free(blk2);
    }
    free(src);
    free(dst);
    free(dst2);
}
END_TEST

// ---- corrupt input ---------------------------------------------------------------------------

// Every truncation of a block fails with a format error naming DWA; every
// single-byte corruption decodes or fails cleanly (ASan checks the reads).
static void corrupt_block(const char *file, int tiled, int k, int w, int h) {
    size_t fn, n;
    uint8_t *f = cu_must_read(fix(file), &fn);
    const uint8_t *blk = exr_chunk(f, fn, tiled, k, &n);
    size_t raw = roto_dwa_raw_size(k_fixture_ch, 12, w, h);
    uint8_t *out = malloc(raw), *bad = malloc(n);
    ck_assert_msg(roto_dwa_decode(blk, n, k_fixture_ch, 12, w, h, out, raw) == ROTO_OK, "%s", roto_last_error());
    for (size_t len = 0; len < n; len++) {
        memcpy(bad, blk, len);
        roto_status st = roto_dwa_decode(bad, len, k_fixture_ch, 12, w, h, out, raw);
        ck_assert_msg(st == ROTO_ERR_FORMAT, "%s truncated to %zu bytes: %d", file, len, st);
        ck_assert_msg(strstr(roto_last_error(), "DWA block: "), "%s", roto_last_error());
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, blk, n);
        bad[i] ^= (uint8_t)(1u << (i % 8)) | 0x80u;
        roto_status st = roto_dwa_decode(bad, n, k_fixture_ch, 12, w, h, out, raw);
        ck_assert_msg(st == ROTO_OK || st == ROTO_ERR_FORMAT, "%s byte %zu: %d %s", file, i, st, roto_last_error());
        failed += st != ROTO_OK;
    }
    printf("test_exr_dwa: %s: %zu truncations fail; %d of %zu corrupted bytes detected, the rest decode\n", file, n,
           failed, n);
    free(out);
    free(bad);
    free(f);
}

START_TEST(test_corrupt_blocks) {
    corrupt_block("exr_dwab_scan.exr", 0, 0, 13, 33);  // Huffman AC
    corrupt_block("exr_dwaa_tile.exr", 1, 0, 13, 16);  // deflated AC
}
END_TEST

// Hand-made damage with the message each gives.
START_TEST(test_corrupt_messages) {
    size_t fn, n;
    uint8_t *f = cu_must_read(fix("exr_dwab_scan.exr"), &fn);
    const uint8_t *blk = exr_chunk(f, fn, 0, 0, &n);
    size_t raw = roto_dwa_raw_size(k_fixture_ch, 12, 13, 33);
    uint8_t *out = malloc(raw), *bad = malloc(n);
    struct {
        size_t at;  // byte to overwrite with 8 little-endian bytes of value
        uint64_t value;
        const char *msg;
    } cases[] = {
        {8 * 3, (uint64_t)1 << 62, "AC stream"},                  // AC size beyond the block
        {8 * 8, (uint64_t)1 << 40, "coefficients do not fit"},    // AC count
        {8 * 9, 3, "coefficients do not fit"},                    // DC count
        {8 * 1, 7, "UNKNOWN data of 7 bytes"},                    // UNKNOWN raw size
        {8 * 7, 1, "RLE data of 1 bytes"},                        // RLE raw size
        {8 * 10, 9, "unknown AC compression 9"},                  // AC compression
        {88, 0xffff, "channel rules of 65535 bytes"},             // rule table size (2 bytes used)
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(bad, blk, n);
        for (int b = 0; b < (cases[i].at == 88 ? 2 : 8); b++) bad[cases[i].at + b] = (uint8_t)(cases[i].value >> (8 * b));
        ck_assert_int_eq(roto_dwa_decode(bad, n, k_fixture_ch, 12, 13, 33, out, raw), ROTO_ERR_FORMAT);
        ck_assert_msg(strstr(roto_last_error(), cases[i].msg), "case %zu: %s", i, roto_last_error());
    }
    // The Huffman header inside the AC stream: min symbol above max.
    roto_dwa_info info;
    ck_assert_int_eq(roto_dwa_block_info(blk, n, &info), ROTO_OK);
    size_t ac_at = 88 + (size_t)(blk[88] | blk[89] << 8) + (size_t)info.unknown_packed;
    memcpy(bad, blk, n);
    bad[ac_at] = 0xff;
    bad[ac_at + 1] = 0xff;
    ck_assert_int_eq(roto_dwa_decode(bad, n, k_fixture_ch, 12, 13, 33, out, raw), ROTO_ERR_FORMAT);
    ck_assert_msg(strstr(roto_last_error(), "Huffman symbol range"), "%s", roto_last_error());
    // A rule the reader does not know (scheme 3).
    memcpy(bad, blk, n);
    bad[88 + 2 + 2] = 0x1c;  // "R\0" then csc 0, scheme 3
    ck_assert_int_eq(roto_dwa_decode(bad, n, k_fixture_ch, 12, 13, 33, out, raw), ROTO_ERR_FORMAT);
    ck_assert_msg(strstr(roto_last_error(), "channel rule 0"), "%s", roto_last_error());
    // Wrong caller sizes are argument errors, not format errors.
    ck_assert_int_eq(roto_dwa_decode(blk, n, k_fixture_ch, 12, 13, 33, out, raw - 1), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_dwa_decode(blk, n, k_fixture_ch, 0, 13, 33, out, raw), ROTO_ERR_INVALID_ARG);
    free(out);
    free(bad);
    free(f);
}
END_TEST

// Whole files through roto's reader: every byte of the chunk data of a small
// DWA file flipped, and random multi-byte damage (seeded): a clean status,
// and when it fails, a message naming the file.
START_TEST(test_corrupt_files) {
    static const char *files[2] = {"exr_dwaa_scan.exr", "exr_dwab_tile.exr"};
    tu_rng r;
    tu_rng_seed(&r, 11);
    for (int k = 0; k < 2; k++) {
        size_t n, bn;
        uint8_t *f = cu_must_read(fix(files[k]), &n);
        const uint8_t *blk = exr_chunk(f, n, k, 0, &bn);
        size_t start = (size_t)(blk - f) - (k ? 20 : 8);  // the chunk table ends here: flip from the first chunk on
        uint8_t *bad = malloc(n);
        int failed = 0, total = 0;
        for (size_t i = start; i < n; i++, total++) {
            memcpy(bad, f, n);
            bad[i] ^= 0x5a;
            roto_frame fr;
            roto_status st = roto_image_decode(bad, n, files[k], ROTO_FMT_EXR, NULL, &fr);
            if (st == ROTO_OK) {
                roto_frame_free(&fr);
                continue;
            }
            failed++;
            ck_assert_msg(strstr(roto_last_error(), files[k]), "%s", roto_last_error());
        }
        for (int t = 0; t < 300; t++, total++) {
            memcpy(bad, f, n);
            int hits = tu_rng_int(&r, 1, 8);
            for (int j = 0; j < hits; j++) bad[start + (size_t)tu_rng_int(&r, 0, (int)(n - start - 1))] = (uint8_t)tu_rng_u64(&r);
            size_t len = tu_rng_uniform(&r) < 0.3 ? start + (size_t)tu_rng_int(&r, 0, (int)(n - start)) : n;
            roto_frame fr;
            if (roto_image_decode(bad, len, files[k], ROTO_FMT_EXR, NULL, &fr) == ROTO_OK) roto_frame_free(&fr);
            else failed++;
        }
        printf("test_exr_dwa: %s: %d of %d damaged files rejected, the rest decode\n", files[k], failed, total);
        free(bad);
        free(f);
    }
}
END_TEST

// Found by fuzz_image_exr while testing DWA: a tile description of 56080x4096
// on a 40x24 image made the reader allocate 3.6 GB of chunk planes; they are
// now sized by the tile clipped to the data window.
START_TEST(test_huge_tile_description) {
    size_t n;
    uint8_t *f = cu_must_read(fix("exr_tiled.exr"), &n);
    uint8_t *p = memmem(f, n, "tiledesc", 9);
    ck_assert_ptr_nonnull(p);
    p += 9 + 4;  // type name, size
    uint32_t tw = 56080, th = 4096;
    memcpy(p, &tw, 4);
    memcpy(p + 4, &th, 4);
    // With 1 GB of data space the old 3.6 GB allocation fails (an OOM error);
    // not under ASan, whose shadow memory counts as data.
    struct rlimit old_lim, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_DATA, &old_lim), 0);
    lim = old_lim;
#ifndef __SANITIZE_ADDRESS__
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > ((rlim_t)1 << 30)) lim.rlim_cur = (rlim_t)1 << 30;
#endif
    ck_assert_int_eq(setrlimit(RLIMIT_DATA, &lim), 0);
    roto_frame fr;
    roto_status st = roto_image_decode(f, n, "huge_tiles.exr", ROTO_FMT_EXR, NULL, &fr);
    ck_assert_int_eq(setrlimit(RLIMIT_DATA, &old_lim), 0);
    ck_assert_msg(st != ROTO_ERR_OOM, "%s", roto_last_error());
    if (st == ROTO_OK) roto_frame_free(&fr);
    else ck_assert_msg(strstr(roto_last_error(), "huge_tiles.exr"), "%s", roto_last_error());
    free(f);
}
END_TEST

static Suite *exr_dwa_suite(void) {
    Suite *s = suite_create("exr_dwa");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_decode_official_files);
    tcase_add_test(tc, test_block_versions);
    tcase_add_test(tc, test_encoder_matches_openexr);
    tcase_add_test(tc, test_encode_official_decode);
    tcase_add_test(tc, test_tiles_match_openexr);
    tcase_add_test(tc, test_track_cli_dwa);
    tcase_add_test(tc, test_codec_roundtrip);
    tcase_add_test(tc, test_levels_and_ac_modes);
    tcase_add_test(tc, test_corrupt_blocks);
    tcase_add_test(tc, test_corrupt_messages);
    tcase_add_test(tc, test_corrupt_files);
    tcase_add_test(tc, test_huge_tile_description);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(exr_dwa_suite)
