// exr_dwa.c: OpenEXR's DWAA/DWAB block codec in plain C (see exr_dwa.h).
//
// Written from the format as OpenEXR implements it (ImfDwaCompressor.cpp in
// 3.1, internal_dwa*.h and internal_huf.c in OpenEXRCore 3.2+) and checked
// against the official library (tests/test_exr_dwa.c): files written by
// OpenEXR 3.1 decode to the library's own pixels bit for bit, and our encoder
// reproduces the library's blocks byte for byte (same quantisation, Huffman
// code and zlib streams), because the DCTs, colour transform, tolerances and
// Huffman construction follow OpenEXR's order of float and integer operations.
//
// Decoding a block:
//   1. 11 counters, then the rules (version 2) or the legacy rule table (0, 1);
//   2. every channel gets a scheme from the rules, and the R,G,B channels of
//      one layer form a set coded as Y'CbCr;
//   3. the four streams are unpacked, each checked against the size its
//      channels need before anything is allocated or written;
//   4. UNKNOWN and RLE bytes go to their rows; LOSSY_DCT sets and channels are
//      rebuilt 8x8 block by block: DC + run-length coded AC -> inverse DCT ->
//      (Y'CbCr -> R'G'B') -> half -> perceptual curve undone.
// Encoding runs the same steps backwards with OpenEXR's default rules.

#include "io/exr_dwa.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "engine/dtype.h"

// The DCTs below reproduce OpenEXR's float arithmetic exactly, so they must
// not be turned into fused multiply-adds (only possible with -mfma).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

// ---- format constants -----------------------------------------------------------

enum {  // the counters at the start of a block, little-endian uint64 each
    C_VERSION,
    C_UNKNOWN_RAW,     // UNKNOWN data before deflate
    C_UNKNOWN_PACKED,  // ... after
    C_AC_PACKED,       // AC stream (Huffman or deflate)
    C_DC_PACKED,       // DC stream (zip predictor + deflate)
    C_RLE_PACKED,      // RLE data after run-length coding and deflate
    C_RLE_RUNS,        // ... after run-length coding only
    C_RLE_RAW,         // ... before both
    C_AC_COUNT,        // AC values (uint16)
    C_DC_COUNT,        // DC values (uint16)
    C_AC_COMPRESSION,  // AC_HUFFMAN or AC_DEFLATE
    N_COUNTERS
};
#define HEADER_BYTES (N_COUNTERS * 8)
enum { AC_HUFFMAN = 0, AC_DEFLATE = 1 };

static size_t type_bytes(int t) { return t == ROTO_DWA_HALF ? 2 : 4; }

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v) {
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}
static void wr64(uint8_t *p, uint64_t v) {
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}
static float h2f(uint16_t h) { return rt_f16_to_f32(h); }
static uint16_t f2h(float f) { return rt_f32_to_f16(f); }  // round to nearest even, as OpenEXR

// ---- tables: perceptual curve, zigzag order -----------------------------------------

static uint16_t g_to_linear[65536], g_to_nonlinear[65536];
static float g_half_to_float[65536];  // h2f as a table: the decoder's inner loop
static int g_zigzag[64];        // zigzag position -> row-major position in the 8x8 block
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

// OpenEXR's perceptual curve: x^(1/2.2) up to 1, above that ln(x)/2.2 + 1
// (the two meet smoothly at 1), odd in x; infinities and NaNs map to 0.
// Evaluated in float with powf/logf as OpenEXR builds its tables: with glibc
// all 65536 entries of both directions equal OpenEXR's (checked once against
// the tables in OpenEXR's own test suite).
static uint16_t curve(uint16_t h, int to_linear) {
    if (h == 0 || (h & 0x7c00) == 0x7c00) return 0;
    float f = h2f(h);
    float sign = f < 0.0f ? -1.0f : 1.0f;
    f = fabsf(f);
    float z;
    if (to_linear) z = f <= 1.0f ? powf(f, 2.2f) : powf(9.02501329156f, f - 1.0f);  // 9.025... = e^2.2
    else z = f <= 1.0f ? powf(f, 1.0f / 2.2f) : logf(f) / 2.2f + 1.0f;
    return f2h(sign * z);
}

static void build_tables(void) {
    for (int i = 0; i < 65536; i++) g_half_to_float[i] = h2f((uint16_t)i);
    for (int i = 0; i < 65536; i++) {
        g_to_linear[i] = curve((uint16_t)i, 1);
        g_to_nonlinear[i] = curve((uint16_t)i, 0);
    }
    // JPEG's zigzag: walk the anti-diagonals r + c = s, downwards (r rising)
    // on odd s, upwards on even s.
    int k = 0;
    for (int s = 0; s < 15; s++) {
        int r0 = s < 8 ? 0 : s - 7, r1 = s < 8 ? s : 7;
        for (int i = 0; i <= r1 - r0; i++) {
            int r = (s & 1) ? r0 + i : r1 - i;
            g_zigzag[k++] = r * 8 + (s - r);
        }
    }
}

static void tables_init(void) { pthread_once(&g_tables_once, build_tables); }

// ---- channel rules -------------------------------------------------------------------

typedef struct {
    const char *suffix;  // matched against the channel name after its last '.'
    uint8_t scheme;      // roto_dwa_scheme
    uint8_t type;        // roto_dwa_pixel the rule applies to
    uint8_t nocase;      // case-insensitive match
    int8_t csc;          // position in an R,G,B set (0, 1, 2), or -1
} dwa_rule;

// The rules OpenEXR writes with (every version 2 block carries the ones it
// used, so a reader needs only the legacy table below).
#define LOSSY2(s, csc) {s, ROTO_DWA_LOSSY_DCT, ROTO_DWA_HALF, 0, csc}, {s, ROTO_DWA_LOSSY_DCT, ROTO_DWA_FLOAT, 0, csc}
static const dwa_rule k_default_rules[] = {
    LOSSY2("R", 0),  LOSSY2("G", 1),  LOSSY2("B", 2),
    LOSSY2("Y", -1), LOSSY2("BY", -1), LOSSY2("RY", -1),
    {"A", ROTO_DWA_RLE, ROTO_DWA_UINT, 0, -1}, {"A", ROTO_DWA_RLE, ROTO_DWA_HALF, 0, -1},
    {"A", ROTO_DWA_RLE, ROTO_DWA_FLOAT, 0, -1},
};
#undef LOSSY2

// Version 0 and 1 blocks have no rules inside: these apply (case-insensitive).
#define LOSSY2(s, csc) {s, ROTO_DWA_LOSSY_DCT, ROTO_DWA_HALF, 1, csc}, {s, ROTO_DWA_LOSSY_DCT, ROTO_DWA_FLOAT, 1, csc}
static const dwa_rule k_legacy_rules[] = {
    LOSSY2("r", 0),  LOSSY2("red", 0),  LOSSY2("g", 1),  LOSSY2("grn", 1), LOSSY2("green", 1),
    LOSSY2("b", 2),  LOSSY2("blu", 2),  LOSSY2("blue", 2), LOSSY2("y", -1), LOSSY2("by", -1),
    LOSSY2("ry", -1),
    {"a", ROTO_DWA_RLE, ROTO_DWA_UINT, 1, -1}, {"a", ROTO_DWA_RLE, ROTO_DWA_HALF, 1, -1},
    {"a", ROTO_DWA_RLE, ROTO_DWA_FLOAT, 1, -1},
};
#undef LOSSY2
#define N_DEFAULT_RULES ((int)(sizeof k_default_rules / sizeof *k_default_rules))
#define N_LEGACY_RULES ((int)(sizeof k_legacy_rules / sizeof *k_legacy_rules))

static const char *suffix_of(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

static int rule_matches(const dwa_rule *r, const char *suffix, int type) {
    if (r->type != type) return 0;
    return r->nocase ? !strcasecmp(suffix, r->suffix) : !strcmp(suffix, r->suffix);
}

// A rule as stored in a block: the suffix (NUL-terminated), one byte
// (csc + 1) << 4 | scheme << 2 | nocase, one byte pixel type. Returns the
// bytes used, 0 if the bytes at p (avail of them) are not a valid rule.
static size_t read_rule(const uint8_t *p, size_t avail, dwa_rule *r) {
    size_t len = 0;
    while (len < avail && len < 256 && p[len]) len++;
    if (len >= avail || p[len] || avail - len - 1 < 2) return 0;
    uint8_t v = p[len + 1], t = p[len + 2];
    int csc = (v >> 4) - 1, scheme = (v >> 2) & 3;
    if (csc > 2 || scheme > ROTO_DWA_RLE || t > ROTO_DWA_FLOAT) return 0;
    r->suffix = (const char *)p;
    r->csc = (int8_t)csc;
    r->scheme = (uint8_t)scheme;
    r->nocase = v & 1;
    r->type = t;
    return len + 3;
}

// Parse the rule table at p (avail bytes): uint16 total size (itself
// included), then the rules. *rules points into the block.
static roto_status parse_rules(const uint8_t *p, size_t avail, dwa_rule **rules, int *nrules, size_t *used) {
    *rules = NULL;
    *nrules = 0;
    if (avail < 2) return roto_fail(ROTO_ERR_FORMAT, "DWA block: no room for the channel rules after the header");
    size_t size = rd16(p);
    if (size < 2 || size > avail)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: channel rules of %zu bytes (%zu available)", size, avail);
    *used = size;
    int n = 0;
    for (size_t off = 2; off < size; n++) {
        dwa_rule r;
        size_t k = read_rule(p + off, size - off, &r);
        if (!k) return roto_fail(ROTO_ERR_FORMAT, "DWA block: channel rule %d (at byte %zu of the rules) is corrupt", n, off);
        off += k;
    }
    if (n == 0) return ROTO_OK;
    dwa_rule *rs = malloc(sizeof *rs * (size_t)n);
    if (!rs) return roto_fail(ROTO_ERR_OOM, "DWA block: out of memory");
    size_t off = 2;
    for (int i = 0; i < n; i++) off += read_rule(p + off, size - off, &rs[i]);
    *rules = rs;
    *nrules = n;
    return ROTO_OK;
}

// ---- classification ------------------------------------------------------------------

typedef struct {
    uint8_t *scheme;  // per channel
    uint8_t *in_set;  // per channel: coded in an R,G,B set
    int (*sets)[3];   // the sets, in the order their data is stored
    int nsets;
} dwa_layout;

typedef struct {
    const char *name;  // the channel name; the prefix is its first len bytes
    size_t len;
    int idx[3];
} prefix_slot;

// OpenEXR 3.1 keeps the candidate sets in a std::map keyed by the layer
// prefix, so sets are coded in byte order of their prefixes (shorter first
// when one is the start of the other). OpenEXRCore 3.2+ walks them in channel
// order instead; the two differ only for layer names with bytes below '.'
// (e.g. "a-x" and "a"), which we code the 3.1 way.
static int cmp_prefix(const void *a, const void *b) {
    const prefix_slot *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

static void layout_free(dwa_layout *L) {
    free(L->scheme);
    free(L->in_set);
    free(L->sets);
    memset(L, 0, sizeof *L);
}

// Give every channel its scheme (the last matching rule wins, as in OpenEXR)
// and find the complete R,G,B sets.
static roto_status classify(const roto_dwa_channel *ch, int nch, const dwa_rule *rules, int nrules, dwa_layout *L) {
    memset(L, 0, sizeof *L);
    L->scheme = calloc((size_t)nch, 1);
    L->in_set = calloc((size_t)nch, 1);
    L->sets = malloc(sizeof *L->sets * (size_t)nch);
    prefix_slot *slots = malloc(sizeof *slots * (size_t)nch);
    if (!L->scheme || !L->in_set || !L->sets || !slots) {
        free(slots);
        layout_free(L);
        return roto_fail(ROTO_ERR_OOM, "DWA: out of memory");
    }
    int nslots = 0;
    for (int c = 0; c < nch; c++) {
        const char *suffix = suffix_of(ch[c].name);
        size_t plen = suffix == ch[c].name ? 0 : (size_t)(suffix - ch[c].name) - 1;
        int s = 0;
        while (s < nslots && !(slots[s].len == plen && !memcmp(slots[s].name, ch[c].name, plen))) s++;
        if (s == nslots) slots[nslots++] = (prefix_slot){ch[c].name, plen, {-1, -1, -1}};
        L->scheme[c] = ROTO_DWA_UNKNOWN;
        for (int r = 0; r < nrules; r++) {
            if (!rule_matches(&rules[r], suffix, ch[c].type)) continue;
            L->scheme[c] = rules[r].scheme;
            if (rules[r].csc >= 0) slots[s].idx[rules[r].csc] = c;
        }
    }
    qsort(slots, (size_t)nslots, sizeof *slots, cmp_prefix);
    for (int s = 0; s < nslots; s++) {
        const int *ix = slots[s].idx;
        if (ix[0] < 0 || ix[1] < 0 || ix[2] < 0) continue;
        memcpy(L->sets[L->nsets++], ix, sizeof(int) * 3);
    }
    free(slots);
    return ROTO_OK;
}

// ---- run-length coding and the zip predictor -------------------------------------------

// EXR's RLE: a signed count byte; n < 0: -n literal bytes follow; n >= 0: the
// next byte repeats n + 1 times. Returns 0 when `in` decodes to exactly nout bytes.
static int rle_decode(const uint8_t *in, size_t n, uint8_t *out, size_t nout) {
    size_t i = 0, o = 0;
    while (i < n) {
        int c = (int8_t)in[i++];
        if (c < 0) {
            size_t k = (size_t)-c;
            if (k > n - i || k > nout - o) return -1;
            memcpy(out + o, in + i, k);
            i += k;
            o += k;
        } else {
            size_t k = (size_t)c + 1;
            if (i >= n || k > nout - o) return -1;
            memset(out + o, in[i++], k);
            o += k;
        }
    }
    return o == nout ? 0 : -1;
}

// Runs of 3..128 equal bytes become (count - 1, byte); the rest literal
// stretches of up to 127. `out` needs n + n / 127 + 1 bytes. Returns the size.
static size_t rle_encode(const uint8_t *in, size_t n, uint8_t *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 128 && in[i + run] == in[i]) run++;
        if (run >= 3) {
            out[o++] = (uint8_t)(run - 1);
            out[o++] = in[i];
            i += run;
            continue;
        }
        size_t j = i + 1;  // a literal stretch ends where a run of 3 starts
        while (j < n && j - i < 127 && !(j + 2 < n && in[j] == in[j + 1] && in[j] == in[j + 2])) j++;
        out[o++] = (uint8_t)(-(int)(j - i));
        memcpy(out + o, in + i, j - i);
        o += j - i;
        i = j;
    }
    return o;
}

// The DC stream is stored like EXR's ZIP data: the bytes of the little-endian
// halves split into even and odd bytes, then each byte replaced by its
// difference to the previous one (+128).
static void zip_split_predict(const uint8_t *src, size_t n, uint8_t *dst) {
    size_t half = (n + 1) / 2;
    for (size_t i = 0; i < n; i++) dst[(i & 1) ? half + i / 2 : i / 2] = src[i];
    uint8_t prev = n ? dst[0] : 0;
    for (size_t i = 1; i < n; i++) {
        uint8_t cur = dst[i];
        dst[i] = (uint8_t)(cur - prev + 128);
        prev = cur;
    }
}

static void zip_unpredict_merge(uint8_t *t, size_t n, uint8_t *dst) {
    for (size_t i = 1; i < n; i++) t[i] = (uint8_t)(t[i - 1] + t[i] - 128);
    size_t half = (n + 1) / 2;
    for (size_t i = 0; i < n; i++) dst[i] = t[(i & 1) ? half + i / 2 : i / 2];
}

// Inflate exactly `nout` bytes; 0 on success.
static int inflate_exact(const uint8_t *in, size_t n, uint8_t *out, size_t nout) {
    uLongf got = (uLongf)nout;
    if (uncompress(out, &got, in, (uLong)n) != Z_OK) return -1;
    return got == nout ? 0 : -1;
}

// ---- a growable byte buffer for the encoder -------------------------------------------

typedef struct {
    uint8_t *d;
    size_t n, cap;
    int oom;
} dbuf;

static int db_reserve(dbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (extra <= b->cap - b->n) return 0;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc - b->n < extra) {
        if (nc > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        nc *= 2;
    }
    uint8_t *p = realloc(b->d, nc);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->d = p;
    b->cap = nc;
    return 0;
}

static void db_put(dbuf *b, const void *p, size_t k) {
    if (db_reserve(b, k)) return;
    memcpy(b->d + b->n, p, k);
    b->n += k;
}

// Deflate `n` bytes onto the buffer; returns the compressed size (0 on failure, with b->oom set).
static size_t db_deflate(dbuf *b, const uint8_t *src, size_t n, int level) {
    uLong bound = compressBound((uLong)n);
    if (db_reserve(b, bound)) return 0;
    uLongf got = bound;
    if (compress2(b->d + b->n, &got, src, (uLong)n, level) != Z_OK) {
        b->oom = 1;
        return 0;
    }
    b->n += got;
    return got;
}

// ---- OpenEXR's static Huffman coder (as in PIZ) ------------------------------------------
//
// Layout: uint32 min symbol, uint32 max symbol (the run-length pseudo symbol,
// one past the largest value), uint32 table bytes, uint32 data bits, uint32 0;
// then the code lengths of the symbols min..max packed in 6 bits each (59..62:
// runs of 2..5 zero lengths, 63 + 8 bits: runs of 6..261), byte-aligned; then
// the codes, most significant bit first. The pseudo symbol followed by 8 bits
// n repeats the previous value n times. Codes are canonical: for each length
// the codes are consecutive in symbol order, and longer codes come first
// numerically.

#define HUF_SYMS 65537  // 65536 values + the run-length pseudo symbol
#define HUF_MAX_LEN 58
#define HUF_FAST_BITS 12

// Up to 24 bits starting at bit `pos`, zero-padded past the end.
static uint32_t peek_bits(const uint8_t *p, size_t nbytes, size_t pos, int k) {
    size_t byte = pos >> 3;
    uint32_t v = 0;
    if (byte + 4 <= nbytes)  // the common case: one big-endian load
        v = (uint32_t)p[byte] << 24 | (uint32_t)p[byte + 1] << 16 | (uint32_t)p[byte + 2] << 8 | p[byte + 3];
    else
        for (int i = 0; i < 4; i++) v = v << 8 | (byte + (size_t)i < nbytes ? p[byte + (size_t)i] : 0u);
    return (v >> (32 - (int)(pos & 7) - k)) & ((1u << k) - 1u);
}

typedef struct {
    uint8_t *len;       // [HUF_SYMS] code length per symbol
    uint64_t count[HUF_MAX_LEN + 1], start[HUF_MAX_LEN + 1];  // codes per length, first code
    uint32_t first[HUF_MAX_LEN + 2];  // index of each length's first symbol in `sorted`
    uint32_t *sorted;   // symbols by (length, value)
    uint32_t *fast;     // [1 << HUF_FAST_BITS]: symbol << 6 | length, 0 = longer code
} huf_table;

static void huf_table_free(huf_table *t) {
    free(t->len);
    free(t->sorted);
    free(t->fast);
}

// Canonical codes from the lengths: the first code of each length, longest first.
static void huf_canonical_starts(const uint64_t *count, uint64_t *start) {
    uint64_t c = 0;
    for (int l = HUF_MAX_LEN; l > 0; l--) {
        start[l] = c;
        c = (c + count[l]) >> 1;
    }
}

static roto_status huf_decode(const uint8_t *in, size_t n, uint16_t *out, size_t nout) {
    if (n < 20)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman stream is %zu bytes, shorter than its header", n);
    uint32_t im = rd32(in), iM = rd32(in + 4), nbits = rd32(in + 12);
    if (im >= HUF_SYMS || iM >= HUF_SYMS || im > iM)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: AC Huffman symbol range %u..%u is invalid", im, iM);
    huf_table t;
    memset(&t, 0, sizeof t);
    t.len = calloc(HUF_SYMS, 1);
    if (!t.len) return roto_fail(ROTO_ERR_OOM, "DWA block: out of memory");
    roto_status st = ROTO_OK;
    // Code lengths.
    const uint8_t *tab = in + 20;
    size_t tab_bytes = n - 20, pos = 0;
    for (uint32_t s = im; s <= iM; s++) {
        if (pos + 6 > tab_bytes * 8) {
            st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman code table is truncated");
            goto done;
        }
        uint32_t l = peek_bits(tab, tab_bytes, pos, 6);
        pos += 6;
        uint32_t zeros = 0;
        if (l == 63) {
            if (pos + 8 > tab_bytes * 8) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman code table is truncated");
                goto done;
            }
            zeros = peek_bits(tab, tab_bytes, pos, 8) + 6;
            pos += 8;
        } else if (l >= 59) {
            zeros = l - 59 + 2;
        }
        if (zeros) {
            if (zeros > iM - s + 1) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: a run in the AC Huffman code table passes its end");
                goto done;
            }
            s += zeros - 1;  // lengths stay 0
        } else {
            t.len[s] = (uint8_t)l;
        }
    }
    size_t data_off = 20 + (pos + 7) / 8;
    if (data_off > n || nbits > (n - data_off) * 8) {
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman data (%u bits) runs past its stream (%zu bytes)",
                       nbits, n);
        goto done;
    }
    const uint8_t *data = in + data_off;
    size_t data_bytes = n - data_off;
    // Canonical codes; refuse a table that is not a prefix code.
    uint64_t total = 0;
    for (uint32_t s = im; s <= iM; s++)
        if (t.len[s]) t.count[t.len[s]]++;
    huf_canonical_starts(t.count, t.start);
    for (int l = 1; l <= HUF_MAX_LEN; l++) {
        if (t.count[l] > ((uint64_t)1 << l) - t.start[l]) {
            st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman code lengths do not form a prefix code");
            goto done;
        }
        t.first[l] = (uint32_t)total;
        total += t.count[l];
    }
    t.first[HUF_MAX_LEN + 1] = (uint32_t)total;
    if (total == 0 && nout > 0) {
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman table has no codes");
        goto done;
    }
    t.sorted = malloc(sizeof *t.sorted * (total ? total : 1));
    t.fast = calloc((size_t)1 << HUF_FAST_BITS, sizeof *t.fast);
    if (!t.sorted || !t.fast) {
        st = roto_fail(ROTO_ERR_OOM, "DWA block: out of memory");
        goto done;
    }
    uint32_t fill[HUF_MAX_LEN + 2];
    memcpy(fill, t.first, sizeof fill);
    for (uint32_t s = im; s <= iM; s++)
        if (t.len[s]) t.sorted[fill[t.len[s]]++] = s;
    for (int l = 1; l <= HUF_FAST_BITS; l++)
        for (uint64_t k = 0; k < t.count[l]; k++) {
            uint32_t sym = t.sorted[t.first[l] + k];
            uint64_t base = (t.start[l] + k) << (HUF_FAST_BITS - l);
            for (uint64_t j = 0; j < ((uint64_t)1 << (HUF_FAST_BITS - l)); j++)
                t.fast[base + j] = sym << 6 | (uint32_t)l;
        }
    // Decode.
    size_t bit = 0, o = 0;
    while (bit < nbits) {
        uint32_t e = t.fast[peek_bits(data, data_bytes, bit, HUF_FAST_BITS)];
        uint32_t sym, l = e & 63;
        if (e && l <= nbits - bit) {
            sym = e >> 6;
        } else {
            uint64_t code = 0;
            sym = UINT32_MAX;
            for (l = 1; l <= HUF_MAX_LEN && bit + l <= nbits; l++) {
                size_t b = bit + l - 1;
                code = code << 1 | (uint64_t)((data[b >> 3] >> (7 - (b & 7))) & 1);
                if (t.count[l] && code >= t.start[l] && code - t.start[l] < t.count[l]) {
                    sym = t.sorted[t.first[l] + (code - t.start[l])];
                    break;
                }
            }
            if (sym == UINT32_MAX) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: invalid or truncated code in the AC Huffman data at bit %zu",
                               bit);
                goto done;
            }
        }
        bit += l;
        if (sym == iM) {  // run: the previous value again r times
            if (bit + 8 > nbits || o == 0) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: bad run in the AC Huffman data at bit %zu", bit);
                goto done;
            }
            size_t r = peek_bits(data, data_bytes, bit, 8);
            bit += 8;
            if (r > nout - o) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman data holds more than %zu values", nout);
                goto done;
            }
            for (size_t k = 0; k < r; k++, o++) out[o] = out[o - 1];
        } else {
            if (o == nout) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman data holds more than %zu values", nout);
                goto done;
            }
            out[o++] = (uint16_t)sym;
        }
    }
    if (o != nout)
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC Huffman data holds %zu values, the block says %zu", o, nout);
done:
    huf_table_free(&t);
    return st;
}

// Huffman code lengths for the m >= 2 symbols syms[] (those with freq > 0),
// built as OpenEXR builds them so that equal frequencies get the same lengths
// (and our blocks the same bytes): a min-heap of symbols by (weight, symbol);
// the two lightest are taken, the lighter's weight is added to the other,
// which goes back into the heap standing for both; every symbol under either
// gets one bit longer (symbols under an entry are chained through `link`).
// Returns the longest length, or -1 when out of memory.
static int huf_lengths(const uint64_t *freq, const uint32_t *syms, int m, uint8_t *len) {
    uint64_t *w = malloc(sizeof *w * HUF_SYMS);
    int *link = malloc(sizeof *link * HUF_SYMS), *heap = malloc(sizeof *heap * HUF_SYMS);
    int *bits = malloc(sizeof *bits * HUF_SYMS);
    int longest = -1, nh = 0;
    if (!w || !link || !heap || !bits) goto done;
#define HLESS(a, b) (w[a] < w[b] || (w[a] == w[b] && (a) < (b)))
#define HPUSH(s)                                                      \
    do {                                                              \
        int i_ = nh++;                                                \
        heap[i_] = (s);                                               \
        while (i_ > 0 && HLESS(heap[i_], heap[(i_ - 1) / 2])) {       \
            int p_ = (i_ - 1) / 2, t_ = heap[p_];                     \
            heap[p_] = heap[i_];                                      \
            heap[i_] = t_;                                            \
            i_ = p_;                                                  \
        }                                                             \
    } while (0)
    for (int k = 0; k < m; k++) {
        int s = (int)syms[k];
        w[s] = freq[s];
        link[s] = s;  // end of its own chain
        bits[s] = 0;
        HPUSH(s);
    }
    while (nh > 1) {
        int pair[2];  // the lightest, then the next
        for (int k = 0; k < 2; k++) {
            pair[k] = heap[0];
            heap[0] = heap[--nh];
            for (int i = 0;;) {
                int l = 2 * i + 1, r = l + 1, c = i;
                if (l < nh && HLESS(heap[l], heap[c])) c = l;
                if (r < nh && HLESS(heap[r], heap[c])) c = r;
                if (c == i) break;
                int t = heap[c];
                heap[c] = heap[i];
                heap[i] = t;
                i = c;
            }
        }
        int mm = pair[0], mx = pair[1];
        w[mx] += w[mm];
        HPUSH(mx);
        int j = mx;  // lengthen mx's chain, append mm's chain to it, lengthen that
        for (;; j = link[j]) {
            bits[j]++;
            if (link[j] == j) break;
        }
        link[j] = mm;
        for (j = mm;; j = link[j]) {
            bits[j]++;
            if (link[j] == j) break;
        }
    }
#undef HPUSH
#undef HLESS
    longest = 0;
    for (int k = 0; k < m; k++) {
        int s = (int)syms[k];
        len[s] = (uint8_t)(bits[s] > 255 ? 255 : bits[s]);
        if (bits[s] > longest) longest = bits[s];
    }
done:
    free(w);
    free(link);
    free(heap);
    free(bits);
    return longest;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    dbuf *b;
    uint64_t acc;
    int nacc;
    uint64_t bits;
} bitw;

static void bw_put(bitw *w, uint64_t v, int nbits) {
    while (nbits > 0) {
        int k = nbits > 32 ? 32 : nbits;
        nbits -= k;
        w->acc = w->acc << k | ((v >> nbits) & (((uint64_t)1 << k) - 1));
        w->nacc += k;
        w->bits += (uint64_t)k;
        while (w->nacc >= 8) {
            w->nacc -= 8;
            uint8_t byte = (uint8_t)(w->acc >> w->nacc);
            db_put(w->b, &byte, 1);
        }
        w->acc &= ((uint64_t)1 << w->nacc) - 1;
    }
}

static void bw_flush(bitw *w) {
    if (w->nacc) {
        uint8_t byte = (uint8_t)(w->acc << (8 - w->nacc));
        db_put(w->b, &byte, 1);
    }
    w->acc = 0;
    w->nacc = 0;
}

// Huffman-code n >= 1 values onto b. Returns 0, 1 when a code would be
// longer than 58 bits (the caller deflates instead), -1 when out of memory.
static int huf_encode(const uint16_t *v, size_t n, dbuf *b) {
    uint64_t *freq = calloc(HUF_SYMS, sizeof *freq), *code = malloc(sizeof *code * HUF_SYMS);
    uint8_t *len = malloc(HUF_SYMS);
    uint32_t *syms = malloc(sizeof *syms * HUF_SYMS);  // the symbols used, ascending
    int rv = -1, m = 0;
    if (!freq || !code || !len || !syms) goto done;
    for (size_t i = 0; i < n; i++)
        if (freq[v[i]]++ == 0) syms[m++] = v[i];
    qsort(syms, (size_t)m, sizeof *syms, cmp_u32);
    uint32_t im = syms[0], rlc = syms[m - 1] + 1, iM = rlc;  // the run-length pseudo symbol: one past the largest
    freq[rlc] = 1;
    syms[m++] = rlc;
    int longest = huf_lengths(freq, syms, m, len);
    if (longest < 0) goto done;
    if (longest > HUF_MAX_LEN) {
        rv = 1;
        goto done;
    }
    uint64_t count[HUF_MAX_LEN + 1] = {0}, start[HUF_MAX_LEN + 1];
    for (int k = 0; k < m; k++) count[len[syms[k]]]++;
    huf_canonical_starts(count, start);
    for (int k = 0; k < m; k++) code[syms[k]] = start[len[syms[k]]]++;
    size_t head = b->n;
    uint8_t zero[20] = {0};
    db_put(b, zero, 20);
    bitw w = {b, 0, 0, 0};
    for (int k = 0; k < m; k++) {  // the code length table: gaps of unused symbols as zero runs
        uint32_t z = k ? syms[k] - syms[k - 1] - 1 : 0;
        while (z > 0) {
            uint32_t t = z < 255 + 6 ? z : 255 + 6;
            if (t >= 6) {
                bw_put(&w, 63, 6);
                bw_put(&w, t - 6, 8);
            } else if (t >= 2) {
                bw_put(&w, 59 + t - 2, 6);
            } else {
                bw_put(&w, 0, 6);
            }
            z -= t;
        }
        bw_put(&w, len[syms[k]], 6);
    }
    bw_flush(&w);
    size_t table_bytes = b->n - head - 20;
    w.bits = 0;
    for (size_t i = 0; i < n;) {  // the values; a value repeated r more times (r <= 255) is sent
        uint16_t s = v[i];          // as (value, pseudo symbol, r) when that is shorter, as OpenEXR does
        size_t r = 0;
        while (i + 1 + r < n && r < 255 && v[i + 1 + r] == s) r++;
        if ((uint64_t)len[s] + len[rlc] + 8 < (uint64_t)len[s] * r) {
            bw_put(&w, code[s], len[s]);
            bw_put(&w, code[rlc], len[rlc]);
            bw_put(&w, r, 8);
        } else {
            for (size_t k = 0; k <= r; k++) bw_put(&w, code[s], len[s]);
        }
        i += 1 + r;
    }
    uint64_t nbits = w.bits;
    bw_flush(&w);
    if (b->oom) goto done;
    if (nbits > UINT32_MAX) {
        rv = 1;
        goto done;
    }
    wr32(b->d + head, im);
    wr32(b->d + head + 4, iM);
    wr32(b->d + head + 8, (uint32_t)table_bytes);
    wr32(b->d + head + 12, (uint32_t)nbits);
    rv = 0;
done:
    free(freq);
    free(code);
    free(len);
    free(syms);
    return rv;
}

// ---- the 8x8 DCT ---------------------------------------------------------------------------
//
// Inverse: 0.5 cos(k pi / 16) (k = 4, 1, 2, 3, 5, 6, 7), rounded to 7 digits
// as in OpenEXR's x86-64 AVX kernel, and the same order of float operations:
// rows as two 4x4 products (even and odd inputs), columns as butterflies.
// With the same constants and order our pixels equal the library's bit for
// bit on such machines (its SSE2/scalar path associates differently and may
// round 1 ulp apart, rarely).
#define KA 3.535536e-01f
#define KB 4.903927e-01f
#define KC 4.619398e-01f
#define KD 4.157349e-01f
#define KE 2.777855e-01f
#define KF 1.913422e-01f
#define KG 9.754573e-02f

static void idct8x8(float *d) {
    static const float even[4][4] = {{KA, KC, KA, KF}, {KA, KF, -KA, -KC}, {KA, -KF, -KA, KC}, {KA, -KC, KA, -KF}};
    static const float odd[4][4] = {{KB, KD, KE, KG}, {KD, -KG, -KB, -KE}, {KE, -KB, KG, KD}, {KG, -KE, KD, -KB}};
    for (int r = 0; r < 8; r++) {
        float *x = d + 8 * r, ev[4], od[4];
        for (int i = 0; i < 4; i++) {
            ev[i] = (x[0] * even[i][0] + x[2] * even[i][1]) + (x[4] * even[i][2] + x[6] * even[i][3]);
            od[i] = (x[1] * odd[i][0] + x[3] * odd[i][1]) + (x[5] * odd[i][2] + x[7] * odd[i][3]);
        }
        for (int i = 0; i < 4; i++) {
            x[i] = ev[i] + od[i];
            x[7 - i] = ev[i] - od[i];
        }
    }
    for (int c = 0; c < 8; c++) {
        float x0 = d[c], x1 = d[8 + c], x2 = d[16 + c], x3 = d[24 + c];
        float x4 = d[32 + c], x5 = d[40 + c], x6 = d[48 + c], x7 = d[56 + c];
        float o0 = (KB * x1 + KD * x3) + (KE * x5 + KG * x7);
        float o1 = (KD * x1 - (KG * x3 + KB * x5)) - KE * x7;
        float o2 = ((KE * x1 - KB * x3) + KG * x5) + KD * x7;
        float o3 = (KG * x1 + KD * x5) - (KE * x3 + KB * x7);
        float s = KA * x0 + KA * x4, t = KA * x0 - KA * x4;
        float u = KC * x2 + KF * x6, v = KF * x2 - KC * x6;
        float e0 = s + u, e3 = s - u, e1 = t + v, e2 = t - v;
        d[c] = e0 + o0;
        d[8 + c] = e1 + o1;
        d[16 + c] = e2 + o2;
        d[24 + c] = e3 + o3;
        d[32 + c] = e3 - o3;
        d[40 + c] = e2 - o2;
        d[48 + c] = e1 - o1;
        d[56 + c] = e0 - o0;
    }
}

// Forward: the same orthonormal DCT-II, as the butterflies of Pennebaker &
// Mitchell (4.3.2) with OpenEXR's constants, first down the columns, then
// along the rows, in OpenEXR's (SSE2) order of float operations: our blocks
// then equal the library's byte for byte. (Any accurate DCT would decode
// fine; this one also makes the same quantisation choices.)
static void fdct8(float *x, int stride) {
    const float c4 = 0.70710678f, c1 = 0.490392640f, c2 = 0.461939770f, c3 = 0.415734810f;
    const float c5 = 0.277785120f, c6 = 0.191341720f, c7 = 0.097545161f;  // c1..c7: 0.5 cos(k pi / 16)
    float x0 = x[0], x1 = x[stride], x2 = x[2 * stride], x3 = x[3 * stride];
    float x4 = x[4 * stride], x5 = x[5 * stride], x6 = x[6 * stride], x7 = x[7 * stride];
    float a0 = x0 + x7, a1 = x1 + x2, a3 = x3 + x4, a5 = x5 + x6;
    float a7 = x0 - x7, a2 = x1 - x2, a4 = x3 - x4, a6 = x5 - x6;
    float k0 = c4 * (a0 + a3), k1 = c4 * (a1 + a5);
    x[0] = (k0 + k1) * 0.5f;
    x[4 * stride] = (k0 - k1) * 0.5f;
    k0 = a2 - a6;
    k1 = a0 - a3;
    x[2 * stride] = c6 * k0 + c2 * k1;
    x[6 * stride] = c6 * k1 - c2 * k0;
    k0 = (a1 - a5) * c4;
    k1 = (a2 + a6) * -c4;
    float rx = a7 - k0, ry = a4 + k1;
    x[3 * stride] = c3 * rx - c5 * ry;
    x[5 * stride] = c5 * rx + c3 * ry;
    rx = a7 + k0;
    ry = k1 - a4;
    x[stride] = c1 * rx - c7 * ry;
    x[7 * stride] = c7 * rx + c1 * ry;
}

static void fdct8x8(float *d) {
    for (int c = 0; c < 8; c++) fdct8(d + c, 8);
    for (int r = 0; r < 8; r++) fdct8(d + 8 * r, 1);
}

// Rec.709 Y'CbCr without offsets, as DWA uses for R,G,B sets.
static void csc_inverse(float *y, float *cb, float *cr) {
    float Y = *y, B = *cb, R = *cr;
    *y = Y + 1.5747f * R;
    *cb = (Y - 0.1873f * B) - 0.4682f * R;
    *cr = Y + 1.8556f * B;
}

static void csc_forward(float *r, float *g, float *b) {
    float R = *r, G = *g, B = *b;
    *r = 0.2126f * R + 0.7152f * G + 0.0722f * B;
    *g = -0.1146f * R - 0.3854f * G + 0.5000f * B;
    *b = 0.5000f * R - 0.4542f * G - 0.0458f * B;
}

// ---- LOSSY_DCT -------------------------------------------------------------------------------

typedef struct {
    const uint16_t *ac, *ac_end;  // AC values, consumed in order
    const uint16_t *dc, *dc_end;  // DC values
} coef_stream;

// Rebuild ncomp planes (1 channel, or 3 = one Y'CbCr set giving R,G,B) of
// width x lines halves; `lut` undoes the perceptual curve (NULL: pLinear).
// Block layout: the DC values of the set come one plane per component, the
// AC values block by block, component by component, run-length coded
// (0xff00: rest of the block is 0, 0xffnn: nn zeros, else a value).
static roto_status lossy_decode(coef_stream *cs, int ncomp, uint16_t *planes[3], int width, int lines,
                                const uint16_t *lut) {
    int nbx = (width + 7) / 8, nby = (lines + 7) / 8;
    size_t nblk = (size_t)nbx * (size_t)nby;
    if ((size_t)(cs->dc_end - cs->dc) < nblk * (size_t)ncomp)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: the DC stream ends early");
    const uint16_t *dc[3] = {cs->dc, cs->dc + nblk, cs->dc + 2 * nblk};
    const uint16_t *ac = cs->ac;
    float blk[3][64];
    for (int by = 0; by < nby; by++) {
        for (int bx = 0; bx < nbx; bx++) {
            for (int k = 0; k < ncomp; k++) {
                uint16_t zig[64] = {0};
                zig[0] = *dc[k]++;
                int last = 0;  // the last position a value was written to (0: DC only)
                for (int i = 1; i < 64;) {
                    if (ac >= cs->ac_end)
                        return roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC stream ends early (block %d,%d)", bx,
                                         by);
                    uint16_t v = *ac++;
                    if ((v & 0xff00) == 0xff00) {
                        i += (v & 0xff) ? (v & 0xff) : 64;
                    } else {
                        zig[i] = v;
                        last = i++;
                    }
                }
                if (last == 0) {  // OpenEXR's DC-only shortcut (its rounding, too)
                    float val = g_half_to_float[zig[0]] * KA * KA;
                    for (int i = 0; i < 64; i++) blk[k][i] = val;
                } else {
                    for (int i = 0; i < 64; i++) blk[k][g_zigzag[i]] = g_half_to_float[zig[i]];
                    idct8x8(blk[k]);
                }
            }
            if (ncomp == 3)
                for (int i = 0; i < 64; i++) csc_inverse(&blk[0][i], &blk[1][i], &blk[2][i]);
            int h = lines - by * 8 < 8 ? lines - by * 8 : 8, w = width - bx * 8 < 8 ? width - bx * 8 : 8;
            for (int k = 0; k < ncomp; k++)
                for (int y = 0; y < h; y++) {
                    uint16_t *row = planes[k] + (size_t)(by * 8 + y) * (size_t)width + (size_t)bx * 8;
                    for (int x = 0; x < w; x++) {
                        uint16_t q = f2h(blk[k][y * 8 + x]);
                        row[x] = lut ? lut[q] : q;
                    }
                }
        }
    }
    cs->dc += nblk * (size_t)ncomp;
    cs->ac = ac;
    return ROTO_OK;
}

// JPEG's quantisation tables (ITU T.81 Annex K), row-major; DWA scales them
// by level / 100000 / (smallest entry) into error bounds per coefficient.
static const int k_quant_luma[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,  14, 13, 16, 24, 40,  57,
    69, 56, 14, 17, 22,  29,  51,  87,  80, 62, 18, 22, 37,  56,  68,  109, 103, 77, 24, 35, 55, 64,
    81, 104, 113, 92, 49, 64, 78,  87,  103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
static const int k_quant_chroma[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

static int popcount16(uint32_t v) { return __builtin_popcount(v & 0xffffu); }

// The half with the fewest set bits within `tol` of coefficient h (ties: the
// closest to it): such values compress best. Halves of one sign are ordered
// like their bit patterns, so the candidates form an integer range [lo, hi];
// its fewest-bits members are its common high bits alone, or those plus one
// more bit.
static uint16_t quantize(uint16_t h, float tol) {
    uint16_t sign = h & 0x8000, a = h & 0x7fff;
    if (a >= 0x7c00) return h;  // inf stays; NaN cannot occur (inputs are sanitised)
    float v = h2f(a);
    if (!(tol > 0.0f)) return h;
    if (v < tol) return 0;
    double lo_v = (double)v - tol, hi_v = (double)v + tol;
    // lo: the smallest value > lo_v; hi: the largest finite value < hi_v.
    // Start from the nearest halves and step (a itself is in the range).
    uint32_t lo = f2h((float)lo_v) & 0x7fff, hi = f2h((float)hi_v) & 0x7fff;
    if (lo > a) lo = a;
    while (lo > 0 && (double)h2f((uint16_t)(lo - 1)) > lo_v) lo--;
    while ((double)h2f((uint16_t)lo) <= lo_v) lo++;
    if (hi > 0x7bff) hi = 0x7bff;
    if (hi < a) hi = a;
    while (hi < 0x7bff && (double)h2f((uint16_t)(hi + 1)) < hi_v) hi++;
    while ((double)h2f((uint16_t)hi) >= hi_v) hi--;
    uint32_t best = a;
    int best_bits = popcount16(a);
    float best_d = 0.0f;
    if (lo < hi) {
        int p = 31 - __builtin_clz(lo ^ hi);  // highest bit where lo and hi differ
        uint32_t prefix = hi & ~((2u << p) - 1u);
        for (int q = -1; q <= p; q++) {
            uint32_t c = q < 0 ? prefix : prefix | 1u << q;
            if (c < lo || c > hi) continue;
            int bits = popcount16(c);
            float d = fabsf(h2f((uint16_t)c) - v);
            if (bits < best_bits || (bits == best_bits && d < best_d)) {
                best = c;
                best_bits = bits;
                best_d = d;
            }
        }
    }
    return best ? (uint16_t)(sign | best) : 0;
}

// Encode ncomp planes (3: an R,G,B set, coded as Y'CbCr) of width x lines
// halves: DC values appended per component plane at dc (advanced), AC values
// at *ac (advanced). Edge blocks mirror the image, as OpenEXR does.
static void lossy_encode(int ncomp, const uint16_t *planes[3], int width, int lines, const uint16_t *lut, float level,
                         uint16_t **dc_io, uint16_t **ac_io) {
    int nbx = (width + 7) / 8, nby = (lines + 7) / 8;
    size_t nblk = (size_t)nbx * (size_t)nby;
    float base = level / 100000.0f, tol_luma[64], tol_chroma[64];
    for (int i = 0; i < 64; i++) {  // rounded as OpenEXR rounds them
        tol_luma[i] = base * ((float)k_quant_luma[i] / 10.0f);
        tol_chroma[i] = base * ((float)k_quant_chroma[i] / 17.0f);
    }
    uint16_t *dc = *dc_io, *ac = *ac_io;
    float blk[3][64];
    for (int by = 0; by < nby; by++)
        for (int bx = 0; bx < nbx; bx++) {
            for (int k = 0; k < ncomp; k++)
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++) {
                        int vx = bx * 8 + x, vy = by * 8 + y;
                        if (vx >= width) vx = 2 * width - 1 - vx;
                        if (vx < 0) vx = width - 1;
                        if (vy >= lines) vy = 2 * lines - 1 - vy;
                        if (vy < 0) vy = lines - 1;
                        uint16_t h = planes[k][(size_t)vy * (size_t)width + (size_t)vx];
                        if (lut) h = lut[h];
                        else if ((h & 0x7c00) == 0x7c00) h = 0;  // no inf/NaN into the DCT
                        blk[k][y * 8 + x] = h2f(h);
                    }
            if (ncomp == 3)
                for (int i = 0; i < 64; i++) csc_forward(&blk[0][i], &blk[1][i], &blk[2][i]);
            for (int k = 0; k < ncomp; k++) {
                fdct8x8(blk[k]);
                uint16_t zig[64];
                const float *tol = k == 0 ? tol_luma : tol_chroma;
                for (int i = 0; i < 64; i++) {
                    uint16_t q = quantize(f2h(blk[k][g_zigzag[i]]), tol[g_zigzag[i]]);
                    if ((q & 0xff00) == 0xff00) q = 0xfc00;  // never a run marker (cannot happen for finite input)
                    zig[i] = q;
                }
                dc[(size_t)k * nblk + (size_t)by * (size_t)nbx + (size_t)bx] = zig[0];
                for (int i = 1; i < 64;) {
                    if (zig[i] != 0) {
                        *ac++ = zig[i++];
                        continue;
                    }
                    int run = 1;
                    while (i + run < 64 && zig[i + run] == 0) run++;
                    if (run == 1) *ac++ = 0;
                    else if (i + run == 64) *ac++ = 0xff00;  // end of block
                    else *ac++ = (uint16_t)(0xff00 | run);
                    i += run;
                }
            }
        }
    *dc_io = dc + nblk * (size_t)ncomp;
    *ac_io = ac;
}

// ---- decoding ----------------------------------------------------------------------------------

size_t roto_dwa_raw_size(const roto_dwa_channel *ch, int nch, int width, int lines) {
    if (!ch || nch < 1 || width < 1 || lines < 1) return 0;
    size_t px = (size_t)width * (size_t)lines, total = 0;
    for (int c = 0; c < nch; c++) {
        if (ch[c].type < ROTO_DWA_UINT || ch[c].type > ROTO_DWA_FLOAT) return 0;
        size_t b = type_bytes(ch[c].type);
        if (px > (SIZE_MAX - total) / b) return 0;
        total += px * b;
    }
    return total;
}

static roto_status check_channels(const roto_dwa_channel *ch, int nch, int width, int lines, size_t *raw) {
    if (!ch || nch < 1 || width < 1 || lines < 1)
        return roto_fail(ROTO_ERR_INVALID_ARG, "DWA: bad chunk (%d channels, %dx%d)", nch, width, lines);
    for (int c = 0; c < nch; c++)
        if (!ch[c].name || ch[c].type < ROTO_DWA_UINT || ch[c].type > ROTO_DWA_FLOAT)
            return roto_fail(ROTO_ERR_INVALID_ARG, "DWA: channel %d has no name or a bad type", c);
    *raw = roto_dwa_raw_size(ch, nch, width, lines);
    if (!*raw) return roto_fail(ROTO_ERR_INVALID_ARG, "DWA: chunk of %dx%d is too large", width, lines);
    return ROTO_OK;
}

roto_status roto_dwa_block_info(const uint8_t *in, size_t n, roto_dwa_info *info) {
    memset(info, 0, sizeof *info);
    if (!in || n < HEADER_BYTES)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: %zu bytes, shorter than its %d-byte header", n, HEADER_BYTES);
    uint64_t c[N_COUNTERS];
    for (int i = 0; i < N_COUNTERS; i++) c[i] = rd64(in + 8 * i);
    *info = (roto_dwa_info){c[C_VERSION], c[C_UNKNOWN_RAW], c[C_UNKNOWN_PACKED], c[C_AC_PACKED], c[C_DC_PACKED],
                            c[C_RLE_PACKED], c[C_RLE_RUNS], c[C_RLE_RAW], c[C_AC_COUNT], c[C_DC_COUNT],
                            c[C_AC_COMPRESSION], 0};
    if (c[C_VERSION] >= 2) {
        dwa_rule *rules = NULL;
        size_t used = 0;
        ROTO_TRY(parse_rules(in + HEADER_BYTES, n - HEADER_BYTES, &rules, &info->n_rules, &used));
        free(rules);
    }
    return ROTO_OK;
}

// Decode one lossy group (idx: 3 channels of a set, or 1) into the scratch
// planes and write it to the channels' rows as half or float.
static roto_status place_lossy(coef_stream *cs, const roto_dwa_channel *ch, const int idx[3], int ncomp, int width,
                               int lines, uint16_t *planes, uint8_t *out, size_t line, const size_t *chan_off) {
    size_t px = (size_t)width * (size_t)lines;
    uint16_t *pl[3] = {planes, planes + px, planes + 2 * px};
    // Sets always use the perceptual curve; a lone channel unless pLinear.
    const uint16_t *lut = ncomp == 1 && ch[idx[0]].p_linear ? NULL : g_to_linear;
    ROTO_TRY(lossy_decode(cs, ncomp, pl, width, lines, lut));
    for (int j = 0; j < ncomp; j++) {
        const roto_dwa_channel *c = &ch[idx[j]];
        for (int y = 0; y < lines; y++) {
            uint8_t *row = out + (size_t)y * line + chan_off[idx[j]];
            const uint16_t *src = pl[j] + (size_t)y * width;
            if (c->type == ROTO_DWA_HALF) {
                for (int x = 0; x < width; x++) wr16(row + 2 * (size_t)x, src[x]);
            } else {  // float channels are stored at half precision
                for (int x = 0; x < width; x++) {
                    float f = h2f(src[x]);
                    uint32_t u;
                    memcpy(&u, &f, 4);
                    wr32(row + 4 * (size_t)x, u);
                }
            }
        }
    }
    return ROTO_OK;
}

static const char *k_stream_names[4] = {"UNKNOWN", "AC", "DC", "RLE"};

roto_status roto_dwa_decode(const uint8_t *in, size_t n, const roto_dwa_channel *ch, int nch, int width, int lines,
                            uint8_t *out, size_t out_size) {
    size_t raw;
    ROTO_TRY(check_channels(ch, nch, width, lines, &raw));
    if (!out || out_size != raw)
        return roto_fail(ROTO_ERR_INVALID_ARG, "DWA: output of %zu bytes, the chunk needs %zu", out_size, raw);
    if (!in || n < HEADER_BYTES)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: %zu bytes, shorter than its %d-byte header", n, HEADER_BYTES);
    tables_init();
    uint64_t c[N_COUNTERS];
    for (int i = 0; i < N_COUNTERS; i++) c[i] = rd64(in + 8 * i);
    if (c[C_VERSION] > 2)
        return roto_fail(ROTO_ERR_FORMAT, "DWA block: version %llu (0, 1 and 2 exist)",
                         (unsigned long long)c[C_VERSION]);

    roto_status st = ROTO_OK;
    dwa_rule *file_rules = NULL;
    int nrules = N_LEGACY_RULES;
    const dwa_rule *rules = k_legacy_rules;
    size_t pos = HEADER_BYTES;
    dwa_layout L;
    memset(&L, 0, sizeof L);
    uint8_t *unknown = NULL, *rle_runs = NULL, *rle = NULL, *dc_bytes = NULL;
    uint16_t *ac = NULL, *dc = NULL, *planes = NULL;
    size_t *chan_off = NULL;
    if (c[C_VERSION] == 2) {
        size_t used = 0;
        if ((st = parse_rules(in + pos, n - pos, &file_rules, &nrules, &used)) != ROTO_OK) goto done;
        rules = file_rules;
        pos += used;
    }
    // The four streams follow each other; each must fit in what is left.
    const uint8_t *stream[4];
    uint64_t ssize[4] = {c[C_UNKNOWN_PACKED], c[C_AC_PACKED], c[C_DC_PACKED], c[C_RLE_PACKED]};
    for (int s = 0; s < 4; s++) {
        if (ssize[s] > n - pos) {
            st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the %s stream (%llu bytes) runs past the end of the block (%zu bytes)",
                           k_stream_names[s], (unsigned long long)ssize[s], n);
            goto done;
        }
        stream[s] = in + pos;
        pos += (size_t)ssize[s];
    }
    if ((st = classify(ch, nch, rules, nrules, &L)) != ROTO_OK) goto done;

    // What the channels need from each stream.
    size_t px = (size_t)width * (size_t)lines;
    size_t nblk = (size_t)((width + 7) / 8) * (size_t)((lines + 7) / 8);
    size_t need_unknown = 0, need_rle = 0, nlossy = 0;
    for (int k = 0; k < nch; k++) {
        size_t bytes = px * type_bytes(ch[k].type);
        if (L.scheme[k] == ROTO_DWA_UNKNOWN) need_unknown += bytes;
        else if (L.scheme[k] == ROTO_DWA_RLE) need_rle += bytes;
        else {
            if (ch[k].type == ROTO_DWA_UINT) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: its rules make the uint channel '%s' lossy", ch[k].name);
                goto done;
            }
            nlossy++;
        }
    }
    for (int s = 0; s < L.nsets; s++)
        for (int k = 0; k < 3; k++) {
            int ci = L.sets[s][k];
            if (L.scheme[ci] != ROTO_DWA_LOSSY_DCT || L.in_set[ci]) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: its rules put channel '%s' in a colour set wrongly",
                               ch[ci].name);
                goto done;
            }
            L.in_set[ci] = 1;
        }
    if (c[C_UNKNOWN_RAW] != need_unknown || (need_unknown && !c[C_UNKNOWN_PACKED])) {
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: UNKNOWN data of %llu bytes, its channels need %zu",
                       (unsigned long long)c[C_UNKNOWN_RAW], need_unknown);
        goto done;
    }
    if (c[C_RLE_RAW] != need_rle || (need_rle && (!c[C_RLE_PACKED] || !c[C_RLE_RUNS])) ||
        c[C_RLE_RUNS] > 2 * (uint64_t)need_rle + 16) {
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: RLE data of %llu bytes (%llu run-length coded), its channels need %zu",
                       (unsigned long long)c[C_RLE_RAW], (unsigned long long)c[C_RLE_RUNS], need_rle);
        goto done;
    }
    if (c[C_DC_COUNT] != nlossy * nblk || c[C_AC_COUNT] < nlossy * nblk || c[C_AC_COUNT] > nlossy * nblk * 63 ||
        (nlossy && (!c[C_DC_PACKED] || !c[C_AC_PACKED]))) {
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: %llu DC and %llu AC coefficients do not fit %zu lossy channels of %zu blocks",
                       (unsigned long long)c[C_DC_COUNT], (unsigned long long)c[C_AC_COUNT], nlossy, nblk);
        goto done;
    }
    if (nlossy && c[C_AC_COMPRESSION] != AC_HUFFMAN && c[C_AC_COMPRESSION] != AC_DEFLATE) {
        st = roto_fail(ROTO_ERR_FORMAT, "DWA block: unknown AC compression %llu", (unsigned long long)c[C_AC_COMPRESSION]);
        goto done;
    }

    // Unpack the streams.
    if (need_unknown) {
        if (!(unknown = malloc(need_unknown))) goto oom;
        if (inflate_exact(stream[0], (size_t)ssize[0], unknown, need_unknown)) {
            st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the UNKNOWN stream does not inflate to %zu bytes", need_unknown);
            goto done;
        }
    }
    if (need_rle) {
        size_t runs = (size_t)c[C_RLE_RUNS];
        if (!(rle_runs = malloc(runs)) || !(rle = malloc(need_rle))) goto oom;
        if (inflate_exact(stream[3], (size_t)ssize[3], rle_runs, runs) || rle_decode(rle_runs, runs, rle, need_rle)) {
            st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the RLE stream does not decode to %zu bytes", need_rle);
            goto done;
        }
    }
    coef_stream cs = {NULL, NULL, NULL, NULL};
    if (nlossy) {
        size_t nac = (size_t)c[C_AC_COUNT], ndc = (size_t)c[C_DC_COUNT];
        if (!(ac = malloc(nac * 2)) || !(dc = malloc(ndc * 2)) || !(dc_bytes = malloc(ndc * 2 * 2))) goto oom;
        if (c[C_AC_COMPRESSION] == AC_HUFFMAN) {
            if ((st = huf_decode(stream[1], (size_t)ssize[1], ac, nac)) != ROTO_OK) goto done;
        } else {  // deflate: the values as little-endian bytes
            uint8_t *acb = malloc(nac * 2);
            if (!acb) goto oom;
            int bad = inflate_exact(stream[1], (size_t)ssize[1], acb, nac * 2);
            for (size_t i = 0; !bad && i < nac; i++) ac[i] = rd16(acb + 2 * i);
            free(acb);
            if (bad) {
                st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the AC stream does not inflate to %zu values", nac);
                goto done;
            }
        }
        uint8_t *pred = dc_bytes, *merged = dc_bytes + ndc * 2;
        if (inflate_exact(stream[2], (size_t)ssize[2], pred, ndc * 2)) {
            st = roto_fail(ROTO_ERR_FORMAT, "DWA block: the DC stream does not inflate to %zu values", ndc);
            goto done;
        }
        zip_unpredict_merge(pred, ndc * 2, merged);
        for (size_t i = 0; i < ndc; i++) dc[i] = rd16(merged + 2 * i);
        cs = (coef_stream){ac, ac + nac, dc, dc + ndc};
        if (!(planes = malloc(px * 2 * 3))) goto oom;
    }

    // Place everything into the rows.
    if (!(chan_off = malloc(sizeof *chan_off * (size_t)nch))) goto oom;
    size_t line = 0;
    for (int k = 0; k < nch; k++) {
        chan_off[k] = line;
        line += (size_t)width * type_bytes(ch[k].type);
    }
    size_t unk_at = 0, rle_at = 0;
    for (int k = 0; k < nch; k++) {  // UNKNOWN: the rows of each channel, channel after channel
        size_t b = type_bytes(ch[k].type), rowb = (size_t)width * b;
        if (L.scheme[k] == ROTO_DWA_UNKNOWN) {
            for (int y = 0; y < lines; y++, unk_at += rowb)
                memcpy(out + (size_t)y * line + chan_off[k], unknown + unk_at, rowb);
        } else if (L.scheme[k] == ROTO_DWA_RLE) {  // RLE: one plane per byte of the value
            for (int y = 0; y < lines; y++) {
                uint8_t *row = out + (size_t)y * line + chan_off[k];
                for (int x = 0; x < width; x++)
                    for (size_t j = 0; j < b; j++) row[(size_t)x * b + j] = rle[rle_at + j * px + (size_t)y * width + x];
            }
            rle_at += px * b;
        }
    }
    // LOSSY_DCT: the sets first, then the other lossy channels in order.
    for (int s = 0; s < L.nsets; s++)
        if ((st = place_lossy(&cs, ch, L.sets[s], 3, width, lines, planes, out, line, chan_off)) != ROTO_OK) goto done;
    for (int k = 0; k < nch; k++) {
        if (L.scheme[k] != ROTO_DWA_LOSSY_DCT || L.in_set[k]) continue;
        int one[3] = {k, -1, -1};
        if ((st = place_lossy(&cs, ch, one, 1, width, lines, planes, out, line, chan_off)) != ROTO_OK) goto done;
    }
    goto done;
oom:
    st = roto_fail(ROTO_ERR_OOM, "DWA block: out of memory");
done:
    free(file_rules);
    layout_free(&L);
    free(unknown);
    free(rle_runs);
    free(rle);
    free(dc_bytes);
    free(ac);
    free(dc);
    free(planes);
    free(chan_off);
    return st;
}

// ---- encoding ------------------------------------------------------------------------------------

roto_dwa_scheme roto_dwa_default_scheme(const char *name, int type) {
    if (!name) return ROTO_DWA_UNKNOWN;
    const char *suffix = suffix_of(name);
    roto_dwa_scheme s = ROTO_DWA_UNKNOWN;
    for (int r = 0; r < N_DEFAULT_RULES; r++)
        if (rule_matches(&k_default_rules[r], suffix, type)) s = (roto_dwa_scheme)k_default_rules[r].scheme;
    return s;
}

roto_status roto_dwa_encode(const uint8_t *raw, size_t raw_size, const roto_dwa_channel *ch, int nch, int width,
                            int lines, const roto_dwa_opts *o, uint8_t **out, size_t *out_n) {
    *out = NULL;
    *out_n = 0;
    size_t need;
    ROTO_TRY(check_channels(ch, nch, width, lines, &need));
    if (!raw || raw_size != need)
        return roto_fail(ROTO_ERR_INVALID_ARG, "DWA: input of %zu bytes, the chunk has %zu", raw_size, need);
    tables_init();
    float level = o && o->level > 0 ? o->level : 45.0f;
    int zip_level = o && o->zip_level >= 1 && o->zip_level <= 9 ? o->zip_level : 4;
    int ac_mode = o && o->ac_deflate ? AC_DEFLATE : AC_HUFFMAN;

    dwa_layout L;
    roto_status st = classify(ch, nch, k_default_rules, N_DEFAULT_RULES, &L);
    if (st != ROTO_OK) return st;
    for (int s = 0; s < L.nsets; s++)
        for (int k = 0; k < 3; k++) L.in_set[L.sets[s][k]] = 1;

    size_t px = (size_t)width * (size_t)lines, line = need / (size_t)lines;
    size_t nblk = (size_t)((width + 7) / 8) * (size_t)((lines + 7) / 8);
    size_t n_unknown = 0, n_rle = 0, nlossy = 0;
    for (int k = 0; k < nch; k++) {
        size_t bytes = px * type_bytes(ch[k].type);
        if (L.scheme[k] == ROTO_DWA_UNKNOWN) n_unknown += bytes;
        else if (L.scheme[k] == ROTO_DWA_RLE) n_rle += bytes;
        else nlossy++;
    }
    uint8_t *unknown = n_unknown ? malloc(n_unknown) : NULL;
    uint8_t *rle = n_rle ? malloc(n_rle) : NULL, *runs = n_rle ? malloc(n_rle + n_rle / 127 + 1) : NULL;
    uint16_t *halves = nlossy ? malloc(px * 2 * (size_t)nch) : NULL;  // per channel, lossy ones only
    uint16_t *dc = nlossy ? malloc(nblk * nlossy * 2) : NULL, *ac = nlossy ? malloc(nblk * nlossy * 63 * 2) : NULL;
    uint8_t *dc_bytes = nlossy ? malloc(nblk * nlossy * 2 * 2) : NULL;
    dbuf ob = {NULL, 0, 0, 0};
    if ((n_unknown && !unknown) || (n_rle && (!rle || !runs)) || (nlossy && (!halves || !dc || !ac || !dc_bytes)))
        goto oom;

    // Split the rows by scheme.
    size_t off = 0, unk_at = 0, rle_at = 0;
    for (int k = 0; k < nch; k++) {
        size_t b = type_bytes(ch[k].type), rowb = (size_t)width * b;
        for (int y = 0; y < lines; y++) {
            const uint8_t *row = raw + (size_t)y * line + off;
            if (L.scheme[k] == ROTO_DWA_UNKNOWN) {
                memcpy(unknown + unk_at, row, rowb);
                unk_at += rowb;
            } else if (L.scheme[k] == ROTO_DWA_RLE) {
                for (int x = 0; x < width; x++)
                    for (size_t j = 0; j < b; j++) rle[rle_at + j * px + (size_t)y * width + x] = row[(size_t)x * b + j];
            } else {
                uint16_t *hp = halves + (size_t)k * px + (size_t)y * width;
                for (int x = 0; x < width; x++) {
                    if (ch[k].type == ROTO_DWA_HALF) {
                        hp[x] = rd16(row + 2 * (size_t)x);
                    } else {  // float: clamped into half's range, as OpenEXR does
                        uint32_t u = rd32(row + 4 * (size_t)x);
                        float f;
                        memcpy(&f, &u, 4);
                        f = f > 65504.0f ? 65504.0f : f < -65504.0f ? -65504.0f : f;
                        hp[x] = f2h(f);
                    }
                }
            }
        }
        if (L.scheme[k] == ROTO_DWA_RLE) rle_at += px * b;
        off += rowb;
    }
    // LOSSY_DCT, in the decoder's order.
    uint16_t *dcp = dc, *acp = ac;
    for (int s = 0; s < L.nsets; s++) {
        const uint16_t *pl[3];
        for (int k = 0; k < 3; k++) pl[k] = halves + (size_t)L.sets[s][k] * px;
        lossy_encode(3, pl, width, lines, g_to_nonlinear, level, &dcp, &acp);
    }
    for (int k = 0; k < nch; k++) {
        if (L.scheme[k] != ROTO_DWA_LOSSY_DCT || L.in_set[k]) continue;
        const uint16_t *pl[3] = {halves + (size_t)k * px, NULL, NULL};
        lossy_encode(1, pl, width, lines, ch[k].p_linear ? NULL : g_to_nonlinear, level, &dcp, &acp);
    }
    size_t nac = (size_t)(acp - ac), ndc = (size_t)(dcp - dc);

    // Header, rules, streams.
    uint64_t c[N_COUNTERS] = {0};
    c[C_VERSION] = 2;
    c[C_AC_COMPRESSION] = (uint64_t)ac_mode;
    if (db_reserve(&ob, HEADER_BYTES + 2)) goto oom;
    ob.n = HEADER_BYTES + 2;
    for (int r = 0; r < N_DEFAULT_RULES; r++) {  // the rules some channel uses, in table order
        const dwa_rule *rr = &k_default_rules[r];
        int used = 0;
        for (int k = 0; k < nch && !used; k++) used = rule_matches(rr, suffix_of(ch[k].name), ch[k].type);
        if (!used) continue;
        uint8_t tail[2] = {(uint8_t)(((rr->csc + 1) & 15) << 4 | (rr->scheme & 3) << 2 | (rr->nocase & 1)), rr->type};
        db_put(&ob, rr->suffix, strlen(rr->suffix) + 1);
        db_put(&ob, tail, 2);
    }
    if (ob.oom) goto oom;
    wr16(ob.d + HEADER_BYTES, (uint16_t)(ob.n - HEADER_BYTES));
    if (n_unknown) {
        c[C_UNKNOWN_RAW] = n_unknown;
        if (!(c[C_UNKNOWN_PACKED] = db_deflate(&ob, unknown, n_unknown, 9))) goto oom;
    }
    if (nac) {
        size_t before = ob.n;
        int hv = ac_mode == AC_HUFFMAN ? huf_encode(ac, nac, &ob) : 1;
        if (hv < 0) goto oom;
        if (hv > 0) {  // deflate: the values as little-endian bytes
            ob.n = before;
            c[C_AC_COMPRESSION] = AC_DEFLATE;
            uint8_t *acb = malloc(nac * 2);
            if (!acb) goto oom;
            for (size_t i = 0; i < nac; i++) wr16(acb + 2 * i, ac[i]);
            size_t got = db_deflate(&ob, acb, nac * 2, 9);
            free(acb);
            if (!got) goto oom;
        }
        c[C_AC_PACKED] = ob.n - before;
        c[C_AC_COUNT] = nac;
    }
    if (ndc) {
        uint8_t *le = dc_bytes, *pred = dc_bytes + ndc * 2;
        for (size_t i = 0; i < ndc; i++) wr16(le + 2 * i, dc[i]);
        zip_split_predict(le, ndc * 2, pred);
        if (!(c[C_DC_PACKED] = db_deflate(&ob, pred, ndc * 2, zip_level))) goto oom;
        c[C_DC_COUNT] = ndc;
    }
    if (n_rle) {
        size_t nr = rle_encode(rle, n_rle, runs);
        c[C_RLE_RAW] = n_rle;
        c[C_RLE_RUNS] = nr;
        if (!(c[C_RLE_PACKED] = db_deflate(&ob, runs, nr, 9))) goto oom;
    }
    for (int i = 0; i < N_COUNTERS; i++) wr64(ob.d + 8 * i, c[i]);
    *out = ob.d;
    *out_n = ob.n;
    ob.d = NULL;
    goto done;
oom:
    st = roto_fail(ROTO_ERR_OOM, "DWA: out of memory encoding a %dx%d chunk", width, lines);
done:
    free(ob.d);
    layout_free(&L);
    free(unknown);
    free(rle);
    free(runs);
    free(halves);
    free(dc);
    free(ac);
    free(dc_bytes);
    return st;
}
