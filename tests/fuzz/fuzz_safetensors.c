// fuzz_safetensors.c: libFuzzer target for the safetensors reader; the body, shared with
// the other weight formats, is in fuzz_weights_common.h.
//
// fuzz-sources: engine/weights.c engine/safetensors.c engine/ptzip.c engine/namemap.c engine/model_detect.c engine/status.c engine/tensor.c
// fuzz-libs: -ljansson -lm
// fuzz-seeds: tests/fixtures/ckpt/*.safetensors
#include "fuzz_weights_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_weights(data, size, "fuzz.safetensors", RT_WFMT_SAFETENSORS);
}
