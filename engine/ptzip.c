// ptzip.c: the PyTorch checkpoint reader (torch.save's zip format, default since
// torch 1.6): a zip reader and a small pickle VM.
//
// The archive holds <archive>/data.pkl (the pickled object, usually a state
// dict), <archive>/data/<key> (one raw little-endian storage per key) and a few
// small members (version, byteorder). Members are STORED uncompressed, so each
// tensor is a byte range of the file and can be used straight from the mapping.
//
// The pickle VM implements only what state dicts use (the opcode list is in
// run_pickle). It never calls anything: GLOBALs become tags, REDUCE of a known
// tag builds a tensor/dict, REDUCE of an unknown one gives an opaque object that
// is skipped later. Stack, marks, memo and memory are capped so a hostile file
// gets a clear error instead of exhausting the machine.
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights.h"

// ---- little-endian reads (the caller has bounds-checked) ---------------------

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

// ---- zip ---------------------------------------------------------------------

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u

typedef struct {
    const char *name;  // into the mapping, not NUL-terminated
    size_t name_len;
    uint64_t data_off, size;
    uint32_t method;
} zmember;

typedef struct {
    zmember *m;
    size_t n;
} zdir;

static int cmp_member(const void *a, const void *b) {
    const zmember *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static const zmember *zip_find(const zdir *z, const char *name, size_t len) {
    zmember key = {.name = name, .name_len = len};
    return bsearch(&key, z->m, z->n, sizeof *z->m, cmp_member);
}

// Locate the end-of-central-directory record: the last signature in the final
// 64 KiB + 22 bytes whose comment length fits the file.
static roto_status zip_find_eocd(rt_weights *w, uint64_t *n_entries, uint64_t *cd_off,
                                 uint64_t *cd_size, uint64_t *cd_limit) {
    const uint8_t *p = w->map;
    size_t size = w->size;
    if (size < 22)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "truncated zip: %zu bytes, no room for the end record",
                        size);
    size_t lo = size - 22 > 65535 ? size - 22 - 65535 : 0;
    size_t at = (size_t)-1;
    for (size_t i = size - 22 + 1; i-- > lo;) {
        if (rd32(p + i) == SIG_EOCD && i + 22 + rd16(p + i + 20) <= size) {
            at = i;
            break;
        }
    }
    if (at == (size_t)-1)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "no zip end-of-central-directory record: the file is truncated or not a "
                        "zip");
    const uint8_t *e = p + at;
    if ((rd16(e + 4) != 0 && rd16(e + 4) != 0xffff) || (rd16(e + 6) != 0 && rd16(e + 6) != 0xffff))
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED, "multi-disk zip archives are not supported");
    *n_entries = rd16(e + 10);
    *cd_size = rd32(e + 12);
    *cd_off = rd32(e + 16);
    *cd_limit = at;
    bool saturated = *n_entries == 0xffff || *cd_size == 0xffffffffu || *cd_off == 0xffffffffu;
    // ZIP64: a locator right before the record points at the 64-bit end record.
    if (at >= 20 && rd32(p + at - 20) == SIG_EOCD64_LOC) {
        uint64_t off64 = rd64(p + at - 20 + 8);
        if (off64 > at - 20 || at - 20 - off64 < 56 || rd32(p + off64) != SIG_EOCD64)
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "bad ZIP64 end record offset %llu",
                            (unsigned long long)off64);
        const uint8_t *z = p + off64;
        *n_entries = rd64(z + 32);
        *cd_size = rd64(z + 40);
        *cd_off = rd64(z + 48);
        *cd_limit = off64;
    } else if (saturated) {
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "zip end record has ZIP64 markers but no ZIP64 end record (truncated?)");
    }
    if (*cd_off > *cd_limit || *cd_size > *cd_limit - *cd_off)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "central directory [%llu, +%llu) lies outside the file before the end "
                        "record at %llu",
                        (unsigned long long)*cd_off, (unsigned long long)*cd_size,
                        (unsigned long long)*cd_limit);
    if (*n_entries > *cd_size / 46)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "central directory claims %llu entries in %llu bytes",
                        (unsigned long long)*n_entries, (unsigned long long)*cd_size);
    return ROTO_OK;
}

// Values in the central directory that are 0xffffffff live in the ZIP64 extra
// field (id 1), in the order uncompressed size, compressed size, offset.
static roto_status zip64_extra(rt_weights *w, const uint8_t *ex, size_t ex_len, uint64_t *usize,
                               uint64_t *csize, uint64_t *off, const char *name, int name_len) {
    bool need_u = *usize == 0xffffffffu, need_c = *csize == 0xffffffffu,
         need_o = *off == 0xffffffffu;
    if (!need_u && !need_c && !need_o) return ROTO_OK;
    size_t i = 0;
    while (i + 4 <= ex_len) {
        uint32_t id = rd16(ex + i), len = rd16(ex + i + 2);
        if (len > ex_len - i - 4) break;
        if (id == 1) {
            const uint8_t *f = ex + i + 4;
            size_t k = 0;
            if (need_u) {
                if (k + 8 > len) break;
                *usize = rd64(f + k);
                k += 8;
            }
            if (need_c) {
                if (k + 8 > len) break;
                *csize = rd64(f + k);
                k += 8;
            }
            if (need_o) {
                if (k + 8 > len) break;
                *off = rd64(f + k);
            }
            return ROTO_OK;
        }
        i += 4 + len;
    }
    return RT_WFAIL(w, ROTO_ERR_FORMAT, "zip member '%.*s': missing or short ZIP64 extra field",
                    name_len, name);
}

static roto_status zip_read_dir(rt_weights *w, zdir *z) {
    uint64_t n_entries = 0, cd_off = 0, cd_size = 0, cd_limit = 0;
    ROTO_TRY(zip_find_eocd(w, &n_entries, &cd_off, &cd_size, &cd_limit));
    z->m = calloc(n_entries ? n_entries : 1, sizeof *z->m);
    if (!z->m) return RT_WFAIL(w, ROTO_ERR_OOM, "cannot allocate %llu zip entries",
                               (unsigned long long)n_entries);
    const uint8_t *p = w->map;
    uint64_t at = cd_off, end = cd_off + cd_size;
    for (uint64_t i = 0; i < n_entries; i++) {
        if (end - at < 46 || rd32(p + at) != SIG_CENTRAL)
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "central directory entry %llu at offset %llu is truncated or has a "
                            "bad signature",
                            (unsigned long long)i, (unsigned long long)at);
        const uint8_t *c = p + at;
        uint32_t flags = rd16(c + 8), method = rd16(c + 10);
        uint64_t csize = rd32(c + 20), usize = rd32(c + 24), off = rd32(c + 42);
        size_t nlen = rd16(c + 28), elen = rd16(c + 30), clen = rd16(c + 32);
        if (end - at - 46 < (uint64_t)nlen + elen + clen)
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "central directory entry %llu runs past its end",
                            (unsigned long long)i);
        const char *name = (const char *)c + 46;
        int shown = (int)(nlen > 200 ? 200 : nlen);
        ROTO_TRY(zip64_extra(w, c + 46 + nlen, elen, &usize, &csize, &off, name, shown));
        if (flags & 1)
            return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED, "zip member '%.*s' is encrypted", shown, name);
        if (method == 0 && csize != usize)
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "zip member '%.*s' is stored but its sizes differ (%llu vs %llu)",
                            shown, name, (unsigned long long)csize, (unsigned long long)usize);
        // The local header repeats the name; its extra field (torch pads it so the
        // data is 64-byte aligned) decides where the data starts.
        if (off > w->size || w->size - off < 30 || rd32(p + off) != SIG_LOCAL)
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "zip member '%.*s': bad local header offset %llu", shown, name,
                            (unsigned long long)off);
        uint64_t lnlen = rd16(p + off + 26), lelen = rd16(p + off + 28);
        uint64_t data_off = off + 30 + lnlen + lelen;
        if (data_off > w->size || csize > w->size - data_off)
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "zip member '%.*s': data [%llu, +%llu) runs past the end of the file "
                            "(%zu bytes): truncated",
                            shown, name, (unsigned long long)data_off, (unsigned long long)csize,
                            w->size);
        if (lnlen != nlen || memcmp(p + off + 30, name, nlen))
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "zip member '%.*s': local header names a different file", shown,
                            name);
        z->m[i] = (zmember){name, nlen, data_off, csize, method};
        at += 46 + nlen + elen + clen;
    }
    z->n = n_entries;
    qsort(z->m, z->n, sizeof *z->m, cmp_member);
    for (size_t i = 1; i < z->n; i++)
        if (!cmp_member(&z->m[i - 1], &z->m[i]))
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "duplicate zip member '%.*s'",
                            (int)(z->m[i].name_len > 200 ? 200 : z->m[i].name_len),
                            z->m[i].name);
    return ROTO_OK;
}

static roto_status zip_check_stored(rt_weights *w, const zmember *m) {
    if (m->method != 0)
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "zip member '%.*s' is compressed (method %u%s); torch checkpoints store "
                        "members uncompressed (re-save with torch.save)",
                        (int)(m->name_len > 200 ? 200 : m->name_len), m->name, m->method,
                        m->method == 8 ? ", deflate" : "");
    return ROTO_OK;
}

// ---- pickle values -------------------------------------------------------------

// Caps: far above any real state dict (SAM 2.1 large pickles to ~100 KB).
#define PK_MAX_STACK (1u << 20)
#define PK_MAX_MARKS (1u << 16)
#define PK_MAX_MEMO (1u << 20)
#define PK_MAX_BYTES ((size_t)256 << 20)
#define PK_MAX_DEPTH 16
#define PK_MAX_VISITS (1u << 21)

typedef enum {
    PV_NONE,
    PV_BOOL,
    PV_INT,
    PV_FLOAT,
    PV_STR,
    PV_TUPLE,
    PV_LIST,
    PV_DICT,     // items are k0, v0, k1, v1, ...
    PV_GLOBAL,
    PV_STORAGE,
    PV_TENSOR,
    PV_OBJECT,   // result of calling something we do not model
} pv_kind;

static const char *pv_kind_name(pv_kind k) {
    static const char *names[] = {"None",   "bool",   "int",     "float",  "str",
                                  "tuple",  "list",   "dict",    "global", "storage",
                                  "tensor", "object"};
    return names[k];
}

typedef enum {
    G_OTHER,
    G_ORDERED_DICT,
    G_REBUILD_TENSOR_V2,
    G_REBUILD_PARAMETER,
    G_REBUILD_PARAMETER_STATE,
    G_STORAGE,
} gl_kind;

typedef struct pv pv;
struct pv {
    pv_kind kind;
    union {
        int64_t i;  // BOOL, INT
        double f;
        struct {
            char *s;  // NUL-terminated copy
            size_t len;
        } str;
        struct {
            pv **items;
            size_t n, cap;
        } seq;  // TUPLE, LIST, DICT
        struct {
            gl_kind kind;
            rt_wdtype dtype;  // G_STORAGE
        } global;
        struct {
            rt_wdtype dtype;
            int64_t numel;
            const zmember *member;
            char *key;
        } storage;
        struct {
            pv *storage, *size, *stride;
            int64_t offset;
        } tensor;
    };
};

typedef struct blk {
    struct blk *next;
    alignas(max_align_t) unsigned char data[];
} blk;

typedef struct {
    rt_weights *w;
    const zdir *zip;
    const char *prefix;  // "<archive>/"
    size_t prefix_len;
    const uint8_t *p;    // data.pkl bytes
    size_t n, pos, op_at;
    pv **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    pv **memo;
    size_t memo_cap, memo_count;
    blk *blocks;
    size_t bytes;
    size_t visits;       // dict entries walked (shared sub-dicts are walked per path)
} pvm;

// Every VM allocation goes on one list, freed together at the end.
static void *vm_alloc(pvm *vm, size_t n) {
    if (n > PK_MAX_BYTES || vm->bytes + n > PK_MAX_BYTES) return NULL;
    blk *b = malloc(sizeof *b + n);
    if (!b) return NULL;
    b->next = vm->blocks;
    vm->blocks = b;
    vm->bytes += n + sizeof *b;
    return b->data;
}

static void vm_free_all(pvm *vm) {
    while (vm->blocks) {
        blk *b = vm->blocks;
        vm->blocks = b->next;
        free(b);
    }
    free(vm->stack);
    free(vm->marks);
    free(vm->memo);
}

#define PK_FAIL(vm, code, fmt, ...)                                                        \
    RT_WFAIL((vm)->w, (code), "data.pkl byte offset %zu: " fmt, (vm)->op_at, ##__VA_ARGS__)

static roto_status vm_oom(pvm *vm) {
    return PK_FAIL(vm, ROTO_ERR_OOM, "pickle needs more than the %zu MiB memory limit",
                   PK_MAX_BYTES >> 20);
}

static pv *pv_new(pvm *vm, pv_kind kind) {
    pv *v = vm_alloc(vm, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->kind = kind;
    }
    return v;
}

static roto_status seq_push(pvm *vm, pv *seq, pv *item) {
    if (seq->seq.n == seq->seq.cap) {
        size_t cap = seq->seq.cap ? 2 * seq->seq.cap : 4;
        pv **items = vm_alloc(vm, cap * sizeof *items);
        if (!items) return vm_oom(vm);
        if (seq->seq.n) memcpy(items, seq->seq.items, seq->seq.n * sizeof *items);
        seq->seq.items = items;  // the old array stays on the block list
        seq->seq.cap = cap;
    }
    seq->seq.items[seq->seq.n++] = item;
    return ROTO_OK;
}

// ---- the stack -------------------------------------------------------------------

static roto_status push(pvm *vm, pv *v) {
    if (!v) return vm_oom(vm);
    if (vm->sp == vm->stack_cap) {
        if (vm->stack_cap >= PK_MAX_STACK)
            return PK_FAIL(vm, ROTO_ERR_FORMAT, "pickle stack deeper than %u", PK_MAX_STACK);
        size_t cap = vm->stack_cap ? 2 * vm->stack_cap : 256;
        pv **s = realloc(vm->stack, cap * sizeof *s);
        if (!s) return vm_oom(vm);
        vm->stack = s;
        vm->stack_cap = cap;
    }
    vm->stack[vm->sp++] = v;
    return ROTO_OK;
}

static size_t stack_floor(const pvm *vm) { return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0; }

static roto_status pop(pvm *vm, pv **out) {
    if (vm->sp <= stack_floor(vm))
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "pickle stack underflow");
    *out = vm->stack[--vm->sp];
    return ROTO_OK;
}

static roto_status top(pvm *vm, pv **out) {
    if (vm->sp <= stack_floor(vm))
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "pickle stack underflow");
    *out = vm->stack[vm->sp - 1];
    return ROTO_OK;
}

// Pop everything above the last MARK (and the mark) as *items, *n.
static roto_status pop_mark(pvm *vm, pv ***items, size_t *n) {
    if (!vm->n_marks) return PK_FAIL(vm, ROTO_ERR_FORMAT, "pickle pops to a MARK that was never set");
    size_t m = vm->marks[--vm->n_marks];
    *items = vm->stack + m;
    *n = vm->sp - m;
    vm->sp = m;  // items stay valid until the next push
    return ROTO_OK;
}

static pv *make_seq(pvm *vm, pv_kind kind, pv **items, size_t n) {
    pv *t = pv_new(vm, kind);
    if (!t) return NULL;
    if (n) {
        t->seq.items = vm_alloc(vm, n * sizeof *items);
        if (!t->seq.items) return NULL;
        memcpy(t->seq.items, items, n * sizeof *items);
    }
    t->seq.n = t->seq.cap = n;
    return t;
}

static pv *make_str(pvm *vm, const uint8_t *s, size_t len) {
    pv *v = pv_new(vm, PV_STR);
    if (!v) return NULL;
    v->str.s = vm_alloc(vm, len + 1);
    if (!v->str.s) return NULL;
    memcpy(v->str.s, s, len);
    v->str.s[len] = '\0';
    v->str.len = len;
    return v;
}

static roto_status need(pvm *vm, uint64_t k, const char *what) {
    if (k > vm->n - vm->pos)
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "%s runs past the end of data.pkl (truncated)", what);
    return ROTO_OK;
}

// ---- globals and calls -------------------------------------------------------------

static const struct {
    const char *name;
    rt_wdtype dtype;
} g_storages[] = {
    {"FloatStorage", RT_WDT_F32},         {"HalfStorage", RT_WDT_F16},
    {"BFloat16Storage", RT_WDT_BF16},     {"DoubleStorage", RT_WDT_F64},
    {"LongStorage", RT_WDT_I64},          {"IntStorage", RT_WDT_I32},
    {"ShortStorage", RT_WDT_I16},         {"CharStorage", RT_WDT_I8},
    {"ByteStorage", RT_WDT_U8},           {"BoolStorage", RT_WDT_BOOL},
    {"ComplexFloatStorage", RT_WDT_C64},  {"ComplexDoubleStorage", RT_WDT_C128},
};

static roto_status make_global(pvm *vm, const char *mod, size_t mlen, const char *name,
                               size_t nlen) {
    pv *g = pv_new(vm, PV_GLOBAL);
    if (!g) return vm_oom(vm);
    g->global.kind = G_OTHER;
#define IS(a, alen, lit) ((alen) == sizeof(lit) - 1 && !memcmp((a), (lit), (alen)))
    if (IS(mod, mlen, "collections") && IS(name, nlen, "OrderedDict")) {
        g->global.kind = G_ORDERED_DICT;
    } else if (IS(mod, mlen, "torch._utils")) {
        if (IS(name, nlen, "_rebuild_tensor_v2"))
            g->global.kind = G_REBUILD_TENSOR_V2;
        else if (IS(name, nlen, "_rebuild_parameter"))
            g->global.kind = G_REBUILD_PARAMETER;
        else if (IS(name, nlen, "_rebuild_parameter_with_state"))
            g->global.kind = G_REBUILD_PARAMETER_STATE;
        else
            return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED,
                           "pickle global torch._utils.%.*s is not supported (only plain dense "
                           "tensors are: no quantized, sparse or subclass tensors)",
                           (int)(nlen > 100 ? 100 : nlen), name);
    } else if (IS(mod, mlen, "torch") && nlen > 7 && !memcmp(name + nlen - 7, "Storage", 7)) {
        g->global.kind = G_STORAGE;
        bool found = false;
        for (size_t i = 0; i < sizeof g_storages / sizeof *g_storages; i++)
            if (strlen(g_storages[i].name) == nlen && !memcmp(name, g_storages[i].name, nlen)) {
                g->global.dtype = g_storages[i].dtype;
                found = true;
            }
        if (!found)
            return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED, "storage type torch.%.*s is not supported",
                           (int)(nlen > 100 ? 100 : nlen), name);
    }
#undef IS
    return push(vm, g);
}

static bool is_int_tuple(const pv *t) {
    if (t->kind != PV_TUPLE) return false;
    for (size_t i = 0; i < t->seq.n; i++)
        if (t->seq.items[i]->kind != PV_INT) return false;
    return true;
}

// BINPERSID: ('storage', storage_type, key, location, numel) -> a storage bound to
// its zip member <archive>/data/<key>.
static roto_status persistent_load(pvm *vm, pv *pid) {
    pv **a = pid->seq.items;
    if (pid->kind != PV_TUPLE || pid->seq.n != 5 || a[0]->kind != PV_STR ||
        strcmp(a[0]->str.s, "storage") || a[1]->kind != PV_GLOBAL ||
        a[1]->global.kind != G_STORAGE || a[2]->kind != PV_STR || a[4]->kind != PV_INT)
        return PK_FAIL(vm, ROTO_ERR_FORMAT,
                       "persistent id is not ('storage', <torch.*Storage>, key, location, numel)");
    rt_wdtype dt = a[1]->global.dtype;
    const char *key = a[2]->str.s;
    int64_t numel = a[4]->i;
    size_t klen = a[2]->str.len;
    if (klen > 256 || memchr(key, '/', klen) || memchr(key, '\0', klen))
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "bad storage key");
    char member[512];
    int mlen = snprintf(member, sizeof member, "%sdata/%s", vm->prefix, key);
    const zmember *m = zip_find(vm->zip, member, (size_t)mlen);
    if (!m)
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "storage '%s' has no zip member %s", key, member);
    ROTO_TRY(zip_check_stored(vm->w, m));
    uint64_t bytes;
    if (numel < 0 || __builtin_mul_overflow((uint64_t)numel, rt_wdtype_size(dt), &bytes) ||
        bytes > m->size)
        return PK_FAIL(vm, ROTO_ERR_FORMAT,
                       "storage '%s' declares %lld %s elements but its member holds %llu bytes",
                       key, (long long)numel, rt_wdtype_name(dt), (unsigned long long)m->size);
    pv *s = pv_new(vm, PV_STORAGE);
    if (!s) return vm_oom(vm);
    s->storage.dtype = dt;
    s->storage.numel = numel;
    s->storage.member = m;
    s->storage.key = a[2]->str.s;
    return push(vm, s);
}

static roto_status reduce(pvm *vm, pv *fn, pv *args) {
    if (args->kind != PV_TUPLE)
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "REDUCE arguments are a %s, not a tuple",
                       pv_kind_name(args->kind));
    if (fn->kind == PV_OBJECT) return push(vm, pv_new(vm, PV_OBJECT));
    if (fn->kind != PV_GLOBAL)
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "REDUCE calls a %s", pv_kind_name(fn->kind));
    pv **a = args->seq.items;
    size_t n = args->seq.n;
    switch (fn->global.kind) {
    case G_ORDERED_DICT:
        if (n != 0)
            return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED, "OrderedDict called with arguments");
        return push(vm, pv_new(vm, PV_DICT));
    case G_REBUILD_TENSOR_V2: {
        // (storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
        if ((n != 6 && n != 7) || a[0]->kind != PV_STORAGE || a[1]->kind != PV_INT ||
            !is_int_tuple(a[2]) || !is_int_tuple(a[3]) || a[2]->seq.n != a[3]->seq.n)
            return PK_FAIL(vm, ROTO_ERR_FORMAT, "malformed _rebuild_tensor_v2 arguments");
        pv *t = pv_new(vm, PV_TENSOR);
        if (!t) return vm_oom(vm);
        t->tensor.storage = a[0];
        t->tensor.offset = a[1]->i;
        t->tensor.size = a[2];
        t->tensor.stride = a[3];
        return push(vm, t);
    }
    case G_REBUILD_PARAMETER:
    case G_REBUILD_PARAMETER_STATE:
        // (data, requires_grad, hooks[, state]): a Parameter is its tensor here.
        if (n < 3 || n > 4 || a[0]->kind != PV_TENSOR)
            return PK_FAIL(vm, ROTO_ERR_FORMAT, "malformed _rebuild_parameter arguments");
        return push(vm, a[0]);
    case G_STORAGE:
        return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED, "storage constructed by a call, not by reference");
    case G_OTHER:
        return push(vm, pv_new(vm, PV_OBJECT));
    }
    return PK_FAIL(vm, ROTO_ERR_INTERNAL, "bad global kind");
}

// ---- the interpreter -----------------------------------------------------------------

static const char *opcode_name(uint8_t op) {
    switch (op) {
    case '(': return "MARK";            case '.': return "STOP";
    case '0': return "POP";             case '1': return "POP_MARK";
    case '2': return "DUP";             case 'F': return "FLOAT";
    case 'I': return "INT";             case 'J': return "BININT";
    case 'K': return "BININT1";         case 'L': return "LONG";
    case 'M': return "BININT2";         case 'N': return "NONE";
    case 'P': return "PERSID";          case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";          case 'S': return "STRING";
    case 'T': return "BINSTRING";       case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";         case 'X': return "BINUNICODE";
    case 'a': return "APPEND";          case 'b': return "BUILD";
    case 'c': return "GLOBAL";          case 'd': return "DICT";
    case '}': return "EMPTY_DICT";      case 'e': return "APPENDS";
    case 'g': return "GET";             case 'h': return "BINGET";
    case 'i': return "INST";            case 'j': return "LONG_BINGET";
    case 'l': return "LIST";            case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";             case 'p': return "PUT";
    case 'q': return "BINPUT";          case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";         case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";     case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";        case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";         case 0x82: return "EXT1";
    case 0x83: return "EXT2";           case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";         case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";         case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";       case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";          case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";  case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";      case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";      case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";   case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";          case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";    case 0x98: return "READONLY_BUFFER";
    default: return "unknown opcode";
    }
}

static roto_status memo_put(pvm *vm, uint64_t idx) {
    pv *v;
    ROTO_TRY(top(vm, &v));
    if (idx >= PK_MAX_MEMO)
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "memo index %llu over the limit %u",
                       (unsigned long long)idx, PK_MAX_MEMO);
    if (idx >= vm->memo_cap) {
        size_t cap = vm->memo_cap ? vm->memo_cap : 64;
        while (cap <= idx) cap *= 2;
        pv **m = realloc(vm->memo, cap * sizeof *m);
        if (!m) return vm_oom(vm);
        memset(m + vm->memo_cap, 0, (cap - vm->memo_cap) * sizeof *m);
        vm->memo = m;
        vm->memo_cap = cap;
    }
    if (!vm->memo[idx]) vm->memo_count++;
    vm->memo[idx] = v;
    return ROTO_OK;
}

static roto_status memo_get(pvm *vm, uint64_t idx) {
    if (idx >= vm->memo_cap || !vm->memo[idx])
        return PK_FAIL(vm, ROTO_ERR_FORMAT, "memo index %llu was never stored",
                       (unsigned long long)idx);
    return push(vm, vm->memo[idx]);
}

static roto_status read_line(pvm *vm, const char **s, size_t *len) {
    const uint8_t *start = vm->p + vm->pos;
    size_t avail = vm->n - vm->pos;
    const uint8_t *nl = memchr(start, '\n', avail < 512 ? avail : 512);
    if (!nl) return PK_FAIL(vm, ROTO_ERR_FORMAT, "GLOBAL name is unterminated or too long");
    *s = (const char *)start;
    *len = (size_t)(nl - start);
    vm->pos += *len + 1;
    return ROTO_OK;
}

static roto_status run_pickle(pvm *vm, pv **result) {
    for (;;) {
        if (vm->pos >= vm->n) {
            vm->op_at = vm->pos;
            return PK_FAIL(vm, ROTO_ERR_FORMAT, "pickle ends without STOP (truncated)");
        }
        vm->op_at = vm->pos;
        uint8_t op = vm->p[vm->pos++];
        const uint8_t *arg = vm->p + vm->pos;
        pv *a, *b, *c, **items;
        size_t n;
        switch (op) {
        case 0x80:  // PROTO
            ROTO_TRY(need(vm, 1, "PROTO"));
            if (arg[0] > 5)
                return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED, "pickle protocol %d", arg[0]);
            vm->pos += 1;
            break;
        case 0x95:  // FRAME: a length hint for buffered readers; nothing to do
            ROTO_TRY(need(vm, 8, "FRAME"));
            vm->pos += 8;
            break;
        case 'c': {  // GLOBAL "module\nname\n"
            const char *mod, *name;
            size_t ml, nl;
            ROTO_TRY(read_line(vm, &mod, &ml));
            ROTO_TRY(read_line(vm, &name, &nl));
            ROTO_TRY(make_global(vm, mod, ml, name, nl));
            break;
        }
        case 0x93:  // STACK_GLOBAL
            ROTO_TRY(pop(vm, &b));
            ROTO_TRY(pop(vm, &a));
            if (a->kind != PV_STR || b->kind != PV_STR)
                return PK_FAIL(vm, ROTO_ERR_FORMAT, "STACK_GLOBAL needs two strings");
            ROTO_TRY(make_global(vm, a->str.s, a->str.len, b->str.s, b->str.len));
            break;
        case 'Q':  // BINPERSID
            ROTO_TRY(pop(vm, &a));
            if (a->kind != PV_TUPLE)
                return PK_FAIL(vm, ROTO_ERR_FORMAT, "persistent id is a %s", pv_kind_name(a->kind));
            ROTO_TRY(persistent_load(vm, a));
            break;
        case 'R':  // REDUCE
            ROTO_TRY(pop(vm, &b));
            ROTO_TRY(pop(vm, &a));
            ROTO_TRY(reduce(vm, a, b));
            break;
        case 'b':  // BUILD: object state (e.g. a state dict's _metadata) is not needed
            ROTO_TRY(pop(vm, &a));
            ROTO_TRY(top(vm, &b));
            break;
        case '(':  // MARK
            if (vm->n_marks == vm->marks_cap) {
                if (vm->marks_cap >= PK_MAX_MARKS)
                    return PK_FAIL(vm, ROTO_ERR_FORMAT, "more than %u nested MARKs", PK_MAX_MARKS);
                size_t cap = vm->marks_cap ? 2 * vm->marks_cap : 64;
                size_t *m = realloc(vm->marks, cap * sizeof *m);
                if (!m) return vm_oom(vm);
                vm->marks = m;
                vm->marks_cap = cap;
            }
            vm->marks[vm->n_marks++] = vm->sp;
            break;
        case 't':  // TUPLE
            ROTO_TRY(pop_mark(vm, &items, &n));
            ROTO_TRY(push(vm, make_seq(vm, PV_TUPLE, items, n)));
            break;
        case ')':  // EMPTY_TUPLE
            ROTO_TRY(push(vm, make_seq(vm, PV_TUPLE, NULL, 0)));
            break;
        case 0x85: case 0x86: case 0x87: {  // TUPLE1/2/3
            n = (size_t)(op - 0x84);
            pv *t[3];
            for (size_t k = n; k-- > 0;) ROTO_TRY(pop(vm, &t[k]));
            ROTO_TRY(push(vm, make_seq(vm, PV_TUPLE, t, n)));
            break;
        }
        case ']':  // EMPTY_LIST
            ROTO_TRY(push(vm, pv_new(vm, PV_LIST)));
            break;
        case '}':  // EMPTY_DICT
            ROTO_TRY(push(vm, pv_new(vm, PV_DICT)));
            break;
        case 'a':  // APPEND
            ROTO_TRY(pop(vm, &a));
            ROTO_TRY(top(vm, &b));
            if (b->kind != PV_LIST) return PK_FAIL(vm, ROTO_ERR_FORMAT, "APPEND to a %s", pv_kind_name(b->kind));
            ROTO_TRY(seq_push(vm, b, a));
            break;
        case 'e':  // APPENDS
            ROTO_TRY(pop_mark(vm, &items, &n));
            ROTO_TRY(top(vm, &b));
            if (b->kind != PV_LIST) return PK_FAIL(vm, ROTO_ERR_FORMAT, "APPENDS to a %s", pv_kind_name(b->kind));
            for (size_t k = 0; k < n; k++) ROTO_TRY(seq_push(vm, b, items[k]));
            break;
        case 's':  // SETITEM
            ROTO_TRY(pop(vm, &c));
            ROTO_TRY(pop(vm, &a));
            ROTO_TRY(top(vm, &b));
            if (b->kind != PV_DICT) return PK_FAIL(vm, ROTO_ERR_FORMAT, "SETITEM on a %s", pv_kind_name(b->kind));
            ROTO_TRY(seq_push(vm, b, a));
            ROTO_TRY(seq_push(vm, b, c));
            break;
        case 'u':  // SETITEMS
            ROTO_TRY(pop_mark(vm, &items, &n));
            ROTO_TRY(top(vm, &b));
            if (b->kind != PV_DICT || n % 2)
                return PK_FAIL(vm, ROTO_ERR_FORMAT, "SETITEMS with %zu items on a %s", n, pv_kind_name(b->kind));
            for (size_t k = 0; k < n; k++) ROTO_TRY(seq_push(vm, b, items[k]));
            break;
        case 'X': case 0x8c: case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
            size_t w = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
            ROTO_TRY(need(vm, w, opcode_name(op)));
            uint64_t len = w == 4 ? rd32(arg) : w == 1 ? arg[0] : rd64(arg);
            vm->pos += w;
            ROTO_TRY(need(vm, len, "string"));
            ROTO_TRY(push(vm, make_str(vm, vm->p + vm->pos, (size_t)len)));
            vm->pos += (size_t)len;
            break;
        }
        case 'J': case 'K': case 'M': {  // BININT (i32), BININT1 (u8), BININT2 (u16)
            size_t w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            ROTO_TRY(need(vm, w, opcode_name(op)));
            a = pv_new(vm, PV_INT);
            if (!a) return vm_oom(vm);
            a->i = w == 4 ? (int64_t)(int32_t)rd32(arg) : w == 1 ? arg[0] : (int64_t)rd16(arg);
            vm->pos += w;
            ROTO_TRY(push(vm, a));
            break;
        }
        case 0x8a: {  // LONG1: n bytes of little-endian two's complement
            ROTO_TRY(need(vm, 1, "LONG1"));
            size_t len = arg[0];
            if (len > 8)
                return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED, "LONG1 integer of %zu bytes", len);
            vm->pos += 1;
            ROTO_TRY(need(vm, len, "LONG1"));
            uint64_t u = 0;
            for (size_t k = 0; k < len; k++) u |= (uint64_t)vm->p[vm->pos + k] << (8 * k);
            if (len && len < 8 && (vm->p[vm->pos + len - 1] & 0x80)) u |= ~0ull << (8 * len);
            a = pv_new(vm, PV_INT);
            if (!a) return vm_oom(vm);
            a->i = (int64_t)u;
            vm->pos += len;
            ROTO_TRY(push(vm, a));
            break;
        }
        case 0x88: case 0x89:  // NEWTRUE, NEWFALSE
            a = pv_new(vm, PV_BOOL);
            if (!a) return vm_oom(vm);
            a->i = op == 0x88;
            ROTO_TRY(push(vm, a));
            break;
        case 'N':  // NONE
            ROTO_TRY(push(vm, pv_new(vm, PV_NONE)));
            break;
        case 'G': {  // BINFLOAT: big-endian IEEE double
            ROTO_TRY(need(vm, 8, "BINFLOAT"));
            uint64_t u = 0;
            for (int k = 0; k < 8; k++) u = u << 8 | arg[k];
            a = pv_new(vm, PV_FLOAT);
            if (!a) return vm_oom(vm);
            memcpy(&a->f, &u, 8);
            vm->pos += 8;
            ROTO_TRY(push(vm, a));
            break;
        }
        case 'q':  // BINPUT
            ROTO_TRY(need(vm, 1, "BINPUT"));
            vm->pos += 1;
            ROTO_TRY(memo_put(vm, arg[0]));
            break;
        case 'r':  // LONG_BINPUT
            ROTO_TRY(need(vm, 4, "LONG_BINPUT"));
            vm->pos += 4;
            ROTO_TRY(memo_put(vm, rd32(arg)));
            break;
        case 0x94:  // MEMOIZE
            ROTO_TRY(memo_put(vm, vm->memo_count));
            break;
        case 'h':  // BINGET
            ROTO_TRY(need(vm, 1, "BINGET"));
            vm->pos += 1;
            ROTO_TRY(memo_get(vm, arg[0]));
            break;
        case 'j':  // LONG_BINGET
            ROTO_TRY(need(vm, 4, "LONG_BINGET"));
            vm->pos += 4;
            ROTO_TRY(memo_get(vm, rd32(arg)));
            break;
        case '.':  // STOP
            return pop(vm, result);
        default:
            return PK_FAIL(vm, ROTO_ERR_UNSUPPORTED, "unsupported pickle opcode %s (0x%02x)",
                           opcode_name(op), op);
        }
    }
}

// ---- from the unpickled object to the tensor list --------------------------------

static roto_status add_pickled_tensor(pvm *vm, const char *name, const pv *t) {
    rt_weights *w = vm->w;
    const pv *st = t->tensor.storage;
    size_t ndim = t->tensor.size->seq.n;
    if (ndim > RT_MAX_DIMS)
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "tensor '%s' has %zu dims; at most %d are supported", name, ndim,
                        RT_MAX_DIMS);
    int64_t shape[RT_MAX_DIMS], stride[RT_MAX_DIMS];
    for (size_t d = 0; d < ndim; d++) {
        shape[d] = t->tensor.size->seq.items[d]->i;
        stride[d] = t->tensor.stride->seq.items[d]->i;
    }
    // Contiguous (row-major) only; dims of size 1 may carry any stride.
    int64_t numel = 1, expect = 1;
    bool contiguous = true;
    for (size_t d = ndim; d-- > 0;) {
        if (shape[d] < 0 || __builtin_mul_overflow(numel, shape[d], &numel))
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s' has an absurd shape", name);
        if (shape[d] != 1 && stride[d] != expect) contiguous = false;
        if (__builtin_mul_overflow(expect, shape[d], &expect)) expect = -1;
    }
    if (!contiguous && numel > 1) {
        char sb[128], tb[128];
        size_t k = 0, m = 0;
        for (size_t d = 0; d < ndim; d++) {
            k += (size_t)snprintf(sb + k, sizeof sb - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
            m += (size_t)snprintf(tb + m, sizeof tb - m, "%s%lld", d ? ", " : "", (long long)stride[d]);
        }
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "tensor '%s' is not contiguous (size [%s], stride [%s]); re-save it "
                        "with .contiguous()",
                        name, sb, tb);
    }
    int64_t off = t->tensor.offset, end;
    if (off < 0 || __builtin_add_overflow(off, numel, &end) || end > st->storage.numel)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "tensor '%s' needs elements [%lld, %lld + %lld) of storage '%s', which "
                        "holds %lld",
                        name, (long long)off, (long long)off, (long long)numel, st->storage.key,
                        (long long)st->storage.numel);
    size_t es = rt_wdtype_size(st->storage.dtype);
    return rt_weights_add_tensor(w, name, strlen(name), st->storage.dtype, (int)ndim, shape,
                                 st->storage.member->data_off + (uint64_t)off * es,
                                 (uint64_t)numel * es);
}

// Dict keys become name parts: strings as they are, ints in decimal; other keys
// cannot name a tensor and their entries are skipped.
static bool key_text(const pv *k, char *buf, size_t n, const char **out) {
    if (k->kind == PV_STR) {
        *out = k->str.s;
        return true;
    }
    if (k->kind == PV_INT) {
        snprintf(buf, n, "%lld", (long long)k->i);
        *out = buf;
        return true;
    }
    return false;
}

static roto_status walk(pvm *vm, const pv *dict, const char *prefix, int depth) {
    if (depth > PK_MAX_DEPTH)
        return RT_WFAIL(vm->w, ROTO_ERR_FORMAT, "dicts nested deeper than %d levels", PK_MAX_DEPTH);
    for (size_t i = 0; i + 1 < dict->seq.n; i += 2) {
        const pv *k = dict->seq.items[i], *v = dict->seq.items[i + 1];
        if (++vm->visits > PK_MAX_VISITS)
            return RT_WFAIL(vm->w, ROTO_ERR_FORMAT, "more than %u dict entries to walk",
                            PK_MAX_VISITS);
        if (v->kind != PV_TENSOR && v->kind != PV_DICT) continue;  // ints, strings, ...
        char num[32];
        const char *ks;
        if (!key_text(k, num, sizeof num, &ks)) continue;
        size_t len = strlen(prefix) + strlen(ks) + 2;
        char *name = vm_alloc(vm, len);
        if (!name) return vm_oom(vm);
        snprintf(name, len, "%s%s", prefix, ks);
        if (v->kind == PV_TENSOR) {
            ROTO_TRY(add_pickled_tensor(vm, name, v));
        } else {
            strcat(name, ".");
            ROTO_TRY(walk(vm, v, name, depth + 1));
        }
    }
    return ROTO_OK;
}

// The official SAM 2 files are {"model": state_dict}: one known wrapper level is
// stripped so tensors carry their state-dict names. Otherwise nested keys join
// with ".".
static const pv *strip_wrapper(const pv *root) {
    static const char *wrappers[] = {"model", "state_dict", "module"};
    for (size_t w = 0; w < 3; w++)
        for (size_t i = 0; i + 1 < root->seq.n; i += 2) {
            const pv *k = root->seq.items[i], *v = root->seq.items[i + 1];
            if (k->kind == PV_STR && !strcmp(k->str.s, wrappers[w]) && v->kind == PV_DICT)
                return v;
        }
    return root;
}

// ---- entry point -------------------------------------------------------------------

// Small text members (version, byteorder) as a string; "" if absent.
static void member_text(rt_weights *w, const zdir *z, const char *prefix, const char *leaf,
                        char *buf, size_t n) {
    char name[300];
    int len = snprintf(name, sizeof name, "%s%s", prefix, leaf);
    const zmember *m = zip_find(z, name, (size_t)len);
    buf[0] = '\0';
    if (!m || m->method != 0 || m->size >= n) return;
    size_t k = 0;
    for (uint64_t i = 0; i < m->size; i++) {
        char ch = (char)w->map[m->data_off + i];
        if (ch >= 32 && ch < 127) buf[k++] = ch;
    }
    buf[k] = '\0';
}

roto_status rt_ptzip_parse(rt_weights *w) {
    zdir z = {0};
    pvm vm = {0};
    roto_status st = zip_read_dir(w, &z);
    if (st != ROTO_OK) goto done;

    // <archive>/data.pkl with a single-level archive name.
    const zmember *pkl = NULL;
    for (size_t i = 0; i < z.n; i++) {
        const zmember *m = &z.m[i];
        const char *slash = memchr(m->name, '/', m->name_len);
        if (slash && (size_t)(m->name + m->name_len - slash) == 9 && !memcmp(slash, "/data.pkl", 9)) {
            if (pkl) {
                st = RT_WFAIL(w, ROTO_ERR_FORMAT, "zip holds more than one <archive>/data.pkl");
                goto done;
            }
            pkl = m;
        }
    }
    if (!pkl) {
        st = RT_WFAIL(w, ROTO_ERR_FORMAT,
                      "zip has no <archive>/data.pkl: not a torch.save checkpoint");
        goto done;
    }
    if ((st = zip_check_stored(w, pkl)) != ROTO_OK) goto done;
    char prefix[300];
    size_t plen = pkl->name_len - 8;  // keeps the '/'
    if (plen >= 256) {
        st = RT_WFAIL(w, ROTO_ERR_FORMAT, "archive name too long");
        goto done;
    }
    memcpy(prefix, pkl->name, plen);
    prefix[plen] = '\0';

    char text[64];
    member_text(w, &z, prefix, "byteorder", text, sizeof text);
    if (!strcmp(text, "big")) {
        st = RT_WFAIL(w, ROTO_ERR_UNSUPPORTED, "big-endian torch checkpoints are not supported");
        goto done;
    }
    prefix[plen - 1] = '\0';
    if ((st = rt_weights_add_meta(w, "torch.archive", prefix)) != ROTO_OK) goto done;
    prefix[plen - 1] = '/';
    member_text(w, &z, prefix, "version", text, sizeof text);
    if (text[0] && (st = rt_weights_add_meta(w, "torch.format_version", text)) != ROTO_OK)
        goto done;

    vm.w = w;
    vm.zip = &z;
    vm.prefix = prefix;
    vm.prefix_len = plen;
    vm.p = w->map + pkl->data_off;
    vm.n = (size_t)pkl->size;
    pv *root = NULL;
    if ((st = run_pickle(&vm, &root)) != ROTO_OK) goto done;
    if (root->kind != PV_DICT) {
        st = RT_WFAIL(w, ROTO_ERR_FORMAT, "data.pkl holds a %s, not a dict: not a state dict",
                      pv_kind_name(root->kind));
        goto done;
    }
    st = walk(&vm, strip_wrapper(root), "", 0);
done:
    vm_free_all(&vm);
    free(z.m);
    return st;
}
