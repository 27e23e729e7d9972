#!/usr/bin/env bash
# run_emu_tests.sh: build roto's CUDA backend against the host CUDA emulator
# (cuda_emu.h, cuda_emu_rt.cpp) and run the GPU test suite (every
# tests/gpu/test_*.c program) on the CPU.
#
# Every kernels/cuda/*.cu file is compiled by g++ after a source rewrite of
# its launches (k<<<g, b, smem, s>>>(args) -> emu_kernel(k, g, b, smem, s)(args));
# the C files and the CPU backend are built as usual (CUDA=0 with
# ROTO_HAVE_CUDA defined). cuBLASLt and cuDNN are not emulated: GEMMs run
# through roto's fallback GEMM kernel and convolutions through its direct
# kernel. Tests too large to emulate (ROTO_CUDA_EMU=1) are skipped.
#
# usage: kernels/cuda/emu/run_emu_tests.sh [test_name ...]
#   with names, only those tests run (e.g. test_attention_flash_head_dims)
#   (ROTO_GPU_TESTS does the same for the real GPU run)
set -euo pipefail
cd "$(dirname "$0")/../../.."
B=${BUILD:-build-emu}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$B/emu"

make --no-print-directory BUILD="$B" CUDA=0 \
  EXTRA_CFLAGS="-DROTO_HAVE_CUDA=1 -I$CUDA_HOME/include" -j2 "$B/libroto.a" >/dev/null

CXXFLAGS="-std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
  -include kernels/cuda/emu/cuda_emu.h -I. -Iengine -Ikernels/cuda -I$CUDA_HOME/include \
  -DROTO_HAVE_CUDA=1"
CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter -fopenmp -I. -Iengine \
  -Itests -I$CUDA_HOME/include -DROTO_HAVE_CUDA=1"

objs=()
for cu in kernels/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  src="$B/emu/$name.cpp"
  python3 - "$cu" "$src" <<'PY'
import re, sys
src, dst = sys.argv[1], sys.argv[2]
out = ['#line 1 "%s"' % src]
for line in open(src).read().split('\n'):
    m = re.match(r'^(\s*)(.*?)<<<(.*?)>>>\((.*)$', line)
    if m:
        line = '%semu_kernel(%s, %s)(%s' % (m.group(1), m.group(2), m.group(3), m.group(4))
    out.append(line)
open(dst, 'w').write('\n'.join(out))
PY
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
# Every GPU test program (tests/gpu/test_*.c); the exit status says whether all passed.
rc=0
for t in tests/gpu/test_*.c; do
  name=$(basename "$t" .c)
  gcc $CFLAGS -o "$B/emu/$name" "$t" tests/util/*.c tests/ref/*.c \
    "${objs[@]}" "$B/emu/cuda_emu_rt.o" "$B/emu/cuda_backend.o" "$B/libroto.a" \
    -fopenmp -lpng16 -ljpeg -ltiff -lz -ljansson -lOpenEXRCore-3_1 -lm -lpthread -lstdc++ \
    -lcheck_pic -lsubunit -lrt -lm
  echo "running $B/emu/$name under the CUDA emulator"
  ROTO_CUDA_EMU=1 ROTO_GPU_TESTS="$(IFS=,; echo "${*:-}")" "$B/emu/$name" || rc=1
done
exit $rc
