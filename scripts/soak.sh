#!/usr/bin/env bash
# The long form of the soak suites (tests/soak), by hand: CORIO_SOAK=long
# scales every soak test up (10,000 connections, 5 million tasks, 200
# cancellation-storm rounds of 4,000 tasks) and turns on the 5-minute echo
# soak whose RSS must stay flat (last minute within 10% of the RSS after a
# 30 s warm-up). Then the fault-injection tests, a few seeds each.
# CI runs the short form of the same tests (ctest -L soak).
#
# Usage: ./scripts/soak.sh [preset]          (default: release; also clang-asan,
#                                             gcc-asan: slower, catch leaks)
# Environment: CORIO_SOAK_SEED=<n>   first seed of the cancellation storms
#              CORIO_FAULT_SEEDS="1 2 3"   seeds for the fault-injection runs
# Takes ~8 minutes in release on 2 cores.
set -euo pipefail

preset=${1:-release}
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
build="$repo_root/build/$preset"

targets=(test_soak_connections test_soak_tasks test_soak_cancellation test_fault_injection)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake --preset "$preset"
fi
cmake --build "$build" -j2 --target "${targets[@]}"

export CORIO_SOAK=long
if [[ $preset == *asan* ]]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
# 10,000 connections need ~20,000 fds: the tests raise the soft limit to the
# hard one themselves and say so when even that is too low.
echo "soak: RLIMIT_NOFILE hard limit $(ulimit -Hn)"

status=0
run() {
    echo "==== $*"
    local start=$SECONDS
    if ! "$@"; then
        status=1
        echo "==== FAILED: $*"
    fi
    echo "==== $((SECONDS - start)) s"
}

for t in test_soak_tasks test_soak_cancellation test_soak_connections; do
    run "$build/tests/$t"
done
for seed in ${CORIO_FAULT_SEEDS:-1 2 3 4 5}; do
    export CORIO_FAULT_SEED=$seed
    run "$build/tests/test_fault_injection"
done
if [[ $status -ne 0 ]]; then
    echo "soak: FAILED (seeds are printed with each failure)"
fi
exit $status
