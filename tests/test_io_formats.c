// test_io_formats.c: write -> read round trips for every format and bit depth
// (exact for integer formats and float EXR/TIFF, half precision for half EXR),
// metadata round trips (fps, timecode, chromaticities, pixel aspect, DPX
// transfer), EXR windows, channel/layer selection, and the multi-layer matte
// EXR checked with OpenEXR's own `exrheader`.

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/dtype.h"
#include "io/exr.h"
#include "io/image.h"
#include "util/test_util.h"

// ---- helpers ------------------------------------------------------------------

static char g_dir[64];

static void make_dir(void) {
    strcpy(g_dir, "/tmp/roto_io_fmt_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static int rm_cb(const char *p, const struct stat *s, int t, struct FTW *f) {
    (void)s, (void)t, (void)f;
    return remove(p);
}
static void remove_dir(void) { nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", g_dir, name); }

// A frame of random codes (U16) or random floats (F32, including values
// outside [0,1] and negatives, which float formats must keep).
static void random_frame(roto_frame *f, int w, int h, int ch, roto_pixel_type t, int bits, uint64_t seed) {
    ck_assert_int_eq(roto_frame_alloc(f, w, h, ch, t, bits), ROTO_OK);
    tu_rng r;
    tu_rng_seed(&r, seed);
    size_t n = roto_frame_pixels(f) * (size_t)ch;
    if (t == ROTO_PIX_U16) {
        uint16_t *d = f->data;
        for (size_t i = 0; i < n; i++) d[i] = (uint16_t)(tu_rng_u64(&r) & ((1u << bits) - 1u));
    } else {
        float *d = f->data;
        for (size_t i = 0; i < n; i++) d[i] = (float)(tu_rng_uniform(&r) * 3.0 - 1.0);
    }
}

static void assert_same_codes(const roto_frame *a, const roto_frame *b, const char *what) {
    ck_assert_msg(a->width == b->width && a->height == b->height && a->channels == b->channels,
                  "%s: shape %dx%dx%d vs %dx%dx%d", what, a->width, a->height, a->channels, b->width, b->height,
                  b->channels);
    ck_assert_msg(a->type == b->type && a->bit_depth == b->bit_depth, "%s: type %d/%d bits %d/%d", what, a->type,
                  b->type, a->bit_depth, b->bit_depth);
    ck_assert_msg(!memcmp(a->data, b->data, roto_frame_bytes(a)), "%s: pixels differ", what);
}

static roto_frame roundtrip(const char *name, const roto_frame *f, const roto_write_opts *o) {
    char p[256];
    path_in(p, sizeof p, name);
    roto_status st = roto_image_write(p, f, o);
    ck_assert_msg(st == ROTO_OK, "write %s: %s", name, roto_last_error());
    roto_frame g;
    st = roto_image_read(p, NULL, &g);
    ck_assert_msg(st == ROTO_OK, "read %s: %s", name, roto_last_error());
    return g;
}

// ---- integer formats: exact -----------------------------------------------------------

START_TEST(test_png_roundtrip) {
    make_dir();
    for (int ch = 1; ch <= 4; ch++)
        for (int bits = 8; bits <= 16; bits += 8) {
            roto_frame f, g;
            random_frame(&f, 37, 19, ch, ROTO_PIX_U16, bits, (uint64_t)(ch * 100 + bits));
            char name[64];
            snprintf(name, sizeof name, "rt_%d_%d.png", ch, bits);
            g = roundtrip(name, &f, NULL);
            assert_same_codes(&f, &g, name);
            ck_assert_int_eq(g.meta.source_format, ROTO_FMT_PNG);
            roto_frame_free(&f);
            roto_frame_free(&g);
        }
    remove_dir();
}
END_TEST

START_TEST(test_tiff_roundtrip) {
    make_dir();
    const roto_tiff_compression comps[3] = {ROTO_TIFF_NONE, ROTO_TIFF_LZW, ROTO_TIFF_DEFLATE};
    for (int ch = 1; ch <= 4; ch++)
        for (int bits = 8; bits <= 32; bits *= 2) {
            for (int c = 0; c < 3; c++) {
                roto_frame f, g;
                random_frame(&f, 41, 23, ch, bits == 32 ? ROTO_PIX_F32 : ROTO_PIX_U16, bits,
                             (uint64_t)(ch * 1000 + bits * 10 + c));
                roto_write_opts o;
                roto_write_opts_init(&o);
                o.tiff_compression = comps[c];
                char name[64];
                snprintf(name, sizeof name, "rt_%d_%d_%d.tif", ch, bits, c);
                g = roundtrip(name, &f, &o);
                assert_same_codes(&f, &g, name);
                roto_frame_free(&f);
                roto_frame_free(&g);
            }
        }
    remove_dir();
}
END_TEST

START_TEST(test_dpx_roundtrip) {
    make_dir();
    const int chans[3] = {1, 3, 4}, depths[4] = {8, 10, 12, 16};
    for (int ci = 0; ci < 3; ci++)
        for (int di = 0; di < 4; di++)
            for (int le = 0; le <= 1; le++) {
                roto_frame f, g;
                // 37 wide: 10-bit lines end in a partly filled word for 1 and 4 channels
                random_frame(&f, 37, 5, chans[ci], ROTO_PIX_U16, depths[di], (uint64_t)(ci * 100 + di * 10 + le));
                roto_write_opts o;
                roto_write_opts_init(&o);
                o.dpx_little_endian = le;
                char name[64];
                snprintf(name, sizeof name, "rt_%d_%d_%d.dpx", chans[ci], depths[di], le);
                g = roundtrip(name, &f, &o);
                assert_same_codes(&f, &g, name);
                roto_frame_free(&f);
                roto_frame_free(&g);
            }
    remove_dir();
}
END_TEST

// The 10-bit method A layout, checked byte by byte on a tiny file.
START_TEST(test_dpx_10bit_layout) {
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 2, 1, 3, ROTO_PIX_U16, 10), ROTO_OK);
    uint16_t *d = f.data;
    const uint16_t v[6] = {1023, 512, 1, 3, 700, 0};
    memcpy(d, v, sizeof v);
    void *buf;
    size_t n;
    roto_write_opts o;
    roto_write_opts_init(&o);
    ck_assert_int_eq(roto_image_encode(&f, ROTO_FMT_DPX, &o, "x.dpx", &buf, &n), ROTO_OK);
    ck_assert_uint_eq(n, 2048 + 8);
    const unsigned char *p = (const unsigned char *)buf;
    ck_assert(!memcmp(p, "SDPX", 4));
    uint32_t w0 = (uint32_t)p[2048] << 24 | (uint32_t)p[2049] << 16 | (uint32_t)p[2050] << 8 | p[2051];
    ck_assert_uint_eq(w0, (1023u << 22) | (512u << 12) | (1u << 2));
    ck_assert_int_eq(p[780 + 23], 10);  // bit size
    ck_assert_int_eq(p[780 + 25], 1);   // packing 1 (big-endian u16 at 804)
    free(buf);
    roto_frame_free(&f);
}
END_TEST

// Depth conversion on write: codes are rescaled with rounding, floats clamped.
START_TEST(test_depth_conversion) {
    make_dir();
    roto_frame f, g;
    ck_assert_int_eq(roto_frame_alloc(&f, 4, 1, 1, ROTO_PIX_F32, 32), ROTO_OK);
    float *d = f.data;
    d[0] = -0.5f;
    d[1] = 0.5f;
    d[2] = 1.7f;
    d[3] = NAN;
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.bit_depth = 8;
    g = roundtrip("clamp.png", &f, &o);
    const uint16_t *u = g.data;
    ck_assert_int_eq(u[0], 0);
    ck_assert_int_eq(u[1], 128);  // 0.5 * 255 = 127.5 rounds up
    ck_assert_int_eq(u[2], 255);
    ck_assert_int_eq(u[3], 0);
    roto_frame_free(&g);
    roto_frame_free(&f);
    // 10-bit codes to 16-bit: 1023 -> 65535, 512 -> round(512*65535/1023)
    ck_assert_int_eq(roto_frame_alloc(&f, 2, 1, 1, ROTO_PIX_U16, 10), ROTO_OK);
    ((uint16_t *)f.data)[0] = 1023;
    ((uint16_t *)f.data)[1] = 512;
    o.bit_depth = 16;
    g = roundtrip("rescale.png", &f, &o);
    ck_assert_int_eq(((uint16_t *)g.data)[0], 65535);
    ck_assert_int_eq(((uint16_t *)g.data)[1], (int)((512.0 * 65535.0 / 1023.0) + 0.5));
    roto_frame_free(&g);
    roto_frame_free(&f);
    remove_dir();
}
END_TEST

START_TEST(test_jpeg_roundtrip) {
    make_dir();
    for (int ch = 1; ch <= 3; ch += 2) {
        roto_frame f, g;
        ck_assert_int_eq(roto_frame_alloc(&f, 48, 32, ch, ROTO_PIX_U16, 8), ROTO_OK);
        uint16_t *d = f.data;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 48; x++)
                for (int c = 0; c < ch; c++) d[(y * 48 + x) * ch + c] = (uint16_t)(x * 3 + y * 2 + c * 25);
        roto_write_opts o;
        roto_write_opts_init(&o);
        o.jpeg_quality = 100;
        char name[32];
        snprintf(name, sizeof name, "rt_%d.jpg", ch);
        g = roundtrip(name, &f, &o);
        ck_assert_int_eq(g.channels, ch);
        ck_assert_int_eq(g.bit_depth, 8);
        // Lossy: chroma subsampling and DCT rounding on smooth ramps.
        double sum = 0, maxe = 0;
        size_t n = roto_frame_pixels(&f) * (size_t)ch;
        for (size_t i = 0; i < n; i++) {
            double e = fabs((double)((uint16_t *)g.data)[i] - d[i]);
            sum += e;
            if (e > maxe) maxe = e;
        }
        ck_assert_msg(sum / n < 2.0 && maxe <= 12, "jpeg %d ch: mean err %.2f max %.0f codes", ch, sum / n, maxe);
        roto_frame_free(&f);
        roto_frame_free(&g);
    }
    // Alpha cannot go to JPEG: a clear error, not a silent drop.
    roto_frame f;
    random_frame(&f, 4, 4, 4, ROTO_PIX_U16, 8, 1);
    char p[256];
    path_in(p, sizeof p, "alpha.jpg");
    ck_assert_int_eq(roto_image_write(p, &f, NULL), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "alpha.jpg"));
    ck_assert(access(p, F_OK) != 0);
    roto_frame_free(&f);
    remove_dir();
}
END_TEST

// ---- EXR -----------------------------------------------------------------------------

static float half_round(float v) { return rt_f16_to_f32(rt_f32_to_f16(v)); }

START_TEST(test_exr_roundtrip) {
    make_dir();
    const roto_exr_compression lossless[5] = {ROTO_EXR_NONE, ROTO_EXR_RLE, ROTO_EXR_ZIPS, ROTO_EXR_ZIP, ROTO_EXR_PIZ};
    for (int ch = 1; ch <= 4; ch++)
        for (int bits = 16; bits <= 32; bits += 16)
            for (int c = 0; c < 5; c++) {
                roto_frame f, g;
                random_frame(&f, 45, 37, ch, ROTO_PIX_F32, 32, (uint64_t)(ch * 100 + bits + c));
                roto_write_opts o;
                roto_write_opts_init(&o);
                o.bit_depth = bits;
                o.exr_compression = lossless[c];
                char name[64];
                snprintf(name, sizeof name, "rt_%d_%d_%s.exr", ch, bits, roto_exr_compression_name(lossless[c]));
                g = roundtrip(name, &f, &o);
                ck_assert_int_eq(g.channels, ch);
                ck_assert_int_eq(g.type, ROTO_PIX_F32);
                ck_assert_int_eq(g.bit_depth, bits);
                const float *a = f.data, *b = g.data;
                size_t n = roto_frame_pixels(&f) * (size_t)ch;
                for (size_t i = 0; i < n; i++) {
                    float want = bits == 16 ? half_round(a[i]) : a[i];
                    ck_assert_msg(b[i] == want, "%s: element %zu: %g vs %g", name, i, (double)b[i], (double)want);
                }
                // Default names Y / Y,A / R,G,B / R,G,B,A
                ck_assert_str_eq(g.channel_names[0], ch <= 2 ? "Y" : "R");
                roto_frame_free(&f);
                roto_frame_free(&g);
            }
    remove_dir();
}
END_TEST

// Lossy codecs on a smooth image: PXR24 (float rounded to 24 bits), B44 (half),
// DWAA/DWAB (roto's codec, level 45: measured max error 0.0051 on this image).
START_TEST(test_exr_lossy) {
    make_dir();
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 32, 16, 3, ROTO_PIX_F32, 32), ROTO_OK);
    float *d = f.data;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 32; x++)
            for (int c = 0; c < 3; c++) d[(y * 32 + x) * 3 + c] = (float)(x + 2 * y + c) / 64.0f;
    struct {
        roto_exr_compression c;
        int bits;
        double tol;
    } cases[5] = {{ROTO_EXR_PXR24, 32, 1e-4}, {ROTO_EXR_B44, 16, 2e-2}, {ROTO_EXR_B44A, 16, 2e-2},
                  {ROTO_EXR_DWAA, 32, 8e-3}, {ROTO_EXR_DWAB, 16, 8e-3}};
    for (int k = 0; k < 5; k++) {
        roto_write_opts o;
        roto_write_opts_init(&o);
        o.exr_compression = cases[k].c;
        o.bit_depth = cases[k].bits;
        char name[32];
        snprintf(name, sizeof name, "lossy_%d.exr", k);
        roto_frame g = roundtrip(name, &f, &o);
        double maxe = 0;
        for (size_t i = 0; i < 32 * 16 * 3; i++) maxe = fmax(maxe, fabs((double)((float *)g.data)[i] - d[i]));
        ck_assert_msg(maxe <= cases[k].tol, "%s: max error %g", roto_exr_compression_name(cases[k].c), maxe);
        roto_frame_free(&g);
    }
    roto_frame_free(&f);
    remove_dir();
}
END_TEST

START_TEST(test_exr_metadata) {
    make_dir();
    roto_frame f;
    random_frame(&f, 20, 10, 3, ROTO_PIX_F32, 32, 7);
    f.meta.has_fps = 1;
    f.meta.fps = (roto_rational){24000, 1001};
    f.meta.has_timecode = 1;
    ck_assert_int_eq(roto_timecode_from_string("10:20:30;12", &f.meta.timecode), ROTO_OK);
    f.meta.timecode_user = 0x1234;
    f.meta.has_chromaticities = 1;
    const float chroma[8] = {0.64f, 0.33f, 0.3f, 0.6f, 0.15f, 0.06f, 0.3127f, 0.329f};
    memcpy(f.meta.chromaticities, chroma, sizeof chroma);
    f.meta.pixel_aspect = 2.0f;
    roto_frame g = roundtrip("meta.exr", &f, NULL);
    ck_assert(g.meta.has_fps && g.meta.fps.num == 24000 && g.meta.fps.den == 1001);
    ck_assert(g.meta.has_timecode);
    char tc[16];
    roto_timecode_to_string(g.meta.timecode, tc);
    ck_assert_str_eq(tc, "10:20:30;12");
    ck_assert_uint_eq(g.meta.timecode_user, 0x1234);
    ck_assert(g.meta.has_chromaticities);
    for (int i = 0; i < 8; i++) ck_assert_float_eq(g.meta.chromaticities[i], chroma[i]);
    ck_assert_float_eq(g.meta.pixel_aspect, 2.0f);
    ck_assert_int_eq(g.meta.transfer, ROTO_TF_LINEAR);
    roto_frame_free(&f);
    roto_frame_free(&g);
    remove_dir();
}
END_TEST

START_TEST(test_dpx_metadata) {
    make_dir();
    roto_frame f;
    random_frame(&f, 8, 4, 3, ROTO_PIX_U16, 10, 9);
    f.meta.has_fps = 1;
    f.meta.fps = (roto_rational){24000, 1001};
    f.meta.has_timecode = 1;
    ck_assert_int_eq(roto_timecode_from_string("01:00:00:00", &f.meta.timecode), ROTO_OK);
    f.meta.dpx_transfer = 1;  // printing density (log)
    f.meta.pixel_aspect = 2.0f;
    roto_frame g = roundtrip("meta.dpx", &f, NULL);
    ck_assert(g.meta.has_fps && g.meta.fps.num == 24000 && g.meta.fps.den == 1001);
    char tc[16];
    roto_timecode_to_string(g.meta.timecode, tc);
    ck_assert_str_eq(tc, "01:00:00:00");
    ck_assert_int_eq(g.meta.dpx_transfer, 1);
    ck_assert_int_eq(g.meta.transfer, ROTO_TF_LOG);
    ck_assert_float_eq_tol(g.meta.pixel_aspect, 2.0f, 1e-4f);
    roto_frame_free(&g);
    f.meta.fps = (roto_rational){25, 1};
    f.meta.dpx_transfer = -1;
    f.meta.transfer = ROTO_TF_LINEAR;
    g = roundtrip("meta2.dpx", &f, NULL);
    ck_assert(g.meta.fps.num == 25 && g.meta.fps.den == 1);
    ck_assert_int_eq(g.meta.dpx_transfer, 2);
    ck_assert_int_eq(g.meta.transfer, ROTO_TF_LINEAR);
    roto_frame_free(&f);
    roto_frame_free(&g);
    remove_dir();
}
END_TEST

START_TEST(test_timecode_strings) {
    uint32_t tc;
    ck_assert_int_eq(roto_timecode_from_string("23:59:59:29", &tc), ROTO_OK);
    ck_assert_uint_eq(tc, 0x23595929u);  // BCD digits in the SMPTE 12M positions
    char s[16];
    roto_timecode_to_string(tc, s);
    ck_assert_str_eq(s, "23:59:59:29");
    ck_assert_int_eq(roto_timecode_from_string("24:00:00:00", &tc), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_timecode_from_string("1:2:3", &tc), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_timecode_from_string("01:02:03:04x", &tc), ROTO_ERR_INVALID_ARG);
}
END_TEST

// A data window inside / overlapping the display window: the frame covers the
// display window with zeros where there is no data; data outside is dropped.
START_TEST(test_exr_windows) {
    make_dir();
    const int W = 12, H = 8, dw = 6, dh = 5;
    float plane[6 * 5];
    for (int i = 0; i < dw * dh; i++) plane[i] = (float)(i + 1);
    const int origins[2][2] = {{3, 2}, {-2, 5}};  // inside; sticking out left and bottom
    for (int k = 0; k < 2; k++) {
        roto_frame_meta meta;
        roto_frame_meta_init(&meta, W, H);
        roto_exr_opts o;
        roto_exr_opts_init(&o);
        o.meta = &meta;
        o.has_data_window = 1;
        int ox = origins[k][0], oy = origins[k][1];
        o.data_window = (roto_box){ox, oy, ox + dw - 1, oy + dh - 1};
        roto_exr_channel ch = {"Y", plane, 1, ROTO_EXR_FLOAT};
        char p[256];
        path_in(p, sizeof p, k ? "win1.exr" : "win0.exr");
        ck_assert_msg(roto_exr_write_channels(p, dw, dh, &ch, 1, &o) == ROTO_OK, "%s", roto_last_error());
        roto_frame g;
        ck_assert_msg(roto_image_read(p, NULL, &g) == ROTO_OK, "%s", roto_last_error());
        ck_assert_int_eq(g.width, W);
        ck_assert_int_eq(g.height, H);
        ck_assert_int_eq(g.meta.data_window.min_x, ox);
        ck_assert_int_eq(g.meta.display_window.max_x, W - 1);
        const float *v = g.data;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int dx = x - ox, dy = y - oy;
                float want = (dx >= 0 && dx < dw && dy >= 0 && dy < dh) ? plane[dy * dw + dx] : 0.0f;
                ck_assert_msg(v[y * W + x] == want, "window %d at (%d,%d): %g vs %g", k, x, y, (double)v[y * W + x],
                              (double)want);
            }
        roto_frame_free(&g);
    }
    remove_dir();
}
END_TEST

// ---- the multi-layer matte EXR --------------------------------------------------------

static int run_capture(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

START_TEST(test_matte_exr_exrheader) {
    make_dir();
    char out[8192];
    ck_assert_msg(run_capture("command -v exrheader", out, sizeof out) == 0 && out[0],
                  "exrheader not found: install the 'openexr' package (scripts/install_deps.sh does)");
    const int W = 24, H = 10;
    static float a0[24 * 10], a1[24 * 10], a2[24 * 10], depth[24 * 10], nrm[24 * 10 * 3], rgb[24 * 10 * 3];
    for (int i = 0; i < W * H; i++) {
        a0[i] = (float)(i % 7) / 6.0f;
        a1[i] = (float)(i % 5) / 4.0f;
        a2[i] = 1.0f - a0[i];
        depth[i] = 100.0f + (float)i * 0.1234567f;
        for (int c = 0; c < 3; c++) {
            nrm[i * 3 + c] = (float)(c + 1) * 0.25f;
            rgb[i * 3 + c] = (float)(i + c) / 300.0f;
        }
    }
    const char *names[3] = {"person", "car 2", "a_very_long_object_name_beyond_31_chars"};
    const float *alphas[3] = {a0, a1, a2};
    roto_matte_layers m = {W, H, 3, names, alphas, 0, depth, nrm, rgb};
    roto_frame_meta meta;
    roto_frame_meta_init(&meta, W, H);
    meta.has_fps = 1;
    meta.fps = (roto_rational){24, 1};
    meta.has_timecode = 1;
    ck_assert_int_eq(roto_timecode_from_string("01:02:03:04", &meta.timecode), ROTO_OK);
    roto_exr_opts o;
    roto_exr_opts_init(&o);
    o.meta = &meta;
    roto_exr_string_attr attrs[1] = {{"roto/model", "sam2.1_hiera_tiny"}};
    o.attrs = attrs;
    o.n_attrs = 1;
    char p[256];
    path_in(p, sizeof p, "shot.1001.exr");
    ck_assert_msg(roto_exr_write_mattes(p, &m, &o) == ROTO_OK, "%s", roto_last_error());

    char cmd[512];
    snprintf(cmd, sizeof cmd, "exrheader '%s' 2>&1", p);
    ck_assert_int_eq(run_capture(cmd, out, sizeof out), 0);
    // Channel names and types, in the sorted order EXR requires.
    const char *expect[] = {
        "B, 16-bit floating-point",
        "G, 16-bit floating-point",
        "N.X, 32-bit floating-point",
        "N.Y, 32-bit floating-point",
        "N.Z, 32-bit floating-point",
        "R, 16-bit floating-point",
        "depth.Z, 32-bit floating-point",
        "obj_a_very_long_object_name_beyond_31_chars.A, 16-bit floating-point",
        "obj_car_2.A, 16-bit floating-point",
        "obj_person.A, 16-bit floating-point",
    };
    const char *prev = out;
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
        const char *hit = strstr(out, expect[i]);
        ck_assert_msg(hit != NULL, "exrheader output lacks '%s':\n%s", expect[i], out);
        ck_assert_msg(hit >= prev, "channel '%s' out of order:\n%s", expect[i], out);
        prev = hit;
    }
    const char *attrs_expect[] = {"compression (type compression): zip",
                                  "framesPerSecond (type rational): 24/1",
                                  "timeCode (type timecode)",
                                  "time 01:02:03:04",
                                  "roto/model (type string): \"sam2.1_hiera_tiny\"",
                                  "dataWindow (type box2i): (0 0) - (23 9)",
                                  "displayWindow (type box2i): (0 0) - (23 9)"};
    for (size_t i = 0; i < sizeof attrs_expect / sizeof *attrs_expect; i++)
        ck_assert_msg(strstr(out, attrs_expect[i]) != NULL, "exrheader output lacks '%s':\n%s", attrs_expect[i], out);
    ck_assert_msg(strstr(out, "tiledimage") == NULL && strstr(out, "scanlineimage") != NULL, "%s", out);

    // Read layers back by name.
    roto_read_opts ro;
    roto_read_opts_init(&ro);
    ro.channels = "obj_car_2.A";
    roto_frame g;
    ck_assert_msg(roto_image_read(p, &ro, &g) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(g.channels, 1);
    ck_assert_int_eq(g.bit_depth, 16);
    for (int i = 0; i < W * H; i++) ck_assert(((float *)g.data)[i] == half_round(a1[i]));
    roto_frame_free(&g);
    roto_read_opts_init(&ro);
    ro.layer = "N";
    ck_assert_msg(roto_image_read(p, &ro, &g) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(g.channels, 3);
    ck_assert_str_eq(g.channel_names[0], "N.X");
    ck_assert_str_eq(g.channel_names[2], "N.Z");
    for (int i = 0; i < W * H * 3; i++) ck_assert(((float *)g.data)[i] == nrm[i]);
    roto_frame_free(&g);
    roto_read_opts_init(&ro);
    ro.layer = "depth";
    ck_assert_msg(roto_image_read(p, &ro, &g) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(g.channels, 1);
    ck_assert_int_eq(g.bit_depth, 32);
    for (int i = 0; i < W * H; i++) ck_assert(((float *)g.data)[i] == depth[i]);
    roto_frame_free(&g);
    // Default layer: R, G, B (half).
    ck_assert_msg(roto_image_read(p, NULL, &g) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(g.channels, 3);
    for (int i = 0; i < W * H * 3; i++) ck_assert(((float *)g.data)[i] == half_round(rgb[i]));
    roto_frame_free(&g);
    // Unknown channel: an error listing what is there.
    roto_read_opts_init(&ro);
    ro.channels = "obj_dog.A";
    ck_assert_int_eq(roto_image_read(p, &ro, &g), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "obj_person.A"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "shot.1001.exr"));
    remove_dir();
}
END_TEST

START_TEST(test_matte_exr_float_and_names) {
    make_dir();
    float a[6] = {0, 0.1f, 0.2f, 0.3f, 0.4f, 1e-7f};
    const char *names[2] = {"x", "x"};  // duplicate after prefixing
    const float *alphas[2] = {a, a};
    roto_matte_layers m = {3, 2, 2, names, alphas, 1, NULL, NULL, NULL};
    char p[256];
    path_in(p, sizeof p, "dup.exr");
    ck_assert_int_eq(roto_exr_write_mattes(p, &m, NULL), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "duplicate"));
    ck_assert(access(p, F_OK) != 0);
    names[1] = "";
    ck_assert_int_eq(roto_exr_write_mattes(p, &m, NULL), ROTO_ERR_INVALID_ARG);
    // FLOAT mattes keep tiny values exactly.
    m.n_objects = 1;
    path_in(p, sizeof p, "float.exr");
    ck_assert_int_eq(roto_exr_write_mattes(p, &m, NULL), ROTO_OK);
    roto_read_opts ro;
    roto_read_opts_init(&ro);
    ro.layer = "obj_x";
    roto_frame g;
    ck_assert_msg(roto_image_read(p, &ro, &g) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(g.bit_depth, 32);
    for (int i = 0; i < 6; i++) ck_assert(((float *)g.data)[i] == a[i]);
    roto_frame_free(&g);
    char lay[64];
    ck_assert_int_eq(roto_exr_object_layer("a b/c.d", lay, sizeof lay), ROTO_OK);
    ck_assert_str_eq(lay, "obj_a_b_c_d");
    remove_dir();
}
END_TEST

// UINT channels (e.g. object IDs) are written rounded and clamped, and read
// back as floats.
START_TEST(test_exr_uint) {
    const float ids[6] = {0.0f, 1.0f, 70000.4f, 4.0e9f, -5.0f, 1e12f};
    const float want[6] = {0.0f, 1.0f, 70000.0f, 4.0e9f, 0.0f, 4294967295.0f};
    const float depth[6] = {1, 2, 3, 4, 5, 6};
    roto_exr_channel ch[2] = {{"id.U", ids, 1, ROTO_EXR_UINT}, {"depth.Z", depth, 1, ROTO_EXR_FLOAT}};
    void *buf;
    size_t n;
    ck_assert_int_eq(roto_exr_encode_channels("ids.exr", 3, 2, ch, 2, NULL, &buf, &n), ROTO_OK);
    roto_read_opts ro;
    roto_read_opts_init(&ro);
    ro.channels = "id.U,depth.Z";
    roto_frame g;
    ck_assert_msg(roto_image_decode(buf, n, "ids.exr", ROTO_FMT_UNKNOWN, &ro, &g) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(g.channels, 2);
    ck_assert_int_eq(g.bit_depth, 32);
    for (int i = 0; i < 6; i++) {
        ck_assert_float_eq(((float *)g.data)[2 * i], want[i]);
        ck_assert_float_eq(((float *)g.data)[2 * i + 1], depth[i]);
    }
    roto_frame_free(&g);
    free(buf);
}
END_TEST

START_TEST(test_format_detection) {
    ck_assert_int_eq(roto_detect_format("\x89PNG\r\n\x1a\n", 8), ROTO_FMT_PNG);
    ck_assert_int_eq(roto_detect_format("\xff\xd8\xff\xe0", 4), ROTO_FMT_JPEG);
    ck_assert_int_eq(roto_detect_format("v/1\x01", 4), ROTO_FMT_EXR);
    ck_assert_int_eq(roto_detect_format("SDPX", 4), ROTO_FMT_DPX);
    ck_assert_int_eq(roto_detect_format("XPDS", 4), ROTO_FMT_DPX);
    ck_assert_int_eq(roto_detect_format("II*\0", 4), ROTO_FMT_TIFF);
    ck_assert_int_eq(roto_detect_format("MM\0*", 4), ROTO_FMT_TIFF);
    ck_assert_int_eq(roto_detect_format("GIF8", 4), ROTO_FMT_UNKNOWN);
    ck_assert_int_eq(roto_format_from_extension("/a.b/plate.1001.EXR"), ROTO_FMT_EXR);
    ck_assert_int_eq(roto_format_from_extension("x.tiff"), ROTO_FMT_TIFF);
    ck_assert_int_eq(roto_format_from_extension("dir.png/x"), ROTO_FMT_UNKNOWN);
    // The extension does not matter when reading: a PNG named .exr reads as PNG.
    make_dir();
    roto_frame f, g;
    random_frame(&f, 3, 3, 3, ROTO_PIX_U16, 8, 3);
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.format = ROTO_FMT_PNG;
    char p[256];
    path_in(p, sizeof p, "really_png.exr");
    ck_assert_int_eq(roto_image_write(p, &f, &o), ROTO_OK);
    ck_assert_int_eq(roto_image_read(p, NULL, &g), ROTO_OK);
    ck_assert_int_eq(g.meta.source_format, ROTO_FMT_PNG);
    roto_frame_free(&f);
    roto_frame_free(&g);
    roto_exr_compression c;
    ck_assert_int_eq(roto_exr_compression_parse("PIZ", &c), ROTO_OK);
    ck_assert_int_eq(c, ROTO_EXR_PIZ);
    ck_assert_int_eq(roto_exr_compression_parse("lzma", &c), ROTO_ERR_INVALID_ARG);
    remove_dir();
}
END_TEST


// roto_image_probe reads the first ROTO_PROBE_HEAD_BYTES only, and the rest
// when the header is not there: libtiff writes its directory after the
// pixels, so a TIFF larger than the head needs the second read.
START_TEST(test_probe_head_only) {
    make_dir();
    roto_frame f, g;
    random_frame(&f, 512, 400, 3, ROTO_PIX_U16, 16, 77);  // 1.2 MB, incompressible
    roto_write_opts o;
    roto_write_opts_init(&o);
    char tif[256], png[256];
    path_in(tif, sizeof tif, "big.tif");
    ck_assert_int_eq(roto_image_write(tif, &f, &o), ROTO_OK);
    ck_assert_int_eq(roto_image_probe(tif, NULL, &g), ROTO_OK);
    ck_assert_int_eq(g.width, 512);
    ck_assert_int_eq(g.height, 400);
    ck_assert_int_eq(g.channels, 3);
    ck_assert_ptr_null(g.data);
    roto_frame_free(&g);

    // A PNG whose pixels are damaged beyond the head: the probe (header
    // only) succeeds, the full read names the damage.
    path_in(png, sizeof png, "tail_damaged.png");
    ck_assert_int_eq(roto_image_write(png, &f, &o), ROTO_OK);
    struct stat sb;
    ck_assert_int_eq(stat(png, &sb), 0);
    ck_assert_int_gt(sb.st_size, (off_t)(2 * ROTO_PROBE_HEAD_BYTES));
    FILE *fp = fopen(png, "r+b");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, (long)ROTO_PROBE_HEAD_BYTES + 1000, SEEK_SET), 0);
    for (int i = 0; i < 4096; i++) fputc(0x5a, fp);
    fclose(fp);
    ck_assert_int_eq(roto_image_probe(png, NULL, &g), ROTO_OK);
    ck_assert_int_eq(g.width, 512);
    roto_frame_free(&g);
    ck_assert_int_ne(roto_image_read(png, NULL, &g), ROTO_OK);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "tail_damaged.png"));

    // Missing file and directory: errors name them.
    char missing[256];
    path_in(missing, sizeof missing, "missing.png");
    ck_assert_int_eq(roto_image_probe(missing, NULL, &g), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "missing.png: no such file"));
    ck_assert_int_ne(roto_image_probe(g_dir, NULL, &g), ROTO_OK);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "directory"));
    roto_frame_free(&f);
    remove_dir();
}
END_TEST

static Suite *io_formats_suite(void) {
    Suite *s = suite_create("io_formats");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_png_roundtrip);
    tcase_add_test(tc, test_tiff_roundtrip);
    tcase_add_test(tc, test_dpx_roundtrip);
    tcase_add_test(tc, test_dpx_10bit_layout);
    tcase_add_test(tc, test_depth_conversion);
    tcase_add_test(tc, test_jpeg_roundtrip);
    tcase_add_test(tc, test_exr_roundtrip);
    tcase_add_test(tc, test_exr_lossy);
    tcase_add_test(tc, test_exr_metadata);
    tcase_add_test(tc, test_dpx_metadata);
    tcase_add_test(tc, test_timecode_strings);
    tcase_add_test(tc, test_exr_windows);
    tcase_add_test(tc, test_matte_exr_exrheader);
    tcase_add_test(tc, test_matte_exr_float_and_names);
    tcase_add_test(tc, test_exr_uint);
    tcase_add_test(tc, test_format_detection);
    tcase_add_test(tc, test_probe_head_only);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_formats_suite)
