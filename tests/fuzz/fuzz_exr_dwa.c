// fuzz_exr_dwa.c: libFuzzer target for the DWA block codec (io/exr_dwa.c),
// called directly, without the rest of the EXR reader in the way.
//
// Three kinds of input:
//   * an EXR file (the seeds: the DWA fixtures): OpenEXRCore finds its first
//     chunk and channels, and that chunk's bytes go to roto_dwa_decode;
//   * 4 header bytes (channel set, width - 1, lines - 1, mode 0) and a block:
//     decoded with that channel set;
//   * the same header with mode 1 or 2 (Huffman or deflated AC): the bytes
//     are pixel data (any bit patterns) for a chunk of half that size,
//     encoded and decoded again; lossless channels must come back bit for
//     bit and the decode must succeed (else abort()).
// Any input must give ROTO_OK or an error status, never a crash or a
// sanitizer report.
//
// fuzz-sources: io/exr_dwa.c io/exr_mem.c engine/status.c
// fuzz-libs: -I/usr/include/OpenEXR -lOpenEXRCore-3_1 -lz -lm -lpthread
// fuzz-seeds: tests/fixtures/io/exr_dwa*.exr
#include <openexr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/exr_dwa.h"
#include "io/exr_mem.h"

#define MAX_RAW ((size_t)16 << 20)  // stay far below libFuzzer's memory limit

// Channel sets for the raw modes: every scheme, type and set shape.
static const roto_dwa_channel k_set0[] = {{"B", 1, 0}, {"G", 1, 0}, {"R", 1, 0}};
static const roto_dwa_channel k_set1[] = {{"A", 1, 0}, {"B", 1, 0}, {"G", 1, 0}, {"R", 1, 0}, {"depth.Z", 2, 0}};
static const roto_dwa_channel k_set2[] = {{"N.X", 2, 0}, {"N.Y", 2, 0}, {"N.Z", 2, 0}, {"obj_a.A", 1, 0}};
static const roto_dwa_channel k_set3[] = {{"id", 0, 0}, {"mask.A", 0, 0}, {"x.A", 2, 0}};
static const roto_dwa_channel k_set4[] = {{"Y", 1, 1}, {"c.BY", 2, 0}, {"c.RY", 1, 0}, {"s.B", 2, 0}, {"s.G", 2, 0},
                                          {"s.R", 2, 0}};
static const roto_dwa_channel k_set5[] = {{"r", 1, 0}, {"green", 2, 0}, {"Blue", 1, 0}, {"a", 0, 0}};
static const struct {
    const roto_dwa_channel *ch;
    int n;
} k_sets[6] = {{k_set0, 3}, {k_set1, 5}, {k_set2, 4}, {k_set3, 3}, {k_set4, 6}, {k_set5, 4}};

static void decode(const uint8_t *blk, size_t n, const roto_dwa_channel *ch, int nch, int w, int lines) {
    size_t raw = roto_dwa_raw_size(ch, nch, w, lines);
    if (!raw || raw > MAX_RAW) return;
    uint8_t *out = malloc(raw);
    if (!out) return;
    if (roto_dwa_decode(blk, n, ch, nch, w, lines, out, raw) == ROTO_OK) {
        volatile uint8_t x = 0;  // every output byte was written (MSan/valgrind would see it; ASan checks bounds)
        for (size_t i = 0; i < raw; i++) x ^= out[i];
        (void)x;
    }
    free(out);
}

// The first chunk of an EXR file, through OpenEXRCore, decoded as DWA.
static void from_exr(const uint8_t *data, size_t size) {
    roto_exr_src m = {data, size};
    exr_context_t ctx = NULL;
    if (roto_exr_start_read_mem(&ctx, "fuzz.exr", &m, NULL) != EXR_ERR_SUCCESS) {
        if (ctx) exr_finish(&ctx);
        return;
    }
    const exr_attr_chlist_t *cl = NULL;
    exr_storage_t storage;
    exr_chunk_info_t ci;
    exr_attr_box2i_t dw;
    exr_result_t rv = exr_get_channels(ctx, 0, &cl);
    if (rv == EXR_ERR_SUCCESS) rv = exr_get_storage(ctx, 0, &storage);
    if (rv == EXR_ERR_SUCCESS) rv = exr_get_data_window(ctx, 0, &dw);
    if (rv == EXR_ERR_SUCCESS && cl && cl->num_channels > 0 && cl->num_channels <= 64) {
        if (storage == EXR_STORAGE_SCANLINE) rv = exr_read_scanline_chunk_info(ctx, 0, dw.min.y, &ci);
        else if (storage == EXR_STORAGE_TILED) rv = exr_read_tile_chunk_info(ctx, 0, 0, 0, 0, 0, &ci);
        else rv = EXR_ERR_INVALID_ARGUMENT;
        if (rv == EXR_ERR_SUCCESS && ci.data_offset <= size && ci.packed_size <= size - ci.data_offset &&
            ci.packed_size != ci.unpacked_size) {
            roto_dwa_channel ch[64];
            for (int i = 0; i < cl->num_channels; i++)
                ch[i] = (roto_dwa_channel){cl->entries[i].name.str, (int)cl->entries[i].pixel_type,
                                           cl->entries[i].p_linear};
            decode(data + ci.data_offset, (size_t)ci.packed_size, ch, cl->num_channels, ci.width, ci.height);
        }
    }
    exr_finish(&ctx);
}

// Encode arbitrary pixel bytes, decode, check.
static void roundtrip(const uint8_t *data, size_t size, const roto_dwa_channel *ch, int nch, int w, int lines,
                      int deflate_ac) {
    size_t raw = roto_dwa_raw_size(ch, nch, w, lines);
    if (!raw || raw > MAX_RAW) return;
    uint8_t *src = calloc(raw, 1), *out = malloc(raw), *blk = NULL;
    size_t n = 0;
    if (!src || !out) goto done;
    for (size_t i = 0; size && i < raw; i++) src[i] = data[i % size];
    roto_dwa_opts o = {size ? (float)(data[0] % 200) : 45.0f, deflate_ac, 6};
    if (roto_dwa_encode(src, raw, ch, nch, w, lines, &o, &blk, &n) != ROTO_OK) goto done;  // only OOM can fail
    if (roto_dwa_decode(blk, n, ch, nch, w, lines, out, raw) != ROTO_OK) abort();
    size_t off = 0, line = raw / (size_t)lines;
    for (int c = 0; c < nch; c++) {
        size_t b = ch[c].type == 1 ? 2 : 4;
        if (roto_dwa_default_scheme(ch[c].name, ch[c].type) != ROTO_DWA_LOSSY_DCT)
            for (int y = 0; y < lines; y++)
                if (memcmp(src + (size_t)y * line + off, out + (size_t)y * line + off, (size_t)w * b)) abort();
        off += (size_t)w * b;
    }
done:
    free(src);
    free(out);
    free(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 4 && !memcmp(data, "\x76\x2f\x31\x01", 4)) {
        from_exr(data, size);
        return 0;
    }
    if (size < 4) return 0;
    int set = data[0] % 6, w = data[1] % 64 + 1, lines = data[2] % 64 + 1, mode = data[3] % 3;
    if (mode == 0) decode(data + 4, size - 4, k_sets[set].ch, k_sets[set].n, w, lines);
    else roundtrip(data + 4, size - 4, k_sets[set].ch, k_sets[set].n, (w + 1) / 2, (lines + 1) / 2, mode == 2);
    return 0;
}
