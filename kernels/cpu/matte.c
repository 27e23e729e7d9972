// matte.c (kernels/cpu): threshold, distance-transform dilate/erode, separable
// Gaussian feather, hole fill, island removal and core/edge split on host
// arrays (matte.h), and the CPU backend's rt_matte_* entries over them.
// defines: matte_*_host, cpu_matte_threshold, cpu_matte_morph, cpu_matte_feather,
//          cpu_matte_components, cpu_matte_core_edge
#include "matte.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

#define DT_INF 1e20

static int team(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

roto_status matte_threshold_host(const float *in, float *out, int w, int h, float t) {
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

roto_status matte_distance2_host(const unsigned char *mask, float *dist2, int w, int h, int threads) {
    roto_status st = ROTO_OK;
    // Pass 1, along columns: for a binary mask the 1D distance is the number
    // of steps to the nearest set pixel above or below, so two scans over the
    // rows give it (row-major and vectorisable, where a per-column envelope
    // would stride through memory). Kept as doubles (float would round large
    // squared distances); a column without a set pixel stays DT_INF.
    double *col = malloc((size_t)w * h * sizeof *col);
    if (!col) return roto_fail(ROTO_ERR_OOM, "distance transform: out of memory for %dx%d", w, h);
#pragma omp parallel num_threads(team(threads))
    {
        // Each thread scans a band of columns over all rows.
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int x0 = (int)((long)w * t / nt), x1 = (int)((long)w * (t + 1) / nt);
        for (int x = x0; x < x1; x++) col[x] = mask[x] ? 0.0 : DT_INF;
        for (int y = 1; y < h; y++) {
            const unsigned char *m = mask + (size_t)y * w;
            double *c = col + (size_t)y * w, *up = c - w;
            for (int x = x0; x < x1; x++) c[x] = m[x] ? 0.0 : up[x] + 1.0;  // DT_INF + 1 == DT_INF
        }
        for (int y = h - 2; y >= 0; y--) {
            double *c = col + (size_t)y * w, *down = c + w;
            for (int x = x0; x < x1; x++) c[x] = fmin(c[x], down[x] + 1.0);
        }
        for (int y = 0; y < h; y++) {
            double *c = col + (size_t)y * w;
            for (int x = x0; x < x1; x++) c[x] = c[x] >= DT_INF ? DT_INF : c[x] * c[x];
        }
    }
    // Pass 2, along rows: the lower envelope of parabolas over the column
    // distances gives the exact 2D squared distance.
    int n = w;
#pragma omp parallel num_threads(team(threads))
    {
        double *d = malloc((size_t)n * sizeof *d), *z = malloc((size_t)(n + 1) * sizeof *z);
        int *v = malloc((size_t)n * sizeof *v);
        int ok = d && z && v;
        if (!ok) {
#pragma omp critical
            st = ROTO_ERR_OOM;
        }
#pragma omp for schedule(static)
        for (int y = 0; y < h; y++) {
            if (!ok) continue;
            dt1d(col + (size_t)y * w, w, d, v, z);
            for (int x = 0; x < w; x++) dist2[(size_t)y * w + x] = (float)(d[x] > DT_INF ? DT_INF : d[x]);
        }
        free(d);
        free(z);
        free(v);
    }
    free(col);
    if (st != ROTO_OK) return roto_fail(ROTO_ERR_OOM, "distance transform: out of memory");
    return ROTO_OK;
}

// Binary morphology: dilate (grow foreground) or erode (grow background).
roto_status matte_morph_host(const float *in, float *out, int w, int h, float radius, int erode,
                             int threads) {
    const char *op = erode ? "erode" : "dilate";
    size_t n = (size_t)w * h;
    if (n == 0) return ROTO_OK;
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
    roto_status st = matte_distance2_host(mask, d2, w, h, threads);
    if (st == ROTO_OK) {
        // The float distances compared in double: the CUDA backend does the same.
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

// ---- feather ---------------------------------------------------------------------

// Every sum runs over the taps in order with a product rounded to float and
// then added (no fused multiply-add: the C11 build does not contract), which
// the CUDA kernels reproduce with __fmul_rn / __fadd_rn.
roto_status matte_feather_host(const float *in, float *out, int w, int h, float radius, int threads) {
    size_t n = (size_t)w * h;
    int half = matte_feather_half(radius);
    if (half == 0) {
        if (out != in) memcpy(out, in, n * sizeof *out);
        return ROTO_OK;
    }
    int klen = 2 * half + 1;
    float *k = malloc((size_t)klen * sizeof *k);
    float *tmp = malloc(n * sizeof *tmp);
    if (!k || !tmp) {
        free(k);
        free(tmp);
        return roto_fail(ROTO_ERR_OOM, "feather: out of memory");
    }
    matte_feather_weights(radius, half, k);

    // Horizontal: in -> tmp, clamping x at the edges.
#pragma omp parallel for schedule(static) num_threads(team(threads))
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
#pragma omp parallel for schedule(static) num_threads(team(threads))
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

// For every component of pixels with mask == value (breadth-first search),
// decide from its area and whether it touches the border, and set out to
// `fill` on the component when it applies.
static roto_status fill_components(const unsigned char *mask, unsigned char value, float *out, int w, int h,
                                   int connectivity, long long limit, int holes, float fill) {
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
        long long area = (long long)qt;
        int apply = holes ? (!border && (limit <= 0 || area <= limit)) : (area < limit);
        if (apply)
            for (size_t i = 0; i < qt; i++) out[queue[i]] = fill;
    }
    free(seen);
    free(queue);
    return ROTO_OK;
}

roto_status matte_components_host(const float *in, float *out, int w, int h, long long limit,
                                  int connectivity, int holes) {
    const char *op = holes ? "fill holes" : "remove islands";
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

roto_status matte_core_edge_host(const float *in, float *core, float *edge, int w, int h,
                                 float radius, int threads) {
    size_t n = (size_t)w * h;
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return roto_fail(ROTO_ERR_OOM, "core/edge: out of memory");
    roto_status st = matte_morph_host(in, tmp, w, h, radius, 1, threads);
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

// ---- the CPU backend's entries (arguments checked by engine/ops_matte.c) --------

// A checked matte tensor is f32 [H, W], contiguous, with at most 2^30 pixels.
#define MATTE_W(t) ((int)(t)->shape[1])
#define MATTE_H(t) ((int)(t)->shape[0])

roto_status cpu_matte_threshold(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float t) {
    (void)ctx;
    return matte_threshold_host(in->data, out->data, MATTE_W(in), MATTE_H(in), t);
}

roto_status cpu_matte_morph(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius, int erode) {
    return matte_morph_host(in->data, out->data, MATTE_W(in), MATTE_H(in), radius, erode, cpu_threads(ctx));
}

roto_status cpu_matte_feather(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, float radius) {
    return matte_feather_host(in->data, out->data, MATTE_W(in), MATTE_H(in), radius, cpu_threads(ctx));
}

roto_status cpu_matte_components(rt_ctx *ctx, rt_tensor *out, const rt_tensor *in, int64_t limit,
                                 int connectivity, int holes) {
    (void)ctx;
    return matte_components_host(in->data, out->data, MATTE_W(in), MATTE_H(in), (long long)limit,
                                 connectivity, holes);
}

roto_status cpu_matte_core_edge(rt_ctx *ctx, rt_tensor *core, rt_tensor *edge, const rt_tensor *in,
                                float radius) {
    return matte_core_edge_host(in->data, core->data, edge->data, MATTE_W(in), MATTE_H(in), radius,
                                cpu_threads(ctx));
}
