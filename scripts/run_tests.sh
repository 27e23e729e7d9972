#!/usr/bin/env bash
# run_tests.sh DIR BIN...: run each Check test program, print its output and a
# final "N passed, N failed" line summed over all programs. A program that
# crashes or exits non-zero without a Check summary counts as one failure.
# Programs that skip (no GPU) print "SKIP:" lines and are listed as skipped.
set -u
shift  # DIR (kept for symmetry with the Makefile call)
passed=0; failed=0; skipped=0; bad=()
for bin in "$@"; do
  [ -x "$bin" ] || { echo "run_tests: $bin missing"; failed=$((failed+1)); bad+=("$bin"); continue; }
  echo "== $(basename "$bin")"
  out=$("$bin" 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -n 1)
  s=$(printf '%s\n' "$out" | grep -c '^SKIP:' || true)
  skipped=$((skipped + s))
  if [ -n "$line" ]; then
    n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + n - f - e)); failed=$((failed + f + e))
    [ $((f + e)) -gt 0 ] && bad+=("$bin")
    if [ $rc -ne 0 ] && [ $((f + e)) -eq 0 ]; then failed=$((failed+1)); bad+=("$bin (exit $rc)"); fi
  elif [ $rc -ne 0 ]; then
    failed=$((failed+1)); bad+=("$bin (exit $rc, no summary)")
  fi
done
echo
[ ${#bad[@]} -gt 0 ] && printf 'FAILED: %s\n' "${bad[@]}"
[ $skipped -gt 0 ] && echo "($skipped test groups skipped: see SKIP lines above)"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
