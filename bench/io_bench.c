// io_bench.c: frame I/O throughput: decode and encode frames/s for 1080p and
// 4K PNG and EXR (plus DPX/TIFF for reference), the multi-layer matte EXR,
// decode-ahead with worker threads, colour conversion and matte operations.
//
// Content is synthetic (smooth gradients plus film-grain-like noise, so it
// compresses like a plate, not like a flat test card) and written under
// /tmp/roto_io_bench (removed at the end).
//
//   io_bench [--quick]     --quick: fewer frames (a smoke run)
//
// Columns (frames/s): encode = roto_image_encode to memory; write = encode +
// atomic write (temp file, fsync, rename); write-behind(2) = the same through
// roto_writer with 2 worker threads; decode = roto_image_read (read + decode);
// decode-ahead(2) = a sequence read through roto_prefetch with 2 workers.
// MB = encoded size per frame.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/colour.h"
#include "io/exr.h"
#include "io/image.h"
#include "io/matte.h"
#include "io/pipeline.h"
#include "io/sequence.h"

#define DIR_OUT "/tmp/roto_io_bench"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "io_bench: %s: %s\n", what, roto_last_error());
    exit(1);
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float noise(void) {  // uniform in [-0.5, 0.5)
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (float)((g_rng * 2685821657736338717ull) >> 40) / 16777216.0f - 0.5f;
}

// A plate-like float RGB frame: gradients, a soft disc, grain.
static void make_plate(roto_frame *f, int w, int h, int frame) {
    if (roto_frame_alloc(f, w, h, 3, ROTO_PIX_F32, 32) != ROTO_OK) die("alloc");
    float *d = f->data;
    float cx = w * (0.3f + 0.01f * frame), cy = h * 0.5f, r = h * 0.25f;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float gx = (float)x / w, gy = (float)y / h;
            float dd = sqrtf((x - cx) * (x - cx) + (y - cy) * (y - cy));
            float disc = dd < r ? 1.0f : (dd < r + 8 ? 1.0f - (dd - r) / 8 : 0.0f);
            float *px = d + ((size_t)y * w + x) * 3;
            px[0] = 0.18f * gx + 0.6f * disc + 0.02f * noise();
            px[1] = 0.18f * gy + 0.3f * disc + 0.02f * noise();
            px[2] = 0.10f + 0.05f * disc + 0.02f * noise();
        }
    f->meta.transfer = ROTO_TF_LINEAR;
}

// The same frame as 8-bit sRGB-encoded codes (what a PNG plate holds).
static void to_u8(const roto_frame *src, roto_frame *dst) {
    if (roto_frame_alloc(dst, src->width, src->height, 3, ROTO_PIX_U16, 8) != ROTO_OK) die("alloc");
    float *tmp = malloc(roto_frame_pixels(src) * 3 * sizeof *tmp);
    if (!tmp || roto_frame_to_srgb(src, ROTO_CS_LINEAR, 0, tmp) != ROTO_OK) die("to_srgb");
    uint16_t *o = dst->data;
    for (size_t i = 0; i < roto_frame_pixels(src) * 3; i++) o[i] = (uint16_t)(tmp[i] * 255.0f + 0.5f);
    free(tmp);
}

typedef struct {
    const char *label;
    roto_image_format fmt;
    int bits;
    roto_exr_compression comp;
    int use_u8;  // encode the 8-bit version of the plate
} fmt_case;

static void bench_format(const fmt_case *c, const roto_frame *plates, int nframes, int w, int h) {
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.bit_depth = c->bits;
    o.exr_compression = c->comp;
    char pattern[256];
    snprintf(pattern, sizeof pattern, DIR_OUT "/%s_%d.####.%s", c->label, w, roto_format_name(c->fmt));
    // encode to memory
    size_t bytes = 0;
    double t0 = now();
    for (int i = 0; i < nframes; i++) {
        void *buf;
        size_t n;
        if (roto_image_encode(&plates[i], c->fmt, &o, "bench", &buf, &n) != ROTO_OK) die("encode");
        bytes += n;
        free(buf);
    }
    double t_enc = now() - t0;
    // encode + atomic write
    t0 = now();
    for (int i = 0; i < nframes; i++) {
        char path[300];
        roto_seq_output_path(pattern, NULL, 1001 + i, path, sizeof path);
        if (roto_image_write(path, &plates[i], &o) != ROTO_OK) die("write");
    }
    double t_write = now() - t0;
    // write-behind: 2 worker threads encode + write while the caller goes on
    // (frames are copied first, as a caller handing over its buffers would)
    roto_writer *wr;
    if (roto_frame_writer_start(&wr, 4, 2) != ROTO_OK) die("writer");
    t0 = now();
    for (int i = 0; i < nframes; i++) {
        char path[300];
        roto_seq_output_path(pattern, NULL, 2001 + i, path, sizeof path);
        roto_frame copy;
        if (roto_frame_copy(&copy, &plates[i]) != ROTO_OK) die("copy");
        if (roto_writer_push_frame(wr, path, &copy, &o) != ROTO_OK) die("push");
    }
    if (roto_writer_finish(wr) != ROTO_OK) die("writer_finish");
    double t_behind = now() - t0;
    // read + decode
    t0 = now();
    for (int i = 0; i < nframes; i++) {
        char path[300];
        roto_seq_output_path(pattern, NULL, 1001 + i, path, sizeof path);
        roto_frame f;
        if (roto_image_read(path, NULL, &f) != ROTO_OK) die("read");
        roto_frame_free(&f);
    }
    double t_dec = now() - t0;
    // decode-ahead with 2 workers (what the tracker loop sees)
    roto_seq_reader r;
    if (roto_seq_open(&r, pattern, NULL, NULL, 0) != ROTO_OK) die("seq_open");
    roto_prefetch *p;
    t0 = now();
    if (roto_seq_prefetch_start(&p, &r, 4, 2) != ROTO_OK) die("prefetch");
    for (int i = 0; i < nframes; i++) {
        roto_frame f;
        if (roto_seq_prefetch_next(p, &r, &f, NULL, NULL) != ROTO_OK) die("prefetch_next");
        roto_frame_free(&f);
    }
    double t_pre = now() - t0;
    roto_prefetch_stop(p);
    roto_seq_close(&r);
    printf("%-20s %4dx%-4d %5.1f MB  encode %6.2f  write %6.2f  write-behind(2) %6.2f  decode %6.2f  "
           "decode-ahead(2) %6.2f fps\n",
           c->label, w, h, bytes / 1e6 / nframes, nframes / t_enc, nframes / t_write, nframes / t_behind,
           nframes / t_dec, nframes / t_pre);
}

static void bench_mattes(int w, int h, int nframes) {
    const int nobj = 4;
    float *alpha[4], *depth = malloc((size_t)w * h * sizeof *depth);
    const char *names[4] = {"person", "car", "dog", "tree"};
    for (int k = 0; k < nobj; k++) {
        alpha[k] = malloc((size_t)w * h * sizeof *alpha[k]);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float dx = x - w * (0.2f + 0.2f * k), dy = y - h * 0.5f;
                float d = sqrtf(dx * dx + dy * dy) - h * 0.15f;
                alpha[k][(size_t)y * w + x] = d < -2 ? 1.0f : d > 2 ? 0.0f : 0.5f - d / 4;
            }
    }
    for (size_t i = 0; i < (size_t)w * h; i++) depth[i] = 1.0f + (float)(i % w) / w + 0.001f * noise();
    roto_matte_layers m = {w, h, nobj, names, (const float *const *)alpha, 0, depth, NULL, NULL};
    // ZIP (the default) and DWAA (alpha RLE, depth deflated: both lossless).
    const roto_exr_compression comps[2] = {ROTO_EXR_ZIP, ROTO_EXR_DWAA};
    for (int c = 0; c < 2; c++) {
        roto_exr_opts o;
        roto_exr_opts_init(&o);
        o.compression = comps[c];
        double t0 = now();
        for (int i = 0; i < nframes; i++) {
            char path[256];
            snprintf(path, sizeof path, DIR_OUT "/mattes_%d.%04d.exr", w, 1001 + i);
            if (roto_exr_write_mattes(path, &m, &o) != ROTO_OK) die("write_mattes");
        }
        double t = now() - t0;
        printf("%-22s %5dx%-5d 4 x obj_*.A half + depth.Z float, %s: write %6.2f fps\n", "matte EXR", w, h,
               roto_exr_compression_name(comps[c]), nframes / t);
    }
    for (int k = 0; k < nobj; k++) free(alpha[k]);
    free(depth);
}

static void bench_ops(const roto_frame *plate, const roto_frame *u8) {
    int w = plate->width, h = plate->height;
    size_t n = roto_frame_pixels(plate);
    float *rgb = malloc(n * 3 * sizeof *rgb), *m = malloc(n * sizeof *m), *o = malloc(n * sizeof *o);
    double t0 = now();
    roto_frame_to_srgb(plate, ROTO_CS_LINEAR, 1, rgb);
    double t_lin = now() - t0;
    t0 = now();
    roto_frame_to_srgb(u8, ROTO_CS_SRGB, 1, rgb);
    double t_u8 = now() - t0;
    for (size_t i = 0; i < n; i++) m[i] = plate->data ? (((float *)plate->data)[i * 3] > 0.4f ? 1.0f : 0.0f) : 0;
    printf("%-22s %5dx%-5d linear float -> sRGB %.1f ms, 8-bit -> sRGB %.1f ms\n", "colour", w, h, t_lin * 1e3,
           t_u8 * 1e3);
    t0 = now();
    roto_matte_dilate(m, o, w, h, 5.0f);
    double t_d5 = now() - t0;
    t0 = now();
    roto_matte_dilate(m, o, w, h, 100.0f);
    double t_d100 = now() - t0;
    t0 = now();
    roto_matte_feather(m, o, w, h, 10.0f);
    double t_f10 = now() - t0;
    t0 = now();
    roto_matte_fill_holes(m, o, w, h, 0, 4);
    double t_fh = now() - t0;
    printf("%-22s %5dx%-5d dilate r=5 %.0f ms, r=100 %.0f ms, feather r=10 %.0f ms, fill holes %.0f ms\n", "matte ops",
           w, h, t_d5 * 1e3, t_d100 * 1e3, t_f10 * 1e3, t_fh * 1e3);
    free(rgb);
    free(m);
    free(o);
}

static void clean(void) {
    DIR *d = opendir(DIR_OUT);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, DIR_OUT "/%s", e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(DIR_OUT);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    if (roto_mkdir_p(DIR_OUT) != ROTO_OK || roto_check_writable_dir(DIR_OUT) != ROTO_OK) die(DIR_OUT);
    const int sizes[2][2] = {{1920, 1080}, {3840, 2160}};
    const fmt_case cases[] = {
        {"PNG 8-bit RGB", ROTO_FMT_PNG, 8, ROTO_EXR_ZIP, 1},
        {"PNG 16-bit RGB", ROTO_FMT_PNG, 16, ROTO_EXR_ZIP, 0},
        {"EXR half RGB zip", ROTO_FMT_EXR, 16, ROTO_EXR_ZIP, 0},
        {"EXR half RGB piz", ROTO_FMT_EXR, 16, ROTO_EXR_PIZ, 0},
        {"EXR float RGB zip", ROTO_FMT_EXR, 32, ROTO_EXR_ZIP, 0},
        {"EXR half RGB none", ROTO_FMT_EXR, 16, ROTO_EXR_NONE, 0},
        {"EXR half RGB dwaa", ROTO_FMT_EXR, 16, ROTO_EXR_DWAA, 0},
        {"EXR half RGB dwab", ROTO_FMT_EXR, 16, ROTO_EXR_DWAB, 0},
        {"DPX 10-bit RGB", ROTO_FMT_DPX, 10, ROTO_EXR_ZIP, 0},
        {"TIFF 16-bit deflate", ROTO_FMT_TIFF, 16, ROTO_EXR_ZIP, 0},
    };
    printf("io_bench: %s frames, %ld CPU(s) online\n", quick ? "quick" : "full", sysconf(_SC_NPROCESSORS_ONLN));
    for (int s = 0; s < 2; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        int nframes = quick ? 2 : (s == 0 ? 8 : 4);
        roto_frame *plates = calloc((size_t)nframes, sizeof *plates), *u8 = calloc((size_t)nframes, sizeof *u8);
        for (int i = 0; i < nframes; i++) {
            make_plate(&plates[i], w, h, i);
            to_u8(&plates[i], &u8[i]);
        }
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
            bench_format(&cases[c], cases[c].use_u8 ? u8 : plates, nframes, w, h);
        bench_mattes(w, h, nframes);
        bench_ops(&plates[0], &u8[0]);
        for (int i = 0; i < nframes; i++) {
            roto_frame_free(&plates[i]);
            roto_frame_free(&u8[i]);
        }
        free(plates);
        free(u8);
        clean();
        roto_mkdir_p(DIR_OUT);
    }
    clean();
    return 0;
}
