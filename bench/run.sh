#!/usr/bin/env bash
# bench/run.sh: roto and the official SAM 2.1 code (sam2 1.1.0 on PyTorch) side by side,
# same checkpoint, input, frame counts, threads and timing rules, then one results file:
# bench/results/<date>-<machine>.json (every record + per-configuration medians and the
# ratios roto / official) and a markdown table next to it (bench/README.md explains it).
#
#   bench/run.sh --device cuda        on a GPU host: tiny and large; image encoder +
#                                     predict, tracking with 1 and 3 objects over the 200
#                                     bedroom frames (roto bf16 vs official eager bf16 and
#                                     vos_optimized), then roto alone against the client's
#                                     targets (a 4K frame, 100 frames of 1080p)
#   bench/run.sh --device cpu         here: tiny, 2 threads, segment and an 8-frame track,
#                                     3 repeats (roto fp32 vs official eager fp32)
#   bench/run.sh --bundle             on a build machine: roto with CUDA, its libraries,
#                                     the sam2 wheels and the footage into build/bench-cache
#                                     for a GPU host that cannot build or download
#
# Options (after --device): --variants "tiny large", --objects "1 3", --repeat R,
# --threads T, --parts segment,track,targets, --ref-modes "eager vos" (vos: CUDA only),
# --precision P (GPU runs of both sides; default bf16, the official benchmark's),
# --seg-frames N, --track-frames N, --out DIR (default bench/results), --no-ref, --pool
# (summarize every session of today on this machine: for runs split into several calls,
# e.g. under a 10-minute limit per command).
# Environment: ROTO (the roto binary), PYTHON (one with torch), FOOTAGE (a folder with
# bedroom/ and images/truck.jpg), CKPT_DIR (sam2.1_hiera_<variant>.pt files), CUDA_ARCHS.
#
# Checkpoints: CKPT_DIR, weights/, build/parity/ckpt/ (random weights, real sizes), else a
# random-weight one made with bench/ref/make_ckpt.py (timing does not depend on values).
# The reference needs `import sam2`: when it fails, the wheels of
# build/bench-cache/wheels (bench/ref/fetch_wheels.sh) are installed with --no-deps into
# build/bench-cache/pylib and put on PYTHONPATH (no network needed on the GPU host).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache=$root/build/bench-cache

device=cpu variants="" objects="" repeat="" threads="" parts="" ref_modes="" precision=""
seg_frames="" track_frames="" out=bench/results no_ref=0 bundle=0 pool=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift ;;
    --variants) variants=$2; shift ;;
    --objects) objects=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --threads) threads=$2; shift ;;
    --parts) parts=$2; shift ;;
    --ref-modes) ref_modes=$2; shift ;;
    --precision) precision=$2; shift ;;
    --seg-frames) seg_frames=$2; shift ;;
    --track-frames) track_frames=$2; shift ;;
    --out) out=$2; shift ;;
    --no-ref) no_ref=1 ;;
    --pool) pool=1 ;;
    --bundle) bundle=1 ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# ---- --bundle: everything a GPU host needs, built and fetched here ----------------------
if [ $bundle = 1 ]; then
  set -e
  make --no-print-directory BUILD=build-bench-cuda CUDA=1 ${CUDA_ARCHS:+CUDA_ARCHS="$CUDA_ARCHS"} \
    -j"$(nproc)" build-bench-cuda/roto
  rm -rf "$cache/bundle" && mkdir -p "$cache/bundle/lib"
  cp build-bench-cuda/roto "$cache/bundle/"
  # The non-CUDA libraries roto links (image codecs, jansson, OpenEXR, OpenMP); CUDA's come
  # from the GPU host (/usr/local/cuda or PyTorch's nvidia-* packages), libc from its OS.
  for lib in $(ldd build-bench-cuda/roto | awk '/=>/ {print $3}' | sort -u); do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread*|libdl.so*|librt.so*|ld-linux*|libgcc_s*|libstdc++*) ;;
      libcuda*|libcublas*|libcudnn*|libnvrtc*|libnvJitLink*) ;;
      *) cp -L "$lib" "$cache/bundle/lib/" ;;
    esac
  done
  git rev-parse --short=12 HEAD > "$cache/bundle/COMMIT" 2>/dev/null || true
  bench/ref/fetch_wheels.sh
  if [ -d /work/shared/footage/bedroom ]; then
    mkdir -p "$cache/footage/images"
    cp -r /work/shared/footage/bedroom "$cache/footage/"
    cp /work/shared/footage/images/truck.jpg "$cache/footage/images/"
  fi
  du -sh "$cache"/bundle "$cache"/wheels "$cache"/footage 2>/dev/null
  echo "bundle ready: carry build/bench-cache/{bundle,wheels,footage}; on the GPU host run"
  echo "bench/run.sh --device cuda"
  exit 0
fi

# ---- defaults per device ----------------------------------------------------------------
if [ "$device" = cuda ]; then
  variants=${variants:-"tiny large"} objects=${objects:-"1 3"} repeat=${repeat:-1}
  parts=${parts:-segment,track,targets} ref_modes=${ref_modes:-"eager vos"}
  precision=${precision:-bf16} seg_frames=${seg_frames:-20} track_frames=${track_frames:-200}
  seg_warmup=3 track_warmup=8 runs=3 warmup_runs=1 vos_warmup_runs=2
elif [ "$device" = cpu ]; then
  variants=${variants:-tiny} objects=${objects:-1} repeat=${repeat:-3} threads=${threads:-2}
  parts=${parts:-segment,track} ref_modes=${ref_modes:-eager}
  precision=fp32 seg_frames=${seg_frames:-3} track_frames=${track_frames:-8}
  seg_warmup=1 track_warmup=1 runs=1 warmup_runs=0 vos_warmup_runs=0
else
  echo "run.sh: --device cpu or cuda" >&2; exit 2
fi
has() { case ",$parts," in *",$1,"*) return 0 ;; esac; return 1; }

# ---- python (torch) and roto ------------------------------------------------------------
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  [ -x tools/refgen/.venv/bin/python ] && PYTHON=tools/refgen/.venv/bin/python
fi
if [ -z "${ROTO:-}" ]; then
  if [ "$device" = cuda ] && [ -x "$cache/bundle/roto" ]; then
    ROTO=$cache/bundle/roto
    pydir() { "$PYTHON" -c "import $1 as m; print(list(m.__path__)[0] + '/lib')" 2>/dev/null; }
    export LD_LIBRARY_PATH="$cache/bundle/lib:/usr/local/cuda/lib64:$(pydir nvidia.cudnn):$(pydir nvidia.cublas):$(pydir nvidia.cuda_runtime):${LD_LIBRARY_PATH:-}"
  elif [ "$device" = cuda ]; then
    make --no-print-directory BUILD=build-bench-cuda CUDA=1 -j"$(nproc)" build-bench-cuda/roto || exit 1
    ROTO=build-bench-cuda/roto
  else
    make --no-print-directory BUILD=build-bench CUDA=0 -j"$(nproc)" build-bench/roto || exit 1
    ROTO=build-bench/roto
  fi
fi
export ROTO_BENCH_COMMIT=${ROTO_BENCH_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || cat "$cache/bundle/COMMIT" 2>/dev/null)}
"$ROTO" version || { echo "run.sh: $ROTO does not run" >&2; exit 1; }

# ---- sam2 for the reference ----------------------------------------------------------------
if [ $no_ref = 0 ]; then
  if ! "$PYTHON" -c "import torch" 2>/dev/null; then
    echo "run.sh: $PYTHON has no torch: the reference runs are skipped" >&2; no_ref=1
  elif ! "$PYTHON" -c "import sam2" 2>/dev/null; then
    [ -n "$(ls "$cache"/wheels/sam2-*.whl 2>/dev/null)" ] || bench/ref/fetch_wheels.sh "$PYTHON" || true
    # By name from the wheel folder: pip picks the PyYAML wheel of this Python.
    "$PYTHON" -m pip install --quiet --no-deps --no-index --find-links "$cache/wheels" \
      --target "$cache/pylib" sam2 hydra-core omegaconf antlr4-python3-runtime iopath portalocker \
      tqdm PyYAML 2>&1 | tail -3
    export PYTHONPATH="$cache/pylib${PYTHONPATH:+:$PYTHONPATH}"
    "$PYTHON" -c "import sam2" || { echo "run.sh: cannot import sam2: reference runs skipped" >&2; no_ref=1; }
  fi
fi
[ "$device" = cuda ] || ref_modes=eager  # torch.compile runs are for the GPU

# ---- inputs ------------------------------------------------------------------------------
footage="" places=("${FOOTAGE:-}")
[ -n "${FOOTAGE:-}" ] || places=(/work/shared/footage "$cache/footage")  # FOOTAGE=none: synthetic
for d in "${places[@]}"; do
  [ -d "$d/bedroom" ] && [ -f "$d/images/truck.jpg" ] && { footage=$d; break; }
done
if [ -z "$footage" ]; then  # no footage: synthetic JPEGs both sides read
  footage=$cache/synth
  if [ ! -f "$footage/images/00000.jpg" ]; then
    "$PYTHON" bench/ref/make_frames.py "$footage/bedroom" 200 960x540 &&
    "$PYTHON" bench/ref/make_frames.py "$footage/images" 1 1800x1200 || exit 1
  fi
  image=$footage/images/00000.jpg
else
  image=$footage/images/truck.jpg
fi
frames=$footage/bedroom/%05d.jpg

ckpt_for() {  # the checkpoint of a variant, made when none exists
  local v=$1 c
  for c in "${CKPT_DIR:-/nonexistent}/sam2.1_hiera_$v.pt" "weights/sam2.1_hiera_$v.pt" \
           "build/parity/ckpt/sam2.1_hiera_$v.pt" "build/parity/sam2/$v/weights.pt" \
           "$cache/ckpt/sam2.1_hiera_$v.pt"; do
    [ -f "$c" ] && { echo "$c"; return 0; }
  done
  "$PYTHON" bench/ref/make_ckpt.py "$v" "$cache/ckpt/sam2.1_hiera_$v.pt" >&2 || return 1
  echo "$cache/ckpt/sam2.1_hiera_$v.pt"
}

# ---- where the records go ------------------------------------------------------------------
date=$(date -u +%Y-%m-%d)
if [ "$device" = cuda ]; then
  machine=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
  [ -n "$machine" ] || machine=$("$PYTHON" -c "import torch; print(torch.cuda.get_device_name())" 2>/dev/null)
else
  machine="cpu-$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')-${threads}t"
fi
slug=$(echo "${machine:-gpu}" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9]\+/-/g; s/^-//; s/-$//')
raw=$cache/runs/$date-$slug-$(date -u +%H%M%S)
mkdir -p "$raw" "$out"
echo "run.sh: $device, variants [$variants], records in $raw"

thr=()
[ -n "$threads" ] && thr=(--threads "$threads")
prec_roto=() prec_ref=()
[ "$device" = cuda ] && prec_roto=(--device cuda --precision "$precision") prec_ref=(--device cuda --precision "$precision")

run() {  # run NAME CMD...: one benchmark, its record to $raw/NAME.json, its log beside it
  local name=$1; shift
  echo "== $name"
  if "$@" --json "$raw/$name.json" > "$raw/$name.log" 2>&1; then
    grep -E '^  (load|first frame|frame) ' "$raw/$name.log" | sed 's/^/   /'
  else
    echo "   FAILED (rc $?): tail of $raw/$name.log:"; tail -n 5 "$raw/$name.log" | sed 's/^/   /'
  fi
}

for v in $variants; do
  ckpt=$(ckpt_for "$v") || { echo "run.sh: no checkpoint for $v" >&2; continue; }
  for rep in $(seq 1 "$repeat"); do
    if has segment; then
      run "segment-$v-roto-r$rep" "$ROTO" bench -m "$ckpt" -i "$image" --frames "$seg_frames" \
        --warmup "$seg_warmup" "${thr[@]}" "${prec_roto[@]}"
      if [ $no_ref = 0 ]; then
        for mode in $ref_modes; do
          extra=(); [ "$mode" = vos ] && extra=(--compile)
          run "segment-$v-ref-$mode-r$rep" "$PYTHON" bench/ref/ref_segment.py --ckpt "$ckpt" \
            -i "$image" --frames "$seg_frames" --warmup "$seg_warmup" "${thr[@]}" "${prec_ref[@]}" \
            "${extra[@]}"
        done
      fi
    fi
    if has track; then
      for k in $objects; do
        run "track-$v-${k}obj-roto-r$rep" "$ROTO" bench -m "$ckpt" --task track -i "$frames" \
          --frames "$track_frames" --warmup "$track_warmup" --objects "$k" --runs "$runs" \
          --warmup-runs "$warmup_runs" "${thr[@]}" "${prec_roto[@]}"
        if [ $no_ref = 0 ]; then
          for mode in $ref_modes; do
            extra=(--warmup-runs "$warmup_runs"); [ "$mode" = vos ] && extra=(--vos-optimized --warmup-runs "$vos_warmup_runs")
            run "track-$v-${k}obj-ref-$mode-r$rep" "$PYTHON" bench/ref/ref_track.py --ckpt "$ckpt" \
              -i "$frames" --frames "$track_frames" --warmup "$track_warmup" --objects "$k" \
              --runs "$runs" "${extra[@]}" "${thr[@]}" "${prec_ref[@]}"
          done
        fi
      done
    fi
  done
  # roto alone at the targets' sizes (synthetic frames): a 4K frame, 100 frames of 1080p.
  if has targets; then
    run "target-4k-segment-$v-roto" "$ROTO" bench -m "$ckpt" --size 3840x2160 --frames 10 \
      --warmup 2 "${thr[@]}" "${prec_roto[@]}"
    run "target-1080p-track-$v-roto" "$ROTO" bench -m "$ckpt" --task track --size 1920x1080 \
      --frames 100 --warmup 8 "${thr[@]}" "${prec_roto[@]}"
    run "target-4k-track-$v-roto" "$ROTO" bench -m "$ckpt" --task track --size 3840x2160 \
      --frames 24 --warmup 8 "${thr[@]}" "${prec_roto[@]}"
  fi
done

title="roto vs the official SAM 2.1 code (sam2 1.1.0): $device, $machine"
dirs=("$raw")
[ $pool = 1 ] && dirs=("$cache/runs/$date-$slug"-*)  # every session of today on this machine
python3 bench/ref/summarize.py "${dirs[@]}" --out "$out/$date-$slug" --title "$title" ||
  "$PYTHON" bench/ref/summarize.py "${dirs[@]}" --out "$out/$date-$slug" --title "$title"
