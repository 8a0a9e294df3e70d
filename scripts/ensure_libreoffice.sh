#!/usr/bin/env bash
# Install what renders workbooks as a reader sees them, if it is missing: headless LibreOffice
# (soffice), poppler (pdftotext, pdftoppm) and Carlito, the font with Calibri's widths, so text
# fits its columns in the render exactly as in Excel (without it LibreOffice falls back to a
# wider font and clips text that Excel shows). Used by scripts/test before pytest, by
# tests/test_workbook_render.py when soffice is missing, and by scripts/render_workbooks.
#
# Idempotent: when everything is present it does nothing (no apt-get at all). It never fails
# its caller: when it cannot install (not root and no sudo, no apt-get, no network) it says so
# on stderr and the render test then skips with that reason.
set -uo pipefail

missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-calc-nogui)
if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
    missing+=(poppler-utils)
fi
if [ -z "$(fc-list Carlito 2>/dev/null)" ]; then
    missing+=(fonts-crosextra-carlito)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

source "$(dirname "$0")/_apt_install.sh"
install_missing ensure_libreoffice "${missing[@]}"
