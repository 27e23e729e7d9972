// ref_matte.c: slow references for the matte operations and random mattes
// (see ref_matte.h). Everything is plain loops in double precision.
#include "ref_matte.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// xorshift64*, private so the mattes do not depend on the tests' generator.
static uint64_t next_u64(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

static int next_int(uint64_t *s, int lo, int hi) {
    return lo + (int)(next_unit(s) * (double)(hi - lo + 1));
}

// Set the pixels of the disc (cx, cy, r) to v.
static void disc(float *m, int w, int h, double cx, double cy, double r, float v) {
    int y0 = (int)floor(cy - r), y1 = (int)ceil(cy + r), x0 = (int)floor(cx - r), x1 = (int)ceil(cx + r);
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) m[(size_t)y * w + x] = v;
}

void ref_matte_random(float *m, int w, int h, uint64_t seed, int mode) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 0x1234567ull;
    if (!s) s = 1;
    size_t n = (size_t)w * h;
    float bg = mode == 1 ? 1.0f : 0.0f, fg = 1.0f - bg;
    if (mode == 2) {
        for (size_t i = 0; i < n; i++) m[i] = next_unit(&s) < 0.45 ? 1.0f : 0.0f;
    } else {
        for (size_t i = 0; i < n; i++) m[i] = bg;
        int small = w < h ? w : h;
        double rmax = small / 3.0 > 200 ? 200 : (small / 3.0 < 1.5 ? 1.5 : small / 3.0);
        int blobs = 3 + (int)(n / 20000 > 60 ? 60 : n / 20000);
        for (int b = 0; b < blobs; b++) {
            double cx = next_unit(&s) * w, cy = next_unit(&s) * h, r = 0.5 + next_unit(&s) * rmax;
            disc(m, w, h, cx, cy, r, fg);
            // Holes inside the blob: a few smaller discs of the other value.
            int holes = next_int(&s, 0, 4);
            for (int k = 0; k < holes; k++) {
                double hx = cx + (next_unit(&s) - 0.5) * r, hy = cy + (next_unit(&s) - 0.5) * r;
                disc(m, w, h, hx, hy, 0.5 + next_unit(&s) * r / 3.0, bg);
            }
        }
    }
    // Salt and pepper, and soft pixels (some right at the threshold).
    for (size_t i = 0; i < n; i++) {
        double u = next_unit(&s);
        if (u < 0.01) m[i] = 1.0f;
        else if (u < 0.02) m[i] = 0.0f;
        else if (u < 0.05) m[i] = (float)next_unit(&s);
        else if (u < 0.055) m[i] = 0.5f;
        else if (u < 0.06) m[i] = nextafterf(0.5f, 0.0f);
    }
}

void ref_matte_morph(const float *in, double *out, int w, int h, float radius, int erode) {
    double r2 = (double)radius * radius;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            // Sources: foreground for dilate, background for erode.
            double best = INFINITY;
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                    int fg = in[(size_t)yy * w + xx] >= 0.5f;
                    if (fg == !erode) {
                        double d = (double)(x - xx) * (x - xx) + (double)(y - yy) * (y - yy);
                        if (d < best) best = d;
                    }
                }
            int near = best <= r2;
            out[(size_t)y * w + x] = erode ? !near : near;
        }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

void ref_matte_feather(const float *in, double *out, int w, int h, float radius) {
    size_t n = (size_t)w * h;
    if (radius < 1e-3f) {
        for (size_t i = 0; i < n; i++) out[i] = in[i];
        return;
    }
    int half = (int)ceil((double)radius);
    double sigma = radius / 3.0, *g = malloc((size_t)(2 * half + 1) * sizeof *g), sum = 0;
    for (int i = -half; i <= half; i++) sum += g[i + half] = exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * half; i++) g[i] /= sum;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double acc = 0;
            for (int i = -half; i <= half; i++)
                for (int j = -half; j <= half; j++)
                    acc += g[i + half] * g[j + half] * in[(size_t)clampi(y + i, 0, h - 1) * w + clampi(x + j, 0, w - 1)];
            out[(size_t)y * w + x] = acc;
        }
    free(g);
}

int ref_matte_components(const float *in, double *out, int w, int h, long long limit, int connectivity,
                         int holes) {
    size_t n = (size_t)w * h;
    long long *label = malloc(n * sizeof *label), *area = calloc(n + 1, sizeof *area);
    unsigned char *border = calloc(n + 1, 1);
    if (!label || !area || !border) {
        free(label), free(area), free(border);
        return -1;
    }
    // Pixels of the class the op works on get label i + 1, others 0.
    int value = holes ? 0 : 1;
    for (size_t i = 0; i < n; i++) label[i] = (in[i] >= 0.5f) == value ? (long long)i + 1 : 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t p = (size_t)y * w + x;
                if (!label[p]) continue;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        if ((!dx && !dy) || (connectivity == 4 && dx && dy)) continue;
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                        long long l = label[(size_t)yy * w + xx];
                        if (l && l < label[p]) label[p] = l, changed = 1;
                    }
            }
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            long long l = label[(size_t)y * w + x];
            if (!l) continue;
            area[l]++;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1) border[l] = 1;
        }
    for (size_t i = 0; i < n; i++) {
        long long l = label[i];
        int apply = l && (holes ? (!border[l] && (limit <= 0 || area[l] <= limit)) : area[l] < limit);
        out[i] = apply ? (holes ? 1.0 : 0.0) : in[i];
    }
    free(label), free(area), free(border);
    return 0;
}
