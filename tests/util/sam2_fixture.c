// sam2_fixture.c: see sam2_fixture.h.
#include "sam2_fixture.h"

#include <stdio.h>
#include <string.h>

void sam2_fixture_ints(json_t *a, int *dst, int max, int *n) {
    int k = 0;
    for (size_t i = 0; i < json_array_size(a) && k < max; i++)
        dst[k++] = (int)json_integer_value(json_array_get(a, i));
    if (n) *n = k;
}

void sam2_fixture_config(json_t *c, sam2_config *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", json_string_value(json_object_get(c, "name")));
    g->image_size = (int)json_integer_value(json_object_get(c, "image_size"));
    g->embed_dim = (int)json_integer_value(json_object_get(c, "embed_dim"));
    g->num_heads = (int)json_integer_value(json_object_get(c, "num_heads"));
    g->d_model = (int)json_integer_value(json_object_get(c, "d_model"));
    sam2_fixture_ints(json_object_get(c, "stages"), g->stages, 4, NULL);
    sam2_fixture_ints(json_object_get(c, "window_spec"), g->window_spec, 4, NULL);
    sam2_fixture_ints(json_object_get(c, "global_att_blocks"), g->global_blocks, SAM2_MAX_GLOBAL, &g->n_global);
    sam2_fixture_ints(json_object_get(c, "window_pos_embed_bkg_spatial_size"), g->pos_bkg, 2, NULL);
}

double sam2_fixture_mask_iou(const uint8_t *a, const uint8_t *b, size_t n) {
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        inter += a[i] && b[i];
        uni += a[i] || b[i];
    }
    return uni ? (double)inter / (double)uni : 1.0;
}
