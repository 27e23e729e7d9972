// weights.h: the weight store: a checkpoint file mapped read-only, its tensors
// listed by name (dtype, shape, where the bytes are), looked up by name and
// converted to f32 on request.
//
// Two on-disk formats are read, chosen by content (never by extension):
//   safetensors   8-byte little-endian header length, JSON header, raw data
//   pytorch-zip   torch.save's default since 1.6: a STORED zip with data.pkl (a
//                 pickle of the state dict) and data/<key> (raw storages)
// Every offset and size in a file is checked against the file before use: a
// malformed file gives a status and a message naming the file and the problem;
// nothing is ever read past the end of the mapping.
//
// Usage:
//   rt_weights w;
//   ROTO_TRY(rt_weights_open(&w, "sam2.1_hiera_tiny.pt"));
//   float *buf = ...;  // 96*3*7*7 floats
//   int64_t shape[4] = {96, 3, 7, 7};
//   ROTO_TRY(rt_weights_load_f32(&w, "image_encoder.trunk.patch_embed.proj.weight",
//                                4, shape, buf));
//   rt_weights_close(&w);
// Nets ask for canonical (official) names; engine/namemap.h adds aliases so files
// in other naming schemes (Hugging Face) answer the same names.
#ifndef ROTO_WEIGHTS_H
#define ROTO_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RT_WFMT_SAFETENSORS = 0, RT_WFMT_PYTORCH_ZIP } rt_wformat;

// Element types found in checkpoint files. Only f32/f16/bf16 can be loaded; the
// others are listed (so `roto info` shows them) and refused on load.
typedef enum {
    RT_WDT_F32 = 0,
    RT_WDT_F16,
    RT_WDT_BF16,
    RT_WDT_F64,
    RT_WDT_I64,
    RT_WDT_I32,
    RT_WDT_I16,
    RT_WDT_I8,
    RT_WDT_U8,
    RT_WDT_U16,
    RT_WDT_U32,
    RT_WDT_U64,
    RT_WDT_BOOL,
    RT_WDT_F8_E4M3,
    RT_WDT_F8_E5M2,
    RT_WDT_C64,
    RT_WDT_C128,
    RT_WDT_COUNT
} rt_wdtype;

const char *rt_wdtype_name(rt_wdtype t);  // "f32", "bf16", "i64", ...
size_t rt_wdtype_size(rt_wdtype t);       // bytes per element
bool rt_wdtype_supported(rt_wdtype t);    // f32, f16, bf16
// The engine dtype for a supported file dtype; false if there is none.
bool rt_wdtype_to_dtype(rt_wdtype t, rt_dtype *out);

// One tensor of the file (or an alias of part of one, see namemap.h).
typedef struct {
    char *name;
    rt_wdtype dtype;
    int ndim;                     // 0..4; a 0-d tensor has one element
    int64_t shape[RT_MAX_DIMS];   // unused dims are 1
    int64_t numel;
    uint64_t offset;              // byte offset of the first element in the file
    uint64_t nbytes;              // numel * element size
    const void *data;             // into the mapping; not necessarily aligned
    int alias_of;                 // -1 for a file tensor, else the index it views
} rt_wtensor;

typedef struct {
    char *key, *value;
} rt_wmeta;

typedef struct {
    char *path;                   // as given to open (used in every message)
    rt_wformat format;
    const uint8_t *map;           // the whole file, read-only
    size_t size;
    bool owns_map;                // false for rt_weights_open_buffer
    // File tensors first (n_tensors, in file order), then aliases (n_aliases).
    rt_wtensor *tensors;
    int n_tensors, n_aliases, cap_tensors;
    rt_wmeta *meta;               // safetensors __metadata__, torch archive facts
    int n_meta, cap_meta;
    int32_t *index;               // open-addressing hash over all names
    size_t index_cap;
} rt_weights;

// Map `path` read-only and list its tensors. On failure nothing is left open.
roto_status rt_weights_open(rt_weights *w, const char *path);
// The same on bytes the caller keeps alive until close (fuzzers, tests); `name`
// is used in messages.
roto_status rt_weights_open_buffer(rt_weights *w, const char *name, const void *data,
                                   size_t size);
void rt_weights_close(rt_weights *w);

const char *rt_wformat_name(rt_wformat f);  // "safetensors", "pytorch-zip"

// Lookup by name (file tensors and aliases). NULL if absent; no error recorded.
const rt_wtensor *rt_weights_find(const rt_weights *w, const char *name);
// Lookup that records ROTO_ERR_NOT_FOUND naming the tensor and file.
roto_status rt_weights_get(const rt_weights *w, const char *name, const rt_wtensor **out);
// Lookup that also checks the shape (ndim dims): ROTO_ERR_SHAPE naming both shapes.
roto_status rt_weights_expect(const rt_weights *w, const char *name, int ndim,
                              const int64_t *shape, const rt_wtensor **out);

// Convert tensor `t` of `w` to f32 into dst (capacity dst_numel, must equal t->numel).
roto_status rt_weights_read_f32(const rt_weights *w, const rt_wtensor *t, float *dst,
                                int64_t dst_numel);
// Find `name`, check its shape is exactly shape[0..ndim), convert into dst.
roto_status rt_weights_load_f32(const rt_weights *w, const char *name, int ndim,
                                const int64_t *shape, float *dst);
// A CPU tensor viewing the mapped bytes (supported dtypes only). The data pointer
// is const in spirit: never write through it.
roto_status rt_weights_view(const rt_weights *w, const rt_wtensor *t, rt_tensor *out);

// Metadata value for `key`, or NULL.
const char *rt_weights_meta(const rt_weights *w, const char *key);
// Total element count over file tensors (parameters).
int64_t rt_weights_param_count(const rt_weights *w);
// "[3, 5]" into buf; returns buf.
const char *rt_wtensor_shape_str(const rt_wtensor *t, char *buf, size_t n);

// Add an alias: `name` views rows [row0, row0+rows) of the first dim of tensor
// `target` (rows = -1: the whole tensor). Used by namemap.c. The alias gets
// shape [rows, rest...] and the same dtype. Fails on a name already present.
roto_status rt_weights_add_alias(rt_weights *w, const char *name, int target, int64_t row0,
                                 int64_t rows);

// ---- for the format readers (safetensors.c, ptzip.c) and the fuzzers --------
// Records `code` with "PATH: message" and returns it.
roto_status rt_weights_fail(const rt_weights *w, roto_status code, const char *src, int line,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define RT_WFAIL(w, code, ...) rt_weights_fail((w), (code), __FILE__, __LINE__, __VA_ARGS__)
// Append a file tensor; checks ndim <= 4 and dims >= 0, that numel * element size
// does not overflow and equals nbytes, and that [offset, offset+nbytes) lies in
// the file. `name` need not be NUL-terminated (name_len bytes).
roto_status rt_weights_add_tensor(rt_weights *w, const char *name, size_t name_len,
                                  rt_wdtype dtype, int ndim, const int64_t *shape,
                                  uint64_t offset, uint64_t nbytes);
roto_status rt_weights_add_meta(rt_weights *w, const char *key, const char *value);
// Parsers: fill w (map/size/path already set). Called by open after detection.
roto_status rt_safetensors_parse(rt_weights *w);
roto_status rt_ptzip_parse(rt_weights *w);
// Parse a buffer as one given format (fuzzers use this to stay on one parser).
roto_status rt_weights_open_buffer_as(rt_weights *w, const char *name, const void *data,
                                      size_t size, rt_wformat format);

#ifdef __cplusplus
}
#endif
#endif
