#!/usr/bin/env bash
# run_emu_parity.sh: the SAM 2.1 parity tests (tests/test_sam2_image.c,
# tests/test_sam2_video.c) on roto's CUDA backend under the host CUDA emulator,
# on the committed small-config fixtures, at each precision given.
#
# The build is emu_build.sh's, shared with run_emu_tests.sh (same objects when
# BUILD is the same). cuBLASLt and cuDNN are not emulated, so
# GEMMs and convolutions run roto's fallback kernels: this checks roto's own
# kernels and the wiring (device tensors, precisions), not cuBLAS numerics.
#
# usage: kernels/cuda/emu/run_emu_parity.sh [precision ...]   (default: fp32 bf16)
#   SAM2_EMU_TESTS="test_sam2_image test_sam2_video" picks the programs. The video
#   program runs its "video" case only (the replay, the errors): the 60-frame memory
#   test encodes 120 frames, too slow here; SAM2_EMU_VIDEO_CASE= (empty) runs it too.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PRECISIONS=${*:-fp32 bf16}
TESTS=${SAM2_EMU_TESTS:-test_sam2_image test_sam2_video}
. kernels/cuda/emu/emu_build.sh

rc=0
for name in $TESTS; do
  emu_link "$name" "tests/$name.c"
  for p in $PRECISIONS; do
    echo "== $name on cuda $p under the CUDA emulator"
    case_=""
    [ "$name" = test_sam2_video ] && case_=${SAM2_EMU_VIDEO_CASE-video}
    env ${case_:+CK_RUN_CASE=$case_} ROTO_CUDA_EMU=1 SAM2_PARITY_DEVICE=cuda SAM2_PARITY_PRECISION=$p \
      "$B/emu/$name" || rc=1
  done
done
exit $rc
