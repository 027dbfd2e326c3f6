#!/usr/bin/env bash
# Build and test corio the way CI does:
#   1. install missing Debian build dependencies (apt-get; sudo if not root),
#   2. run the CMake workflow presets: release (g++, everything, io_uring
#      compiled in: the tests run on epoll, then again on io_uring — test
#      preset release-io-uring; built with CORIO_SEPARATE_COMPILATION, so the
#      HTTP and web programs link the compiled part, while clang-asan builds
#      them header-only), kqueue (g++,
#      the kqueue backend, on Linux over the emulation in tests/kqueue_emulation;
#      the tests that reach the reactor: the loop, timers, signals, fd watchers,
#      the thread pool and files, the reactor tests, net and soak; at -O1),
#      clang-asan (ASan+UBSan, every
#      test on epoll, then the socket, TLS, HTTP, web, Redis and file tests
#      again on io_uring — test preset clang-asan-io-uring) and gcc-asan (ASan+UBSan with g++, whose coroutine bugs clang does
#      not have; the core and sync tests of the coroutine machinery and the
#      frame allocator and cancellable-awaiter tests — CORIO_TEST_FILTER in
#      CMakePresets.json; not the consumer projects, which release builds with
#      the same compiler), clang-tsan (TSan, `threads` tests only),
#   3. `fuzz` (not a CMake preset): the libFuzzer targets of the HTTP and URL
#      parsers, the HTTP server's connection loop, the HTTP client's Content-Encoding decoder, the RESP parser, Redis Cluster's slot maps, the WebSocket frame codec and deflate negotiation, the multipart parser, the pg value decoders and the timer queue, each for CORIO_FUZZ_SECONDS (default 10 in CI; fuzz.sh alone: 30) — scripts/fuzz.sh.
#   release, kqueue and clang-asan run the soak suites (tests/soak: short form, smaller counts
#   under sanitizers) and the fault-injection tests; TSan only the `threads`
#   ones among them. The long soak is scripts/soak.sh, by hand.
#   To stay within CI's time, only `release` compiles every public header on
#   its own, builds the tutorial's programs (at -O0) and builds and runs the
#   examples; release builds at -O2 (not CMake's -O3: a fifth less compile
#   time), the non-release presets carry line tables only (-g1) and the ASan
#   ones build at -O0 (a third of -O1's compile time with ASan; clang still
#   makes symmetric transfer a tail call there, g++ under ASan never does).
#   Every preset links with lld (a third of GNU ld's time, a tenth under
#   ASan), and the clang presets precompile corio's headers for the tests
#   (CORIO_PRECOMPILED_HEADERS; release, without, still proves that each
#   test file includes what it uses). The release preset builds the examples
#   at -O1 (CORIO_EXAMPLE_COMPILE_OPTIONS; the tests cover -O2). ctest runs 2
#   tests at a time (4 made a PostgreSQL test's 100 ms command timeout fire
#   under the load).
# Stops at the first failure.
#
# Usage: ./scripts/test.sh [workflow-preset|fuzz...]  (default: release kqueue clang-asan gcc-asan clang-tsan fuzz)
# Environment: CORIO_SKIP_APT=1 skips the package check.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
# shellcheck source-path=SCRIPTDIR source=lib/packages.sh
source "$repo_root/scripts/lib/packages.sh"

presets=("$@")
if [[ ${#presets[@]} -eq 0 ]]; then
    presets=(release kqueue clang-asan gcc-asan clang-tsan fuzz)
fi

corio_ensure_packages "${CORIO_DEBIAN_PACKAGES[@]}"

declare -A result=()
current=""
print_summary() {
    local status=$?
    if [[ -n "$current" ]]; then
        result[$current]="FAIL  (exit $status after $((SECONDS - start))s)"
    fi
    echo
    echo "================ corio test summary ================"
    local p
    for p in "${presets[@]}"; do
        printf '  %-12s %s\n' "$p" "${result[$p]:-not run}"
    done
    if [[ $status -eq 0 ]]; then
        echo "RESULT: PASSED (${#presets[@]} workflow preset(s))"
    else
        echo "RESULT: FAILED"
    fi
    echo "===================================================="
}
trap print_summary EXIT

start=$SECONDS
for preset in "${presets[@]}"; do
    current=$preset
    start=$SECONDS
    if [[ $preset == fuzz ]]; then
        corio_log "scripts/fuzz.sh ${CORIO_FUZZ_SECONDS:-10}"
        "$repo_root/scripts/fuzz.sh" "${CORIO_FUZZ_SECONDS:-10}"
        result[$preset]="ok    ($((SECONDS - start))s)"
        current=""
        continue
    fi
    corio_log "cmake --workflow --preset $preset"
    if [[ $preset == *tsan* ]] && command -v setarch >/dev/null 2>&1; then
        # clang 14's TSan runtime cannot map its shadow memory when the kernel
        # randomizes mmap with more than 28 bits; without ASLR it always can.
        setarch "$(uname -m)" -R cmake --workflow --preset "$preset"
    else
        cmake --workflow --preset "$preset"
    fi
    result[$preset]="ok    ($((SECONDS - start))s)"
    current=""
done
