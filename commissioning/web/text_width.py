"""How wide a line of text is drawn, estimated on the server so an SVG can leave room for it.

The server cannot ask the browser, so it measures with DejaVu Sans's advance widths (what
headless Chromium on Debian draws the page's system-ui font with; it is wider than Arial,
Helvetica, Segoe UI or Roboto, so it errs on the side of room), plus a margin for fonts wider
still (Verdana). A character outside printable ASCII is measured as its unaccented letter, or
as a full em if it has none.
"""

from __future__ import annotations

import unicodedata

# DejaVu Sans advance widths in thousandths of an em, for the characters " " (32) to "~" (126).
_ASCII_WIDTHS = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_EM = 1000
MARGIN = 1.1  # room for a font a tenth wider than DejaVu Sans


def _thousandths(char: str) -> int:
    code = ord(char)
    if 32 <= code <= 126:
        return _ASCII_WIDTHS[code - 32]
    base = unicodedata.normalize("NFKD", char)[:1]
    if base and base != char and 32 <= ord(base) <= 126:
        return _ASCII_WIDTHS[ord(base) - 32]
    return _EM


def text_width(text: str, font_size: float) -> float:
    """The width `text` needs at `font_size` (px, or SVG user units), with the margin."""
    return sum(_thousandths(c) for c in text) * font_size / _EM * MARGIN
