# emu_build.sh: sourced (from the repository root) by run_emu_tests.sh and
# run_emu_parity.sh. Builds roto's CUDA backend for the host CUDA emulator
# (cuda_emu.h, cuda_emu_rt.cpp) into $B/emu and defines emu_link.
#
# Every kernels/cuda/*.cu file is compiled by g++ after a source rewrite of
# its launches (k<<<g, b, smem, s>>>(args) -> emu_kernel(k, g, b, smem, s)(args));
# the C files and the CPU backend are built as usual (CUDA=0 with
# ROTO_HAVE_CUDA defined). cuBLASLt and cuDNN are not emulated: GEMMs run
# through roto's fallback GEMM kernel and convolutions through its direct
# kernel.
B=${BUILD:-build-emu}
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
mkdir -p "$B/emu"

make --no-print-directory BUILD="$B" CUDA=0 \
  EXTRA_CFLAGS="-DROTO_HAVE_CUDA=1 -I$CUDA_HOME/include" -j2 "$B/libroto.a" >/dev/null

EMU_CXXFLAGS="-std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
  -include kernels/cuda/emu/cuda_emu.h -I. -Iengine -Ikernels/cuda -I$CUDA_HOME/include \
  -DROTO_HAVE_CUDA=1"
EMU_CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter -fopenmp -I. -Iengine \
  -Itests -I/usr/include/OpenEXR -I$CUDA_HOME/include -DROTO_HAVE_CUDA=1"

emu_objs=()
for cu in kernels/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  src="$B/emu/$name.cpp"
  sed -E 's/^([[:space:]]*)(.*)<<<(.*)>>>\((.*)$/\1emu_kernel(\2, \3)(\4/' "$cu" |
    { echo "#line 1 \"$cu\""; cat; } > "$src.new"
  if cmp -s "$src.new" "$src"; then rm "$src.new"; else mv "$src.new" "$src"; fi
  # Headers the kernels include (*.cuh) count too.
  if [ ! -f "$B/emu/$name.o" ] || [ "$src" -nt "$B/emu/$name.o" ] || \
     [ kernels/cuda/emu/cuda_emu.h -nt "$B/emu/$name.o" ] || \
     [ -n "$(find kernels/cuda -name '*.cuh' -newer "$B/emu/$name.o")" ]; then
    echo "g++ $cu (emulated)"
    g++ $EMU_CXXFLAGS -c "$src" -o "$B/emu/$name.o"
  fi
  emu_objs+=("$B/emu/$name.o")
done
g++ -std=c++17 -O2 -g -Wall -Wextra -Wno-unused-parameter -I. -I"$CUDA_HOME/include" \
  -c kernels/cuda/emu/cuda_emu_rt.cpp -o "$B/emu/cuda_emu_rt.o"
gcc $EMU_CFLAGS -c kernels/cuda/cuda_backend.c -o "$B/emu/cuda_backend.o"

# emu_link NAME SOURCE.c: the test program $B/emu/NAME on the emulated backend.
emu_link() {
  gcc $EMU_CFLAGS -o "$B/emu/$1" "$2" tests/util/*.c tests/ref/*.c \
    "${emu_objs[@]}" "$B/emu/cuda_emu_rt.o" "$B/emu/cuda_backend.o" "$B/libroto.a" \
    -fopenmp -lpng16 -ljpeg -ltiff -lz -ljansson -lOpenEXRCore-3_1 -lm -lpthread -lstdc++ \
    -lcheck_pic -lsubunit -lrt -lm
}
