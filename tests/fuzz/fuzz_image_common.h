// fuzz_image_common.h: the body shared by the image decoder fuzz targets
// (fuzz_image_<format>.c), each of which includes it and calls fuzz_image()
// with its format. Any input must give ROTO_OK or an error status, never a
// crash, leak or sanitizer report. A decoded frame is read in full (ASan
// checks every pixel lies inside the allocation), converted for the networks,
// and when small re-encoded to the same format and decoded again (the writer
// must accept what the reader made). Not a target itself: run_fuzz.sh builds
// only tests/fuzz/fuzz_*.c.
#ifndef ROTO_FUZZ_IMAGE_COMMON_H
#define ROTO_FUZZ_IMAGE_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "io/colour.h"
#include "io/image.h"

// in_name / out_name: the file names the decoder and encoder are given (their
// extension matches fmt).
static int fuzz_image(const uint8_t *data, size_t size, roto_image_format fmt, const char *in_name,
                      const char *out_name) {
    roto_read_opts opts;
    roto_read_opts_init(&opts);
    opts.max_pixels = (size_t)1 << 22;  // stay far below libFuzzer's memory limit
    roto_frame f;
    if (roto_image_decode_header(data, size, in_name, fmt, &opts, &f) == ROTO_OK) roto_frame_free(&f);
    if (roto_image_decode(data, size, in_name, fmt, &opts, &f) != ROTO_OK) return 0;
    const volatile uint8_t *p = (const uint8_t *)f.data;
    uint8_t x = 0;
    for (size_t i = 0, n = roto_frame_bytes(&f); i < n; i++) x ^= p[i];
    (void)x;
    size_t npix = roto_frame_pixels(&f);
    float *rgb = malloc(npix * 3 * sizeof *rgb);
    if (rgb) roto_frame_to_srgb(&f, ROTO_CS_AUTO, 0, rgb);
    free(rgb);
    if (npix <= 256 * 256) {
        void *enc = NULL;
        size_t n = 0;
        if (roto_image_encode(&f, fmt, NULL, out_name, &enc, &n) == ROTO_OK) {
            roto_frame g;
            if (roto_image_decode(enc, n, out_name, fmt, &opts, &g) != ROTO_OK) abort();
            if (g.width != f.width || g.height != f.height) abort();
            roto_frame_free(&g);
        }
        free(enc);
    }
    roto_frame_free(&f);
    return 0;
}

#endif
