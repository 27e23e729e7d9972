// test_track_cli.c: `roto track` end to end, run as a process on the built binary
// (<builddir>/roto) with the committed small SAM 2.1 video fixture
// (tests/fixtures/sam2_video/small: weights, 8 bedroom frames of 144x81). The frames
// are written here as numbered sequences (1001+, looped for longer ones).
//
// Every matte the command writes is compared bit for bit with what the
// nets/sam2/sam2_track.h C API gives for the same prompts on the same pixels, in the
// order the command documents (forward / backward / both). Also covered: the
// multi-layer EXR (layers, compression, fps and time code copied from EXR plates),
// previews against io/preview.h, the contact sheet's layout, matte clean-up options,
// hold-missing, --skip-existing, validation errors (missing frames, keyframes outside
// the range, prompts off the frame, unwritable outputs, bad JSON: each a clear
// message, exit 1, nothing written) and the interruption test: SIGTERM and SIGKILL
// in the middle of a 60-frame run leave only complete files, and --skip-existing then
// finishes the job with outputs identical to an uninterrupted run.
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/roto_config.h"
#include "io/colour.h"
#include "io/exr.h"
#include "io/image.h"
#include "io/matte.h"
#include "io/preview.h"
#include "nets/sam2/sam2.h"
#include "nets/sam2/sam2_track.h"
#include "util/cli_util.h"
#include "util/test_util.h"

#define FIX "tests/fixtures/sam2_video/small"
#define FW 144
#define FH 81
#define NFIX 8

// ---- paths, processes, files ------------------------------------------------------------------

static char g_root[PATH_MAX], g_roto[PATH_MAX], g_tmp[64];
static char WEIGHTS[PATH_MAX + 64], CONFIG[PATH_MAX + 64];

static void setup(void) {
    cu_find_roto(g_roto, g_root, FIX "/index.json");
    snprintf(WEIGHTS, sizeof WEIGHTS, "%s/" FIX "/weights.safetensors", g_root);
    snprintf(CONFIG, sizeof CONFIG, "%s/" FIX "/index.json", g_root);
    cu_make_tmp(g_tmp, sizeof g_tmp, "trackcli");
}

static void teardown(void) {
    if (g_tmp[0]) cu_rm_rf(g_tmp);
    g_tmp[0] = '\0';
}

// A path in the temp dir (own buffer per call site: copy it if kept).
static const char *T(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *T(const char *fmt, ...) {
    static char buf[16][PATH_MAX];
    static int k;
    k = (k + 1) % 16;
    char name[PATH_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

typedef cu_result run_result;

// Run `roto track -m WEIGHTS --config CONFIG <args>` in the temp dir (stdout discarded).
static run_result track(const char *args) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' track -m '%s' --config '%s' --threads 1 %s", g_roto, WEIGHTS, CONFIG, args);
    return cu_run(g_tmp, cmd, 0);
}

#define EXPECT_OK(r) ck_assert_msg((r).code == 0, "exit %d\nstderr: %s", (r).code, (r).err)
#define EXPECT_FAIL(r, code_, text)                                                                       \
    do {                                                                                                  \
        ck_assert_msg((r).code == (code_), "exit %d (want %d)\nstderr: %s", (r).code, code_, (r).err); \
        ck_assert_msg(strstr((r).err, text), "stderr lacks \"%s\":\n%s", text, (r).err);                 \
    } while (0)

static int file_exists(const char *p) { return access(p, F_OK) == 0; }

// Files under dir (recursively); counts names with ".tmp." separately.
static void count_tree(const char *dir, int *files, int *temps) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            count_tree(p, files, temps);
        } else if (strstr(e->d_name, ".tmp.")) {
            if (temps) (*temps)++;
        } else if (files) {
            (*files)++;
        }
    }
    closedir(d);
}

// ---- the fixture's frames, as sequences and as pixels -------------------------------------------

static uint8_t *g_frames[NFIX];  // decoded once: u8 RGB

static void load_frames(void) {
    for (int i = 0; i < NFIX; i++) {
        if (g_frames[i]) continue;
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/" FIX "/frame_%05d.png", g_root, i);
        roto_frame fr = {0};
        ck_assert_msg(roto_image_read(p, NULL, &fr) == ROTO_OK, "%s", roto_last_error());
        ck_assert(fr.width == FW && fr.height == FH && fr.channels == 3 && fr.bit_depth == 8);
        g_frames[i] = malloc(FW * FH * 3);
        const uint16_t *d = fr.data;
        for (int k = 0; k < FW * FH * 3; k++) g_frames[i][k] = (uint8_t)d[k];
        roto_frame_free(&fr);
    }
}

// dir/plate.NNNN.png for frames 1001 .. 1000 + n: fixture frame i % 8, the file's bytes.
static void write_sequence(const char *dir, int n) {
    mkdir(dir, 0777);
    for (int i = 0; i < n; i++) {
        char src[PATH_MAX + 64], dst[PATH_MAX + 64];
        snprintf(src, sizeof src, "%s/" FIX "/frame_%05d.png", g_root, i % NFIX);
        snprintf(dst, sizeof dst, "%s/plate.%04d.png", dir, 1001 + i);
        size_t len = 0;
        char *b = cu_read_file(src, &len);
        ck_assert_ptr_nonnull(b);
        FILE *f = fopen(dst, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b, 1, len, f), len);
        fclose(f);
        free(b);
    }
}

// ---- prompts: one description for the JSON file and for the C API ----------------------------------

typedef struct {
    int frame;  // frame number (1001-based)
    int n_points;
    float pts[4][2];
    int labels[4];
    int has_box;
    float box[4];
    const char *mask;  // a mask file name in the temp dir (an ellipse), or NULL
} kf_def;

typedef struct {
    const char *name;
    int n_kf;
    kf_def kf[3];
} obj_def;

// Three objects: clicks on two keyframes (one with a background click), a box, and a
// mask refined by a click on the same frame.
static const obj_def OBJS3[3] = {
    {"actor", 2, {{1002, 1, {{70, 40}}, {1}, 0, {0}, NULL}, {1005, 2, {{30, 50}, {100, 20}}, {1, 0}, 0, {0}, NULL}}},
    {"bed", 1, {{1003, 0, {{0}}, {0}, 1, {10, 10, 60, 70}, NULL}}},
    {"pillow", 1, {{1004, 1, {{72, 40}}, {1}, 0, {0}, "ellipse.png"}}},
};

static uint8_t *ellipse_mask(void) {
    uint8_t *m = malloc(FW * FH);
    for (int y = 0; y < FH; y++)
        for (int x = 0; x < FW; x++) {
            double dx = (x + 0.5 - 72) / 30.0, dy = (y + 0.5 - 40) / 18.0;
            m[y * FW + x] = dx * dx + dy * dy <= 1.0;
        }
    return m;
}

static void write_ellipse(const char *path) {
    uint8_t *m = ellipse_mask();
    roto_frame f = {0};
    ck_assert_int_eq(roto_frame_alloc(&f, FW, FH, 1, ROTO_PIX_U16, 8), ROTO_OK);
    uint16_t *d = f.data;
    for (int i = 0; i < FW * FH; i++) d[i] = m[i] ? 255 : 0;
    roto_write_opts o;
    roto_write_opts_init(&o);
    ck_assert_int_eq(roto_image_write(path, &f, &o), ROTO_OK);
    roto_frame_free(&f);
    free(m);
}

static void write_prompts(const char *path, const obj_def *objs, int n) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *kfs = json_array();
        for (int k = 0; k < objs[i].n_kf; k++) {
            const kf_def *K = &objs[i].kf[k];
            json_t *o = json_pack("{s:i}", "frame", K->frame);
            if (K->n_points) {
                json_t *pts = json_array();
                for (int p = 0; p < K->n_points; p++)
                    json_array_append_new(pts, json_pack("[f, f, i]", K->pts[p][0], K->pts[p][1], K->labels[p]));
                json_object_set_new(o, "points", pts);
            }
            if (K->has_box) json_object_set_new(o, "box", json_pack("[f, f, f, f]", K->box[0], K->box[1], K->box[2], K->box[3]));
            if (K->mask) {
                write_ellipse(T("%s", K->mask));
                json_object_set_new(o, "mask", json_string(K->mask));
            }
            json_array_append_new(kfs, o);
        }
        json_array_append_new(arr, json_pack("{s:s, s:o}", "name", objs[i].name, "keyframes", kfs));
    }
    json_t *root = json_pack("{s:o}", "objects", arr);
    ck_assert_int_eq(json_dump_file(root, path, JSON_INDENT(1)), 0);
    json_decref(root);
}

// ---- the reference: the sam2_track C API ----------------------------------------------------------

enum { FORWARD, BACKWARD, BOTH };

typedef struct {
    int n_frames, n_objs;
    uint8_t **mask;  // [frame * n_objs + obj]: the result written for that frame, or NULL
} ref_result;

static void ref_free(ref_result *r) {
    for (int i = 0; r->mask && i < r->n_frames * r->n_objs; i++) free(r->mask[i]);
    free(r->mask);
}

static roto_status ref_read(void *user, int index, uint8_t *rgb) {
    (void)user;
    memcpy(rgb, g_frames[index % NFIX], FW * FH * 3);
    return ROTO_OK;
}

static roto_status ref_collect(void *user, const sam2_track_result *r) {
    ref_result *R = user;
    for (int k = 0; k < r->n_objects; k++) {
        uint8_t **slot = &R->mask[r->frame * R->n_objs + r->objects[k].obj];
        if (!*slot) *slot = malloc(FW * FH);
        memcpy(*slot, r->objects[k].mask, FW * FH);  // the last emission of a frame wins
    }
    return ROTO_OK;
}

static void fixture_config(sam2_config *cfg) {
    json_error_t err;
    json_t *root = json_load_file(CONFIG, 0, &err);
    ck_assert_ptr_nonnull(root);
    json_t *c = json_deep_copy(json_object_get(root, "config"));
    json_object_del(c, "mem_dim");
    json_object_del(c, "num_maskmem");
    json_object_del(c, "fill_hole_area");
    ck_assert_msg(roto_config_from_json(c, "index.json", cfg) == ROTO_OK, "%s", roto_last_error());
    json_decref(c);
    json_decref(root);
}

// Track n_frames (the fixture looped) with the prompts, as roto track documents it.
static void ref_track(int n_frames, const obj_def *objs, int n_objs, int direction, ref_result *out) {
    load_frames();
    sam2_config cfg;
    fixture_config(&cfg);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, sam2_track_arena_bytes(&cfg, 64, 3));
    ctx.num_threads = 1;  // as the command runs (--threads 1)
    sam2_model *m = NULL;
    ck_assert_msg(sam2_load(&ctx, WEIGHTS, &cfg, &m) == ROTO_OK, "%s", roto_last_error());
    sam2_track_opts o;
    sam2_track_opts_init(&o);
    o.n_frames = n_frames, o.width = FW, o.height = FH, o.read_frame = ref_read;
    sam2_track *t = NULL;
    ck_assert_int_eq(sam2_track_create(m, &o, &t), ROTO_OK);
    out->n_frames = n_frames;
    out->n_objs = n_objs;
    out->mask = calloc((size_t)n_frames * n_objs, sizeof(uint8_t *));
    uint8_t *ellipse = ellipse_mask();
    int first = n_frames, last = -1;
    for (int i = 0; i < n_objs; i++) {
        int id;
        ck_assert_int_eq(sam2_track_add_object(t, &id), ROTO_OK);
        for (int k = 0; k < objs[i].n_kf; k++) {
            const kf_def *K = &objs[i].kf[k];
            int f = K->frame - 1001;
            first = f < first ? f : first;
            last = f > last ? f : last;
            if (K->mask) {
                sam2_track_prompt p = {.mask = ellipse};
                ck_assert_int_eq(sam2_track_add_prompt(t, id, f, &p, NULL, NULL), ROTO_OK);
            }
            if (K->n_points || K->has_box) {
                sam2_track_prompt p = {.points = K->n_points ? &K->pts[0][0] : NULL, .labels = K->labels,
                                       .n_points = K->n_points, .box = K->has_box ? K->box : NULL};
                ck_assert_int_eq(sam2_track_add_prompt(t, id, f, &p, NULL, NULL), ROTO_OK);
            }
        }
    }
    if (direction == BACKWARD) {
        ck_assert_int_eq(sam2_track_propagate(t, last, -1, 1, ref_collect, out), ROTO_OK);
    } else {
        ck_assert_int_eq(sam2_track_propagate(t, first, -1, 0, ref_collect, out), ROTO_OK);
        if (direction == BOTH) ck_assert_int_eq(sam2_track_propagate(t, first, -1, 1, ref_collect, out), ROTO_OK);
    }
    free(ellipse);
    sam2_track_free(t);
    sam2_free(m);
    rt_ctx_destroy(&ctx);
}

// A written 8-bit mask file (0 / 255) against the reference's 0/1 mask.
static void expect_png_mask(const char *path, const uint8_t *ref) {
    roto_frame f = {0};
    ck_assert_msg(roto_image_read(path, NULL, &f) == ROTO_OK, "%s", roto_last_error());
    ck_assert(f.width == FW && f.height == FH && f.channels == 1 && f.bit_depth == 8);
    const uint16_t *d = f.data;
    int bad = 0;
    for (int i = 0; i < FW * FH; i++) bad += d[i] != (ref[i] ? 255 : 0);
    ck_assert_msg(bad == 0, "%s: %d pixels differ from the C API", path, bad);
    roto_frame_free(&f);
}

static void expect_exr_layer(const char *path, const char *channel, const uint8_t *ref) {
    roto_read_opts o;
    roto_read_opts_init(&o);
    o.channels = channel;
    roto_frame f = {0};
    ck_assert_msg(roto_image_read(path, &o, &f) == ROTO_OK, "%s", roto_last_error());
    ck_assert(f.width == FW && f.height == FH && f.channels == 1 && f.type == ROTO_PIX_F32);
    const float *d = f.data;
    int bad = 0;
    for (int i = 0; i < FW * FH; i++) bad += d[i] != (ref[i] ? 1.0f : 0.0f);
    ck_assert_msg(bad == 0, "%s %s: %d pixels differ from the C API", path, channel, bad);
    roto_frame_free(&f);
}

// The EXR's channel list, from the error message of a read of a channel it lacks.
static void expect_exr_channels(const char *path, const char *list) {
    roto_read_opts o;
    roto_read_opts_init(&o);
    o.channels = "no_such.A";
    roto_frame f = {0};
    ck_assert_int_ne(roto_image_read(path, &o, &f), ROTO_OK);
    char want[256];
    snprintf(want, sizeof want, "(the file has: %s)", list);
    ck_assert_msg(strstr(roto_last_error(), want), "%s: %s", path, roto_last_error());
}

// ---- tests -------------------------------------------------------------------------------------------

// Forward from the earliest keyframe (1002): every output of 1002..1008 equal to the C
// API, nothing for 1001; the multi-layer EXR; previews; the contact sheet; the summary.
START_TEST(test_forward_matches_api) {
    setup();
    write_sequence(T("seq"), 8);
    write_prompts(T("p.json"), OBJS3, 3);
    run_result r = track("-i seq/plate.####.png --prompts p.json -o 'out/{obj}/{obj}.####.png' "
                         "--exr-out exr/matte.####.exr --preview prev --contact-sheet sheet.png --contact-every 3");
    EXPECT_OK(r);
    ck_assert_msg(strstr(r.err, "frame 1008") && strstr(r.err, "done: 7 frames (1002-1008), 3 objects") &&
                  strstr(r.err, "fps") && strstr(r.err, "peak RSS"), "progress and summary:\n%s", r.err);
    cu_result_free(&r);
    ref_result ref;
    ref_track(8, OBJS3, 3, FORWARD, &ref);
    for (int f = 0; f < 8; f++) {
        int n = 1001 + f;
        for (int k = 0; k < 3; k++) {
            const char *p = T("out/%s/%s.%04d.png", OBJS3[k].name, OBJS3[k].name, n);
            uint8_t *m = ref.mask[f * 3 + k];
            ck_assert_msg((m != NULL) == (f >= 1), "frame %d: the API %s a result", n, m ? "has" : "has no");
            if (!m) {
                ck_assert_msg(!file_exists(p), "%s written before the first keyframe", p);
                continue;
            }
            expect_png_mask(p, m);
            char ch[64];
            snprintf(ch, sizeof ch, "obj_%s.A", OBJS3[k].name);
            expect_exr_layer(T("exr/matte.%04d.exr", n), ch, m);
        }
        if (f == 0) {
            ck_assert(!file_exists(T("exr/matte.1001.exr")) && !file_exists(T("prev/preview.1001.png")));
            continue;
        }
        expect_exr_channels(T("exr/matte.%04d.exr", n), "obj_actor.A, obj_bed.A, obj_pillow.A");
        // The preview: the plate with the API's masks overlaid as io/preview.h draws them.
        uint8_t *want = malloc(FW * FH * 3);
        memcpy(want, g_frames[f], FW * FH * 3);
        float *planes = malloc(sizeof(float) * 3 * FW * FH);
        const float *pl[3];
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < FW * FH; i++) planes[k * FW * FH + i] = ref.mask[f * 3 + k][i];
            pl[k] = planes + k * FW * FH;
        }
        ck_assert_int_eq(roto_preview_overlay(want, FW, FH, pl, 3, 0.45f, 1), ROTO_OK);
        roto_frame pv = {0};
        ck_assert_int_eq(roto_image_read(T("prev/preview.%04d.png", n), NULL, &pv), ROTO_OK);
        ck_assert(pv.width == FW && pv.height == FH && pv.channels == 3);
        const uint16_t *d = pv.data;
        for (int i = 0; i < FW * FH * 3; i++) ck_assert_msg(d[i] == want[i], "preview %d: byte %d", n, i);
        roto_frame_free(&pv);
        free(want);
        free(planes);
    }
    // EXR header: zip, half mattes, the model's name.
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "exrheader '%s' 2>&1", T("exr/matte.1004.exr"));
    FILE *ph = popen(cmd, "r");
    if (ph) {
        char buf[8192];
        size_t len = fread(buf, 1, sizeof buf - 1, ph);
        buf[len] = '\0';
        int rc = pclose(ph);
        if (rc == 0) {
            ck_assert_msg(strstr(buf, "compression (type compression): zip"), "%s", buf);
            ck_assert_msg(strstr(buf, "obj_actor.A, 16-bit floating-point"), "%s", buf);
            ck_assert_msg(strstr(buf, "\"weights.safetensors\""), "%s", buf);
        }
    }
    // Contact sheet: frames 1002, 1005, 1008 -> 3 cells of 144x81, 2 columns.
    roto_frame cs = {0};
    ck_assert_int_eq(roto_image_read(T("sheet.png"), NULL, &cs), ROTO_OK);
    ck_assert_int_eq(cs.width, 4 + 2 * (FW + 4));
    ck_assert_int_eq(cs.height, 4 + 2 * (FH + 4));
    roto_frame_free(&cs);
    int files = 0, temps = 0;
    count_tree(g_tmp, &files, &temps);
    ck_assert_int_eq(temps, 0);
    ref_free(&ref);
    teardown();
}
END_TEST

// Backward from the latest keyframe (1005) to the start; both = forward, then backward
// from the earliest keyframe (whose result comes from the second pass). -o with an
// .exr name and no {obj} is the multi-layer EXR.
START_TEST(test_backward_and_both) {
    setup();
    write_sequence(T("seq"), 8);
    write_prompts(T("p.json"), OBJS3, 3);
    for (int dir = BACKWARD; dir <= BOTH; dir++) {
        const char *name = dir == BACKWARD ? "backward" : "both";
        char args[512];
        snprintf(args, sizeof args, "-i seq/plate.%%04d.png --prompts p.json --direction %s -o '%s/{obj}.####.png' "
                 "-q", name, name);
        run_result r = track(args);
        EXPECT_OK(r);
        ck_assert_msg(r.err[0] == '\0', "-q prints nothing, got: %s", r.err);
        cu_result_free(&r);
        snprintf(args, sizeof args, "-i seq/plate.####.png --prompts p.json --direction %s -o '%s_exr/m.####.exr' "
                 "--compression piz", name, name);
        r = track(args);
        EXPECT_OK(r);
        cu_result_free(&r);
        ref_result ref;
        ref_track(8, OBJS3, 3, dir, &ref);
        for (int f = 0; f < 8; f++) {
            int in_range = dir == BOTH || f <= 4;
            for (int k = 0; k < 3; k++) {
                const char *p = T("%s/%s.%04d.png", name, OBJS3[k].name, 1001 + f);
                uint8_t *m = ref.mask[f * 3 + k];
                ck_assert_msg((m != NULL) == in_range, "%s frame %d", name, 1001 + f);
                if (!m) {
                    ck_assert_msg(!file_exists(p), "%s: %s is outside the tracked range", name, p);
                    continue;
                }
                expect_png_mask(p, m);
                char ch[64];
                snprintf(ch, sizeof ch, "obj_%s.A", OBJS3[k].name);
                expect_exr_layer(T("%s_exr/m.%04d.exr", name, 1001 + f), ch, m);
            }
        }
        ref_free(&ref);
    }
    teardown();
}
END_TEST

// One object: -o without {obj}; matte clean-up as io/matte.h; EXR per object with {obj}
// (channel A); EXR plates: fps and time code copied per frame.
START_TEST(test_single_object_cleanup_exr_plates) {
    setup();
    write_sequence(T("seq"), 8);
    static const obj_def one[1] = {{"actor", 1, {{1001, 1, {{70, 40}}, {1}, 0, {0}, NULL}}}};
    write_prompts(T("p.json"), one, 1);
    run_result r = track("-i seq/plate.####.png --prompts p.json -o clean/mask.####.png --fill-holes 0 "
                         "--remove-islands 20 --dilate 2 --erode 1 --feather 1.5");
    EXPECT_OK(r);
    cu_result_free(&r);
    ref_result ref;
    ref_track(8, one, 1, FORWARD, &ref);
    float *m = malloc(sizeof(float) * FW * FH);
    for (int f = 0; f < 8; f++) {
        for (int i = 0; i < FW * FH; i++) m[i] = ref.mask[f][i];
        ck_assert_int_eq(roto_matte_fill_holes(m, m, FW, FH, 0, 4), ROTO_OK);
        ck_assert_int_eq(roto_matte_remove_islands(m, m, FW, FH, 20, 8), ROTO_OK);
        ck_assert_int_eq(roto_matte_dilate(m, m, FW, FH, 2), ROTO_OK);
        ck_assert_int_eq(roto_matte_erode(m, m, FW, FH, 1), ROTO_OK);
        ck_assert_int_eq(roto_matte_feather(m, m, FW, FH, 1.5f), ROTO_OK);
        roto_frame g = {0};
        ck_assert_int_eq(roto_image_read(T("clean/mask.%04d.png", 1001 + f), NULL, &g), ROTO_OK);
        const uint16_t *d = g.data;
        for (int i = 0; i < FW * FH; i++) {
            int want = (int)(m[i] * 255.0f + 0.5f);
            ck_assert_msg(abs((int)d[i] - want) <= 1, "frame %d pixel %d: %d vs %d", 1001 + f, i, d[i], want);
        }
        roto_frame_free(&g);
    }
    free(m);

    // EXR plates with fps and a time code per frame (linear float, as from a DI).
    mkdir(T("exrseq"), 0777);
    for (int f = 0; f < 8; f++) {
        roto_frame fr = {0};
        ck_assert_int_eq(roto_frame_alloc(&fr, FW, FH, 3, ROTO_PIX_F32, 32), ROTO_OK);
        float *d = fr.data;
        for (int i = 0; i < FW * FH * 3; i++) d[i] = (float)roto_srgb_eotf(g_frames[f][i] / 255.0);
        fr.meta.has_fps = 1;
        fr.meta.fps = (roto_rational){24, 1};
        fr.meta.has_timecode = 1;
        char tc[32];
        snprintf(tc, sizeof tc, "01:00:00:%02d", 10 + f);
        ck_assert_int_eq(roto_timecode_from_string(tc, &fr.meta.timecode), ROTO_OK);
        roto_write_opts o;
        roto_write_opts_init(&o);
        o.bit_depth = 32;
        ck_assert_int_eq(roto_image_write(T("exrseq/plate.%04d.exr", 1001 + f), &fr, &o), ROTO_OK);
        roto_frame_free(&fr);
    }
    r = track("-i exrseq/plate.####.exr --prompts p.json -o 'exrout/{obj}.####.exr' --exr-out multi/m.####.exr "
              "--exr-float");
    EXPECT_OK(r);
    cu_result_free(&r);
    for (int f = 0; f < 8; f++) {
        const char *files[2] = {T("exrout/actor.%04d.exr", 1001 + f), T("multi/m.%04d.exr", 1001 + f)};
        for (int x = 0; x < 2; x++) {
            roto_read_opts o;
            roto_read_opts_init(&o);
            o.channels = x == 0 ? "A" : "obj_actor.A";
            roto_frame g = {0};
            ck_assert_msg(roto_image_read(files[x], &o, &g) == ROTO_OK, "%s", roto_last_error());
            ck_assert_int_eq(g.bit_depth, 32);  // --exr-float
            ck_assert(g.meta.has_fps && g.meta.fps.num == 24 && g.meta.fps.den == 1);
            ck_assert(g.meta.has_timecode);
            char tc[16], want[32];
            roto_timecode_to_string(g.meta.timecode, tc);
            snprintf(want, sizeof want, "01:00:00:%02d", 10 + f);
            ck_assert_str_eq(tc, want);
            roto_frame_free(&g);
        }
    }

    // --core-edge: per object the matte, its core (eroded by R) and its edge
    // (matte - core), as {obj}_core / {obj}_edge files and EXR layers, equal to
    // io/matte.h's split of the cleaned matte.
    r = track("-i seq/plate.####.png --prompts p.json -o 'ce/{obj}.####.png' --exr-out ce/m.####.exr --exr-float "
              "--dilate 2 --feather 1.5 --core-edge 3");
    EXPECT_OK(r);
    cu_result_free(&r);
    float *cm = malloc(sizeof(float) * FW * FH * 3);
    int n_core = 0, n_edge = 0;  // over the clip (the actor leaves some frames)
    for (int f = 0; f < 8; f++) {
        float *core = cm + FW * FH, *edge = core + FW * FH;
        for (int i = 0; i < FW * FH; i++) cm[i] = ref.mask[f][i];
        ck_assert_int_eq(roto_matte_dilate(cm, cm, FW, FH, 2), ROTO_OK);
        ck_assert_int_eq(roto_matte_feather(cm, cm, FW, FH, 1.5f), ROTO_OK);
        ck_assert_int_eq(roto_matte_core_edge(cm, core, edge, FW, FH, 3), ROTO_OK);
        for (int i = 0; i < FW * FH; i++) n_core += core[i] > 0, n_edge += edge[i] > 0;
        static const char *const tags[3] = {"", "_core", "_edge"};
        for (int t = 0; t < 3; t++) {
            const float *want = cm + (size_t)t * FW * FH;
            roto_frame g = {0};
            ck_assert_int_eq(roto_image_read(T("ce/actor%s.%04d.png", tags[t], 1001 + f), NULL, &g), ROTO_OK);
            const uint16_t *d = g.data;
            for (int i = 0; i < FW * FH; i++) {
                int w8 = (int)(want[i] * 255.0f + 0.5f);
                ck_assert_msg(abs((int)d[i] - w8) <= 1, "actor%s frame %d pixel %d: %d vs %d", tags[t], 1001 + f, i,
                              d[i], w8);
            }
            roto_frame_free(&g);
            char layer[64];
            snprintf(layer, sizeof layer, "obj_actor%s.A", tags[t]);
            roto_read_opts o;
            roto_read_opts_init(&o);
            o.channels = layer;
            ck_assert_msg(roto_image_read(T("ce/m.%04d.exr", 1001 + f), &o, &g) == ROTO_OK, "%s: %s", layer,
                          roto_last_error());
            ck_assert_msg(!memcmp(g.data, want, sizeof(float) * FW * FH), "%s frame %d differs", layer, 1001 + f);
            roto_frame_free(&g);
        }
    }
    ck_assert_msg(n_core > 50 && n_edge > 50, "core %d px, edge %d px over the clip", n_core, n_edge);
    free(cm);
    ref_free(&ref);
    teardown();
}
END_TEST

// Errors: each a clear message and exit 1 (2 for usage), nothing written.
static void expect_nothing_written(void) {
    static const char *outs[] = {"out", "exr", "prev", "sheet.png", NULL};
    for (int i = 0; outs[i]; i++) ck_assert_msg(!file_exists(T("%s", outs[i])), "%s was written", outs[i]);
}

START_TEST(test_errors) {
    setup();
    write_sequence(T("seq"), 8);
    write_prompts(T("p.json"), OBJS3, 3);
    const char *outs = "-o 'out/{obj}.####.png' --exr-out exr/m.####.exr --preview prev --contact-sheet sheet.png";
    char args[2048];
    run_result r;

    // A missing frame, named; with --hold-missing the previous frame is used.
    rename(T("seq/plate.1004.png"), T("seq_1004.png"));
    snprintf(args, sizeof args, "-i seq/plate.####.png --prompts p.json %s", outs);
    r = track(args);
    EXPECT_FAIL(r, 1, "1 frame is missing: 1004");
    cu_result_free(&r);
    expect_nothing_written();
    rename(T("seq/plate.1006.png"), T("seq_1006.png"));
    rename(T("seq/plate.1007.png"), T("seq_1007.png"));
    r = track(args);
    EXPECT_FAIL(r, 1, "3 frames are missing: 1004, 1006-1007");
    cu_result_free(&r);
    expect_nothing_written();
    r = track("-i seq/plate.####.png --prompts p.json -o 'held/{obj}.####.png' --hold-missing");
    EXPECT_OK(r);
    ck_assert_msg(strstr(r.err, "holding the previous frame for 3 missing frames"), "%s", r.err);
    cu_result_free(&r);
    ck_assert(file_exists(T("held/actor.1004.png")) && file_exists(T("held/pillow.1008.png")));
    rename(T("seq_1004.png"), T("seq/plate.1004.png"));
    rename(T("seq_1006.png"), T("seq/plate.1006.png"));
    rename(T("seq_1007.png"), T("seq/plate.1007.png"));

    // A keyframe outside --frames.
    snprintf(args, sizeof args, "-i seq/plate.####.png --frames 1001-1004 --prompts p.json %s", outs);
    r = track(args);
    EXPECT_FAIL(r, 1, "object 'actor': keyframe 1005 is not in the sequence (frames 1001-1004 of --frames)");
    cu_result_free(&r);
    expect_nothing_written();
    // --frames naming frames that do not exist.
    snprintf(args, sizeof args, "-i seq/plate.####.png --frames 1001-1010 --prompts p.json %s", outs);
    r = track(args);
    EXPECT_FAIL(r, 1, "2 frames are missing: 1009-1010");
    cu_result_free(&r);
    expect_nothing_written();

    // Prompts off the frame: a click, a box.
    obj_def bad[1] = {{"x", 1, {{1002, 1, {{500, 20}}, {1}, 0, {0}, NULL}}}};
    write_prompts(T("off.json"), bad, 1);
    snprintf(args, sizeof args, "-i seq/plate.####.png --prompts off.json %s", outs);
    r = track(args);
    EXPECT_FAIL(r, 1, "object 'x' frame 1002: point 0 (500, 20) is outside the 144x81 frame");
    cu_result_free(&r);
    expect_nothing_written();
    bad[0].kf[0].n_points = 0;
    bad[0].kf[0].has_box = 1;
    bad[0].kf[0].box[2] = 150, bad[0].kf[0].box[3] = 50;
    write_prompts(T("off.json"), bad, 1);
    r = track(args);
    EXPECT_FAIL(r, 1, "box (0, 0, 150, 50) is outside the 144x81 frame");
    cu_result_free(&r);
    expect_nothing_written();

    // A mask of the wrong size.
    {
        roto_frame f = {0};
        ck_assert_int_eq(roto_frame_alloc(&f, 10, 10, 1, ROTO_PIX_U16, 8), ROTO_OK);
        roto_write_opts o;
        roto_write_opts_init(&o);
        ck_assert_int_eq(roto_image_write(T("small.png"), &f, &o), ROTO_OK);
        roto_frame_free(&f);
        FILE *jf = fopen(T("m.json"), "w");
        fprintf(jf, "{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"mask\": \"small.png\"}]}]}");
        fclose(jf);
        snprintf(args, sizeof args, "-i seq/plate.####.png --prompts m.json %s", outs);
        r = track(args);
        EXPECT_FAIL(r, 1, "is 10x10 but the frames are 144x81");
        cu_result_free(&r);
        expect_nothing_written();
    }

    // Unwritable output: a directory that cannot be created (a file is in the way).
    FILE *blk = fopen(T("blocker"), "w");
    fclose(blk);
    r = track("-i seq/plate.####.png --prompts p.json -o 'blocker/sub/{obj}.####.png' --preview prev");
    EXPECT_FAIL(r, 1, "cannot write blocker/sub/actor.1002.png");
    cu_result_free(&r);
    expect_nothing_written();

    // Bad JSON: syntax, unknown keys, duplicates, empty, wrong types.
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"points\": [[1, 2]]}]}", "line 1"},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"pointz\": [[1, 2]]}]}]}",
         "unknown key \"pointz\""},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"points\": [[1, 2]]}]}, "
         "{\"name\": \"a\", \"keyframes\": [{\"frame\": 1002, \"box\": [1, 2, 3, 4]}]}]}",
         "two objects are named 'a'"},
        {"{\"objects\": []}", "at least one object"},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001}]}]}", "give points, a box or a mask"},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"points\": [[1, 2, 3]]}]}]}",
         "point 0 must be [x, y] or [x, y, 1|0]"},
        {"{\"objects\": [{\"name\": \"a/b\", \"keyframes\": [{\"frame\": 1001, \"points\": [[1, 2]]}]}]}",
         "needs a \"name\""},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": \"1001\", \"points\": [[1, 2]]}]}]}",
         "needs an integer \"frame\""},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"box\": [5, 2, 3, 4]}]}]}",
         "x0 <= x1"},
        {"{\"objects\": [{\"name\": \"a\", \"keyframes\": [{\"frame\": 1001, \"points\": [[1, 2]]}, "
         "{\"frame\": 1001, \"points\": [[3, 4]]}]}]}",
         "two keyframes on frame 1001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *jf = fopen(T("bad.json"), "w");
        fputs(cases[i].json, jf);
        fclose(jf);
        snprintf(args, sizeof args, "-i seq/plate.####.png --prompts bad.json %s", outs);
        r = track(args);
        EXPECT_FAIL(r, 1, cases[i].msg);
        ck_assert_msg(strstr(r.err, "bad.json"), "the message names the file: %s", r.err);
        cu_result_free(&r);
        expect_nothing_written();
    }
    r = track("-i seq/plate.####.png --prompts nope.json -o 'out/{obj}.####.png'");
    EXPECT_FAIL(r, 1, "nope.json: cannot read the prompts file");
    cu_result_free(&r);

    // Usage errors (exit 2).
    r = track("-i seq/plate.####.png --prompts p.json -o out/mask.####.png");
    EXPECT_FAIL(r, 2, "3 objects need {obj} in the name");
    cu_result_free(&r);
    r = track("-i seq/plate.####.png --prompts p.json --exr-out out/m.####.png");
    EXPECT_FAIL(r, 2, "the multi-layer output is an EXR");
    cu_result_free(&r);
    r = track("-i seq/plate.####.png --prompts p.json -o 'out/{obj}.png'");
    EXPECT_FAIL(r, 2, "needs a frame number field");
    cu_result_free(&r);
    r = track("-i seq/plate.####.png -o 'out/{obj}.####.png'");
    EXPECT_FAIL(r, 2, "missing --prompts");
    cu_result_free(&r);
    r = track("-i seq/plate.####.png --prompts p.json -o 'out/{obj}.####.png' --direction sideways");
    EXPECT_FAIL(r, 2, "forward, backward or both");
    cu_result_free(&r);
    r = track("-i seq/plate.####.png --prompts p.json -o 'out/{obj}.####.png' --core-edge 0");
    EXPECT_FAIL(r, 2, "--core-edge 0: expected pixels > 0");
    cu_result_free(&r);
    // Outputs onto the input.
    write_prompts(T("one.json"), OBJS3, 1);
    r = track("-i seq/plate.####.png --prompts one.json -o seq/plate.####.png");
    EXPECT_FAIL(r, 1, "would overwrite the input frame");
    cu_result_free(&r);
    // Not a video checkpoint: the image-only fixture.
    char cmd[4 * PATH_MAX + 512];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' track -m '%s/tests/fixtures/sam2/small/weights.safetensors' --config "
             "'%s' -i seq/plate.####.png --prompts p.json -o 'out/{obj}.####.png' 2>'%s'", g_tmp, g_roto, g_root,
             CONFIG, T(".err"));
    int st = system(cmd);
    char *err = cu_read_file(T(".err"), NULL);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s", err);
    ck_assert_msg(strstr(err, "video tensors"), "%s", err);
    free(err);
    expect_nothing_written();
    teardown();
}
END_TEST

// --skip-existing: everything present -> nothing to do; one file missing -> that file.
START_TEST(test_skip_existing) {
    setup();
    write_sequence(T("seq"), 8);
    write_prompts(T("p.json"), OBJS3, 3);
    const char *args = "-i seq/plate.####.png --prompts p.json -o 'out/{obj}.####.png' --exr-out exr/m.####.exr";
    run_result r = track(args);
    EXPECT_OK(r);
    cu_result_free(&r);
    size_t n0 = 0, n1 = 0;
    char *ref_png = cu_read_file(T("out/bed.1006.png"), &n0);
    char *ref_exr = cu_read_file(T("exr/m.1003.exr"), &n1);
    char args2[1024];
    snprintf(args2, sizeof args2, "%s --skip-existing", args);
    r = track(args2);
    EXPECT_OK(r);
    ck_assert_msg(strstr(r.err, "every output of frames 1002-1008 exists already; nothing to do"), "%s", r.err);
    cu_result_free(&r);
    unlink(T("out/bed.1006.png"));
    unlink(T("exr/m.1003.exr"));
    r = track(args2);
    EXPECT_OK(r);
    ck_assert_msg(strstr(r.err, "2 files written (26 existing kept)"), "%s", r.err);
    cu_result_free(&r);
    size_t m0 = 0, m1 = 0;
    char *png = cu_read_file(T("out/bed.1006.png"), &m0), *exr = cu_read_file(T("exr/m.1003.exr"), &m1);
    ck_assert(png && exr && m0 == n0 && m1 == n1 && !memcmp(png, ref_png, n0) && !memcmp(exr, ref_exr, n1));
    free(png), free(exr), free(ref_png), free(ref_exr);
    teardown();
}
END_TEST

// ---- interruption -------------------------------------------------------------------------------------

// Start roto track in the background (exec'd: the pid is roto's), slowed per frame.
static pid_t spawn_track(const char *args, int delay_ms, const char *err_path) {
    char cmd[5 * PATH_MAX + 2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' track -m '%s' --config '%s' --threads 1 %s >/dev/null 2>'%s'", g_tmp, g_roto,
             WEIGHTS, CONFIG, args, err_path);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char d[16];
        snprintf(d, sizeof d, "%d", delay_ms);
        setenv("ROTO_TRACK_FRAME_DELAY_MS", d, 1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int count_frames(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += !strncmp(e->d_name, prefix, strlen(prefix)) && !strstr(e->d_name, ".tmp.");
    closedir(d);
    return n;
}

// Every output present decodes fully; returns the frames whose outputs are all there.
static int check_outputs_complete(const char *run, int n_frames, int require_whole_frames) {
    int complete = 0;
    for (int f = 0; f < n_frames; f++) {
        int n = 1001 + f, present = 0;
        for (int k = 0; k < 2; k++) {
            const char *p = T("%s/%s.%04d.png", run, OBJS3[k].name, n);
            if (!file_exists(p)) continue;
            present++;
            roto_frame g = {0};
            ck_assert_msg(roto_image_read(p, NULL, &g) == ROTO_OK, "%s: %s", p, roto_last_error());
            roto_frame_free(&g);
        }
        const char *e = T("%s/m.%04d.exr", run, n);
        if (file_exists(e)) {
            present++;
            for (int k = 0; k < 2; k++) {
                char ch[64];
                snprintf(ch, sizeof ch, "obj_%s.A", OBJS3[k].name);
                roto_read_opts o;
                roto_read_opts_init(&o);
                o.channels = ch;
                roto_frame g = {0};
                ck_assert_msg(roto_image_read(e, &o, &g) == ROTO_OK, "%s: %s", e, roto_last_error());
                roto_frame_free(&g);
            }
        }
        if (require_whole_frames) ck_assert_msg(present == 0 || present == 3, "frame %d: %d of 3 outputs", n, present);
        complete += present == 3;
    }
    return complete;
}

// Frames 1002.. (forward from the first keyframe) byte for byte.
static void expect_same_outputs(const char *run, const char *ref, int n_frames) {
    for (int f = 1; f < n_frames; f++)
        for (int x = 0; x < 3; x++) {
            const char *a = x < 2 ? T("%s/%s.%04d.png", run, OBJS3[x].name, 1001 + f) : T("%s/m.%04d.exr", run, 1001 + f);
            const char *b = x < 2 ? T("%s/%s.%04d.png", ref, OBJS3[x].name, 1001 + f) : T("%s/m.%04d.exr", ref, 1001 + f);
            size_t na = 0, nb = 0;
            char *da = cu_read_file(a, &na), *db = cu_read_file(b, &nb);
            ck_assert_msg(da && db, "%s or %s missing", a, b);
            ck_assert_msg(na == nb && !memcmp(da, db, na), "%s differs from the uninterrupted run", a);
            free(da), free(db);
        }
}

START_TEST(test_kill_and_resume) {
    setup();
    const int N = 60;
    write_sequence(T("seq"), N);
    write_prompts(T("p.json"), OBJS3, 2);  // actor (keyframes 1002, 1005) and bed (1003)
    char args[1024];
    snprintf(args, sizeof args, "-i seq/plate.####.png --prompts p.json -o 'ref/{obj}.####.png' --exr-out ref/m.####.exr");
    run_result r = track(args);
    EXPECT_OK(r);
    cu_result_free(&r);
    ck_assert_int_eq(check_outputs_complete("ref", N, 1), N - 1);  // 1002..1060

    for (int sig_i = 0; sig_i < 2; sig_i++) {
        int sig = sig_i == 0 ? SIGTERM : SIGKILL;
        const char *run = sig == SIGTERM ? "term" : "kill";
        char run_args[1024];
        snprintf(run_args, sizeof run_args, "-i seq/plate.####.png --prompts p.json -o '%s/{obj}.####.png' "
                 "--exr-out %s/m.####.exr", run, run);
        char err_path[PATH_MAX];
        snprintf(err_path, sizeof err_path, "%s", T("%s.err", run));
        pid_t pid = spawn_track(run_args, 40, err_path);
        // Wait until a dozen frames are out, then stop it mid-sequence.
        double t0 = rt_now_seconds();
        while (count_frames(T("%s", run), "m.") < 12 && rt_now_seconds() - t0 < 60) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        ck_assert_int_eq(kill(pid, sig), 0);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        char *err = cu_read_file(err_path, NULL);
        int files = 0, temps = 0;
        count_tree(T("%s", run), &files, &temps);
        int done = check_outputs_complete(run, N, sig == SIGTERM);
        if (sig == SIGTERM) {
            // Stopped after the current frame: exit 1, a message, whole frames, no temp files.
            ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d\n%s", status, err);
            ck_assert_msg(strstr(err, "interrupted by SIGTERM after frame") && strstr(err, "--skip-existing"), "%s", err);
            ck_assert_int_eq(temps, 0);
        } else {
            ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        }
        fprintf(stderr, "kill test: %s left %d complete frames of %d, %d temp files\n", run, done, N - 1, temps);
        ck_assert_int_ge(done, 10);
        ck_assert_int_lt(done, N - 1);  // really mid-sequence
        free(err);
        if (sig == SIGKILL) {
            // A temp file as a run killed mid-write leaves it (pid 4194305 > pid_max: never alive).
            FILE *tf = fopen(T("%s/.m.1042.exr.tmp.4194305", run), "wb");
            fputs("half a file", tf);
            fclose(tf);
            temps++;
        }
        // Resume: the missing frames are written, the rest kept; same bytes as uninterrupted.
        char resume[1200];
        snprintf(resume, sizeof resume, "%s --skip-existing", run_args);
        r = track(resume);
        EXPECT_OK(r);
        ck_assert_msg(strstr(r.err, "existing kept"), "%s", r.err);
        if (temps > 0) ck_assert_msg(strstr(r.err, "temp file"), "stale temp files reported: %s", r.err);
        cu_result_free(&r);
        files = temps = 0;
        count_tree(T("%s", run), &files, &temps);
        ck_assert_int_eq(temps, 0);
        ck_assert_int_eq(check_outputs_complete(run, N, 1), N - 1);
        expect_same_outputs(run, "ref", N);
        ck_assert(!file_exists(T("%s/m.1001.exr", run)));
    }
    teardown();
}
END_TEST

static Suite *track_cli_suite(void) {
    Suite *s = suite_create("track_cli");
    TCase *tc = tcase_create("track_cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_forward_matches_api);
    tcase_add_test(tc, test_backward_and_both);
    tcase_add_test(tc, test_single_object_cleanup_exr_plates);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_skip_existing);
    tcase_add_test(tc, test_kill_and_resume);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(track_cli_suite)
