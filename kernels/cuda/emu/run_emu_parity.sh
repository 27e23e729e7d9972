#!/usr/bin/env bash
# run_emu_parity.sh: the SAM 2.1 parity tests (tests/test_sam2_image.c,
# tests/test_sam2_video.c) on roto's CUDA backend under the host CUDA emulator,
# on the committed small-config fixtures, at each precision given.
#
# The build is the one of run_emu_tests.sh (the .cu files rewritten and compiled
# by g++ against cuda_emu.h; libroto.a with ROTO_HAVE_CUDA); the objects are
# shared with it when BUILD is the same. cuBLASLt and cuDNN are not emulated, so
# GEMMs and convolutions run roto's fallback kernels: this checks roto's own
# kernels and the wiring (device tensors, precisions), not cuBLAS numerics.
#
# usage: kernels/cuda/emu/run_emu_parity.sh [precision ...]   (default: fp32 bf16)
#   SAM2_EMU_TESTS="test_sam2_image test_sam2_video" picks the programs. The video
#   program runs its "video" case only (the replay, the errors): the 60-frame memory
#   test encodes 120 frames, too slow here; SAM2_EMU_VIDEO_CASE= (empty) runs it too.
set -euo pipefail
cd "$(dirname "$0")/../../.."
B=${BUILD:-build-emu}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
PRECISIONS=${*:-fp32 bf16}
TESTS=${SAM2_EMU_TESTS:-test_sam2_image test_sam2_video}
mkdir -p "$B/emu"

make --no-print-directory BUILD="$B" CUDA=0 \
  EXTRA_CFLAGS="-DROTO_HAVE_CUDA=1 -I$CUDA_HOME/include" -j2 "$B/libroto.a" >/dev/null

CXXFLAGS="-std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
  -include kernels/cuda/emu/cuda_emu.h -I. -Iengine -Ikernels/cuda -I$CUDA_HOME/include \
  -DROTO_HAVE_CUDA=1"
CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter -fopenmp -I. -Iengine \
  -Itests -I/usr/include/OpenEXR -I$CUDA_HOME/include -DROTO_HAVE_CUDA=1"

# The kernels: launches k<<<g, b, smem, s>>>(args) -> emu_kernel(k, g, b, smem, s)(args).
objs=()
for cu in kernels/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  src="$B/emu/$name.cpp"
  sed -E 's/^([[:space:]]*)(.*)<<<(.*)>>>\((.*)$/\1emu_kernel(\2, \3)(\4/' "$cu" |
    { echo "#line 1 \"$cu\""; cat; } > "$src.new"
  if cmp -s "$src.new" "$src"; then rm "$src.new"; else mv "$src.new" "$src"; fi
  if [ ! -f "$B/emu/$name.o" ] || [ "$src" -nt "$B/emu/$name.o" ] || \
     [ kernels/cuda/emu/cuda_emu.h -nt "$B/emu/$name.o" ]; then
    echo "g++ $cu (emulated)"
    g++ $CXXFLAGS -c "$src" -o "$B/emu/$name.o"
  fi
  objs+=("$B/emu/$name.o")
done
g++ -std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -I. -I"$CUDA_HOME/include" \
  -c kernels/cuda/emu/cuda_emu_rt.cpp -o "$B/emu/cuda_emu_rt.o"
gcc $CFLAGS -c kernels/cuda/cuda_backend.c -o "$B/emu/cuda_backend.o"

rc=0
for name in $TESTS; do
  gcc $CFLAGS -o "$B/emu/$name" "tests/$name.c" tests/util/*.c tests/ref/*.c \
    "${objs[@]}" "$B/emu/cuda_emu_rt.o" "$B/emu/cuda_backend.o" "$B/libroto.a" \
    -fopenmp -lpng16 -ljpeg -ltiff -lz -ljansson -lOpenEXRCore-3_1 -lm -lpthread -lstdc++ \
    -lcheck_pic -lsubunit -lrt -lm
  for p in $PRECISIONS; do
    echo "== $name on cuda $p under the CUDA emulator"
    case_=""
    [ "$name" = test_sam2_video ] && case_=${SAM2_EMU_VIDEO_CASE-video}
    env ${case_:+CK_RUN_CASE=$case_} ROTO_CUDA_EMU=1 SAM2_PARITY_DEVICE=cuda SAM2_PARITY_PRECISION=$p \
      "$B/emu/$name" || rc=1
  done
done
exit $rc
