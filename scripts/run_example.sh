#!/usr/bin/env bash
# Build and run one corio example.
#
# Usage: ./scripts/run_example.sh [name] [args...]
#        ./scripts/run_example.sh --help | --list
#   name   example file name without .cpp (default: 01_gather)
#   args   passed to the example, e.g. --quick, --port 8080, --help
#
# Installs only what examples need (a compiler, CMake, Ninja, fmt, OpenSSL and
# zlib for https and compressed bodies; for 16_database libpq and PostgreSQL,
# for 19_queue_workers redis-server, for 21_fastapi_style Boost), configures build/examples (Release,
# tests off) and builds only the example asked for. The HTTP layer is compiled
# once into a library there (CORIO_SEPARATE_COMPILATION): an HTTP example
# rebuilds in less than half the time after an edit, and the first build
# compiles the library and the example side by side.
# Environment: CORIO_SKIP_APT=1 skips the package check.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
# shellcheck source-path=SCRIPTDIR source=lib/packages.sh
source "$repo_root/scripts/lib/packages.sh"

list_examples() {
    local f
    for f in examples/*.cpp; do
        [[ -e "$f" ]] && f=${f#examples/} && echo "  ${f%.cpp}"
    done
}

case "${1:-}" in
    -h | --help)
        sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        echo
        echo "Examples:"
        list_examples
        exit 0
        ;;
    --list)
        list_examples
        exit 0
        ;;
esac

name=${1:-01_gather}
[[ $# -gt 0 ]] && shift
name=${name%.cpp}
name=${name#examples/}

if [[ ! -f "examples/${name}.cpp" ]]; then
    echo "error: examples/${name}.cpp does not exist; available examples:" >&2
    list_examples >&2
    exit 2
fi

packages=(cmake ninja-build g++ pkg-config libfmt-dev libssl-dev zlib1g-dev)
case "$name" in
    16_*) packages+=(libpq-dev postgresql) ;;
    19_*) packages+=(redis-server) ;;
    21_*) packages+=(libboost1.81-dev) ;;
esac
corio_ensure_packages "${packages[@]}"

build="$repo_root/build/examples"
corio_log "Configuring $build (Release, examples only)"
cmake -S "$repo_root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCORIO_BUILD_TESTS=OFF -DCORIO_BUILD_EXAMPLES=ON -DCORIO_INSTALL=OFF \
    -DCORIO_SEPARATE_COMPILATION=ON >/dev/null
corio_log "Building ${name}"
cmake --build "$build" --target "$name"
corio_log "Running examples/${name} $*"
exec "$build/examples/${name}" "$@"
