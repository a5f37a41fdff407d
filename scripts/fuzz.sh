#!/usr/bin/env bash
# Fuzz the pure codecs with clang's libFuzzer (+ASan/UBSan) for FUZZ_SECONDS each
# (default 30). New crashing inputs are left in build-fuzz/ as crash-*; add each one to
# tests/fuzz/<target>_corpus/ once fixed, so ctest replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
out=build-fuzz
mkdir -p "$out"
codecs="src/smtp/address.cpp src/smtp/command_parser.cpp src/smtp/reply.cpp src/smtp/data_reader.cpp src/util/assert.cpp $(echo src/mime/*.cpp)"
for target in command_parser data_reader mime_parser; do
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -Isrc \
    "tests/fuzz/${target}_fuzz.cpp" $codecs -lz -o "$out/${target}_fuzz"
  mkdir -p "$out/${target}_work"
  (cd "$out" && "./${target}_fuzz" -max_total_time="$seconds" -max_len=4096 \
     "${target}_work" "../tests/fuzz/${target}_corpus")
done
echo "fuzzing finished without crashes"
