// cmd_convert.c: `roto convert IN -o OUT.safetensors [--dtype f32|f16|bf16]`:
// rewrite a checkpoint (official .pt, safetensors with official or Hugging
// Face names) as roto's canonical file: official names, one float dtype,
// aligned data, provenance metadata (roto_convert in roto.h does the work).
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "engine/ctx.h"
#include "io/atomic.h"
#include "roto.h"
#include "tools/commands.h"

static void convert_usage(FILE *f) {
    fprintf(f,
            "usage: roto convert IN -o OUT.safetensors [--dtype f32|f16|bf16] [--config FILE.json]\n"
            "\n"
            "Rewrite a SAM 2 / 2.1 checkpoint (official .pt, or safetensors with official or\n"
            "Hugging Face names) as roto's canonical safetensors file: official tensor names,\n"
            "float tensors in one dtype, 64-byte aligned data and __metadata__ recording the\n"
            "format, family, variant, source file and roto version. Written atomically.\n"
            "\n"
            "  -o, --output OUT      the .safetensors file to write (parent directories are made)\n"
            "  --dtype T             f32 (default: exact, fastest to load), f16 or bf16 (half size)\n"
            "  --config FILE.json    architecture of a checkpoint that is not a released size;\n"
            "                        stored in the file so that loading it needs no --config\n");
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "roto convert: %s%s\nRun 'roto convert --help' for the options.\n", msg,
            arg ? arg : "");
    return 2;
}

int cmd_convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *config = NULL;
    roto_convert_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            convert_usage(stdout);
            return 0;
        } else if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
            if (!val) return usage_error("-o needs a file name", NULL);
            if (out) return usage_error("-o given twice", NULL);
            out = val, i++;
        } else if (!strcmp(arg, "--config")) {
            if (!val) return usage_error("--config needs a file name", NULL);
            config = val, i++;
        } else if (!strcmp(arg, "--dtype")) {
            if (!val) return usage_error("--dtype needs f32, f16 or bf16", NULL);
            if (!strcmp(val, "f32") || !strcmp(val, "fp32"))
                o.dtype = ROTO_DTYPE_F32;
            else if (!strcmp(val, "f16") || !strcmp(val, "fp16"))
                o.dtype = ROTO_DTYPE_F16;
            else if (!strcmp(val, "bf16"))
                o.dtype = ROTO_DTYPE_BF16;
            else
                return usage_error("--dtype: expected f32, f16 or bf16, not ", val);
            i++;
        } else if (arg[0] == '-' && arg[1]) {
            return usage_error("unknown option ", arg);
        } else if (!in) {
            in = arg;
        } else {
            return usage_error("one input file only; extra argument ", arg);
        }
    }
    if (!in) return usage_error("no input checkpoint", NULL);
    if (!out) return usage_error("no output (-o OUT.safetensors)", NULL);
    size_t n = strlen(out);
    if (n < 12 || strcmp(out + n - 12, ".safetensors"))
        return usage_error("the output is a safetensors file: name it *.safetensors, not ", out);

    // The output directory first: a bad path fails before reading gigabytes.
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    const char *parent = dirname(dir);  // may point into dir or at a static "."
    if (roto_mkdir_p(parent) != ROTO_OK || roto_check_writable_dir(parent) != ROTO_OK) {
        fprintf(stderr, "roto convert: cannot write %s: %s\n", out, roto_last_error());
        return 1;
    }
    o.config = config;
    roto_convert_stats st;
    double t0 = rt_now_seconds();
    if (roto_convert(in, out, &o, &st) != ROTO_OK) {
        fprintf(stderr, "roto convert: %s\n", roto_last_error());
        return 1;
    }
    static const char *names[3] = {"f32", "f16", "bf16"};
    printf("wrote %s: %s %s, %d tensors, %.1f MB %s, in %.2f s\n", out, st.family, st.variant,
           st.n_tensors, (double)st.data_bytes / 1e6, names[o.dtype], rt_now_seconds() - t0);
    return 0;
}
