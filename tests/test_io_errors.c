// test_io_errors.c: bad inputs give a clear error naming the file, never a
// crash: truncated PNG/JPEG/EXR/DPX/TIFF (cut at many offsets), a directory
// given as a file, missing and empty files, unknown formats, zero-size and
// absurdly large headers, and unsupported channel layouts.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/exr.h"
#include "io/image.h"
#include "util/test_util.h"

static void ramp_frame(roto_frame *f, int w, int h, int ch, roto_pixel_type t, int bits) {
    ck_assert_int_eq(roto_frame_alloc(f, w, h, ch, t, bits), ROTO_OK);
    size_t n = roto_frame_pixels(f) * (size_t)ch;
    for (size_t i = 0; i < n; i++) {
        if (t == ROTO_PIX_U16) ((uint16_t *)f->data)[i] = (uint16_t)((i * 37) % (1u << bits));
        else ((float *)f->data)[i] = (float)(i % 97) / 96.0f;
    }
}

static void *encode(const roto_frame *f, roto_image_format fmt, int bits, size_t *n) {
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.bit_depth = bits;
    void *buf = NULL;
    roto_status st = roto_image_encode(f, fmt, &o, "src", &buf, n);
    ck_assert_msg(st == ROTO_OK, "%s", roto_last_error());
    return buf;
}

// Decode every prefix at a spread of cut points: each must fail with a
// message naming the file and leave the frame empty.
// Cut points at or past `essential` are skipped: bytes there hold only
// metadata the reader does not need (e.g. TIFF chromaticity tags at the end).
static void check_truncations_upto(const unsigned char *data, size_t n, size_t essential, const char *what) {
    size_t cuts[64];
    int k = 0;
    const size_t fixed[] = {1, 2, 3, 4, 7, 8, 16, 33, 64, 100, 200, 300, 500, 1000, 1500, 2047, 2048, 2100};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (fixed[i] < n) cuts[k++] = fixed[i];
    for (int q = 1; q < 16; q++) cuts[k++] = n * (size_t)q / 16;
    cuts[k++] = n - 1;
    cuts[k++] = n > 4 ? n - 4 : 1;
    for (int i = 0; i < k; i++) {
        if (cuts[i] == 0 || cuts[i] >= n || cuts[i] >= essential) continue;
        char name[96];
        snprintf(name, sizeof name, "%s.cut%zu", what, cuts[i]);
        roto_frame f;
        roto_status st = roto_image_decode(data, cuts[i], name, ROTO_FMT_UNKNOWN, NULL, &f);
        ck_assert_msg(st != ROTO_OK, "%s: truncated to %zu of %zu bytes decoded without error", what, cuts[i], n);
        ck_assert_msg(strstr(roto_last_error(), name) != NULL, "%s: message does not name the file: %s", name,
                      roto_last_error());
        ck_assert_ptr_null(f.data);
    }
}

static void check_truncations(const unsigned char *data, size_t n, const char *what) {
    check_truncations_upto(data, n, n, what);
}

START_TEST(test_truncated_own_files) {
    roto_frame f;
    ramp_frame(&f, 40, 24, 4, ROTO_PIX_U16, 16);
    const struct {
        roto_image_format fmt;
        int bits;
        const char *name;
    } cases[] = {{ROTO_FMT_PNG, 8, "x.png"},  {ROTO_FMT_PNG, 16, "x16.png"}, {ROTO_FMT_TIFF, 16, "x.tif"},
                 {ROTO_FMT_TIFF, 32, "xf.tif"}, {ROTO_FMT_DPX, 10, "x.dpx"},  {ROTO_FMT_DPX, 16, "x16.dpx"},
                 {ROTO_FMT_EXR, 16, "x.exr"},  {ROTO_FMT_EXR, 32, "xf.exr"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        unsigned char *buf = encode(&f, cases[i].fmt, cases[i].bits, &n);
        // The untruncated file decodes.
        roto_frame g;
        ck_assert_msg(roto_image_decode(buf, n, cases[i].name, ROTO_FMT_UNKNOWN, NULL, &g) == ROTO_OK, "%s: %s",
                      cases[i].name, roto_last_error());
        roto_frame_free(&g);
        check_truncations(buf, n, cases[i].name);
        free(buf);
    }
    roto_frame_free(&f);
    // JPEG (3 channels).
    ramp_frame(&f, 40, 24, 3, ROTO_PIX_U16, 8);
    size_t n;
    unsigned char *buf = encode(&f, ROTO_FMT_JPEG, 8, &n);
    check_truncations(buf, n, "x.jpg");
    free(buf);
    roto_frame_free(&f);
}
END_TEST

// Truncated copies of files written by other tools (tiled EXR, PIZ, LZW TIFF,
// tiled TIFF, 10-bit DPX, JPEG).
START_TEST(test_truncated_fixtures) {
    const char *names[] = {"exr_tiled.exr",    "exr_rgba_half_piz.exr", "exr_rgb_zip.exr",   "tiff_rgba16_lzw.tif",
                           "tiff_tiled16.tif", "dpx_rgb10_le.dpx",      "jpeg_rgb.jpg",      "png_palette_trns.png"};
    const char *dirs[] = {"tests/fixtures/io", "../tests/fixtures/io", "../../tests/fixtures/io"};
    const char *dir = NULL;
    struct stat st;
    for (int i = 0; i < 3; i++)
        if (stat(dirs[i], &st) == 0) dir = dirs[i];
    ck_assert_msg(dir != NULL, "tests/fixtures/io not found (run from the repository root)");
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *fp = fopen(p, "rb");
        ck_assert_ptr_nonnull(fp);
        static unsigned char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        // ImageMagick puts the TIFF chromaticity tags (unused here) at the end.
        size_t essential = !strcmp(names[i], "tiff_rgba16_lzw.tif") ? 458
                         : !strcmp(names[i], "tiff_tiled16.tif")  ? 1236
                                                                  : n;
        check_truncations_upto(buf, n, essential, names[i]);
    }
}
END_TEST

START_TEST(test_bad_paths) {
    roto_frame f;
    char dir[] = "/tmp/roto_io_err_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    // A directory given as a file.
    ck_assert_int_eq(roto_image_read(dir, NULL, &f), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), dir));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "directory"));
    // Missing file.
    char p[256];
    snprintf(p, sizeof p, "%s/nope.exr", dir);
    ck_assert_int_eq(roto_image_read(p, NULL, &f), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "nope.exr"));
    // Empty file.
    snprintf(p, sizeof p, "%s/empty.png", dir);
    FILE *fp = fopen(p, "wb");
    fclose(fp);
    ck_assert_int_eq(roto_image_read(p, NULL, &f), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "empty.png"));
    // Not an image.
    snprintf(p, sizeof p, "%s/notes.png", dir);
    fp = fopen(p, "wb");
    fputs("this is text, not pixels\n", fp);
    fclose(fp);
    ck_assert_int_eq(roto_image_read(p, NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "notes.png"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "unknown image format"));
    unlink(p);
    snprintf(p, sizeof p, "%s/empty.png", dir);
    unlink(p);
    // Writing into a missing directory, or over a directory.
    roto_frame g;
    ramp_frame(&g, 4, 4, 3, ROTO_PIX_U16, 8);
    snprintf(p, sizeof p, "%s/missing/sub/out.png", dir);
    ck_assert_int_eq(roto_image_write(p, &g, NULL), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "out.png"));
    ck_assert_int_eq(roto_image_write(dir, &g, NULL), ROTO_ERR_INVALID_ARG);  // no extension
    snprintf(p, sizeof p, "%s/d.png", dir);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    ck_assert_int_eq(roto_image_write(p, &g, NULL), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "directory"));
    rmdir(p);
    roto_frame_free(&g);
    ck_assert_int_eq(rmdir(dir), 0);  // nothing was left behind
}
END_TEST

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

START_TEST(test_bad_dimensions) {
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 0, 5, 3, ROTO_PIX_U16, 8), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_frame_alloc(&f, 5, 5, 5, ROTO_PIX_U16, 8), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_frame_alloc(&f, 5, 5, 3, ROTO_PIX_F32, 8), ROTO_ERR_INVALID_ARG);
    // Writing an empty frame.
    memset(&f, 0, sizeof f);
    void *buf;
    size_t n;
    ck_assert_int_eq(roto_image_encode(&f, ROTO_FMT_PNG, NULL, "e.png", &buf, &n), ROTO_ERR_INVALID_ARG);

    // A PNG whose IHDR says width 0 (with a valid CRC).
    roto_frame g;
    ramp_frame(&g, 3, 2, 3, ROTO_PIX_U16, 8);
    unsigned char *png = encode(&g, ROTO_FMT_PNG, 8, &n);
    put_be32(png + 16, 0);  // IHDR width
    put_be32(png + 29, (uint32_t)crc32(0, png + 12, 17));
    ck_assert_int_eq(roto_image_decode(png, n, "zero.png", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "zero.png"));
    // ... and 100000 x 100000: over the pixel limit, refused before allocating.
    put_be32(png + 16, 100000);
    put_be32(png + 20, 100000);
    put_be32(png + 29, (uint32_t)crc32(0, png + 12, 17));
    ck_assert_int_eq(roto_image_decode(png, n, "huge.png", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "limit"));
    free(png);

    // DPX with width 0, then with a huge size.
    unsigned char *dpx = encode(&g, ROTO_FMT_DPX, 10, &n);
    put_be32(dpx + 772, 0);
    ck_assert_int_eq(roto_image_decode(dpx, n, "zero.dpx", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "zero.dpx"));
    put_be32(dpx + 772, 200000);
    put_be32(dpx + 776, 200000);
    ck_assert_int_ne(roto_image_decode(dpx, n, "huge.dpx", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_OK);
    ck_assert_ptr_null(f.data);
    // A size that fits the limit but not the file: truncated, not a crash.
    put_be32(dpx + 772, 1000);
    put_be32(dpx + 776, 1000);
    ck_assert_int_eq(roto_image_decode(dpx, n, "short.dpx", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "truncated"));
    // A smaller reader limit (as fuzzers use).
    free(dpx);
    dpx = encode(&g, ROTO_FMT_DPX, 10, &n);
    roto_read_opts o;
    roto_read_opts_init(&o);
    o.max_pixels = 4;
    ck_assert_int_eq(roto_image_decode(dpx, n, "small.dpx", ROTO_FMT_UNKNOWN, &o, &f), ROTO_ERR_UNSUPPORTED);
    free(dpx);
    roto_frame_free(&g);
}
END_TEST

START_TEST(test_unsupported_layouts) {
    roto_frame f, g;
    size_t n;
    void *buf;
    // DPX cannot hold 2 channels; JPEG cannot hold alpha.
    ramp_frame(&g, 4, 4, 2, ROTO_PIX_U16, 8);
    ck_assert_int_eq(roto_image_encode(&g, ROTO_FMT_DPX, NULL, "ya.dpx", &buf, &n), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "ya.dpx"));
    ck_assert_int_eq(roto_image_encode(&g, ROTO_FMT_JPEG, NULL, "ya.jpg", &buf, &n), ROTO_ERR_UNSUPPORTED);
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.bit_depth = 12;
    ck_assert_int_eq(roto_image_encode(&g, ROTO_FMT_PNG, &o, "b12.png", &buf, &n), ROTO_ERR_UNSUPPORTED);
    roto_frame_free(&g);

    // DPX descriptor 100 (unknown), RLE encoding, signed data.
    ramp_frame(&g, 4, 4, 3, ROTO_PIX_U16, 10);
    unsigned char *dpx = encode(&g, ROTO_FMT_DPX, 10, &n);
    dpx[780 + 20] = 100;
    ck_assert_int_eq(roto_image_decode(dpx, n, "desc.dpx", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "descriptor 100"));
    dpx[780 + 20] = 50;
    dpx[780 + 27] = 1;  // encoding = 1 (RLE), big-endian u16 at 806
    ck_assert_int_eq(roto_image_decode(dpx, n, "rle.dpx", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "RLE"));
    dpx[780 + 27] = 0;
    dpx[780 + 25] = 0;  // 10-bit with packing 0
    ck_assert_int_eq(roto_image_decode(dpx, n, "pk.dpx", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "packing"));
    free(dpx);
    roto_frame_free(&g);

    // EXR with no colour channels: the default read lists what is there.
    float z[6] = {1, 2, 3, 4, 5, 6};
    roto_exr_channel ch[6] = {{"depth.Z", z, 1, ROTO_EXR_FLOAT}, {"P.a", z, 1, ROTO_EXR_HALF},
                              {"P.b", z, 1, ROTO_EXR_HALF},     {"P.c", z, 1, ROTO_EXR_HALF},
                              {"P.d", z, 1, ROTO_EXR_HALF},     {"P.e", z, 1, ROTO_EXR_HALF}};
    ck_assert_int_eq(roto_exr_encode_channels("z.exr", 3, 2, ch, 1, NULL, &buf, &n), ROTO_OK);
    ck_assert_int_eq(roto_image_decode(buf, n, "z.exr", ROTO_FMT_UNKNOWN, NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "depth.Z"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "z.exr"));
    free(buf);
    // A layer with more than 4 channels cannot be one frame.
    ck_assert_int_eq(roto_exr_encode_channels("p.exr", 3, 2, ch, 6, NULL, &buf, &n), ROTO_OK);
    roto_read_opts ro;
    roto_read_opts_init(&ro);
    ro.layer = "P";
    ck_assert_int_eq(roto_image_decode(buf, n, "p.exr", ROTO_FMT_UNKNOWN, &ro, &f), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "P.a"));
    ro.layer = NULL;
    ro.channels = "P.a,P.b,P.c,P.d,depth.Z";  // 5 names
    ck_assert_int_eq(roto_image_decode(buf, n, "p.exr", ROTO_FMT_UNKNOWN, &ro, &f), ROTO_ERR_NOT_FOUND);
    ro.channels = "P.d,depth.Z";
    ck_assert_int_eq(roto_image_decode(buf, n, "p.exr", ROTO_FMT_UNKNOWN, &ro, &f), ROTO_OK);
    ck_assert_int_eq(f.channels, 2);
    ck_assert_float_eq(((float *)f.data)[1], 1.0f);  // depth.Z of pixel 0
    roto_frame_free(&f);
    free(buf);
    // Bad EXR writer arguments.
    roto_exr_channel bad[2] = {{"A", z, 1, ROTO_EXR_HALF}, {"A", z, 1, ROTO_EXR_HALF}};
    ck_assert_int_eq(roto_exr_encode_channels("d.exr", 3, 2, bad, 2, NULL, &buf, &n), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_exr_encode_channels("d.exr", 0, 2, bad, 1, NULL, &buf, &n), ROTO_ERR_INVALID_ARG);
    bad[0].type = (roto_exr_pixel)7;
    ck_assert_int_eq(roto_exr_encode_channels("d.exr", 3, 2, bad, 1, NULL, &buf, &n), ROTO_ERR_INVALID_ARG);
    bad[0].type = ROTO_EXR_HALF;
    bad[0].data = NULL;
    ck_assert_int_eq(roto_exr_encode_channels("d.exr", 3, 2, bad, 1, NULL, &buf, &n), ROTO_ERR_INVALID_ARG);
}
END_TEST

static Suite *io_errors_suite(void) {
    Suite *s = suite_create("io_errors");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_truncated_own_files);
    tcase_add_test(tc, test_truncated_fixtures);
    tcase_add_test(tc, test_bad_paths);
    tcase_add_test(tc, test_bad_dimensions);
    tcase_add_test(tc, test_unsupported_layouts);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_errors_suite)
