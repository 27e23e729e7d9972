// ref_ccl.c: breadth-first flood-fill reference for 8-connected labelling.
// Scanning in raster order and flooding each new seed numbers components by
// their first pixel, the order the op promises.
#include "ref_ccl.h"

#include <stdlib.h>
#include <string.h>

int ref_ccl(int32_t *labels, int32_t *areas, const uint8_t *mask, int64_t H, int64_t W,
            int64_t ms) {
    const int64_t n = H * W;
    memset(labels, 0, sizeof(int32_t) * (size_t)n);
    if (areas) memset(areas, 0, sizeof(int32_t) * (size_t)n);
    int64_t *queue = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!queue) return -1;
    int count = 0;
    for (int64_t s = 0; s < n; s++) {
        if (!mask[(s / W) * ms + s % W] || labels[s]) continue;
        count++;
        int64_t head = 0, tail = 0;
        queue[tail++] = s;
        labels[s] = count;
        while (head < tail) {
            const int64_t p = queue[head++], y = p / W, x = p % W;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    const int64_t ny = y + dy, nx = x + dx;
                    if (ny < 0 || ny >= H || nx < 0 || nx >= W) continue;
                    const int64_t np = ny * W + nx;
                    if (!mask[ny * ms + nx] || labels[np]) continue;
                    labels[np] = count;
                    queue[tail++] = np;
                }
        }
        if (areas)
            for (int64_t i = 0; i < tail; i++) areas[queue[i]] = (int32_t)tail;
    }
    free(queue);
    return count;
}
