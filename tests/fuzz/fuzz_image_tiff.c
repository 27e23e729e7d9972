// fuzz_image_tiff.c: libFuzzer target for the TIFF decoder (io/); the body,
// shared with the other image formats, is in fuzz_image_common.h.
//
// fuzz-sources: io/image.c io/frame.c io/atomic.c io/png.c io/jpeg.c io/exr.c io/exr_dwa.c io/exr_mem.c io/dpx.c io/tiff.c io/colour.c engine/status.c
// fuzz-libs: -I/usr/include/OpenEXR -lpng16 -ljpeg -ltiff -lz -lOpenEXRCore-3_1 -lm -lpthread
// fuzz-seeds: tests/fixtures/io/tiff_*.tif
#include "fuzz_image_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image(data, size, ROTO_FMT_TIFF, "fuzz.tiff", "fuzz_out.tiff");
}
