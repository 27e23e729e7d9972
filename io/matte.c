// matte.c: threshold, distance-transform dilate/erode, separable Gaussian
// feather, hole fill, island removal and core/edge split (see matte.h).
#include "io/matte.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DT_INF 1e20

static roto_status check_args(const void *in, const void *out, int w, int h, const char *op) {
    if (!in || !out) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: NULL matte", op);
    if (w < 1 || h < 1 || (long long)w * h > ((long long)1 << 30))
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: bad matte size %dx%d", op, w, h);
    return ROTO_OK;
}

roto_status roto_matte_threshold(const float *in, float *out, int w, int h, float t) {
    ROTO_TRY(check_args(in, out, w, h, "threshold"));
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) out[i] = in[i] >= t ? 1.0f : 0.0f;
    return ROTO_OK;
}

// ---- exact Euclidean distance transform ------------------------------------------

// 1D squared distance transform of the sampled function f (length n) by the
// lower envelope of parabolas (Felzenszwalb & Huttenlocher 2012).
// v: n ints, z: n+1 doubles of scratch.
static void dt1d(const double *f, int n, double *d, int *v, double *z) {
    int k = 0;
    v[0] = 0;
    z[0] = -HUGE_VAL;
    z[1] = HUGE_VAL;
    for (int q = 1; q < n; q++) {
        // Intersection of parabola q with the rightmost one of the envelope;
        // pop parabolas it hides (z[0] = -inf stops the loop at k = 0).
        double s;
        for (;;) {
            int p = v[k];
            s = ((f[q] + (double)q * q) - (f[p] + (double)p * p)) / (2.0 * (q - p));
            if (s > z[k]) break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = HUGE_VAL;
    }
    k = 0;
    for (int q = 0; q < n; q++) {
        while (z[k + 1] < q) k++;
        double dq = (double)(q - v[k]);
        d[q] = dq * dq + f[v[k]];
    }
}

roto_status roto_matte_distance2(const unsigned char *mask, float *dist2, int w, int h) {
    ROTO_TRY(check_args(mask, dist2, w, h, "distance transform"));
    int n = w > h ? w : h;
    roto_status st = ROTO_OK;
    // Columns: distances along y, kept as doubles in a temporary image
    // (float would round large squared distances).
    double *col = malloc((size_t)w * h * sizeof *col);
    if (!col) return roto_fail(ROTO_ERR_OOM, "distance transform: out of memory for %dx%d", w, h);
#pragma omp parallel
    {
        double *f = malloc((size_t)n * sizeof *f), *d = malloc((size_t)n * sizeof *d);
        double *z = malloc((size_t)(n + 1) * sizeof *z);
        int *v = malloc((size_t)n * sizeof *v);
        int ok = f && d && z && v;
        if (!ok) {
#pragma omp critical
            st = ROTO_ERR_OOM;
        }
#pragma omp for schedule(static)
        for (int x = 0; x < w; x++) {
            if (!ok) continue;
            for (int y = 0; y < h; y++) f[y] = mask[(size_t)y * w + x] ? 0.0 : DT_INF;
            dt1d(f, h, d, v, z);
            for (int y = 0; y < h; y++) col[(size_t)y * w + x] = d[y];
        }
#pragma omp for schedule(static)
        for (int y = 0; y < h; y++) {
            if (!ok) continue;
            dt1d(col + (size_t)y * w, w, d, v, z);
            for (int x = 0; x < w; x++) dist2[(size_t)y * w + x] = (float)(d[x] > DT_INF ? DT_INF : d[x]);
        }
        free(f);
        free(d);
        free(z);
        free(v);
    }
    free(col);
    if (st != ROTO_OK) return roto_fail(ROTO_ERR_OOM, "distance transform: out of memory");
    return ROTO_OK;
}

// Binary morphology: dilate (grow foreground) or erode (grow background).
static roto_status morph(const float *in, float *out, int w, int h, float radius, int erode) {
    const char *op = erode ? "erode" : "dilate";
    ROTO_TRY(check_args(in, out, w, h, op));
    if (!(radius >= 0.0f) || radius > 1e6f)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: radius %g must be >= 0", op, (double)radius);
    size_t n = (size_t)w * h;
    unsigned char *mask = malloc(n);
    float *d2 = malloc(n * sizeof *d2);
    if (!mask || !d2) {
        free(mask);
        free(d2);
        return roto_fail(ROTO_ERR_OOM, "%s: out of memory", op);
    }
    // The distance is measured to the "source" set: foreground for dilate,
    // background for erode.
    for (size_t i = 0; i < n; i++) mask[i] = erode ? !(in[i] >= 0.5f) : (in[i] >= 0.5f);
    roto_status st = roto_matte_distance2(mask, d2, w, h);
    if (st == ROTO_OK) {
        double r2 = (double)radius * radius;
        for (size_t i = 0; i < n; i++) {
            int near = (double)d2[i] <= r2;
            out[i] = erode ? (near ? 0.0f : 1.0f) : (near ? 1.0f : 0.0f);
        }
    }
    free(mask);
    free(d2);
    return st;
}

roto_status roto_matte_dilate(const float *in, float *out, int w, int h, float radius) {
    return morph(in, out, w, h, radius, 0);
}

roto_status roto_matte_erode(const float *in, float *out, int w, int h, float radius) {
    return morph(in, out, w, h, radius, 1);
}

// ---- feather ---------------------------------------------------------------------

roto_status roto_matte_feather(const float *in, float *out, int w, int h, float radius) {
    ROTO_TRY(check_args(in, out, w, h, "feather"));
    if (!(radius >= 0.0f) || radius > 10000.0f)
        return roto_fail(ROTO_ERR_INVALID_ARG, "feather: radius %g must be in [0, 10000]", (double)radius);
    size_t n = (size_t)w * h;
    int half = (int)ceilf(radius);
    if (half == 0 || radius < 1e-3f) {
        if (out != in) memcpy(out, in, n * sizeof *out);
        return ROTO_OK;
    }
    double sigma = radius / 3.0;
    int klen = 2 * half + 1;
    float *k = malloc((size_t)klen * sizeof *k);
    float *tmp = malloc(n * sizeof *tmp);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return roto_fail(ROTO_ERR_OOM, "feather: out of memory");
    }
    double sum = 0;
    for (int i = -half; i <= half; i++) sum += exp(-0.5 * (i * i) / (sigma * sigma));
    for (int i = -half; i <= half; i++) k[i + half] = (float)(exp(-0.5 * (i * i) / (sigma * sigma)) / sum);

    // Horizontal: in -> tmp, clamping x at the edges.
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        const float *src = in + (size_t)y * w;
        float *dst = tmp + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            float acc = 0.0f;
            if (x - half >= 0 && x + half < w) {
                const float *s = src + x - half;
                for (int j = 0; j < klen; j++) acc += k[j] * s[j];
            } else {
                for (int j = -half; j <= half; j++) {
                    int xx = x + j < 0 ? 0 : (x + j >= w ? w - 1 : x + j);
                    acc += k[j + half] * src[xx];
                }
            }
            dst[x] = acc;
        }
    }
    // Vertical: tmp -> out, a row at a time so the inner loop runs along x.
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        float *dst = out + (size_t)y * w;
        for (int x = 0; x < w; x++) dst[x] = 0.0f;
        for (int j = -half; j <= half; j++) {
            int yy = y + j < 0 ? 0 : (y + j >= h ? h - 1 : y + j);
            const float *s = tmp + (size_t)yy * w;
            float kj = k[j + half];
            for (int x = 0; x < w; x++) dst[x] += kj * s[x];
        }
    }
    free(k);
    free(tmp);
    return ROTO_OK;
}

// ---- connected components ------------------------------------------------------

// For every component of pixels with mask == value, call decide(area,
// touches_border) and set out to `fill` on the component when it says so.
static roto_status fill_components(const unsigned char *mask, unsigned char value, float *out, int w, int h,
                                   int connectivity, long limit, int holes, float fill) {
    size_t n = (size_t)w * h;
    unsigned char *seen = calloc(n, 1);
    int32_t *queue = malloc(n * sizeof *queue);
    if (!seen || !queue) {
        free(seen);
        free(queue);
        return roto_fail(ROTO_ERR_OOM, "connected components: out of memory");
    }
    static const int dx8[8] = {1, -1, 0, 0, 1, 1, -1, -1}, dy8[8] = {0, 0, 1, -1, 1, -1, 1, -1};
    int nn = connectivity == 8 ? 8 : 4;
    for (size_t s = 0; s < n; s++) {
        if (seen[s] || mask[s] != value) continue;
        size_t qh = 0, qt = 0;
        queue[qt++] = (int32_t)s;
        seen[s] = 1;
        int border = 0;
        while (qh < qt) {
            int32_t p = queue[qh++];
            int x = p % w, y = p / w;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1) border = 1;
            for (int k = 0; k < nn; k++) {
                int xx = x + dx8[k], yy = y + dy8[k];
                if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                size_t q = (size_t)yy * w + xx;
                if (seen[q] || mask[q] != value) continue;
                seen[q] = 1;
                queue[qt++] = (int32_t)q;
            }
        }
        long area = (long)qt;
        int apply = holes ? (!border && (limit <= 0 || area <= limit)) : (area < limit);
        if (apply)
            for (size_t i = 0; i < qt; i++) out[queue[i]] = fill;
    }
    free(seen);
    free(queue);
    return ROTO_OK;
}

static roto_status components_op(const float *in, float *out, int w, int h, long limit, int connectivity,
                                 int holes) {
    const char *op = holes ? "fill holes" : "remove islands";
    ROTO_TRY(check_args(in, out, w, h, op));
    if (connectivity != 4 && connectivity != 8)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: connectivity %d must be 4 or 8", op, connectivity);
    if ((long long)w * h > INT32_MAX)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: matte too large", op);
    size_t n = (size_t)w * h;
    unsigned char *mask = malloc(n);
    if (!mask) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", op);
    for (size_t i = 0; i < n; i++) mask[i] = in[i] >= 0.5f;
    if (out != in) memcpy(out, in, n * sizeof *out);
    roto_status st = holes ? fill_components(mask, 0, out, w, h, connectivity, limit, 1, 1.0f)
                           : fill_components(mask, 1, out, w, h, connectivity, limit, 0, 0.0f);
    free(mask);
    return st;
}

roto_status roto_matte_fill_holes(const float *in, float *out, int w, int h, long max_area, int connectivity) {
    return components_op(in, out, w, h, max_area, connectivity, 1);
}

roto_status roto_matte_remove_islands(const float *in, float *out, int w, int h, long min_area, int connectivity) {
    return components_op(in, out, w, h, min_area, connectivity, 0);
}

roto_status roto_matte_core_edge(const float *in, float *core, float *edge, int w, int h, float radius) {
    ROTO_TRY(check_args(in, core, w, h, "core/edge"));
    ROTO_TRY(check_args(in, edge, w, h, "core/edge"));
    size_t n = (size_t)w * h;
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return roto_fail(ROTO_ERR_OOM, "core/edge: out of memory");
    roto_status st = roto_matte_erode(in, tmp, w, h, radius);
    if (st == ROTO_OK) {
        for (size_t i = 0; i < n; i++) {
            float e = in[i] - tmp[i];
            edge[i] = e > 0.0f ? e : 0.0f;
        }
        memcpy(core, tmp, n * sizeof *core);
    }
    free(tmp);
    return st;
}
