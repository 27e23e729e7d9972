// roto_api.c: the public C API (roto.h) over nets/sam2: backend choice and
// checks, architecture configs (detected, from a JSON file, or from a converted
// file's metadata), pixel-format conversion, the activation arena sized to each
// image, mask prompts from mattes, and checkpoint conversion to the canonical
// safetensors file.
#include "roto.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/model_detect.h"
#include "engine/namemap.h"
#include "engine/weights.h"
#include "engine/weights_write.h"
#include "kernels/cuda/cuda_kernels.h"
#include "nets/sam2/sam2.h"
#include "api/roto_config.h"

const char *roto_version(void) { return ROTO_VERSION; }

static const char *precision_name(roto_precision p) {
    switch (p) {
    case ROTO_PRECISION_FP32: return "fp32";
    case ROTO_PRECISION_TF32: return "tf32";
    case ROTO_PRECISION_BF16: return "bf16";
    case ROTO_PRECISION_FP16: return "fp16";
    }
    return "?";
}

// ---- architecture configs ----------------------------------------------------------------------

// Integer list of exactly `n` entries (n < 0: 1..-n entries, count in *got).
static roto_status int_list(json_t *a, const char *key, const char *what, int *dst, int n,
                            int *got) {
    size_t len = json_array_size(a);
    int max = n < 0 ? -n : n;
    if (!json_is_array(a) || (n >= 0 && len != (size_t)n) || (n < 0 && (len < 1 || len > (size_t)max)))
        return roto_fail(ROTO_ERR_FORMAT, "%s: \"%s\" must be a list of %s%d integers", what, key,
                         n < 0 ? "1 to " : "", max);
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v))
            return roto_fail(ROTO_ERR_FORMAT, "%s: \"%s\" must be a list of integers", what, key);
        dst[i] = (int)json_integer_value(v);
    }
    if (got) *got = (int)len;
    return ROTO_OK;
}

// A SAM 2 architecture from JSON: the keys of the official yaml's trunk/neck
// (as tools/refgen writes them into index.json), at top level or under "config".
roto_status roto_config_from_json(json_t *root, const char *what, sam2_config *cfg) {
    json_t *c = json_is_object(root) ? json_object_get(root, "config") : NULL;
    if (!json_is_object(c)) c = root;
    if (!json_is_object(c)) return roto_fail(ROTO_ERR_FORMAT, "%s: not a JSON object", what);
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->name, sizeof cfg->name, "custom");
    cfg->image_size = 1024;
    cfg->d_model = 256;
    int seen = 0;
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v) {
        if (!strcmp(key, "name")) {
            if (!json_is_string(v) || !*json_string_value(v))
                return roto_fail(ROTO_ERR_FORMAT, "%s: \"name\" must be a string", what);
            snprintf(cfg->name, sizeof cfg->name, "%s", json_string_value(v));
        } else if (!strcmp(key, "image_size") || !strcmp(key, "embed_dim") ||
                   !strcmp(key, "num_heads") || !strcmp(key, "d_model")) {
            if (!json_is_integer(v))
                return roto_fail(ROTO_ERR_FORMAT, "%s: \"%s\" must be an integer", what, key);
            int x = (int)json_integer_value(v);
            if (key[0] == 'i') cfg->image_size = x;
            if (key[0] == 'e') cfg->embed_dim = x, seen |= 1;
            if (key[0] == 'n') cfg->num_heads = x, seen |= 2;
            if (key[0] == 'd') cfg->d_model = x;
        } else if (!strcmp(key, "stages")) {
            ROTO_TRY(int_list(v, key, what, cfg->stages, 4, NULL));
            seen |= 4;
        } else if (!strcmp(key, "window_spec")) {
            ROTO_TRY(int_list(v, key, what, cfg->window_spec, 4, NULL));
            seen |= 8;
        } else if (!strcmp(key, "global_att_blocks")) {
            ROTO_TRY(int_list(v, key, what, cfg->global_blocks, -SAM2_MAX_GLOBAL, &cfg->n_global));
            seen |= 16;
        } else if (!strcmp(key, "window_pos_embed_bkg_spatial_size")) {
            ROTO_TRY(int_list(v, key, what, cfg->pos_bkg, 2, NULL));
            seen |= 32;
        } else {
            return roto_fail(ROTO_ERR_FORMAT, "%s: unknown key \"%s\" in the architecture", what, key);
        }
    }
    static const char *required[] = {"embed_dim", "num_heads", "stages", "window_spec",
                                     "global_att_blocks", "window_pos_embed_bkg_spatial_size"};
    for (int i = 0; i < 6; i++)
        if (!(seen & (1 << i)))
            return roto_fail(ROTO_ERR_FORMAT, "%s: the architecture has no \"%s\"", what,
                             required[i]);
    // Plausible ranges here; nets/sam2 checks how the values fit together.
    bool ok = cfg->image_size >= 32 && cfg->image_size <= 8192 && cfg->embed_dim >= 1 &&
              cfg->embed_dim <= 8192 && cfg->num_heads >= 1 && cfg->d_model >= 16 &&
              cfg->d_model <= 8192 && cfg->pos_bkg[0] >= 1 && cfg->pos_bkg[1] >= 1;
    for (int i = 0; i < 4; i++) ok = ok && cfg->stages[i] >= 1 && cfg->window_spec[i] >= 0;
    if (!ok) return roto_fail(ROTO_ERR_FORMAT, "%s: architecture values out of range", what);
    return ROTO_OK;
}

static roto_status config_from_file(const char *path, sam2_config *cfg) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return roto_fail(ROTO_ERR_IO, "%s: cannot read the architecture file", path);
        fclose(f);
        return roto_fail(ROTO_ERR_FORMAT, "%s:%d: %s", path, err.line, err.text);
    }
    roto_status st = roto_config_from_json(root, path, cfg);
    json_decref(root);
    return st;
}

static roto_status config_from_string(const char *text, const char *what, sam2_config *cfg) {
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    if (!root) return roto_fail(ROTO_ERR_FORMAT, "%s: %s", what, err.text);
    roto_status st = roto_config_from_json(root, what, cfg);
    json_decref(root);
    return st;
}

// The JSON form stored as "sam2_config" in converted files (malloc'd).
static char *config_to_string(const sam2_config *c) {
    json_t *glob = json_array();
    for (int i = 0; i < c->n_global; i++) json_array_append_new(glob, json_integer(c->global_blocks[i]));
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:[iiii], s:[iiii], s:o, s:[ii], s:i}", "name",
                          c->name, "image_size", c->image_size, "embed_dim", c->embed_dim,
                          "num_heads", c->num_heads, "stages", c->stages[0], c->stages[1],
                          c->stages[2], c->stages[3], "window_spec", c->window_spec[0],
                          c->window_spec[1], c->window_spec[2], c->window_spec[3],
                          "global_att_blocks", glob, "window_pos_embed_bkg_spatial_size",
                          c->pos_bkg[0], c->pos_bkg[1], "d_model", c->d_model);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

// The architecture of an open SAM 2 checkpoint: the caller's JSON file, else
// the "sam2_config" a roto-converted file carries, else the released variant
// detected from the tensors.
static roto_status resolve_config(const rt_weights *w, const rt_model_info *info,
                                  const char *config_path, sam2_config *cfg, int *custom) {
    *custom = 1;
    if (config_path) return config_from_file(config_path, cfg);
    const char *meta = rt_weights_meta(w, "sam2_config");
    if (meta) {
        char what[512];
        snprintf(what, sizeof what, "%s: metadata \"sam2_config\"", w->path);
        return config_from_string(meta, what, cfg);
    }
    *custom = 0;
    if (info->variant[0]) return sam2_config_variant(cfg, info->variant);
    return roto_fail(ROTO_ERR_UNSUPPORTED,
                     "%s: a SAM 2 checkpoint of a size roto does not know (Hiera embed dim %d, %d "
                     "blocks): give its architecture as JSON (--config FILE.json)",
                     w->path, info->embed_dim, info->n_blocks);
}

// Open a checkpoint, check that it is SAM 2 and give official names to HF files.
static roto_status open_sam2(const char *path, rt_weights *w, rt_model_info *info) {
    if (!path || !*path) return roto_fail(ROTO_ERR_INVALID_ARG, "no checkpoint path given");
    ROTO_TRY(rt_weights_open(w, path));
    roto_status st = rt_model_detect(w, info);
    if (st == ROTO_OK && info->family != RT_FAMILY_SAM2)
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: holds %s, not a SAM 2 model", path,
                       info->family == RT_FAMILY_UNKNOWN ? "no model roto recognises"
                                                         : info->description);
    if (st == ROTO_OK && info->naming == RT_NAMING_HF)
        st = rt_namemap_attach(w, RT_NAMES_SAM2, NULL);
    if (st != ROTO_OK) rt_weights_close(w);
    return st;
}

// ---- models --------------------------------------------------------------------------------

struct roto_model {
    rt_ctx ctx;
    sam2_model *net;
    sam2_config cfg;
    roto_model_opts opts;
    int width, height;  // the image of the last successful roto_image_set (0: none)
};

// Result as handed out plus the net's buffers it points into.
typedef struct {
    roto_result pub;
    sam2_result r;
} result_impl;

// The arena is sized per image (sam2_arena_bytes grows with the pixel count)
// with rt_ctx_reserve. Nothing lives in the arena between calls (the image
// features are persistent buffers).

static roto_status pick_backend(const roto_model_opts *o, const rt_backend **be) {
    if (o->device == ROTO_DEVICE_CPU) {
        if (o->precision != ROTO_PRECISION_FP32)
            return roto_fail(ROTO_ERR_UNSUPPORTED,
                             "precision %s needs the CUDA device: the CPU backend computes in fp32 "
                             "only", precision_name(o->precision));
        *be = rt_cpu_backend();
        return ROTO_OK;
    }
    if (o->device != ROTO_DEVICE_CUDA)
        return roto_fail(ROTO_ERR_INVALID_ARG, "unknown device kind %d", (int)o->device);
    *be = rt_cuda_backend();
    if (!*be)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "this roto was built without CUDA (rebuild on a machine with nvcc: make "
                         "CUDA=1)");
    int n = 0;
    ROTO_TRY(rt_cuda_device_count(&n));  // "no CUDA device (...)"
    if (o->cuda_device < 0 || o->cuda_device >= n)
        return roto_fail(ROTO_ERR_DEVICE, "CUDA device %d does not exist (%d device%s)",
                         o->cuda_device, n, n == 1 ? "" : "s");
    return rt_cuda_select_device(o->cuda_device);
}

roto_status roto_model_load(const char *path, const roto_model_opts *opts, roto_model **out) {
    if (!out) return roto_fail(ROTO_ERR_INVALID_ARG, "roto_model_load: NULL output");
    *out = NULL;
    roto_model_opts o = {0};
    if (opts) o = *opts;
    if ((unsigned)o.precision > ROTO_PRECISION_FP16)
        return roto_fail(ROTO_ERR_INVALID_ARG, "unknown precision %d", (int)o.precision);
    if (o.threads < 0) return roto_fail(ROTO_ERR_INVALID_ARG, "threads %d < 0", o.threads);
    const rt_backend *be = NULL;
    ROTO_TRY(pick_backend(&o, &be));

    rt_weights w;
    rt_model_info info;
    ROTO_TRY(open_sam2(path, &w, &info));
    roto_model *m = calloc(1, sizeof *m);
    if (!m) {
        rt_weights_close(&w);
        return roto_fail(ROTO_ERR_OOM, "out of host memory");
    }
    m->opts = o;
    m->opts.config = NULL;  // not kept: the caller's string
    int custom = 0, have_ctx = 0;
    roto_status st = resolve_config(&w, &info, o.config, &m->cfg, &custom);
    // The arena starts at the size of a small image and grows in roto_image_set.
    if (st == ROTO_OK) st = rt_ctx_create(&m->ctx, be, sam2_arena_bytes(&m->cfg, 64, 64));
    if (st == ROTO_OK) {
        have_ctx = 1;
        m->ctx.num_threads = o.threads;
        if (be->device == RT_DEV_CUDA)
            st = rt_cuda_set_precision(&m->ctx, (rt_precision)o.precision);
    }
    if (st == ROTO_OK) st = sam2_load_weights(&m->ctx, &w, &m->cfg, &m->net);
    rt_weights_close(&w);
    if (st != ROTO_OK) {
        if (have_ctx) rt_ctx_destroy(&m->ctx);
        free(m);
        return st;
    }
    *out = m;
    return ROTO_OK;
}

void roto_model_free(roto_model *m) {
    if (!m) return;
    sam2_free(m->net);
    rt_ctx_destroy(&m->ctx);
    free(m);
}

roto_status roto_model_get_info(const roto_model *m, roto_model_info *info) {
    if (!m || !info) return roto_fail(ROTO_ERR_INVALID_ARG, "roto_model_get_info: NULL argument");
    memset(info, 0, sizeof *info);
    snprintf(info->family, sizeof info->family, "sam2");
    snprintf(info->variant, sizeof info->variant, "%s", m->cfg.name);
    info->image_size = m->cfg.image_size;
    info->low_res = m->cfg.image_size / 4;
    snprintf(info->device, sizeof info->device, "%s", m->ctx.be->name);
    snprintf(info->precision, sizeof info->precision, "%s", precision_name(m->opts.precision));
    return ROTO_OK;
}

// ---- images --------------------------------------------------------------------------------

roto_status roto_image_set(roto_model *m, const void *pixels, int width, int height,
                           size_t row_bytes, roto_pixel_format format) {
    if (!m || !pixels) return roto_fail(ROTO_ERR_INVALID_ARG, "roto_image_set: NULL argument");
    if (width < 1 || height < 1 || width > 32768 || height > 32768)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "roto_image_set: bad image size %dx%d (1 to 32768 on a side)", width,
                         height);
    size_t bpp;
    switch (format) {
    case ROTO_PIXELS_RGB8: bpp = 3; break;
    case ROTO_PIXELS_RGBA8: bpp = 4; break;
    case ROTO_PIXELS_GRAY8: bpp = 1; break;
    case ROTO_PIXELS_RGB_F32: bpp = 12; break;
    default: return roto_fail(ROTO_ERR_INVALID_ARG, "roto_image_set: unknown pixel format %d", (int)format);
    }
    size_t packed = (size_t)width * bpp;
    if (row_bytes == 0) row_bytes = packed;
    if (row_bytes < packed)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "roto_image_set: row_bytes %zu is less than a row (%d pixels of %zu bytes)",
                         row_bytes, width, bpp);
    m->width = m->height = 0;  // no image until this one is encoded
    uint8_t *rgb = malloc((size_t)width * height * 3);
    if (!rgb) return roto_fail(ROTO_ERR_OOM, "out of host memory (image %dx%d)", width, height);
    for (int y = 0; y < height; y++) {
        const uint8_t *row = (const uint8_t *)pixels + (size_t)y * row_bytes;
        uint8_t *dst = rgb + (size_t)y * width * 3;
        for (int x = 0; x < width; x++) {
            if (format == ROTO_PIXELS_RGB_F32) {
                for (int c = 0; c < 3; c++) {
                    float v;
                    memcpy(&v, row + (size_t)x * 12 + 4 * c, 4);
                    v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;  // NaN -> 0
                    dst[3 * x + c] = (uint8_t)(v * 255.0f + 0.5f);
                }
            } else if (format == ROTO_PIXELS_GRAY8) {
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
            } else {
                memcpy(dst + 3 * x, row + (size_t)x * bpp, 3);
            }
        }
    }
    roto_status st = rt_ctx_reserve(&m->ctx, sam2_arena_bytes(&m->cfg, height, width));
    if (st == ROTO_OK) st = sam2_set_image(m->net, rgb, height, width);
    free(rgb);
    if (st == ROTO_OK) m->width = width, m->height = height;
    return st;
}

// ---- prediction ------------------------------------------------------------------------------

// A matte at the image size -> low-res logits, as SAM2Base._use_mask_as_output
// turns a user's mask into logits: binary (>= 0.5) times 20 minus 10, then an
// antialiased bilinear resize (align_corners False) to L x L.
static roto_status matte_to_logits(roto_model *m, const float *matte, float *out) {
    rt_ctx *ctx = &m->ctx;
    int H = m->height, W = m->width, L = m->cfg.image_size / 4;
    size_t n = (size_t)H * W;
    float *host = malloc(n * sizeof(float));
    if (!host) return roto_fail(ROTO_ERR_OOM, "out of host memory (mask %dx%d)", W, H);
    for (size_t i = 0; i < n; i++) host[i] = matte[i] >= 0.5f ? 10.0f : -10.0f;
    rt_ctx_reset(ctx);
    rt_tensor x, y;
    roto_status st = rt_arena_f32(ctx, &x, 4, 1, H, W, 1);
    if (st == ROTO_OK) st = rt_ctx_upload(ctx, x.data, host, n * sizeof(float));
    free(host);
    if (st == ROTO_OK) st = rt_arena_f32(ctx, &y, 4, 1, L, L, 1);
    rt_interp_params ip = {.mode = RT_INTERP_BILINEAR, .align_corners = 0, .antialias = 1};
    if (st == ROTO_OK) st = rt_interpolate(ctx, &y, &x, &ip);
    if (st == ROTO_OK) st = rt_ctx_download(ctx, out, y.data, (size_t)L * L * sizeof(float));
    if (st == ROTO_OK) st = rt_ctx_synchronize(ctx);
    rt_ctx_reset(ctx);
    return st;
}

roto_status roto_predict(roto_model *m, const roto_prompt *prompt, const roto_predict_opts *opts,
                         roto_result **out) {
    if (!m || !prompt || !out) return roto_fail(ROTO_ERR_INVALID_ARG, "roto_predict: NULL argument");
    *out = NULL;
    if (!m->width)
        return roto_fail(ROTO_ERR_INVALID_ARG, "roto_predict: no image is set (call roto_image_set "
                                               "first)");
    roto_predict_opts o = {0};
    if (opts) o = *opts;
    if (!isfinite(o.mask_threshold))
        return roto_fail(ROTO_ERR_INVALID_ARG, "roto_predict: mask_threshold is not finite");
    if (prompt->mask && prompt->mask_logits)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "roto_predict: give a mask or mask logits, not both");
    if (prompt->n_points < 0 || prompt->n_points > SAM2_MAX_POINTS)
        return roto_fail(ROTO_ERR_INVALID_ARG, "roto_predict: %d points (0 to %d)",
                         prompt->n_points, SAM2_MAX_POINTS);
    int ones[SAM2_MAX_POINTS];
    for (int i = 0; i < SAM2_MAX_POINTS; i++) ones[i] = 1;
    sam2_prompt p = {.points = prompt->points,
                     .labels = prompt->labels ? prompt->labels : ones,
                     .n_points = prompt->n_points,
                     .box = prompt->box,
                     .mask_input = prompt->mask_logits,
                     .multimask = o.multimask ? 1 : 0};
    int L = m->cfg.image_size / 4;
    float *low = NULL;
    if (prompt->mask) {
        low = malloc((size_t)L * L * sizeof(float));
        if (!low) return roto_fail(ROTO_ERR_OOM, "out of host memory");
        roto_status st = matte_to_logits(m, prompt->mask, low);
        if (st != ROTO_OK) {
            free(low);
            return st;
        }
        p.mask_input = low;
    }
    result_impl *res = calloc(1, sizeof *res);
    if (!res) {
        free(low);
        return roto_fail(ROTO_ERR_OOM, "out of host memory");
    }
    roto_status st = sam2_predict(m->net, &p, &res->r);
    free(low);
    if (st != ROTO_OK) {
        free(res);
        return st;
    }
    sam2_result *r = &res->r;
    if (o.mask_threshold != 0.0f) {
        size_t n = (size_t)r->n_masks * r->height * r->width;
        for (size_t i = 0; i < n; i++) r->masks[i] = r->mask_logits[i] > o.mask_threshold;
    }
    roto_result *pub = &res->pub;
    pub->n_masks = r->n_masks;
    pub->width = r->width;
    pub->height = r->height;
    pub->masks = r->masks;
    pub->logits = r->mask_logits;
    pub->low_res = r->low_res;
    pub->low_res_logits = r->low_res_logits;
    pub->object_score = r->obj_score;
    pub->best = 0;
    for (int k = 0; k < r->n_masks; k++) {
        pub->iou[k] = r->iou[k];
        if (r->iou[k] > r->iou[pub->best]) pub->best = k;  // first of equal scores
    }
    *out = pub;
    return ROTO_OK;
}

void roto_result_free(roto_result *r) {
    if (!r) return;
    result_impl *impl = (result_impl *)r;  // pub is the first member
    sam2_result_free(&impl->r);
    free(impl);
}

// ---- conversion ------------------------------------------------------------------------------

static int cmp_out(const void *a, const void *b) {
    const rt_wout *x = a, *y = b;
    size_t sx = rt_wdtype_size(x->dtype), sy = rt_wdtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;  // larger elements first keeps every tensor aligned
    return strcmp(x->name, y->name);
}

static void add_out(rt_wout *list, int *n, const rt_wtensor *t, rt_wdtype float_dtype) {
    rt_wout *o = &list[(*n)++];
    memset(o, 0, sizeof *o);
    o->name = t->name;
    o->ndim = t->ndim;
    memcpy(o->shape, t->shape, sizeof o->shape);
    o->data = t->data;
    o->src_dtype = t->dtype;
    bool is_float = t->dtype == RT_WDT_F32 || t->dtype == RT_WDT_F16 || t->dtype == RT_WDT_BF16;
    o->dtype = is_float ? float_dtype : t->dtype;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

roto_status roto_convert(const char *in, const char *out, const roto_convert_opts *opts,
                         roto_convert_stats *stats) {
    if (!in || !out || !*out) return roto_fail(ROTO_ERR_INVALID_ARG, "roto_convert: no input or output path");
    roto_convert_opts o = {0};
    if (opts) o = *opts;
    static const rt_wdtype dtypes[3] = {RT_WDT_F32, RT_WDT_F16, RT_WDT_BF16};
    if ((unsigned)o.dtype > ROTO_DTYPE_BF16)
        return roto_fail(ROTO_ERR_INVALID_ARG, "roto_convert: unknown dtype %d", (int)o.dtype);
    rt_wdtype fdt = dtypes[o.dtype];

    rt_weights w;
    rt_model_info info;
    ROTO_TRY(open_sam2(in, &w, &info));
    sam2_config cfg;
    int custom = 0;
    roto_status st = ROTO_OK;
    // A custom architecture is stored in the file (given now, or carried over
    // from a roto file); a released one is named by "variant" alone.
    if (o.config || rt_weights_meta(&w, "sam2_config"))
        st = resolve_config(&w, &info, o.config, &cfg, &custom);
    char *cfg_json = NULL;
    if (st == ROTO_OK && custom) {
        cfg_json = config_to_string(&cfg);
        if (!cfg_json) st = roto_fail(ROTO_ERR_OOM, "out of memory");
    }

    // Canonical names: an official file's own; for HF files the aliases that
    // rt_namemap_attach made, plus the file tensors no rule renames.
    int total = w.n_tensors + w.n_aliases, n = 0;
    rt_wout *list = st == ROTO_OK ? calloc((size_t)total + 1, sizeof *list) : NULL;
    if (st == ROTO_OK && !list) st = roto_fail(ROTO_ERR_OOM, "out of memory");
    for (int i = 0; st == ROTO_OK && i < w.n_tensors; i++) {
        char canon[512];
        if (info.naming == RT_NAMING_HF &&
            rt_namemap_to_canonical(RT_NAMES_SAM2, w.tensors[i].name, 0, canon, sizeof canon, NULL))
            continue;  // listed below under its official name (or a duplicate)
        add_out(list, &n, &w.tensors[i], fdt);
    }
    for (int i = w.n_tensors; st == ROTO_OK && i < total; i++) add_out(list, &n, &w.tensors[i], fdt);
    if (st == ROTO_OK) qsort(list, (size_t)n, sizeof *list, cmp_out);

    const char *variant = custom ? cfg.name : (info.variant[0] ? info.variant : "unknown");
    static const char *dtype_names[3] = {"f32", "f16", "bf16"};
    rt_wmeta meta[9];
    int nm = 0;
    meta[nm++] = (rt_wmeta){"format", "roto"};
    meta[nm++] = (rt_wmeta){"family", "sam2"};
    meta[nm++] = (rt_wmeta){"variant", (char *)variant};
    meta[nm++] = (rt_wmeta){"sam2_version", info.version};
    meta[nm++] = (rt_wmeta){"source", (char *)base_name(in)};
    meta[nm++] = (rt_wmeta){"source_format", (char *)rt_wformat_name(w.format)};
    meta[nm++] = (rt_wmeta){"roto_version", ROTO_VERSION};
    meta[nm++] = (rt_wmeta){"dtype", (char *)dtype_names[o.dtype]};
    if (cfg_json) meta[nm++] = (rt_wmeta){"sam2_config", cfg_json};
    if (st == ROTO_OK) st = rt_safetensors_write(out, list, n, meta, nm);
    if (st == ROTO_OK && stats) {
        memset(stats, 0, sizeof *stats);
        stats->n_tensors = n;
        for (int i = 0; i < n; i++) {
            uint64_t c = 1;
            for (int d = 0; d < list[i].ndim; d++) c *= (uint64_t)list[i].shape[d];
            stats->data_bytes += c * rt_wdtype_size(list[i].dtype);
        }
        snprintf(stats->family, sizeof stats->family, "sam2");
        snprintf(stats->variant, sizeof stats->variant, "%s", variant);
    }
    free(list);
    free(cfg_json);
    rt_weights_close(&w);
    return st;
}
