// sequence.c: patterns, frame ranges, directory discovery and the checked
// sequence reader (see sequence.h).
#include "io/sequence.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// ---- patterns ---------------------------------------------------------------

// Find the frame field in `name`: a run of '#', or %d / %0Nd. Returns 0 if
// none, 1 if found (start index, length, padding), -1 if malformed.
static int find_field(const char *name, size_t *start, size_t *len, int *padding) {
    int found = 0;
    for (size_t i = 0; name[i]; i++) {
        if (name[i] == '#') {
            size_t j = i;
            while (name[j] == '#') j++;
            if (found) return -2;
            found = 1;
            *start = i;
            *len = j - i;
            *padding = (int)(j - i);
            i = j - 1;
        } else if (name[i] == '%') {
            size_t j = i + 1;
            int pad = 0;
            if (name[j] == 'd') {
                pad = 0;
            } else if (name[j] == '0' && isdigit((unsigned char)name[j + 1])) {
                j++;
                while (isdigit((unsigned char)name[j])) pad = pad * 10 + (name[j++] - '0');
                if (name[j] != 'd' || pad > 32) return -1;
            } else {
                return -1;
            }
            if (found) return -2;
            found = 1;
            *start = i;
            *len = j + 1 - i;
            *padding = pad;
            i = j;
        }
    }
    return found;
}

roto_status roto_seq_parse_pattern(const char *pattern, roto_seq_pattern *p) {
    memset(p, 0, sizeof *p);
    if (!pattern || !*pattern) return roto_fail(ROTO_ERR_INVALID_ARG, "empty sequence pattern");
    const char *slash = strrchr(pattern, '/');
    const char *name = slash ? slash + 1 : pattern;
    if (!*name) return roto_fail(ROTO_ERR_INVALID_ARG, "sequence pattern '%s' names a directory", pattern);
    if (slash) {
        size_t dl = (size_t)(slash - pattern);
        if (dl == 0) dl = 1;
        if (dl >= sizeof p->dir) return roto_fail(ROTO_ERR_INVALID_ARG, "sequence pattern '%s' is too long", pattern);
        memcpy(p->dir, pattern, dl);
        p->dir[dl] = '\0';
        size_t s0, l0;
        int pad0;
        char dircopy[PATH_MAX];
        memcpy(dircopy, pattern, (size_t)(slash - pattern));
        dircopy[slash - pattern] = '\0';
        if (find_field(dircopy, &s0, &l0, &pad0) != 0)
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "sequence pattern '%s': the frame field must be in the file name, not a directory",
                             pattern);
    } else {
        strcpy(p->dir, ".");
    }
    size_t start = 0, len = 0;
    int pad = 0;
    int f = find_field(name, &start, &len, &pad);
    if (f == -2)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sequence pattern '%s' has more than one frame field", pattern);
    if (f < 0)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sequence pattern '%s': bad printf field (use %%d or %%0Nd, or # per digit)", pattern);
    if (f == 0) start = strlen(name), len = 0;
    size_t tl = strlen(name + start + len);
    if (start >= sizeof p->head || tl >= sizeof p->tail)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sequence pattern '%s' is too long", pattern);
    memcpy(p->head, name, start);
    p->head[start] = '\0';
    memcpy(p->tail, name + start + len, tl + 1);
    p->padding = pad;
    p->has_frame = f == 1;
    return ROTO_OK;
}

roto_status roto_seq_format(const roto_seq_pattern *p, int frame, char *out, size_t cap) {
    int n;
    const char *sep = "/";
    const char *dir = p->dir;
    if (!strcmp(dir, ".")) dir = "", sep = "";
    else if (!strcmp(dir, "/")) sep = "";
    if (p->has_frame)
        n = snprintf(out, cap, "%s%s%s%0*d%s", dir, sep, p->head, p->padding, frame, p->tail);
    else
        n = snprintf(out, cap, "%s%s%s%s", dir, sep, p->head, p->tail);
    if (n < 0 || (size_t)n >= cap) return roto_fail(ROTO_ERR_INVALID_ARG, "frame %d: path too long", frame);
    return ROTO_OK;
}

roto_status roto_seq_expand_obj(const char *pattern, const char *obj, char *out, size_t cap) {
    if (!pattern) return roto_fail(ROTO_ERR_INVALID_ARG, "empty output pattern");
    int needs = strstr(pattern, "{obj}") != NULL;
    if (needs && (!obj || !*obj || strchr(obj, '/')))
        return roto_fail(ROTO_ERR_INVALID_ARG, "pattern '%s': object name '%s' is empty or contains '/'", pattern,
                         obj ? obj : "(null)");
    size_t o = 0;
    for (const char *s = pattern; *s;) {
        const char *piece = s;
        size_t plen = 1;
        if (!strncmp(s, "{obj}", 5)) {
            piece = obj;
            plen = strlen(obj);
            s += 5;
        } else {
            s++;
        }
        if (o + plen >= cap) return roto_fail(ROTO_ERR_INVALID_ARG, "pattern '%s': expanded path too long", pattern);
        memcpy(out + o, piece, plen);
        o += plen;
    }
    if (cap == 0) return roto_fail(ROTO_ERR_INVALID_ARG, "pattern '%s': no room", pattern);
    out[o] = '\0';
    return ROTO_OK;
}

roto_status roto_seq_output_path(const char *pattern, const char *obj, int frame, char *out, size_t cap) {
    char expanded[PATH_MAX];
    ROTO_TRY(roto_seq_expand_obj(pattern, obj, expanded, sizeof expanded));
    roto_seq_pattern p;
    ROTO_TRY(roto_seq_parse_pattern(expanded, &p));
    return roto_seq_format(&p, frame, out, cap);
}

// ---- frame ranges -------------------------------------------------------------

static const char *skip_ws(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    return s;
}

// Parse an optionally negative integer. Returns the end, NULL on failure.
static const char *parse_int(const char *s, long *v) {
    s = skip_ws(s);
    const char *b = s;
    if (*s == '-') s++;
    if (!isdigit((unsigned char)*s)) return NULL;
    while (isdigit((unsigned char)*s)) s++;
    if (s - b > 11) return NULL;
    *v = strtol(b, NULL, 10);
    if (*v < -1000000000L || *v > 1000000000L) return NULL;
    return s;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int v, pos;
} val_pos;

static int cmp_val_pos(const void *a, const void *b) {
    const val_pos *x = a, *y = b;
    if (x->v != y->v) return (x->v > y->v) - (x->v < y->v);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

roto_status roto_frames_parse(const char *spec, roto_frame_list *out) {
    memset(out, 0, sizeof *out);
    if (!spec || !*skip_ws(spec)) return roto_fail(ROTO_ERR_INVALID_ARG, "empty frame range");
    size_t cap = 64, n = 0;
    int *f = malloc(cap * sizeof *f);
    if (!f) return roto_fail(ROTO_ERR_OOM, "frame range: out of memory");
    const char *s = spec;
    for (;;) {
        long a, b, step = 1;
        const char *e = parse_int(s, &a);
        if (!e) goto bad;
        b = a;
        e = skip_ws(e);
        if (*e == '-') {
            e = parse_int(e + 1, &b);
            if (!e) goto bad;
            e = skip_ws(e);
            if (*e == 'x') {
                e = parse_int(e + 1, &step);
                if (!e || step < 1) goto bad;
                e = skip_ws(e);
            }
        }
        long count = (b >= a ? b - a : a - b) / step + 1;
        if ((long)n + count > ROTO_SEQ_MAX_FRAMES) {
            free(f);
            return roto_fail(ROTO_ERR_INVALID_ARG, "frame range '%s' has more than %d frames", spec,
                             ROTO_SEQ_MAX_FRAMES);
        }
        if (n + (size_t)count > cap) {
            while (n + (size_t)count > cap) cap *= 2;
            int *g = realloc(f, cap * sizeof *g);
            if (!g) {
                free(f);
                return roto_fail(ROTO_ERR_OOM, "frame range: out of memory");
            }
            f = g;
        }
        for (long k = 0; k < count; k++) f[n++] = (int)(b >= a ? a + k * step : a - k * step);
        if (*e == '\0') break;
        if (*e != ',') goto bad;
        s = e + 1;
    }
    // Remove repeats, keeping first occurrences in order.
    val_pos *vp = malloc(n * sizeof *vp);
    if (!vp) {
        free(f);
        return roto_fail(ROTO_ERR_OOM, "frame range: out of memory");
    }
    for (size_t i = 0; i < n; i++) vp[i] = (val_pos){f[i], (int)i};
    qsort(vp, n, sizeof *vp, cmp_val_pos);
    unsigned char *dup = calloc(n, 1);
    if (!dup) {
        free(vp);
        free(f);
        return roto_fail(ROTO_ERR_OOM, "frame range: out of memory");
    }
    for (size_t i = 1; i < n; i++)
        if (vp[i].v == vp[i - 1].v) dup[vp[i].pos] = 1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!dup[i]) f[m++] = f[i];
    free(vp);
    free(dup);
    out->frames = f;
    out->n = (int)m;
    return ROTO_OK;
bad:
    free(f);
    return roto_fail(ROTO_ERR_INVALID_ARG,
                     "frame range '%s': expected e.g. 1001-1100, 1001-1100x2, 1001 or a comma list", spec);
}

void roto_frames_free(roto_frame_list *l) {
    if (!l) return;
    free(l->frames);
    memset(l, 0, sizeof *l);
}

// ---- discovery ------------------------------------------------------------------

// If `name` matches head<number>tail with the pattern's padding rules, store
// the number and return 1.
static int match_name(const roto_seq_pattern *p, const char *name, int *frame) {
    size_t hl = strlen(p->head), tl = strlen(p->tail), nl = strlen(name);
    if (nl < hl + tl + 1 || strncmp(name, p->head, hl) || strcmp(name + nl - tl, p->tail)) return 0;
    const char *d = name + hl;
    size_t dl = nl - hl - tl;
    int neg = 0;
    if (*d == '-') {
        neg = 1;
        d++;
        dl--;
    }
    if (dl == 0 || dl > 10) return 0;
    for (size_t i = 0; i < dl; i++)
        if (!isdigit((unsigned char)d[i])) return 0;
    // Digits: exactly the padding, or more without a leading zero (frame
    // numbers that outgrew the padding). Unpadded: no leading zero.
    size_t width = dl + (size_t)neg;
    if (p->padding > 0) {
        if (width < (size_t)p->padding) return 0;
        if (width > (size_t)p->padding && d[0] == '0') return 0;
    } else if (dl > 1 && d[0] == '0') {
        return 0;
    }
    long v = strtol(d, NULL, 10);
    if (v > 1000000000L) return 0;
    *frame = (int)(neg ? -v : v);
    return 1;
}

roto_status roto_seq_discover(const roto_seq_pattern *p, roto_seq_scan *out) {
    memset(out, 0, sizeof *out);
    if (!p->has_frame)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s/%s%s: pattern has no frame field to discover", p->dir, p->head,
                         p->tail);
    DIR *dir = opendir(p->dir);
    if (!dir) {
        int e = errno;
        return roto_fail(e == ENOENT ? ROTO_ERR_NOT_FOUND : ROTO_ERR_IO, "cannot open directory %s: %s", p->dir,
                         strerror(e));
    }
    size_t cap = 256, n = 0;
    int *f = malloc(cap * sizeof *f);
    if (!f) {
        closedir(dir);
        return roto_fail(ROTO_ERR_OOM, "sequence scan: out of memory");
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fr;
        if (e->d_name[0] == '.' && p->head[0] != '.') continue;  // hidden and temp files
        if (!match_name(p, e->d_name, &fr)) continue;
        if (n == cap) {
            int *g = realloc(f, 2 * cap * sizeof *g);
            if (!g) {
                free(f);
                closedir(dir);
                return roto_fail(ROTO_ERR_OOM, "sequence scan: out of memory");
            }
            f = g;
            cap *= 2;
        }
        f[n++] = fr;
    }
    closedir(dir);
    if (n == 0) {
        free(f);
        char pat[PATH_MAX + 600];
        snprintf(pat, sizeof pat, "%s/%s%s%s", p->dir, p->head, p->padding ? "#..." : "%d", p->tail);
        return roto_fail(ROTO_ERR_NOT_FOUND, "no files match the sequence %s", pat);
    }
    qsort(f, n, sizeof *f, cmp_int);
    size_t m = 1;
    for (size_t i = 1; i < n; i++)
        if (f[i] != f[m - 1]) f[m++] = f[i];
    out->frames = f;
    out->n = (int)m;
    out->first = f[0];
    out->last = f[m - 1];
    int ngaps = 0;
    for (size_t i = 1; i < m; i++)
        if (f[i] != f[i - 1] + 1) ngaps++;
    if (ngaps) {
        out->gaps = malloc((size_t)ngaps * 2 * sizeof *out->gaps);
        if (!out->gaps) {
            roto_seq_scan_free(out);
            return roto_fail(ROTO_ERR_OOM, "sequence scan: out of memory");
        }
        for (size_t i = 1; i < m; i++)
            if (f[i] != f[i - 1] + 1) {
                out->gaps[2 * out->n_gaps] = f[i - 1] + 1;
                out->gaps[2 * out->n_gaps + 1] = f[i] - 1;
                out->n_missing += (long)f[i] - f[i - 1] - 1;
                out->n_gaps++;
            }
    }
    return ROTO_OK;
}

void roto_seq_scan_free(roto_seq_scan *s) {
    if (!s) return;
    free(s->frames);
    free(s->gaps);
    memset(s, 0, sizeof *s);
}

void roto_seq_gaps_string(const roto_seq_scan *s, char *out, size_t cap) {
    if (!cap) return;
    out[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < s->n_gaps; i++) {
        char piece[64];
        int a = s->gaps[2 * i], b = s->gaps[2 * i + 1];
        if (a == b) snprintf(piece, sizeof piece, "%s%d", i ? ", " : "", a);
        else snprintf(piece, sizeof piece, "%s%d-%d", i ? ", " : "", a, b);
        size_t pl = strlen(piece);
        if (len + pl + 4 >= cap) {
            if (len + 4 < cap) strcpy(out + len, "...");
            return;
        }
        memcpy(out + len, piece, pl + 1);
        len += pl;
    }
}

// ---- the sequence reader -----------------------------------------------------------

roto_status roto_seq_open(roto_seq_reader *r, const char *pattern, const char *range, const roto_read_opts *ro,
                          int hold_missing) {
    memset(r, 0, sizeof *r);
    ROTO_TRY(roto_seq_parse_pattern(pattern, &r->pat));
    if (ro) r->read_opts = *ro;
    else roto_read_opts_init(&r->read_opts);
    r->hold_missing = hold_missing;
    if (range && *range) {
        ROTO_TRY(roto_frames_parse(range, &r->list));
        return ROTO_OK;
    }
    if (!r->pat.has_frame) {
        r->list.frames = malloc(sizeof(int));
        if (!r->list.frames) return roto_fail(ROTO_ERR_OOM, "out of memory");
        r->list.frames[0] = 0;
        r->list.n = 1;
        return ROTO_OK;
    }
    ROTO_TRY(roto_seq_discover(&r->pat, &r->scan));
    long count = (long)r->scan.last - r->scan.first + 1;
    if (count > ROTO_SEQ_MAX_FRAMES) {
        roto_seq_close(r);
        return roto_fail(ROTO_ERR_INVALID_ARG, "sequence %s: frames %d..%d span too many frames", pattern,
                         r->scan.first, r->scan.last);
    }
    r->list.frames = malloc((size_t)count * sizeof(int));
    if (!r->list.frames) {
        roto_seq_close(r);
        return roto_fail(ROTO_ERR_OOM, "out of memory");
    }
    for (long i = 0; i < count; i++) r->list.frames[i] = r->scan.first + (int)i;
    r->list.n = (int)count;
    return ROTO_OK;
}

void roto_seq_close(roto_seq_reader *r) {
    if (!r) return;
    roto_frames_free(&r->list);
    roto_seq_scan_free(&r->scan);
    roto_frame_free(&r->last);
    memset(r, 0, sizeof *r);
}

roto_status roto_seq_path(const roto_seq_reader *r, int i, char *out, size_t cap) {
    if (i < 0 || i >= r->list.n)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sequence index %d out of range (0..%d)", i, r->list.n - 1);
    return roto_seq_format(&r->pat, r->list.frames[i], out, cap);
}

roto_status roto_seq_load(const roto_seq_reader *r, int i, roto_frame *out, int *missing) {
    memset(out, 0, sizeof *out);
    *missing = 0;
    char path[PATH_MAX];
    ROTO_TRY(roto_seq_path(r, i, path, sizeof path));
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        *missing = 1;
        return roto_fail(ROTO_ERR_NOT_FOUND, "frame %d is missing: %s", r->list.frames[i], path);
    }
    return roto_image_read(path, &r->read_opts, out);
}

roto_status roto_seq_accept(roto_seq_reader *r, int i, roto_status load_status, int missing, roto_frame *fr,
                            int *held) {
    if (held) *held = 0;
    char path[PATH_MAX];
    if (roto_seq_path(r, i, path, sizeof path) != ROTO_OK) snprintf(path, sizeof path, "(path too long)");
    int frame = r->list.frames[i];
    if (missing) {
        roto_frame_free(fr);
        if (!r->hold_missing)
            return roto_fail(ROTO_ERR_NOT_FOUND, "frame %d is missing: %s (hold-missing would repeat the previous frame)",
                             frame, path);
        if (!r->have_last)
            return roto_fail(ROTO_ERR_NOT_FOUND, "frame %d is missing: %s, and there is no previous frame to hold",
                             frame, path);
        ROTO_TRY(roto_frame_copy(fr, &r->last));
        if (held) *held = 1;
        return ROTO_OK;
    }
    if (load_status != ROTO_OK) {
        roto_frame_free(fr);
        return load_status;
    }
    if (!r->have_size) {
        r->have_size = 1;
        r->width = fr->width;
        r->height = fr->height;
        r->size_frame = frame;
    } else if (fr->width != r->width || fr->height != r->height) {
        int w = fr->width, h = fr->height;
        roto_frame_free(fr);
        return roto_fail(ROTO_ERR_FORMAT, "frame %d (%s) is %dx%d but the sequence is %dx%d (from frame %d)", frame,
                         path, w, h, r->width, r->height, r->size_frame);
    }
    if (r->hold_missing) {
        roto_frame_free(&r->last);
        roto_status st = roto_frame_copy(&r->last, fr);
        if (st != ROTO_OK) {
            roto_frame_free(fr);
            return st;
        }
        r->have_last = 1;
        r->last_frame = frame;
    }
    return ROTO_OK;
}

roto_status roto_seq_read(roto_seq_reader *r, int i, roto_frame *out, int *held) {
    int missing;
    roto_status st = roto_seq_load(r, i, out, &missing);
    return roto_seq_accept(r, i, st, missing, out, held);
}
