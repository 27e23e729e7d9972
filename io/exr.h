// exr.h: roto's deliverable: ONE single-part, scanline, multi-layer EXR per
// frame, written with OpenEXRCore (the OpenEXR 3 C API).
//
// Layout (Nuke-friendly: every channel is `layer.channel`, <= 4 per layer):
//   obj_<name>.A   one layer per tracked object, HALF by default (FLOAT optional)
//   depth.Z        FLOAT, optional
//   N.X N.Y N.Z    FLOAT, optional (normals)
//   R G B          HALF, optional plate/preview in the default layer
// Channels are stored sorted by name as the EXR format requires (OpenEXRCore
// sorts them; data is matched by name, never by position).
// Header: compression (ZIP default; none/rle/zips/zip/piz/pxr24/b44/b44a/
// dwaa/dwab), display and data window, pixelAspectRatio, and where the plate
// had them, framesPerSecond, timeCode and chromaticities (copied from the
// input frame's metadata), plus string attributes given by the caller
// (provenance, e.g. "roto/model").
// The file is written atomically (atomic.h).
//
// DWAA/DWAB (read and written on any OpenEXRCore, by roto's own codec,
// io/exr_dwa.h; docs/io.md "DWAA and DWAB") follow OpenEXR's channel rules:
// obj_*.A is RLE (exact), depth.Z, N.X and N.Z are deflated (exact), R,G,B are
// lossy, and N.Y is lossy too (its suffix is the luminance rule's "Y").
#ifndef ROTO_IO_EXR_H
#define ROTO_IO_EXR_H

#include "io/frame.h"
#include "io/image.h"

#ifdef __cplusplus
extern "C" {
#endif

// Storage type of an output channel.
typedef enum {
    ROTO_EXR_HALF = 0,   // 16-bit float (round to nearest even)
    ROTO_EXR_FLOAT = 1,  // 32-bit float
    ROTO_EXR_UINT = 2,   // 32-bit unsigned (e.g. object IDs): rounded, clamped to [0, 2^32-1]
} roto_exr_pixel;

// One output channel: a [height][width] float plane (or interleaved data with
// pixel_stride floats between pixels), stored as `type`.
typedef struct {
    const char *name;     // full EXR channel name, e.g. "obj_person.A", "depth.Z", "R"
    const float *data;    // first pixel of row 0 of the data window
    int pixel_stride;     // floats between horizontally adjacent pixels; 0 means 1
    roto_exr_pixel type;  // HALF, FLOAT or UINT
} roto_exr_channel;

typedef struct {
    const char *key;    // attribute name, e.g. "roto/model"
    const char *value;
} roto_exr_string_attr;

typedef struct {
    roto_exr_compression compression;  // roto_exr_opts_init: ZIP
    int zip_level;                     // zlib level 1..9 for ZIP/ZIPS; 0 = 4 (on grainy plates
                                       // about 2x faster than zlib's 6 for ~1% larger files)
    float dwa_level;                   // DWAA/DWAB quality (dwaCompressionLevel): the quantisation
                                       // error bound * 100000; 0 = OpenEXR's default (45)
    // Metadata copied into the header: framesPerSecond, timeCode,
    // chromaticities (when present), pixel aspect, and the display window.
    // NULL: none, display window = data window = (0,0)-(w-1,h-1).
    const roto_frame_meta *meta;
    // Where the channel planes sit inside the display window. When
    // has_data_window is 0 the data window is (0,0)-(w-1,h-1).
    int has_data_window;
    roto_box data_window;
    const roto_exr_string_attr *attrs;
    int n_attrs;
} roto_exr_opts;

void roto_exr_opts_init(roto_exr_opts *o);

// Write the channels (1..1024 of them, unique names) to `path` atomically.
// width/height are the data window's size. Errors name the file and channel.
roto_status roto_exr_write_channels(const char *path, int width, int height, const roto_exr_channel *ch,
                                    int n_channels, const roto_exr_opts *o);

// Same, into a malloc'd buffer (*out, *n) (caller frees).
roto_status roto_exr_encode_channels(const char *name, int width, int height, const roto_exr_channel *ch,
                                     int n_channels, const roto_exr_opts *o, void **out, size_t *n);

// The per-frame matte delivery.
typedef struct {
    int width, height;
    int n_objects;
    const char *const *object_names;  // layer names become "obj_<sanitised name>"
    const float *const *alphas;       // n_objects planes [height][width], 0..1
    int alpha_float;                  // 1: FLOAT mattes instead of HALF
    const float *depth;               // optional [height][width] -> depth.Z (FLOAT)
    const float *normals;             // optional [height][width][3] -> N.X, N.Y, N.Z (FLOAT)
    const float *rgb;                 // optional [height][width][3] -> R, G, B (HALF)
} roto_matte_layers;

roto_status roto_exr_write_mattes(const char *path, const roto_matte_layers *m, const roto_exr_opts *o);

// The layer name for an object: "obj_" + the name with every character other
// than [A-Za-z0-9_-] replaced by '_' (Nuke's legal layer names). Returns
// INVALID_ARG for an empty name or one that does not fit `cap`.
roto_status roto_exr_object_layer(const char *object_name, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
