"""Render workbooks as a reader sees them (headless LibreOffice → PDF) and read the words on
the pages with their boxes, to find words drawn over other words (wrapped text in a row too
short for it) and numbers too wide for their column (LibreOffice prints "###").

Used by tests/test_workbook_render.py with tests/cell_text.py. The PDF's text is read with
poppler's `pdftotext -bbox-layout`, which gives every word with its box in points.
"""

from __future__ import annotations

import os
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CONVERT_TIMEOUT_SECONDS = 120
# Each sheet on one page of its own size, so page N is sheet N and every complaint names its
# sheet; the cells are drawn at 100 % exactly as on paper (option of LibreOffice 7.4's
# calc_pdf_Export filter, given as JSON).
ONE_PAGE_PER_SHEET = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'
# Two words overlap when their boxes share more than this much of the smaller one's height and
# more than a sliver of width. pdftotext's boxes run from ascender to descender, so two lines of
# one wrapped cell share about 10 % of their height; text drawn over another row shares far more.
OVERLAP_OF_HEIGHT = 0.35
OVERLAP_OF_WIDTH_POINTS = 1.0


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    line: str  # the words of its line, to find it again on the page

    def overlaps(self, other: Word) -> bool:
        wide = min(self.x1, other.x1) - max(self.x0, other.x0)
        high = min(self.y1, other.y1) - max(self.y0, other.y0)
        smaller = min(self.y1 - self.y0, other.y1 - other.y0)
        return wide > OVERLAP_OF_WIDTH_POINTS and high > OVERLAP_OF_HEIGHT * smaller


@dataclass(frozen=True)
class Page:
    number: int  # from 1
    words: list[Word]

    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class ConversionFailed(RuntimeError):
    """LibreOffice did not produce the PDF (or did not finish in time)."""


def to_pdf(
    workbooks: Iterable[Path], out_dir: Path, profile: Path, *, one_page_per_sheet: bool
) -> list[Path]:
    """Convert workbooks to PDF with headless LibreOffice in one process.

    `profile` is a LibreOffice user profile folder of this caller's own: two conversions sharing
    the default profile would meet at its lock, and a second soffice would hand its work to the
    first instead of doing it. The whole process group is killed at the timeout, since soffice
    starts a child that outlives its parent.
    """
    workbooks = list(workbooks)
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        "soffice",
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        ONE_PAGE_PER_SHEET if one_page_per_sheet else "pdf",
        "--outdir",
        str(out_dir),
        *map(str, workbooks),
    ]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=CONVERT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ConversionFailed(
                f"soffice did not finish in {CONVERT_TIMEOUT_SECONDS} s: {' '.join(command)}"
            ) from None
    pdfs = [out_dir / f"{book.stem}.pdf" for book in workbooks]
    missing = [p.name for p in pdfs if not p.is_file()]
    if process.returncode != 0 or missing:
        raise ConversionFailed(
            f"soffice exited {process.returncode}, missing {missing}: {output.strip()}"
        )
    return pdfs


def pages(pdf: Path) -> list[Page]:
    """Every page's words with their boxes, from `pdftotext -bbox-layout`."""
    xhtml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    root = ET.fromstring(xhtml)
    found = []
    for number, page in enumerate(root.iterfind(".//{*}page"), start=1):
        words = []
        for line in page.iterfind(".//{*}line"):
            in_line = line.findall("{*}word")
            line_text = " ".join(w.text or "" for w in in_line)
            words += [
                Word(
                    w.text or "",
                    float(w.get("xMin", 0)),
                    float(w.get("yMin", 0)),
                    float(w.get("xMax", 0)),
                    float(w.get("yMax", 0)),
                    line_text,
                )
                for w in in_line
            ]
        found.append(Page(number, words))
    return found


def overlapping_words(page: Page) -> list[tuple[Word, Word]]:
    """Pairs of words drawn over each other (a sweep down the page: only words whose vertical
    spans meet are compared)."""
    ordered = sorted(page.words, key=lambda w: (w.y0, w.x0))
    pairs = []
    for i, word in enumerate(ordered):
        for other in ordered[i + 1 :]:
            if other.y0 >= word.y1:
                break
            if word.overlaps(other):
                pairs.append((word, other))
    return pairs
