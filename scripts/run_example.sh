#!/usr/bin/env bash
# Build (release preset) and run one corio example.
#
# Usage: ./scripts/run_example.sh [name] [args...]
#   name   example file name without .cpp (default: 01_gather)
#   args   passed to the example, e.g. --quick
# Environment: CORIO_SKIP_APT=1 skips the package check.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
# shellcheck source-path=SCRIPTDIR source=lib/packages.sh
source "$repo_root/scripts/lib/packages.sh"

name=${1:-01_gather}
[[ $# -gt 0 ]] && shift
name=${name%.cpp}
name=${name#examples/}

if [[ ! -f "examples/${name}.cpp" ]]; then
    echo "error: examples/${name}.cpp does not exist; available examples:" >&2
    for f in examples/*.cpp; do
        [[ -e "$f" ]] && f=${f#examples/} && echo "  ${f%.cpp}" >&2
    done
    exit 2
fi

corio_ensure_packages "${CORIO_DEBIAN_PACKAGES[@]}"

corio_log "Configuring (preset release)"
cmake --preset release >/dev/null
corio_log "Building ${name}"
cmake --build --preset release --target "$name"
corio_log "Running examples/${name} $*"
exec "build/release/examples/${name}" "$@"
