#!/usr/bin/env bash
# run_emu_tests.sh: build roto's CUDA backend against the host CUDA emulator
# (emu_build.sh) and run the GPU test suite (every tests/gpu/test_*.c program)
# on the CPU. Tests too large to emulate (ROTO_CUDA_EMU=1) are skipped.
#
# usage: kernels/cuda/emu/run_emu_tests.sh [test_name ...]
#   with names, only those tests run (e.g. test_attention_flash_head_dims)
#   (ROTO_GPU_TESTS does the same for the real GPU run)
set -euo pipefail
cd "$(dirname "$0")/../../.."
. kernels/cuda/emu/emu_build.sh

# Every GPU test program; the exit status says whether all passed.
rc=0
for t in tests/gpu/test_*.c; do
  name=$(basename "$t" .c)
  emu_link "$name" "$t"
  echo "running $B/emu/$name under the CUDA emulator"
  ROTO_CUDA_EMU=1 ROTO_GPU_TESTS="$(IFS=,; echo "${*:-}")" "$B/emu/$name" || rc=1
done
exit $rc
