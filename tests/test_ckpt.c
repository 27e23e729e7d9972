// test_ckpt.c: checkpoint readers, the weight store, the SAM 2 name map, model
// detection and `roto info`.
//
// Real files written by torch.save and the safetensors package live in
// tests/fixtures/ckpt/ (tools/refgen/gen_ckpt_fixtures.py), with expected.json
// holding every tensor's name, dtype, shape and values: the readers must return
// exactly those. Malformed inputs are made here from the fixtures (truncation
// at every byte, flipped header bytes, patched zip records) or built from
// scratch (safetensors headers, zips holding hand-assembled pickles): each must
// give an error status whose message names the file and the problem.
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/model_detect.h"
#include "engine/namemap.h"
#include "engine/weights.h"
#include "util/cli_util.h"
#include "util/test_util.h"

// ---- files -----------------------------------------------------------------------

static char g_fixdir[PATH_MAX];

// tests/fixtures/ckpt from the working directory (make runs tests from the
// repository root), else relative to the binary: <root>/<build>/tests/test_ckpt.
static const char *fixdir(void) {
    if (!g_fixdir[0]) cu_repo_dir(g_fixdir, sizeof g_fixdir, "tests/fixtures/ckpt", "expected.json");
    return g_fixdir;
}

static char *fixture_path(const char *name) {
    static _Thread_local char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, "%s/%s", fixdir(), name);
    return buf;
}

static uint8_t *read_fixture(const char *name, size_t *size) {
    return cu_must_read(fixture_path(name), size);
}

// A temporary file holding `data`; the caller unlinks it.
static void write_temp(char *path, size_t cap, const void *data, size_t size) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, cap, "%s/roto_ckpt_XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp failed");
    ck_assert_int_eq(write(fd, data, size), (ssize_t)size);
    close(fd);
}

// Exact-size heap copy so ASan sees any read past the end.
static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
    uint8_t *b = malloc(n ? n : 1);
    ck_assert(b != NULL);
    memcpy(b, p, n);
    return b;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void wr16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) {
    wr16(p, v & 0xffff);
    wr16(p + 2, v >> 16);
}
static void wr64(uint8_t *p, uint64_t v) {
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

// Open a buffer expecting failure with `code`; the message must name the file
// and contain `what`.
static void expect_fail_buf(const uint8_t *data, size_t size, roto_status code, const char *what) {
    rt_weights w;
    uint8_t *copy = dup_bytes(data, size);
    roto_clear_error();
    roto_status st = rt_weights_open_buffer(&w, "bad.bin", copy, size);
    ck_assert_msg(st == code, "expected %s, got %s: %s", roto_status_name(code),
                  roto_status_name(st), roto_last_error());
    ck_assert_msg(strstr(roto_last_error(), "bad.bin"), "message does not name the file: %s",
                  roto_last_error());
    ck_assert_msg(!what || strstr(roto_last_error(), what), "message lacks '%s': %s", what,
                  roto_last_error());
    free(copy);
}

// Read every tensor of an opened store (f32 conversion or raw bytes) so ASan
// checks that each byte range lies inside the buffer.
static void touch_all(const rt_weights *w) {
    for (int i = 0; i < w->n_tensors + w->n_aliases; i++) {
        const rt_wtensor *t = &w->tensors[i];
        volatile uint8_t sink = 0;
        const uint8_t *p = t->data;
        for (uint64_t k = 0; k < t->nbytes; k++) sink ^= p[k];
        (void)sink;
        if (rt_wdtype_supported(t->dtype) && t->numel < (1 << 20)) {
            float *buf = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *buf);
            ck_assert_int_eq(rt_weights_read_f32(w, t, buf, t->numel), ROTO_OK);
            free(buf);
        }
    }
}

// ---- building inputs -----------------------------------------------------------

typedef struct {
    uint8_t *b;
    size_t n, cap;
} bytes;

static void b_put(bytes *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->b = realloc(b->b, b->cap);
        ck_assert(b->b != NULL);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void b_u8(bytes *b, int v) {
    uint8_t c = (uint8_t)v;
    b_put(b, &c, 1);
}
static void b_u16(bytes *b, uint32_t v) {
    b_u8(b, v & 0xff);
    b_u8(b, (v >> 8) & 0xff);
}
static void b_u32(bytes *b, uint32_t v) {
    b_u16(b, v & 0xffff);
    b_u16(b, v >> 16);
}
static void b_u64(bytes *b, uint64_t v) {
    b_u32(b, (uint32_t)v);
    b_u32(b, (uint32_t)(v >> 32));
}

// A safetensors file from a header string and a data section.
static uint8_t *st_build(const char *header, const void *data, size_t data_len, size_t *size) {
    bytes b = {0};
    b_u64(&b, strlen(header));
    b_put(&b, header, strlen(header));
    b_put(&b, data, data_len);
    *size = b.n;
    return b.b;
}

// Synthetic checkpoints for detection and aliasing: tensors laid out one after
// another, f32 values = a running counter so every element is distinct.
typedef struct {
    char name[160];
    int ndim;
    int64_t shape[4];
} syn_tensor;

typedef struct {
    syn_tensor *t;
    int n, cap;
} syn_list;

static void syn_add(syn_list *l, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2,
                    int64_t d3) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->t = realloc(l->t, (size_t)l->cap * sizeof *l->t);
    }
    syn_tensor *t = &l->t[l->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int64_t d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < 4; i++) t->shape[i] = d[i];
}

static uint8_t *syn_build(const syn_list *l, size_t *size) {
    json_t *root = json_object();
    uint64_t off = 0;
    for (int i = 0; i < l->n; i++) {
        int64_t numel = 1;
        json_t *shape = json_array();
        for (int d = 0; d < l->t[i].ndim; d++) {
            numel *= l->t[i].shape[d];
            json_array_append_new(shape, json_integer(l->t[i].shape[d]));
        }
        json_t *e = json_object();
        json_object_set_new(e, "dtype", json_string("F32"));
        json_object_set_new(e, "shape", shape);
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + 4 * numel)));
        json_object_set_new(e, "data_offsets", offs);
        json_object_set_new(root, l->t[i].name, e);
        off += 4 * (uint64_t)numel;
    }
    char *header = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    float *data = malloc(off ? off : 4);
    for (uint64_t k = 0; k < off / 4; k++) data[k] = (float)k;
    uint8_t *file = st_build(header, data, off, size);
    free(data);
    free(header);
    return file;
}

// A STORED zip of the given members (CRCs are left 0: the reader does not check
// them, torch's own reader does).
typedef struct {
    const char *name;
    const void *data;
    size_t size;
} zmem;

static uint8_t *zip_build(const zmem *m, int n, size_t *size) {
    bytes b = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        uint32_t off = (uint32_t)b.n;
        size_t nl = strlen(m[i].name);
        b_u32(&b, 0x04034b50); b_u16(&b, 20); b_u16(&b, 0); b_u16(&b, 0);
        b_u16(&b, 0); b_u16(&b, 0); b_u32(&b, 0);
        b_u32(&b, (uint32_t)m[i].size); b_u32(&b, (uint32_t)m[i].size);
        b_u16(&b, (uint32_t)nl); b_u16(&b, 0);
        b_put(&b, m[i].name, nl);
        b_put(&b, m[i].data, m[i].size);
        b_u32(&cd, 0x02014b50); b_u16(&cd, 20); b_u16(&cd, 20); b_u16(&cd, 0); b_u16(&cd, 0);
        b_u16(&cd, 0); b_u16(&cd, 0); b_u32(&cd, 0);
        b_u32(&cd, (uint32_t)m[i].size); b_u32(&cd, (uint32_t)m[i].size);
        b_u16(&cd, (uint32_t)nl); b_u16(&cd, 0); b_u16(&cd, 0); b_u16(&cd, 0); b_u16(&cd, 0);
        b_u32(&cd, 0); b_u32(&cd, off);
        b_put(&cd, m[i].name, nl);
    }
    uint32_t cd_off = (uint32_t)b.n;
    b_put(&b, cd.b, cd.n);
    b_u32(&b, 0x06054b50); b_u16(&b, 0); b_u16(&b, 0); b_u16(&b, (uint32_t)n);
    b_u16(&b, (uint32_t)n); b_u32(&b, (uint32_t)cd.n); b_u32(&b, cd_off); b_u16(&b, 0);
    free(cd.b);
    *size = b.n;
    return b.b;
}

// Pickle assembly (protocol 2 opcodes, as torch.save writes them).
static void pk_str(bytes *b, const char *s) {
    b_u8(b, 'X');
    b_u32(b, (uint32_t)strlen(s));
    b_put(b, s, strlen(s));
}
static void pk_int(bytes *b, int32_t v) {
    b_u8(b, 'J');
    b_u32(b, (uint32_t)v);
}
static void pk_global(bytes *b, const char *mod, const char *name) {
    b_u8(b, 'c');
    b_put(b, mod, strlen(mod));
    b_u8(b, '\n');
    b_put(b, name, strlen(name));
    b_u8(b, '\n');
}
// _rebuild_tensor_v2(storage(type, key, numel), offset, shape, stride, False, OrderedDict())
static void pk_tensor(bytes *b, const char *stype, const char *key, int numel, int offset,
                      int ndim, const int *shape, const int *stride) {
    pk_global(b, "torch._utils", "_rebuild_tensor_v2");
    b_u8(b, '(');
    b_u8(b, '(');
    pk_str(b, "storage");
    pk_global(b, "torch", stype);
    pk_str(b, key);
    pk_str(b, "cpu");
    pk_int(b, numel);
    b_u8(b, 't');
    b_u8(b, 'Q');
    pk_int(b, offset);
    b_u8(b, '(');
    for (int d = 0; d < ndim; d++) pk_int(b, shape[d]);
    b_u8(b, 't');
    b_u8(b, '(');
    for (int d = 0; d < ndim; d++) pk_int(b, stride[d]);
    b_u8(b, 't');
    b_u8(b, 0x89);
    pk_global(b, "collections", "OrderedDict");
    b_u8(b, ')');
    b_u8(b, 'R');
    b_u8(b, 't');
    b_u8(b, 'R');
}
static void pk_tensor_2x2(bytes *b) {
    const int shape[2] = {2, 2}, stride[2] = {2, 1};
    pk_tensor(b, "FloatStorage", "0", 4, 0, 2, shape, stride);
}

static const float g_storage0[4] = {1.5f, -2.0f, 3.25f, 4.0f};

// A torch-style zip "archive/{data.pkl, data/0, version}" around a pickle.
static uint8_t *pt_build(const bytes *pkl, size_t *size) {
    zmem m[3] = {{"archive/data.pkl", pkl->b, pkl->n},
                 {"archive/data/0", g_storage0, sizeof g_storage0},
                 {"archive/version", "3\n", 2}};
    return zip_build(m, 3, size);
}

// ---- real fixtures against expected.json ----------------------------------------

static json_t *load_expected(void) {
    json_error_t err;
    json_t *j = json_load_file(fixture_path("expected.json"), 0, &err);
    ck_assert_msg(j != NULL, "expected.json: %s", err.text);
    return j;
}

static void check_file_against(const char *fname, json_t *spec) {
    rt_weights w;
    const char *path = fixture_path(fname);
    ck_assert_msg(rt_weights_open(&w, path) == ROTO_OK, "%s", roto_last_error());
    ck_assert_str_eq(rt_wformat_name(w.format), json_string_value(json_object_get(spec, "format")));
    json_t *tensors = json_object_get(spec, "tensors");
    ck_assert_int_eq(w.n_tensors, (int)json_array_size(tensors));
    size_t i;
    json_t *row;
    json_array_foreach(tensors, i, row) {
        const char *name = json_string_value(json_object_get(row, "name"));
        const rt_wtensor *t = rt_weights_find(&w, name);
        ck_assert_msg(t != NULL, "%s: tensor %s missing", fname, name);
        if (w.format == RT_WFMT_PYTORCH_ZIP) ck_assert_ptr_eq(t, &w.tensors[i]);  // pickle order kept
        ck_assert_str_eq(rt_wdtype_name(t->dtype), json_string_value(json_object_get(row, "dtype")));
        json_t *shape = json_object_get(row, "shape");
        ck_assert_int_eq(t->ndim, (int)json_array_size(shape));
        for (int d = 0; d < t->ndim; d++)
            ck_assert_int_eq(t->shape[d], json_integer_value(json_array_get(shape, (size_t)d)));
        json_t *values = json_object_get(row, "values");
        ck_assert_int_eq(t->numel, (int64_t)json_array_size(values));
        if (rt_wdtype_supported(t->dtype)) {
            float *got = malloc((size_t)t->numel * sizeof *got + 4);
            tu_poison_f32(got, (size_t)t->numel);
            ck_assert_int_eq(rt_weights_read_f32(&w, t, got, t->numel), ROTO_OK);
            for (int64_t k = 0; k < t->numel; k++) {
                json_t *jv = json_array_get(values, (size_t)k);
                // JSON has no inf/nan: the generator writes those as strings.
                float want = json_is_string(jv) ? strtof(json_string_value(jv), NULL)
                                                : (float)json_number_value(jv);
                // Bit-exact: -0.0, inf and rounding all have to match.
                ck_assert_msg(!memcmp(&got[k], &want, 4), "%s %s[%lld]: got %.9g want %.9g",
                              fname, name, (long long)k, got[k], want);
            }
            // The same through load_f32 with the expected shape.
            int64_t sh[4];
            for (int d = 0; d < t->ndim; d++) sh[d] = t->shape[d];
            ck_assert_int_eq(rt_weights_load_f32(&w, name, t->ndim, sh, got), ROTO_OK);
            free(got);
        } else {
            // i64 buffers (BatchNorm num_batches_tracked): listed, bytes right, not loadable.
            ck_assert_int_eq(t->dtype, RT_WDT_I64);
            for (int64_t k = 0; k < t->numel; k++) {
                int64_t v;
                memcpy(&v, (const uint8_t *)t->data + 8 * k, 8);
                ck_assert_int_eq(v, json_integer_value(json_array_get(values, (size_t)k)));
            }
            float dummy[8];
            roto_clear_error();
            ck_assert_int_eq(rt_weights_read_f32(&w, t, dummy, t->numel), ROTO_ERR_UNSUPPORTED);
            ck_assert_ptr_nonnull(strstr(roto_last_error(), name));
            ck_assert_ptr_nonnull(strstr(roto_last_error(), "i64"));
        }
    }
    json_t *meta = json_object_get(spec, "metadata");
    if (meta) {
        const char *k;
        json_t *v;
        json_object_foreach(meta, k, v) {
            ck_assert_ptr_nonnull(rt_weights_meta(&w, k));
            ck_assert_str_eq(rt_weights_meta(&w, k), json_string_value(v));
        }
    }
    if (w.format == RT_WFMT_PYTORCH_ZIP) ck_assert_str_eq(rt_weights_meta(&w, "torch.format_version"), "3");
    rt_weights_close(&w);
}

START_TEST(test_fixtures_values) {
    json_t *exp = load_expected();
    json_t *files = json_object_get(exp, "files");
    ck_assert_int_ge(json_object_size(files), 5);
    const char *fname;
    json_t *spec;
    json_object_foreach(files, fname, spec) check_file_against(fname, spec);
    json_decref(exp);
}
END_TEST

// The file tensors of the nested torch file: wrapper "model" stripped, nested
// dict joined with ".", non-tensors skipped, views into one storage at offsets.
START_TEST(test_pt_structure) {
    rt_weights w;
    ck_assert_int_eq(rt_weights_open(&w, fixture_path("nested_model.pt")), ROTO_OK);
    ck_assert_ptr_nonnull(rt_weights_find(&w, "sub.x"));
    ck_assert_ptr_null(rt_weights_find(&w, "model.enc.weight"));
    ck_assert_ptr_null(rt_weights_find(&w, "epoch_count"));
    const rt_wtensor *a = rt_weights_find(&w, "shared.a"), *b = rt_weights_find(&w, "shared.b");
    ck_assert_int_eq(b->offset - a->offset, 8 * 4);  // offsets 2 and 10 in one storage
    ck_assert_int_eq(rt_weights_find(&w, "scale")->ndim, 0);
    ck_assert_int_eq(rt_weights_find(&w, "scale")->numel, 1);
    // torch aligns storages to 64 bytes, so zero-copy views work.
    rt_tensor v;
    ck_assert_int_eq(rt_weights_view(&w, rt_weights_find(&w, "conv.weight"), &v), ROTO_OK);
    ck_assert_int_eq(v.ndim, 4);
    ck_assert_int_eq(v.shape[1], 3);
    ck_assert_int_eq(v.dtype, RT_F32);
    ck_assert_int_eq(rt_weights_param_count(&w), 112);
    ck_assert_str_eq(rt_weights_meta(&w, "torch.archive"), "nested_model");
    rt_weights_close(&w);
}
END_TEST

START_TEST(test_fixture_errors) {
    json_t *exp = load_expected();
    const char *fname;
    json_t *want;
    json_object_foreach(json_object_get(exp, "errors"), fname, want) {
        rt_weights w;
        roto_clear_error();
        roto_status st = rt_weights_open(&w, fixture_path(fname));
        ck_assert_msg(st != ROTO_OK, "%s opened", fname);
        ck_assert_int_eq(st, ROTO_ERR_UNSUPPORTED);
        ck_assert_msg(strstr(roto_last_error(), fname), "%s", roto_last_error());
        ck_assert_msg(strstr(roto_last_error(), json_string_value(want)), "%s",
                      roto_last_error());
        ck_assert(w.tensors == NULL && w.map == NULL);  // nothing left open
    }
    json_decref(exp);
}
END_TEST

START_TEST(test_store_api_errors) {
    rt_weights w;
    roto_clear_error();
    ck_assert_int_eq(rt_weights_open(&w, "/nonexistent/x.pt"), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "/nonexistent/x.pt"));
    ck_assert_int_eq(rt_weights_open(&w, fixdir()), ROTO_ERR_IO);  // a directory
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "not a regular file"));
    char tmp[PATH_MAX];
    write_temp(tmp, sizeof tmp, "", 0);
    ck_assert_int_eq(rt_weights_open(&w, tmp), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "empty file"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), tmp));
    unlink(tmp);

    ck_assert_int_eq(rt_weights_open(&w, fixture_path("tensors.safetensors")), ROTO_OK);
    const rt_wtensor *t;
    ck_assert_int_eq(rt_weights_get(&w, "nope", &t), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "no tensor named 'nope'"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "tensors.safetensors"));
    int64_t bad[2] = {5, 3};
    float buf[64];
    ck_assert_int_eq(rt_weights_load_f32(&w, "enc.weight", 2, bad, buf), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "has shape [3, 5] but [5, 3] was expected"));
    ck_assert_int_eq(rt_weights_get(&w, "enc.weight", &t), ROTO_OK);
    ck_assert_int_eq(rt_weights_read_f32(&w, t, buf, 14), ROTO_ERR_SHAPE);
    rt_weights_close(&w);
}
END_TEST

// ---- malformed files -------------------------------------------------------------

// Every prefix of every fixture must fail cleanly (the readers only see the
// bytes of the prefix: a heap block of exactly that size).
START_TEST(test_truncation_every_byte) {
    const char *files[] = {"nested_model.pt", "module_state.pt", "tensors.safetensors", "zip64.pt",
                           "proto4.pt"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        size_t size;
        uint8_t *data = read_fixture(files[f], &size);
        for (size_t n = 0; n < size; n++) {
            uint8_t *copy = dup_bytes(data, n);
            rt_weights w;
            roto_clear_error();
            roto_status st = rt_weights_open_buffer(&w, files[f], copy, n);
            ck_assert_msg(st != ROTO_OK, "%s truncated to %zu bytes opened", files[f], n);
            ck_assert_msg(strstr(roto_last_error(), files[f]), "%s", roto_last_error());
            free(copy);
        }
        free(data);
    }
}
END_TEST

// Flip each byte of the safetensors header and of the zip's metadata (local
// headers of data.pkl, central directory, end records): never a crash, and
// whatever opens reads in bounds.
START_TEST(test_byte_flips) {
    const char *files[] = {"tensors.safetensors", "nested_model.pt", "zip64.pt"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        size_t size;
        uint8_t *data = read_fixture(files[f], &size);
        size_t lo = 0, hi = size;
        if (data[0] == 'P') {  // zip: the data.pkl member and everything from the CD on
            for (size_t k = 0; k + 4 <= size; k++)
                if (rd32(data + k) == 0x02014b50) {
                    lo = k;
                    break;
                }
        } else {
            hi = 8 + (size_t)rd32(data);
        }
        for (int pass = 0; pass < 2; pass++) {
            size_t a = pass ? lo : 0, b = pass ? size : (data[0] == 'P' ? 1300 : hi);
            if (a > size) a = size;
            if (b > size) b = size;
            for (size_t k = a; k < b; k++) {
                uint8_t *copy = dup_bytes(data, size);
                copy[k] ^= 0xff;
                rt_weights w;
                if (rt_weights_open_buffer(&w, files[f], copy, size) == ROTO_OK) {
                    touch_all(&w);
                    rt_weights_close(&w);
                } else {
                    ck_assert_msg(strstr(roto_last_error(), files[f]), "%s", roto_last_error());
                }
                free(copy);
            }
        }
        free(data);
    }
}
END_TEST

START_TEST(test_safetensors_malformed) {
    // A valid two-tensor file first, then one defect at a time.
    static const uint8_t data[16] = {0};
    size_t n;
    uint8_t *f;
#define ST_CASE(hdr, len, code, what)                 \
    do {                                              \
        f = st_build((hdr), data, (len), &n);         \
        expect_fail_buf(f, n, (code), (what));        \
        free(f);                                      \
    } while (0)
    f = st_build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                 "\"b\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}",
                 data, 16, &n);
    rt_weights w;
    ck_assert_int_eq(rt_weights_open_buffer(&w, "ok", f, n), ROTO_OK);
    ck_assert_int_eq(w.n_tensors, 2);
    rt_weights_close(&w);
    free(f);

    ST_CASE("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_FORMAT, "no string \"dtype\"");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, ROTO_ERR_FORMAT, "no \"shape\"");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, ROTO_ERR_FORMAT, "data_offsets");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8, ROTO_ERR_FORMAT, "data_offsets");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, ROTO_ERR_FORMAT, "begin <= end");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, ROTO_ERR_FORMAT, "begin <= end");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, ROTO_ERR_FORMAT, "beyond the data section");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_FORMAT, "needs 12 bytes but its data is 8");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_FORMAT, "absurd shape");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_FORMAT, "shape[0] is not a size");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_UNSUPPORTED, "'a' has 5 dims");
    ST_CASE("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_FORMAT, "unknown dtype");
    ST_CASE("{\"a\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ROTO_ERR_UNSUPPORTED, "dtype F4");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, ROTO_ERR_FORMAT, "duplicate");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, ROTO_ERR_FORMAT, "overlaps");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", 16, ROTO_ERR_FORMAT, "gap");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, ROTO_ERR_FORMAT, "cover 8 bytes but the data section has 12");
    ST_CASE("{\"__metadata__\":{\"k\":3}}", 0, ROTO_ERR_FORMAT, "metadata value for 'k'");
    ST_CASE("{\"__metadata__\":[]}", 0, ROTO_ERR_FORMAT, "__metadata__");
    ST_CASE("{\"a\":5}", 0, ROTO_ERR_FORMAT, "not an object");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",", 0, ROTO_ERR_FORMAT, "bad JSON header");
    ST_CASE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, ROTO_ERR_FORMAT, "bad JSON header");
#undef ST_CASE
    // Header length field: beyond the file, cutting the JSON, eating data bytes.
    f = st_build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8, &n);
    uint64_t hl;
    memcpy(&hl, f, 8);
    const uint64_t lens[] = {UINT64_MAX, (uint64_t)n - 7, (uint64_t)1 << 40, 0, 1, hl - 1, hl + 1};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint8_t *g = dup_bytes(f, n);
        memcpy(g, &lens[i], 8);
        expect_fail_buf(g, n, ROTO_ERR_FORMAT, NULL);
        free(g);
    }
    free(f);
    // A header that is not an object, forced through the safetensors parser.
    f = st_build("[1, 2, 3]", data, 0, &n);
    roto_clear_error();
    ck_assert_int_eq(rt_weights_open_buffer_as(&w, "arr.st", f, n, RT_WFMT_SAFETENSORS), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "does not start with '{'"));
    free(f);
    // Not a checkpoint at all.
    expect_fail_buf((const uint8_t *)"hello, world, this is text", 26, ROTO_ERR_FORMAT, "unrecognised format");
    expect_fail_buf((const uint8_t *)"PK", 2, ROTO_ERR_FORMAT, "too small");
}
END_TEST

// Odd header length: f16/bf16 data at odd addresses still loads (no unaligned
// loads: UBSan would flag them), and the zero-copy view refuses politely.
START_TEST(test_safetensors_unaligned) {
    const uint16_t h[3] = {0x3c00, 0xc000, 0x7c00};  // 1, -2, inf
    const char *hdr = "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]}} ";
    ck_assert(strlen(hdr) % 2 == 1);
    size_t n;
    uint8_t *f = st_build(hdr, h, sizeof h, &n);
    uint8_t *odd = malloc(n + 1);
    memcpy(odd + 1, f, n);  // keep the data odd whatever malloc returns
    uint8_t *base = ((uintptr_t)(odd + 1 + 8 + strlen(hdr)) % 2) ? odd + 1 : NULL;
    if (!base) {
        memmove(odd, odd + 1, n);
        base = odd;
    }
    rt_weights w;
    ck_assert_int_eq(rt_weights_open_buffer(&w, "odd", base, n), ROTO_OK);
    float got[3];
    int64_t shape[1] = {3};
    ck_assert_int_eq(rt_weights_load_f32(&w, "h", 1, shape, got), ROTO_OK);
    ck_assert_float_eq(got[0], 1.0f);
    ck_assert_float_eq(got[1], -2.0f);
    ck_assert(isinf(got[2]));
    rt_tensor v;
    ck_assert_int_eq(rt_weights_view(&w, rt_weights_find(&w, "h"), &v), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "not aligned"));
    rt_weights_close(&w);
    free(odd);
    free(f);
}
END_TEST

// Offsets of records inside a torch fixture, found by their signatures.
typedef struct {
    size_t eocd, eocd64, cd, pkl_local, pkl_central, pkl_data;
} zip_layout;

static zip_layout layout_of(const uint8_t *d, size_t size) {
    zip_layout L = {0};
    for (size_t k = size - 22;; k--) {
        if (rd32(d + k) == 0x06054b50) {
            L.eocd = k;
            break;
        }
        ck_assert(k > 0);
    }
    L.cd = rd32(d + L.eocd + 16);
    // torch writes a ZIP64 end record (and its locator) even for small files.
    if (L.eocd >= 20 && rd32(d + L.eocd - 20) == 0x07064b50) {
        L.eocd64 = (size_t)rd64(d + L.eocd - 12);
        ck_assert_int_eq(rd32(d + L.eocd64), 0x06064b50);
        ck_assert_int_eq(rd64(d + L.eocd64 + 48), L.cd);
    }
    for (size_t at = L.cd; rd32(d + at) == 0x02014b50;) {
        size_t nl = rd16(d + at + 28);
        if (nl > 8 && !memcmp(d + at + 46 + nl - 8, "data.pkl", 8)) {
            L.pkl_central = at;
            L.pkl_local = rd32(d + at + 42);
        }
        at += 46 + nl + rd16(d + at + 30) + rd16(d + at + 32);
    }
    L.pkl_data = L.pkl_local + 30 + rd16(d + L.pkl_local + 26) + rd16(d + L.pkl_local + 28);
    return L;
}

START_TEST(test_zip_malformed) {
    size_t size;
    uint8_t *orig = read_fixture("nested_model.pt", &size);
    zip_layout L = layout_of(orig, size);
    uint8_t *d = dup_bytes(orig, size);
#define RESET() memcpy(d, orig, size)
    // Wrong magic: no longer recognised as a zip (nor anything else).
    d[0] = 'X';
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "unrecognised format");
    // A compressed (deflate) data.pkl.
    RESET();
    wr16(d + L.pkl_local + 8, 8);
    wr16(d + L.pkl_central + 10, 8);
    expect_fail_buf(d, size, ROTO_ERR_UNSUPPORTED, "is compressed (method 8, deflate)");
    // Encrypted.
    RESET();
    wr16(d + L.pkl_central + 8, 1);
    expect_fail_buf(d, size, ROTO_ERR_UNSUPPORTED, "encrypted");
    // The torch fixture has a ZIP64 end record, which wins over the 32-bit one:
    // central directory offset beyond the file / pointing at garbage, more
    // entries than the directory holds, a directory running into the end record.
    ck_assert_int_gt(L.eocd64, 0);
    RESET();
    wr64(d + L.eocd64 + 48, size + 100);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "central directory");
    RESET();
    wr64(d + L.eocd64 + 48, 1);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "bad signature");
    RESET();
    wr64(d + L.eocd64 + 32, rd64(d + L.eocd64 + 32) + 1);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "central directory entry");
    RESET();
    wr64(d + L.eocd64 + 32, UINT64_MAX);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "central directory claims");
    RESET();
    wr64(d + L.eocd64 + 40, rd64(d + L.eocd64 + 40) + 1);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "central directory");
    RESET();
    wr64(d + L.eocd - 12, L.eocd64 + 1);  // locator pointing off the record
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "bad ZIP64 end record offset");
    RESET();
    wr64(d + L.eocd - 12, UINT64_MAX);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "bad ZIP64 end record offset");
    // The same on a plain (32-bit) zip, and ZIP64 markers without a ZIP64 record.
    {
        bytes pk = {0};
        b_u8(&pk, 0x80); b_u8(&pk, 2); b_u8(&pk, '}'); b_u8(&pk, '.');
        size_t zn;
        uint8_t *z = pt_build(&pk, &zn);
        free(pk.b);
        zip_layout Z = layout_of(z, zn);
        ck_assert_int_eq(Z.eocd64, 0);
        rt_weights w;
        ck_assert_int_eq(rt_weights_open_buffer(&w, "plain.pt", z, zn), ROTO_OK);
        ck_assert_int_eq(w.n_tensors, 0);
        rt_weights_close(&w);
        uint8_t *y = dup_bytes(z, zn);
        wr32(y + Z.eocd + 16, (uint32_t)zn + 100);
        expect_fail_buf(y, zn, ROTO_ERR_FORMAT, "central directory");
        memcpy(y, z, zn);
        wr16(y + Z.eocd + 10, rd16(y + Z.eocd + 10) + 1);
        expect_fail_buf(y, zn, ROTO_ERR_FORMAT, "central directory");
        memcpy(y, z, zn);
        wr32(y + Z.eocd + 16, 0xffffffff);
        expect_fail_buf(y, zn, ROTO_ERR_FORMAT, "ZIP64 markers but no ZIP64 end record");
        memcpy(y, z, zn);
        wr16(y + Z.eocd + 4, 1);
        expect_fail_buf(y, zn, ROTO_ERR_UNSUPPORTED, "multi-disk");
        free(y);
        free(z);
    }
    // Local header offset wrong, or past the end.
    RESET();
    wr32(d + L.pkl_central + 42, (uint32_t)L.pkl_local + 1);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "bad local header offset");
    RESET();
    wr32(d + L.pkl_central + 42, 0xfffffff0);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "bad local header offset");
    // Member sizes past the end of the file; stored sizes that disagree.
    RESET();
    wr32(d + L.pkl_central + 20, 0x7fffffff);
    wr32(d + L.pkl_central + 24, 0x7fffffff);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "runs past the end of the file");
    RESET();
    wr32(d + L.pkl_central + 24, rd32(d + L.pkl_central + 24) + 1);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "sizes differ");
    // A shorter data.pkl: the pickle ends before STOP.
    RESET();
    wr32(d + L.pkl_central + 20, 100);
    wr32(d + L.pkl_central + 24, 100);
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "data.pkl byte offset");
    // An unsupported opcode right after PROTO: named, with its offset.
    RESET();
    d[L.pkl_data + 2] = 'I';
    expect_fail_buf(d, size, ROTO_ERR_UNSUPPORTED, "data.pkl byte offset 2: unsupported pickle opcode INT (0x49)");
    RESET();
    d[L.pkl_data + 2] = 0x81;
    expect_fail_buf(d, size, ROTO_ERR_UNSUPPORTED, "NEWOBJ");
    // The archive's data.pkl renamed away.
    RESET();
    d[L.pkl_central + 46 + rd16(d + L.pkl_central + 28) - 1] = 'x';
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "local header names a different file");
    RESET();
    d[L.pkl_central + 46 + rd16(d + L.pkl_central + 28) - 1] = 'x';
    d[L.pkl_local + 30 + rd16(d + L.pkl_local + 26) - 1] = 'x';
    expect_fail_buf(d, size, ROTO_ERR_FORMAT, "no <archive>/data.pkl");
#undef RESET
    free(d);
    free(orig);
}
END_TEST

// Hand-assembled pickles in a minimal torch-style zip.
static void pk_begin(bytes *b) {
    b->n = 0;
    b_u8(b, 0x80);
    b_u8(b, 2);
}

static void pk_expect_fail(bytes *b, roto_status code, const char *what) {
    size_t n;
    uint8_t *z = pt_build(b, &n);
    expect_fail_buf(z, n, code, what);
    free(z);
}

START_TEST(test_pickle_vm) {
    bytes b = {0};
    size_t n;
    uint8_t *z;
    rt_weights w;

    // {"state_dict": {"w": tensor}, "extra": 1}: wrapper stripped, values read.
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "state_dict");
    b_u8(&b, '}');
    pk_str(&b, "w");
    pk_tensor_2x2(&b);
    b_u8(&b, 's');
    b_u8(&b, 's');
    pk_str(&b, "extra");
    pk_int(&b, 1);
    b_u8(&b, 's');
    b_u8(&b, '.');
    z = pt_build(&b, &n);
    ck_assert_msg(rt_weights_open_buffer(&w, "ok.pt", z, n) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(w.n_tensors, 1);
    float got[4];
    int64_t shape[2] = {2, 2};
    ck_assert_int_eq(rt_weights_load_f32(&w, "w", 2, shape, got), ROTO_OK);
    ck_assert(!memcmp(got, g_storage0, sizeof got));
    rt_weights_close(&w);
    free(z);

    // No wrapper: nested dicts join with "."; int keys are decimal.
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "a");
    b_u8(&b, '}');
    b_u8(&b, 'K'); b_u8(&b, 7);
    pk_tensor_2x2(&b);
    b_u8(&b, 's');
    b_u8(&b, 's');
    b_u8(&b, '.');
    z = pt_build(&b, &n);
    ck_assert_int_eq(rt_weights_open_buffer(&w, "nest.pt", z, n), ROTO_OK);
    ck_assert_ptr_nonnull(rt_weights_find(&w, "a.7"));
    rt_weights_close(&w);
    free(z);

    // Duplicate names through nesting.
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "a.b");
    pk_tensor_2x2(&b);
    b_u8(&b, 's');
    pk_str(&b, "a");
    b_u8(&b, '}');
    pk_str(&b, "b");
    pk_tensor_2x2(&b);
    b_u8(&b, 's');
    b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "duplicate tensor name 'a.b'");

    // Storage larger than its member; tensor beyond its storage.
    const int s2[1] = {2}, st1[1] = {1};
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "w");
    pk_tensor(&b, "FloatStorage", "0", 100, 0, 1, s2, st1);
    b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "storage '0' declares 100 f32 elements but its member holds 16 bytes");
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "w");
    pk_tensor(&b, "FloatStorage", "0", 4, 3, 1, s2, st1);
    b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "tensor 'w' needs elements [3, 3 + 2)");
    // Storage key without a member; unsupported storage type and tensor kinds.
    pk_begin(&b);
    pk_tensor(&b, "FloatStorage", "9", 4, 0, 1, s2, st1);
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "no zip member archive/data/9");
    pk_begin(&b);
    pk_tensor(&b, "QInt8Storage", "0", 4, 0, 1, s2, st1);
    pk_expect_fail(&b, ROTO_ERR_UNSUPPORTED, "torch.QInt8Storage");
    pk_begin(&b);
    pk_global(&b, "torch._utils", "_rebuild_qtensor");
    pk_expect_fail(&b, ROTO_ERR_UNSUPPORTED, "torch._utils._rebuild_qtensor");
    // Negative stride / non-contiguous, negative sizes.
    const int s22[2] = {2, 2}, bad_stride[2] = {1, 2}, neg[2] = {-2, 2};
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "t");
    pk_tensor(&b, "FloatStorage", "0", 4, 0, 2, s22, bad_stride);
    b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_UNSUPPORTED, "tensor 't' is not contiguous (size [2, 2], stride [1, 2])");
    pk_begin(&b);
    b_u8(&b, '}');
    pk_str(&b, "t");
    pk_tensor(&b, "FloatStorage", "0", 4, 0, 2, neg, bad_stride);
    b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "absurd shape");

    // Not a dict at the top.
    pk_begin(&b);
    b_u8(&b, ']');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "data.pkl holds a list, not a dict");
    // Memo and stack misuse.
    pk_begin(&b);
    b_u8(&b, 'h'); b_u8(&b, 5);
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "memo index 5 was never stored");
    pk_begin(&b);
    b_u8(&b, 'N');
    b_u8(&b, 'r'); b_u32(&b, 0x80000000u);
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "memo index 2147483648 over the limit");
    pk_begin(&b);
    b_u8(&b, 'R');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "stack underflow");
    pk_begin(&b);
    b_u8(&b, 'N');
    b_u8(&b, '(');
    b_u8(&b, 'a');  // APPEND may not pop below the mark
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "stack underflow");
    pk_begin(&b);
    b_u8(&b, 't');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "MARK that was never set");
    pk_begin(&b);
    b_u8(&b, '}');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "without STOP (truncated)");
    pk_begin(&b);
    b_u8(&b, 'X'); b_u32(&b, 1000);
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "string runs past the end of data.pkl");
    pk_begin(&b);
    b_u8(&b, 0x8a); b_u8(&b, 9);
    pk_expect_fail(&b, ROTO_ERR_UNSUPPORTED, "LONG1 integer of 9 bytes");
    pk_begin(&b);
    b_u8(&b, 'c');
    b_put(&b, "torch", 5);
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "GLOBAL name is unterminated");
    b.n = 0;
    b_u8(&b, 0x80); b_u8(&b, 6);
    pk_expect_fail(&b, ROTO_ERR_UNSUPPORTED, "pickle protocol 6");
    pk_begin(&b);
    b_u8(&b, 'N');
    pk_int(&b, 1);
    b_u8(&b, 'R');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "REDUCE arguments are a int");

    // A dict that contains itself, and dicts nested 20 deep: bounded, no hang.
    pk_begin(&b);
    b_u8(&b, '}');
    b_u8(&b, 'q'); b_u8(&b, 0);
    pk_str(&b, "x");
    b_u8(&b, 'h'); b_u8(&b, 0);
    b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "nested deeper than 16");
    pk_begin(&b);
    for (int i = 0; i < 20; i++) {
        b_u8(&b, '}');
        pk_str(&b, "d");
    }
    pk_tensor_2x2(&b);
    for (int i = 0; i < 20; i++) b_u8(&b, 's');
    b_u8(&b, '.');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "nested deeper than 16");
    // Stack and mark limits.
    pk_begin(&b);
    for (int i = 0; i < (1 << 20) + 1; i++) b_u8(&b, 'N');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "stack deeper than");
    pk_begin(&b);
    for (int i = 0; i < (1 << 16) + 1; i++) b_u8(&b, '(');
    pk_expect_fail(&b, ROTO_ERR_FORMAT, "nested MARKs");
    free(b.b);
}
END_TEST

// ---- name map ---------------------------------------------------------------------

typedef struct {
    char official[160], hf[160];
} tsv_row;

static int read_tsv(tsv_row **rows) {
    size_t size;
    uint8_t *d = read_fixture("sam2.1_tiny_official_to_hf.tsv", &size);
    int n = 0, cap = 0;
    *rows = NULL;
    char *save, *text = malloc(size + 1);
    memcpy(text, d, size);
    text[size] = '\0';
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (n == cap) *rows = realloc(*rows, (size_t)(cap = cap ? 2 * cap : 512) * sizeof **rows);
        char *tab1 = strchr(line, '\t');
        ck_assert(tab1 != NULL);
        char *tab2 = strchr(tab1 + 1, '\t');
        ck_assert(tab2 != NULL);
        snprintf((*rows)[n].official, sizeof (*rows)[n].official, "%.*s", (int)(tab1 - line), line);
        snprintf((*rows)[n].hf, sizeof (*rows)[n].hf, "%.*s", (int)(tab2 - tab1 - 1), tab1 + 1);
        n++;
    }
    free(text);
    free(d);
    return n;
}

START_TEST(test_namemap_tsv) {
    tsv_row *rows;
    int n = read_tsv(&rows);
    ck_assert_int_eq(n, 471);
    char out[256];
    for (int i = 0; i < n; i++) {
        // Every HF key maps back to its official key (identical names need no rule).
        bool renamed = rt_namemap_to_canonical(RT_NAMES_SAM2, rows[i].hf, 0, out, sizeof out, NULL);
        if (strcmp(rows[i].hf, rows[i].official)) {
            ck_assert_msg(renamed, "no rule for %s", rows[i].hf);
            ck_assert_msg(!strcmp(out, rows[i].official), "%s -> %s, want %s", rows[i].hf, out,
                          rows[i].official);
        } else {
            ck_assert_msg(!renamed, "%s renamed to %s", rows[i].hf, out);
        }
        // Official names are never renamed: official files get no aliases.
        ck_assert_msg(!rt_namemap_to_canonical(RT_NAMES_SAM2, rows[i].official, 0, out, sizeof out, NULL),
                      "official %s renamed to %s", rows[i].official, out);
    }
    // The large model's official names too.
    size_t size;
    uint8_t *d = read_fixture("sam2.1_large_keys.txt", &size);
    int count = 0;
    for (size_t at = 0; at < size;) {
        size_t e = at;
        while (d[e] != '\t') e++;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(e - at), (const char *)d + at);
        ck_assert_msg(!rt_namemap_to_canonical(RT_NAMES_SAM2, name, 0, out, sizeof out, NULL),
                      "official %s renamed", name);
        while (d[e] != '\n') e++;
        at = e + 1;
        count++;
    }
    ck_assert_int_eq(count, 903);
    free(d);
    free(rows);
    // The real HF files concatenate the point embeddings: split rule.
    int split = 0;
    ck_assert(rt_namemap_to_canonical(RT_NAMES_SAM2, "prompt_encoder.point_embed.weight", 3, out,
                                      sizeof out, &split));
    ck_assert_int_eq(split, 1);
    ck_assert_str_eq(out, "sam_prompt_encoder.point_embeddings.3.weight");
    ck_assert(rt_namemap_to_canonical(RT_NAMES_SAM2, "memory_attention.layers.2.mlp.up_proj.weight",
                                      0, out, sizeof out, NULL));
    ck_assert_str_eq(out, "memory_attention.layers.2.linear1.weight");
    ck_assert(!rt_namemap_to_canonical(RT_NAMES_SAM2, "vision_encoder.backbone.blocks.x.layer_norm1.weight",
                                       0, out, sizeof out, NULL) ||
              strcmp(out, "image_encoder.trunk.blocks.x.norm1.weight"));  // '#' is numeric only
    ck_assert(!rt_namemap_to_canonical(RT_NAMES_SAM2, "prompt_encoder.point_embed.weight", 0, out, 8, NULL));
}
END_TEST

// An HF-named file: official names resolve to the same bytes; the [4, C] point
// embedding is served as four row views; the duplicated positional matrix
// resolves to the first copy.
START_TEST(test_namemap_attach) {
    syn_list l = {0};
    syn_add(&l, "prompt_encoder.shared_embedding.positional_embedding", 2, 2, 3, 0, 0);  // values 0..5
    syn_add(&l, "shared_image_embedding.positional_embedding", 2, 2, 3, 0, 0);           // 6..11
    syn_add(&l, "prompt_encoder.point_embed.weight", 2, 4, 5, 0, 0);                     // 12..31
    syn_add(&l, "vision_encoder.backbone.blocks.3.mlp.proj_out.bias", 1, 7, 0, 0, 0);    // 32..38
    syn_add(&l, "mask_downsample.weight", 4, 1, 1, 2, 2);                                // unchanged
    size_t n;
    uint8_t *f = syn_build(&l, &n);
    rt_weights w;
    ck_assert_int_eq(rt_weights_open_buffer(&w, "hf.safetensors", f, n), ROTO_OK);
    int added = -1;
    ck_assert_int_eq(rt_namemap_attach(&w, RT_NAMES_SAM2, &added), ROTO_OK);
    ck_assert_int_eq(added, 1 + 4 + 1);
    ck_assert_int_eq(w.n_tensors, 5);  // listing is unchanged
    float got[8];
    int64_t s23[2] = {2, 3};
    ck_assert_int_eq(rt_weights_load_f32(&w, "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
                                         2, s23, got), ROTO_OK);
    ck_assert_float_eq(got[0], 0.0f);
    for (int r = 0; r < 4; r++) {
        char name[128];
        snprintf(name, sizeof name, "sam_prompt_encoder.point_embeddings.%d.weight", r);
        int64_t s15[2] = {1, 5};
        ck_assert_msg(rt_weights_load_f32(&w, name, 2, s15, got) == ROTO_OK, "%s", roto_last_error());
        for (int k = 0; k < 5; k++) ck_assert_float_eq(got[k], (float)(12 + 5 * r + k));
    }
    const rt_wtensor *t = rt_weights_find(&w, "image_encoder.trunk.blocks.3.mlp.layers.1.bias");
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(t->data, rt_weights_find(&w, "vision_encoder.backbone.blocks.3.mlp.proj_out.bias")->data);
    ck_assert_int_eq(t->alias_of, 3);
    // A second attach adds nothing; official files get nothing.
    ck_assert_int_eq(rt_namemap_attach(&w, RT_NAMES_SAM2, &added), ROTO_OK);
    ck_assert_int_eq(added, 0);
    rt_weights_close(&w);
    free(f);
    free(l.t);
    // Alias misuse is refused.
    l = (syn_list){0};
    syn_add(&l, "a", 2, 2, 2, 0, 0);
    f = syn_build(&l, &n);
    ck_assert_int_eq(rt_weights_open_buffer(&w, "x", f, n), ROTO_OK);
    ck_assert_int_eq(rt_weights_add_alias(&w, "a", 0, 0, -1), ROTO_ERR_FORMAT);
    ck_assert_int_eq(rt_weights_add_alias(&w, "b", 0, 1, 2), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_weights_add_alias(&w, "b", 5, 0, 1), ROTO_ERR_INTERNAL);
    rt_weights_close(&w);
    free(f);
    free(l.t);
}
END_TEST

// ---- model detection -----------------------------------------------------------

static rt_model_info detect_list(const syn_list *l) {
    size_t n;
    uint8_t *f = syn_build(l, &n);
    rt_weights w;
    ck_assert_msg(rt_weights_open_buffer(&w, "syn", f, n) == ROTO_OK, "%s", roto_last_error());
    rt_model_info info;
    ck_assert_int_eq(rt_model_detect(&w, &info), ROTO_OK);
    rt_weights_close(&w);
    free(f);
    return info;
}

// SAM 2 key list: the tiny list (official or HF column) with its trunk blocks
// replaced by `blocks` blocks of width `dim`, optionally without the 2.1 keys.
// Shapes are [1] except the patch embedding (detection reads its rows).
static void sam2_list(syn_list *l, bool hf, int dim, int blocks, bool v21) {
    tsv_row *rows;
    int n = read_tsv(&rows);
    const char *blk = hf ? "vision_encoder.backbone.blocks." : "image_encoder.trunk.blocks.";
    for (int i = 0; i < n; i++) {
        const char *name = hf ? rows[i].hf : rows[i].official;
        if (!strncmp(name, blk, strlen(blk))) continue;
        if (!v21 && (strstr(rows[i].official, "no_obj_embed_spatial") ||
                     strstr(rows[i].official, "obj_ptr_tpos_proj")))
            continue;
        if (strstr(name, "patch_embed"))
            syn_add(l, name, strstr(name, "weight") ? 4 : 1, dim, 3, 7, 7);
        else
            syn_add(l, name, 1, 1, 0, 0, 0);
    }
    for (int b = 0; b < blocks; b++) {
        char name[160];
        snprintf(name, sizeof name, "%s%d.%s", blk, b, hf ? "layer_norm1.weight" : "norm1.weight");
        syn_add(l, name, 1, 1, 0, 0, 0);
        snprintf(name, sizeof name, "%s%d.attn.qkv.weight", blk, b);
        syn_add(l, name, 1, 1, 0, 0, 0);
    }
    free(rows);
}

START_TEST(test_detect_sam2) {
    static const struct {
        int dim, blocks;
        const char *variant;
    } v[] = {{96, 12, "tiny"}, {96, 16, "small"}, {112, 24, "base_plus"}, {144, 48, "large"}};
    for (size_t i = 0; i < 4; i++)
        for (int hf = 0; hf < 2; hf++) {
            syn_list l = {0};
            sam2_list(&l, hf, v[i].dim, v[i].blocks, true);
            rt_model_info info = detect_list(&l);
            ck_assert_int_eq(info.family, RT_FAMILY_SAM2);
            ck_assert_str_eq(info.variant, v[i].variant);
            ck_assert_str_eq(info.version, "2.1");
            ck_assert_int_eq(info.naming, hf ? RT_NAMING_HF : RT_NAMING_OFFICIAL);
            ck_assert_int_eq(info.n_blocks, v[i].blocks);
            ck_assert_ptr_nonnull(strstr(info.description, v[i].variant));
            free(l.t);
        }
    // SAM 2.0: no occlusion embedding / tpos projection.
    syn_list l = {0};
    sam2_list(&l, false, 96, 12, false);
    rt_model_info info = detect_list(&l);
    ck_assert_str_eq(info.version, "2.0");
    ck_assert_str_eq(info.variant, "tiny");
    free(l.t);
    // Odd sizes: family known, variant not.
    l = (syn_list){0};
    sam2_list(&l, true, 128, 12, true);
    info = detect_list(&l);
    ck_assert_int_eq(info.family, RT_FAMILY_SAM2);
    ck_assert_str_eq(info.variant, "");
    ck_assert_ptr_nonnull(strstr(info.description, "unknown size"));
    free(l.t);
    // The real large key list (official names, shapes from the file).
    size_t size;
    uint8_t *d = read_fixture("sam2.1_large_keys.txt", &size);
    l = (syn_list){0};
    for (size_t at = 0; at < size;) {
        size_t e = at;
        while (d[e] != '\t') e++;
        char name[160];
        snprintf(name, sizeof name, "%.*s", (int)(e - at), (const char *)d + at);
        int64_t dims[4] = {1, 1, 1, 1};
        int nd = 0;
        while (d[e] != '\n') {
            e++;
            if (d[e] >= '0' && d[e] <= '9') {
                dims[nd++] = strtoll((const char *)d + e, NULL, 10);
                while (d[e] >= '0' && d[e] <= '9') e++;
                e--;
            }
        }
        // Only the patch embedding keeps its real shape (the rest would be 900 MB).
        if (strstr(name, "patch_embed.proj.weight"))
            syn_add(&l, name, nd, dims[0], dims[1], dims[2], dims[3]);
        else
            syn_add(&l, name, 1, 1, 0, 0, 0);
        at = e + 1;
    }
    free(d);
    ck_assert_int_eq(l.n, 903);
    info = detect_list(&l);
    ck_assert_int_eq(info.family, RT_FAMILY_SAM2);
    ck_assert_str_eq(info.variant, "large");
    ck_assert_int_eq(info.embed_dim, 144);
    free(l.t);
}
END_TEST

START_TEST(test_detect_others) {
    // Depth Anything V2 small, official names.
    syn_list l = {0};
    syn_add(&l, "pretrained.patch_embed.proj.weight", 4, 384, 3, 14, 14);
    syn_add(&l, "pretrained.cls_token", 3, 1, 1, 4, 0);
    for (int b = 0; b < 12; b++) {
        char name[96];
        snprintf(name, sizeof name, "pretrained.blocks.%d.norm1.weight", b);
        syn_add(&l, name, 1, 4, 0, 0, 0);
    }
    syn_add(&l, "depth_head.scratch.output_conv1.weight", 1, 4, 0, 0, 0);
    rt_model_info info = detect_list(&l);
    ck_assert_int_eq(info.family, RT_FAMILY_DEPTH_ANYTHING_V2);
    ck_assert_str_eq(info.variant, "small");
    ck_assert_int_eq(info.naming, RT_NAMING_OFFICIAL);
    free(l.t);
    // Depth Anything V2 large, HF names.
    l = (syn_list){0};
    syn_add(&l, "backbone.embeddings.patch_embeddings.projection.weight", 4, 1024, 3, 14, 14);
    for (int b = 0; b < 24; b++) {
        char name[96];
        snprintf(name, sizeof name, "backbone.encoder.layer.%d.norm1.weight", b);
        syn_add(&l, name, 1, 4, 0, 0, 0);
    }
    syn_add(&l, "neck.convs.0.weight", 1, 4, 0, 0, 0);
    syn_add(&l, "head.conv1.weight", 1, 4, 0, 0, 0);
    info = detect_list(&l);
    ck_assert_int_eq(info.family, RT_FAMILY_DEPTH_ANYTHING_V2);
    ck_assert_str_eq(info.variant, "large");
    ck_assert_int_eq(info.naming, RT_NAMING_HF);
    free(l.t);
    // MatAnyone.
    l = (syn_list){0};
    syn_add(&l, "pixel_encoder.conv1.weight", 1, 4, 0, 0, 0);
    syn_add(&l, "object_transformer.query_init.weight", 1, 4, 0, 0, 0);
    syn_add(&l, "mask_decoder.pred_mat.weight", 1, 4, 0, 0, 0);
    syn_add(&l, "temp_sparity.conv1x1_v2.weight", 1, 4, 0, 0, 0);
    info = detect_list(&l);
    ck_assert_int_eq(info.family, RT_FAMILY_MATANYONE);
    ck_assert_str_eq(rt_model_family_name(info.family), "matanyone");
    free(l.t);
    // Something else.
    l = (syn_list){0};
    syn_add(&l, "encoder.layer.0.weight", 1, 4, 0, 0, 0);
    syn_add(&l, "pretrained.patch_embed.proj.weight", 4, 384, 3, 16, 16);  // no depth head
    info = detect_list(&l);
    ck_assert_int_eq(info.family, RT_FAMILY_UNKNOWN);
    ck_assert_str_eq(info.description, "unknown");
    free(l.t);
}
END_TEST

// ---- full-size checkpoints (optional) -----------------------------------------------

// Every official tensor of `off` must resolve in `hf` (after aliasing) with the
// same dtype and shape, and with the same bytes when `same_values`.
static void compare_official_hf(const char *off_path, const char *hf_path, bool same_values,
                                const char *variant) {
    rt_weights off, hf;
    ck_assert_msg(rt_weights_open(&off, off_path) == ROTO_OK, "%s", roto_last_error());
    ck_assert_msg(rt_weights_open(&hf, hf_path) == ROTO_OK, "%s", roto_last_error());
    rt_model_info io, ih;
    rt_model_detect(&off, &io);
    rt_model_detect(&hf, &ih);
    ck_assert_int_eq(io.family, RT_FAMILY_SAM2);
    ck_assert_int_eq(ih.family, RT_FAMILY_SAM2);
    ck_assert_str_eq(io.variant, variant);
    ck_assert_str_eq(ih.variant, variant);
    ck_assert_str_eq(io.version, "2.1");
    ck_assert_str_eq(ih.version, "2.1");
    ck_assert_int_eq(ih.naming, RT_NAMING_HF);
    ck_assert_int_eq(rt_weights_param_count(&off), rt_weights_param_count(&hf));
    ck_assert_int_eq(rt_namemap_attach(&hf, RT_NAMES_SAM2, NULL), ROTO_OK);
    for (int i = 0; i < off.n_tensors; i++) {
        const rt_wtensor *a = &off.tensors[i], *b = rt_weights_find(&hf, a->name);
        ck_assert_msg(b != NULL, "%s: official %s not found", hf_path, a->name);
        ck_assert_int_eq(a->dtype, b->dtype);
        ck_assert_int_eq(a->ndim, b->ndim);
        for (int d = 0; d < a->ndim; d++) ck_assert_int_eq(a->shape[d], b->shape[d]);
        if (same_values) ck_assert_msg(!memcmp(a->data, b->data, a->nbytes), "%s differs", a->name);
    }
    rt_weights_close(&off);
    rt_weights_close(&hf);
}

// tools/refgen/gen_ckpt_full.py writes official and HF SAM 2.1 files of real size
// (random weights); ROTO_CKPT_FULL names that directory.
START_TEST(test_full_checkpoints) {
    // Registered only when ROTO_CKPT_FULL is set (make parity-ckpt).
    const char *dir = getenv("ROTO_CKPT_FULL");
    ck_assert_ptr_nonnull(dir);
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/sam2.1_hiera_tiny.pt", dir);
    snprintf(b, sizeof b, "%s/sam2.1_hiera_tiny_hf/model.safetensors", dir);
    compare_official_hf(a, b, true, "tiny");
    snprintf(a, sizeof a, "%s/sam2.1_hiera_large.pt", dir);
    snprintf(b, sizeof b, "%s/sam2.1_hiera_large_hf/model.safetensors", dir);
    compare_official_hf(a, b, false, "large");
}
END_TEST

// ---- the CLI -----------------------------------------------------------------------

START_TEST(test_cli_info) {
    char roto[PATH_MAX], cmd[3 * PATH_MAX], out[16384];
    cu_roto_path(roto, sizeof roto);
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1", roto, fixture_path("nested_model.pt"));
    ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "format:     pytorch-zip\n"), "%s", out);
    ck_assert_msg(strstr(out, "tensors:    12\n"), "%s", out);
    ck_assert_msg(strstr(out, "parameters: 112 "), "%s", out);
    ck_assert_msg(strstr(out, "dtypes:     f32 7, f16 2, bf16 2, i64 1 (not loadable)\n"), "%s", out);
    ck_assert_msg(strstr(out, "torch.archive: nested_model"), "%s", out);

    snprintf(cmd, sizeof cmd, "'%s' info --tensors '%s' 2>&1", roto, fixture_path("tensors.safetensors"));
    ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "format:     safetensors\n"), "%s", out);
    ck_assert_msg(strstr(out, "  conv.weight  f32  [4, 3, 2, 2]\n"), "%s", out);
    ck_assert_msg(strstr(out, "  scale  f32  []\n"), "%s", out);
    ck_assert_msg(strstr(out, "  note: roto test fixture\n"), "%s", out);

    // A truncated file: one line naming the file and the problem, exit 1.
    size_t size;
    uint8_t *d = read_fixture("nested_model.pt", &size);
    char tmp[PATH_MAX];
    write_temp(tmp, sizeof tmp, d, size / 2);
    free(d);
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1", roto, tmp);
    ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, tmp) && strstr(out, "truncated"), "%s", out);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "not one line: %s", out);
    unlink(tmp);

    // A HF-named SAM 2 file gets its aliases reported.
    syn_list l = {0};
    sam2_list(&l, true, 96, 12, true);
    uint8_t *f = syn_build(&l, &size);
    write_temp(tmp, sizeof tmp, f, size);
    free(f);
    free(l.t);
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1", roto, tmp);
    ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "model:      SAM 2.1 tiny (Hugging Face names"), "%s", out);
    ck_assert_msg(strstr(out, "aliases:"), "%s", out);
    unlink(tmp);

    snprintf(cmd, sizeof cmd, "'%s' info 2>&1", roto);
    ck_assert_int_eq(cu_run_capture(cmd, out, sizeof out), 2);
}
END_TEST

static Suite *ckpt_suite(void) {
    Suite *s = suite_create("ckpt");
    TCase *tc = tcase_create("readers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fixtures_values);
    tcase_add_test(tc, test_pt_structure);
    tcase_add_test(tc, test_fixture_errors);
    tcase_add_test(tc, test_store_api_errors);
    tcase_add_test(tc, test_safetensors_malformed);
    tcase_add_test(tc, test_safetensors_unaligned);
    tcase_add_test(tc, test_zip_malformed);
    tcase_add_test(tc, test_pickle_vm);
    tcase_add_test(tc, test_truncation_every_byte);
    tcase_add_test(tc, test_byte_flips);
    suite_add_tcase(s, tc);
    TCase *names = tcase_create("names");
    tcase_add_test(names, test_namemap_tsv);
    tcase_add_test(names, test_namemap_attach);
    tcase_add_test(names, test_detect_sam2);
    tcase_add_test(names, test_detect_others);
    if (getenv("ROTO_CKPT_FULL")) tcase_add_test(names, test_full_checkpoints);
    suite_add_tcase(s, names);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, test_cli_info);
    suite_add_tcase(s, cli);
    return s;
}

TU_MAIN(ckpt_suite)
