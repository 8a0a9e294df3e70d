#!/usr/bin/env bash
# The web workspace's browser test needs the distribution's headless Chromium (Playwright is
# pointed at it; its own browser download cannot work offline). Installs it only when missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing: run 'apt-get install -y chromium chromium-driver' as root" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
command -v chromium >/dev/null
