# Sourced by scripts/ensure_*.sh: `install_missing WHO PACKAGE...` installs the distribution's
# packages with apt-get (as root, or through passwordless sudo). It never fails its caller: when
# it cannot install (no apt-get, not root and no sudo, no network) it says so on stderr, naming
# WHO, and the tests that need the packages then skip with their own reason.
install_missing() {
    local who="$1"
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$who: cannot install $*: no apt-get on this machine" >&2
        return 0
    fi
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        else
            echo "$who: cannot install $*: not root and no sudo" >&2
            return 0
        fi
    fi
    echo "$who: installing $*" >&2
    if ! "${as_root[@]}" apt-get update -qq >&2 \
        || ! DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "$@" >&2; then
        echo "$who: apt-get could not install $*" >&2
    fi
    return 0
}
