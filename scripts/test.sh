#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite: installs
# dependencies, builds, runs the unit tests and corpus replays (ctest), the same unit
# tests under AddressSanitizer+UBSan, a short libFuzzer run of the codecs, and the
# integration tests against the real binary with real clients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
echo "== build"
scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j2
echo "== unit tests under ASan+UBSan"
scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure -j2
echo "== fuzz (${FUZZ_SECONDS:-20}s per target, every parser of network or file input)"
scripts/fuzz.sh >build/fuzz.log 2>&1 || { tail -50 build/fuzz.log; exit 1; }
tail -1 build/fuzz.log
echo "== integration tests"
RAMPART_BIN="$PWD/build/rampart" /usr/bin/python3 -m pytest -q tests/integration
