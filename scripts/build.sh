#!/usr/bin/env bash
# Configures and builds into build/ (RelWithDebInfo, Ninja, ccache). `build.sh asan` builds
# build-asan/ with AddressSanitizer and UBSan instead. Extra args go to ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build; flags=()
if [ "${1:-}" = asan ]; then
  shift; dir=build-asan; flags=(-DRAMPART_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
fi
werror=OFF; [ "${CI:-}" = true ] && werror=ON
[ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DRAMPART_WERROR=$werror "${flags[@]}" >/dev/null
ninja -C "$dir" "$@"
