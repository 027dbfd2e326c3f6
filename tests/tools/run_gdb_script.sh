#!/usr/bin/env bash
# Runs tools/gdb/corio.py's commands in gdb on tests/tools/gdb_probe and
# checks what they print. Skipped (CTest) when gdb is missing or may not
# trace (a container without ptrace).
#
# Usage: run_gdb_script.sh <gdb_probe binary> <tools/gdb/corio.py>
set -euo pipefail
probe=$1
script=$2

if ! command -v gdb >/dev/null 2>&1; then
    echo "CORIO_SKIPPED: gdb is not installed (apt-get install gdb)"
    exit 0
fi
if ! gdb -batch -ex run /bin/true 2>&1 | grep -q "exited normally"; then
    echo "CORIO_SKIPPED: gdb cannot trace a program here (ptrace not permitted)"
    exit 0
fi

output=$(gdb -batch -nx -ex "break corio_gdb_probe_point" -ex run -x "$script" \
    -ex corio-bt -ex corio-tasks -ex kill "$probe" 2>&1)
echo "$output"

expect() {
    if ! grep -qE -- "$1" <<<"$output"; then
        echo "FAILED: expected a line matching: $1"
        exit 1
    fi
}
expect '^#0 .*innermost_step.* at .*gdb_probe\.cpp:[0-9]+ \(running\)$'
expect '^#1 .*middle_step.* \(suspended, frame 0x[0-9a-f]+\)$'
expect '^#2 .*outermost_step.* \(suspended, frame 0x[0-9a-f]+\)$'
expect "^   in task 'traced' \(Task-3\)$"
expect "^'sleepy' \(Task-2\): .*idle_sleeper"
expect "^'traced' \(Task-3\): .*outermost_step"
expect '^3 unfinished tasks$'
echo "corio gdb commands: ok"
