#!/usr/bin/env bash
# run_fuzz.sh SECONDS TARGET.c...: build each libFuzzer target with clang
# (-fsanitize=fuzzer,address,undefined) and run it for SECONDS on a seed corpus.
# Exits non-zero if a target fails to build or the fuzzer finds anything
# (crash, sanitizer report, leak, timeout, out-of-memory); the input that did it
# is kept under build-fuzz/artifacts/.
#
# Each target says what it needs in header comment lines:
#   // fuzz-sources: engine/weights.c engine/status.c ...   (required; library files it links)
#   // fuzz-libs: -ljansson -lm                              (optional)
#   // fuzz-seeds: tests/fixtures/ckpt/*.pt                  (optional globs; seed corpus)
#   // fuzz-dict: tests/fuzz/fuzz_ptzip.dict                 (optional libFuzzer dictionary)
# Environment: FUZZ_BUILD (default build-fuzz), FUZZ_CC (default clang),
# FUZZ_RUNS (if set, -runs=N instead of a time limit).
set -u
if [ $# -lt 2 ]; then
  echo "usage: $0 SECONDS TARGET.c..." >&2
  exit 2
fi
secs=$1; shift
out=${FUZZ_BUILD:-build-fuzz}
cc=${FUZZ_CC:-clang}
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -I. -Iengine -fno-omit-frame-pointer
       "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined)
mkdir -p "$out/artifacts"

# The value of a "// fuzz-KEY:" line of a target.
field() { sed -n "s|^// fuzz-$2: *||p" "$1" | head -n 1; }

failed=()
for src in "$@"; do
  name=$(basename "$src" .c)
  echo "== $name"
  sources=$(field "$src" sources)
  if [ -z "$sources" ]; then
    echo "run_fuzz: $src has no '// fuzz-sources:' line" >&2
    failed+=("$name (no fuzz-sources)"); continue
  fi
  # shellcheck disable=SC2086,SC2046  # word splitting of the source and library lists is intended
  if ! "$cc" "${flags[@]}" -o "$out/$name" "$src" $sources $(field "$src" libs); then
    failed+=("$name (build)"); continue
  fi
  corpus="$out/corpus/$name"
  mkdir -p "$corpus"
  seeds=$(field "$src" seeds)
  for pattern in $seeds; do
    for f in $pattern; do [ -f "$f" ] && cp -f "$f" "$corpus/"; done
  done
  args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        "-artifact_prefix=$out/artifacts/$name-")
  if [ -n "${FUZZ_RUNS:-}" ]; then args+=("-runs=$FUZZ_RUNS"); else args+=("-max_total_time=$secs"); fi
  dict=$(field "$src" dict)
  [ -n "$dict" ] && args+=("-dict=$dict")
  if ! "$out/$name" "${args[@]}" "$corpus"; then
    failed+=("$name (finding: see $out/artifacts/)")
  fi
done

echo
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FUZZ FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "fuzz: $# target(s) ran ${secs}s each with no finding"
