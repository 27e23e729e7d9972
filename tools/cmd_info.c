// cmd_info.c: `roto info FILE`: what a checkpoint holds: format, tensor and
// parameter counts, dtypes, the detected model and the file's metadata;
// `--tensors` lists every tensor.
#include <stdio.h>
#include <string.h>

#include "engine/model_detect.h"
#include "engine/namemap.h"
#include "engine/weights.h"
#include "tools/commands.h"

static void info_usage(FILE *f) {
    fprintf(f,
            "usage: roto info [--tensors] FILE\n"
            "\n"
            "Print a checkpoint's format (safetensors or PyTorch zip), tensor and parameter\n"
            "counts, dtypes, detected model family/variant and metadata.\n"
            "\n"
            "  --tensors   also list every tensor: name, dtype, shape\n");
}

// 38962384 -> "38,962,384"
static const char *group_digits(long long v, char *buf, size_t n) {
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", v);
    size_t k = 0;
    for (int i = 0; i < len && k + 2 < n; i++) {
        if (i && raw[i - 1] != '-' && (len - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = '\0';
    return buf;
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tensors")) {
            list = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            info_usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "roto info: unknown option '%s'\n", argv[i]);
            info_usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "roto info: one FILE only\n");
            return 2;
        }
    }
    if (!path) {
        info_usage(stderr);
        return 2;
    }

    rt_weights w;
    if (rt_weights_open(&w, path) != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        return 1;
    }
    rt_model_info model;
    rt_model_detect(&w, &model);
    int n_alias = 0;
    if (model.family == RT_FAMILY_SAM2 && model.naming == RT_NAMING_HF &&
        rt_namemap_attach(&w, RT_NAMES_SAM2, &n_alias) != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        rt_weights_close(&w);
        return 1;
    }

    char num[48];
    long long params = (long long)rt_weights_param_count(&w);
    printf("file:       %s\n", path);
    printf("format:     %s\n", rt_wformat_name(w.format));
    printf("tensors:    %d\n", w.n_tensors);
    printf("parameters: %s (%.2f M)\n", group_digits(params, num, sizeof num), params / 1e6);
    printf("dtypes:    ");
    int count[RT_WDT_COUNT] = {0};
    for (int i = 0; i < w.n_tensors; i++) count[w.tensors[i].dtype]++;
    const char *sep = " ";
    for (int t = 0; t < RT_WDT_COUNT; t++)
        if (count[t]) {
            printf("%s%s %d%s", sep, rt_wdtype_name((rt_wdtype)t), count[t],
                   rt_wdtype_supported((rt_wdtype)t) ? "" : " (not loadable)");
            sep = ", ";
        }
    printf("\n");
    printf("model:      %s\n", model.description);
    if (n_alias) printf("aliases:    %d official names mapped onto this file\n", n_alias);
    if (w.n_meta) {
        printf("metadata:\n");
        for (int i = 0; i < w.n_meta; i++) printf("  %s: %s\n", w.meta[i].key, w.meta[i].value);
    }
    if (list) {
        printf("tensors:\n");
        for (int i = 0; i < w.n_tensors; i++) {
            char shape[128];
            printf("  %s  %s  %s\n", w.tensors[i].name, rt_wdtype_name(w.tensors[i].dtype),
                   rt_wtensor_shape_str(&w.tensors[i], shape, sizeof shape));
        }
    }
    rt_weights_close(&w);
    return 0;
}
