# shellcheck shell=bash
# Shared helpers for corio's scripts: source this file, then call
#   corio_ensure_packages [package...]
# which installs the Debian packages that are missing (default: corio's
# build/test dependencies). `apt-get update` runs at most once, and only when
# something is missing. Uses sudo when not root. Set CORIO_SKIP_APT=1 to skip.

CORIO_DEBIAN_PACKAGES=(
    cmake
    ninja-build
    g++
    clang
    lld
    libclang-rt-14-dev
    catch2
    libfmt-dev
    pkg-config
    libssl-dev
    zlib1g-dev
    libboost1.81-dev
    openssl
    nginx
    curl
    python3
    redis-server
    python3-websockets
    chromium
    chromium-driver
    python3-selenium
    fonts-dejavu-core
    nodejs
    node-ws
    postgresql
    libpq-dev
    liburing-dev
    gdb
    doxygen
)

corio_log() {
    printf '\033[1;34m==>\033[0m %s\n' "$*" >&2
}

corio_package_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ "$status" == "install ok installed" ]]
}

corio_ensure_packages() {
    local packages=("$@")
    if [[ ${#packages[@]} -eq 0 ]]; then
        packages=("${CORIO_DEBIAN_PACKAGES[@]}")
    fi

    if [[ "${CORIO_SKIP_APT:-0}" == "1" ]]; then
        corio_log "CORIO_SKIP_APT=1: not checking Debian packages"
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        corio_log "dpkg-query not found (not Debian-like?): make sure these are installed: ${packages[*]}"
        return 0
    fi

    local missing=() pkg
    for pkg in "${packages[@]}"; do
        corio_package_installed "$pkg" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi

    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: missing packages (${missing[*]}) and not root / no sudo to install them" >&2
            return 1
        fi
    fi

    corio_log "Installing missing packages: ${missing[*]}"
    if [[ -z "${CORIO_APT_UPDATED:-}" ]]; then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        CORIO_APT_UPDATED=1
    fi
    # Refuse a set whose installation would remove an installed package
    # (python3-matplotlib once pulled Boost 1.74, which removes
    # libboost1.81-dev): say which, and leave the machine as it is.
    local removed
    removed=$(env DEBIAN_FRONTEND=noninteractive apt-get install -s --no-install-recommends "${missing[@]}" \
        2>/dev/null | awk '$1 == "Remv" { print $2 }' | tr '\n' ' ')
    if [[ -n "$removed" ]]; then
        echo "error: installing ${missing[*]} would remove: ${removed}; not installing" >&2
        return 1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}
