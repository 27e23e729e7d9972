// fuzz_ptzip.c: libFuzzer target for the PyTorch zip reader and pickle VM; the body, shared with
// the other weight formats, is in fuzz_weights_common.h.
//
// fuzz-sources: engine/weights.c engine/safetensors.c engine/ptzip.c engine/namemap.c engine/model_detect.c engine/status.c engine/tensor.c
// fuzz-libs: -ljansson -lm
// fuzz-seeds: tests/fixtures/ckpt/*.pt
// fuzz-dict: tests/fuzz/fuzz_ptzip.dict
#include "fuzz_weights_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_weights(data, size, "fuzz.pt", RT_WFMT_PYTORCH_ZIP);
}
