#!/usr/bin/env bash
# Installs what the Linux build, tests and demo need, only where missing.
# Sourced by the other ci/ scripts; runnable on its own.
set -euo pipefail

xpr_linux_packages=(gcc meson ninja-build pkg-config libevent-dev libcmocka-dev
                    valgrind clang-format-14)

xpr_install_missing() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "ci: installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    xpr_install_missing "${xpr_linux_packages[@]}"
fi
