// fuzz_weights_common.h: the body shared by the weight-file fuzz targets
// (fuzz_ptzip.c, fuzz_safetensors.c), each of which includes it and calls
// fuzz_weights() with its format. Any input must give ROTO_OK or an error
// status; when it opens, every tensor's byte range is read (ASan checks it lies
// inside the input), f32 conversion runs, and model detection and the SAM 2
// name map run over the names. Not a target itself: run_fuzz.sh builds only
// tests/fuzz/fuzz_*.c.
#ifndef ROTO_FUZZ_WEIGHTS_COMMON_H
#define ROTO_FUZZ_WEIGHTS_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "engine/model_detect.h"
#include "engine/namemap.h"
#include "engine/weights.h"

static void exercise(rt_weights *w) {
    rt_model_info info;
    rt_model_detect(w, &info);
    rt_namemap_attach(w, RT_NAMES_SAM2, NULL);
    for (int i = 0; i < w->n_tensors + w->n_aliases; i++) {
        const rt_wtensor *t = &w->tensors[i];
        const volatile uint8_t *p = t->data;
        uint8_t x = 0;
        for (uint64_t k = 0; k < t->nbytes; k++) x ^= p[k];
        (void)x;
        if (rt_wdtype_supported(t->dtype) && t->numel <= (1 << 16)) {
            float *buf = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *buf);
            if (buf) rt_weights_read_f32(w, t, buf, t->numel);
            free(buf);
        }
    }
}

// name: the file name the reader is given.
static int fuzz_weights(const uint8_t *data, size_t size, const char *name, rt_wformat fmt) {
    rt_weights w;
    if (rt_weights_open_buffer_as(&w, name, data, size, fmt) == ROTO_OK) {
        exercise(&w);
        rt_weights_close(&w);
    }
    return 0;
}

#endif
