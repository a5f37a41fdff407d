#!/usr/bin/env bash
# Fuzz the pure codecs with clang's libFuzzer (+ASan/UBSan) for FUZZ_SECONDS each
# (default 30). The targets link the codec libraries (rampart_smtp, rampart_mime) built
# with clang in build-fuzz/. New crashing inputs are left in build-fuzz/ as crash-*; add
# each one to tests/fuzz/<target>_corpus/ once fixed, so ctest replays it forever.
# FUZZ_TARGETS limits the run (default: every tests/fuzz/*_fuzz.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
out=build-fuzz
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/*_fuzz.cpp | xargs -n1 basename | sed 's/_fuzz\.cpp$//')}
[ -f "$out/build.ninja" ] || CXX=clang++ cmake -S . -B "$out" -G Ninja -DRAMPART_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$out" $(for t in $targets; do echo "${t}_fuzz"; done)
for target in $targets; do
  mkdir -p "$out/${target}_work"
  (cd "$out" && "./tests/${target}_fuzz" -max_total_time="$seconds" -max_len=4096 \
     "${target}_work" "../tests/fuzz/${target}_corpus")
done
echo "fuzzing finished without crashes"
