#!/usr/bin/env bash
# gpu_bundle.sh: build the GPU test suite and the GPU kernel benchmark here and
# put them into build-gpu-bundle/ with a run script, for a GPU machine that cannot
# build roto itself (no -dev packages, no network). The bundle holds only the
# binaries and the small non-CUDA libraries they need (libsubunit); the CUDA
# libraries come from the GPU machine (/usr/local/cuda/lib64, or PyTorch's pip
# packages nvidia-cudnn-*/nvidia-cublas-*, found by run.sh).
#
# usage (here):      bench/kernels/gpu_bundle.sh   [CUDA_ARCHS=90: faster build, a third of the size
#                    (all three archs: 58 MiB stripped; the device tool carries 64 MiB)]
# then on the GPU:   build-gpu-bundle/run.sh [test|sanitize|bench|all]   (from the repo root)
# build-gpu-bundle/ is git-ignored (build-*/); name it in the device tool's
# `carry` list to take it to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build-cuda}
make --no-print-directory BUILD="$B" ${CUDA_ARCHS:+CUDA_ARCHS="$CUDA_ARCHS"} -j2 \
  "$B/tests/gpu/test_cuda_ops" "$B/tests/gpu/test_cuda_matte" "$B/bench/kernels/gpu_bench" \
  "$B/bench/kernels/matte_bench"
rm -rf build-gpu-bundle
mkdir -p build-gpu-bundle/lib
cp "$B/tests/gpu/test_cuda_ops" "$B/tests/gpu/test_cuda_matte" "$B/bench/kernels/gpu_bench" \
  "$B/bench/kernels/matte_bench" build-gpu-bundle/
# Debug info is most of each binary; the device tool carries 64 MiB at most.
strip --strip-debug build-gpu-bundle/test_cuda_* build-gpu-bundle/*_bench
for lib in $(ldd build-gpu-bundle/test_cuda_ops build-gpu-bundle/gpu_bench build-gpu-bundle/matte_bench | awk '/=>/ {print $3}' | sort -u); do
  case "$(basename "$lib")" in
    libsubunit*|libcheck*) cp -L "$lib" build-gpu-bundle/lib/ ;;
  esac
done
cat > build-gpu-bundle/run.sh <<'RUN'
#!/usr/bin/env bash
# run.sh [test|sanitize|bench|all]: run roto's GPU suite / sanitizer / benchmark
# from the repository root on a GPU machine. Writes the benchmark JSON to
# ${OUT:-bench/results}; logs to ${OUT:-.} when OUT is set.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
what=${1:-all}
pydir() { python3 -c "import $1 as m; print(list(m.__path__)[0] + '/lib')" 2>/dev/null; }
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:$(pydir nvidia.cudnn):$(pydir nvidia.cublas):$(pydir nvidia.cuda_runtime):${LD_LIBRARY_PATH:-}"
if ldd "$here/test_cuda_ops" | grep -q "not found"; then
  echo "missing shared libraries:"; ldd "$here/test_cuda_ops" | grep "not found"; exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
log=${OUT:-.}
rc=0
if [ "$what" = test ] || [ "$what" = all ]; then
  for t in test_cuda_ops test_cuda_matte; do
    "$here/$t" 2>&1 | tee "$log/$t.log"; rc=$((rc | PIPESTATUS[0]))
  done
fi
if [ "$what" = sanitize ] || [ "$what" = all ]; then
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  ROTO_GPU_SMALL=1 "$cs" --tool memcheck --error-exitcode 1 "$here/test_cuda_ops" 2>&1 \
    | tee "$log/memcheck.log" | tail -n 40; rc=$((rc | PIPESTATUS[0]))
  ROTO_GPU_SMALL=1 "$cs" --tool memcheck --error-exitcode 1 "$here/test_cuda_matte" 2>&1 \
    | tee "$log/memcheck_matte.log" | tail -n 40; rc=$((rc | PIPESTATUS[0]))
  ROTO_GPU_SMALL=1 ROTO_GPU_TESTS=${RACECHECK_TESTS:-test_attention_flash_head_dims,test_softmax,test_layernorm,test_connected_components,test_gemm_fallback_kernel} \
    "$cs" --tool racecheck --error-exitcode 1 "$here/test_cuda_ops" 2>&1 \
    | tee "$log/racecheck.log" | tail -n 40; rc=$((rc | PIPESTATUS[0]))
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  mkdir -p "${OUT:-bench/results}"
  "$here/gpu_bench" --out "${OUT:-bench/results}" 2>&1 | tee "$log/gpu_bench.log"
  rc=$((rc | PIPESTATUS[0]))
  "$here/matte_bench" --out "${OUT:-bench/results}" 2>&1 | tee "$log/matte_bench.log"
  rc=$((rc | PIPESTATUS[0]))
  python3 bench/kernels/torch_sdpa.py --out "${OUT:-bench/results}" 2>&1 | tail -n 3 || true
fi
exit $rc
RUN
chmod +x build-gpu-bundle/run.sh
du -sh build-gpu-bundle
echo "bundle ready: carry build-gpu-bundle; on the GPU machine run build-gpu-bundle/run.sh"
