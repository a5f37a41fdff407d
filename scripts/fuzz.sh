#!/usr/bin/env bash
# Fuzz every parser that reads the network or a file with clang's libFuzzer (+ASan/UBSan)
# for FUZZ_SECONDS each (default 20). Each target (tests/fuzz/<name>_fuzz.cpp, listed in
# docs/architecture.md "Fuzz targets") links only the files it exercises, built with
# clang in build-fuzz/. New crashing inputs are left in build-fuzz/ as crash-* (a hang
# over FUZZ_TIMEOUT seconds, default 10, as timeout-*); add each one to
# tests/fuzz/<target>_corpus/ once fixed, so ctest replays it forever.
# FUZZ_TARGETS limits the run (default: every tests/fuzz/*_fuzz.cpp); FUZZ_MAX_LEN bounds
# an input (default 4096). One target for an hour:
#   FUZZ_TARGETS=spool_file FUZZ_SECONDS=3600 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
max_len=${FUZZ_MAX_LEN:-4096}
timeout=${FUZZ_TIMEOUT:-10}
out=build-fuzz
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/*_fuzz.cpp | xargs -n1 basename | sed 's/_fuzz\.cpp$//')}
for t in $targets; do
  [ -f "tests/fuzz/${t}_fuzz.cpp" ] || { echo "no fuzz target tests/fuzz/${t}_fuzz.cpp" >&2; exit 2; }
done
[ -f "$out/build.ninja" ] || CXX=clang++ cmake -S . -B "$out" -G Ninja -DRAMPART_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$out" $(for t in $targets; do echo "${t}_fuzz"; done)
for target in $targets; do
  echo "== fuzz $target (${seconds}s)"
  mkdir -p "$out/${target}_work"
  (cd "$out" && "./tests/${target}_fuzz" -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" \
     "${target}_work" "../tests/fuzz/${target}_corpus")
done
echo "fuzzing finished without crashes"
