"""Is every text cell of a sheet on its rendered page in full? Each cell's words are found
among the page's words (tests/pdf_render.py), which also says which cell drew each word.

LibreOffice draws only the glyphs inside a cell's clip, so text cut short by the cell beside it
is missing from the PDF rather than hidden: "Independent Domestic Violence Advisor" in a narrow
column leaves "Independent Domestic Violence Advis" on the page.
"""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from pdf_render import Page, Word


@dataclass
class Placement:
    """Where a sheet's text cells are on its page."""

    cell_of: dict[int, str] = field(default_factory=dict)  # id(page word) -> cell coordinate
    short: dict[str, str] = field(default_factory=dict)  # cell -> the part of it on the page


def visible_cells(sheet: Worksheet) -> dict[str, str]:
    """The text of every text cell a reader should see: not in a hidden row or column, and not
    a formula (whose result LibreOffice works out; numbers are checked by "###" instead)."""
    hidden_columns = {letter for letter, dim in sheet.column_dimensions.items() if dim.hidden}
    cells = {}
    for row in sheet.iter_rows():
        for cell in row:
            value = cell.value
            if not isinstance(value, str) or not value.strip() or value.startswith("="):
                continue
            if sheet.row_dimensions[cell.row].hidden:
                continue
            letter = get_column_letter(cell.column)
            if letter in hidden_columns:
                continue
            cells[f"{letter}{cell.row}"] = value
    return cells


def place_cells(cells: dict[str, str], page: Page) -> Placement:
    """Find each cell's text on the page. Cells whose text is not all there are in `short`, with
    the part that was found (what a reader sees of it; empty when none of it was found).

    A cell's words are looked for in order: each next word on the same line just after the last
    one, or at the start of one of the next lines under the words found so far (wrapped text).
    A page word serves one cell only. Two things pdftotext does are allowed for: a word too long
    for its column is broken across lines ("3a9dc1…" then "…c2bd"), and where a clipped cell's
    last letters touch the next cell's text it makes one word of both ("pYes"), so a cell's
    first word may end a page word and its last word may begin one.
    """
    index = _WordIndex(page.words)
    placement = Placement()
    failed: dict[str, str] = {}  # words are only ever used up, so a text that failed fails again
    # Longer texts first: a short text ("Independent Domestic Violence Advisor") could
    # otherwise take the words of a longer one that begins the same way, on the same row.
    for coordinate, text in sorted(cells.items(), key=lambda item: -len(item[1].split())):
        if text in failed:
            placement.short[coordinate] = failed[text]
            continue
        complete, found = _find(text.split(), index)
        for word in found:
            placement.cell_of.setdefault(id(word), coordinate)
        if complete:
            index.taken.update(id(w) for w in found)
        else:
            placement.short[coordinate] = failed[text] = " ".join(w.text for w in found)
    order = list(cells)  # report in the sheet's order
    placement.short = dict(sorted(placement.short.items(), key=lambda item: order.index(item[0])))
    return placement


class _WordIndex:
    """A page's words in order down the page, and by text, for finding a cell's next word among
    the few near the last one."""

    def __init__(self, words: list[Word]):
        self.words = sorted(words, key=lambda w: w.y0)
        self.tops = [w.y0 for w in self.words]
        self.by_text: dict[str, list[Word]] = {}
        for word in self.words:
            self.by_text.setdefault(word.text, []).append(word)
        self.text_tops = {text: [w.y0 for w in ws] for text, ws in self.by_text.items()}
        self.taken: set[int] = set()

    def whole(self, token: str, top: float, bottom: float) -> list[Word]:
        """Untaken words `token` whose top is in [top, bottom)."""
        tops = self.text_tops.get(token, [])
        ws = self.by_text.get(token, [])[
            bisect.bisect_left(tops, top) : bisect.bisect_left(tops, bottom)
        ]
        return [w for w in ws if id(w) not in self.taken]

    def near(self, top: float, bottom: float) -> list[Word]:
        """Every untaken word whose top is in [top, bottom)."""
        ws = self.words[bisect.bisect_left(self.tops, top) : bisect.bisect_left(self.tops, bottom)]
        return [w for w in ws if id(w) not in self.taken]


# How the page word stands for a cell's word: the word itself, its first part (the rest is on
# the next line), or the word joined to a clipped neighbour's letters.
WHOLE, FIRST_PART, JOINED = "whole", "first part", "joined"


def _stands_for(token: str, word: str, how: str, first: bool, last: bool) -> bool:
    if how == WHOLE:
        return word == token
    if how == FIRST_PART:
        return len(word) >= 2 and len(word) < len(token) and token.startswith(word)
    if word == token:
        return False
    if first and last:
        return token in word
    return (first and word.endswith(token)) or (last and word.startswith(token))


def _find(tokens: list[str], index: _WordIndex) -> tuple[bool, list[Word]]:
    """Whether the whole of a cell's text is on the page, and the page words found for it.

    Of several places the text is found whole, the one on the fewest lines is the cell's own: a
    short cell's words can also be picked out of the line below ("Total," on one row and "rows
    shown by the filters" on the next), but a cell's own text is as compact as it gets.
    """
    best: list[Word] = []
    whole: tuple[int, list[Word]] | None = None
    single = len(tokens) == 1
    for how in (WHOLE, FIRST_PART, JOINED):  # rarer ones only if needed: they read every word
        if how == WHOLE:
            anchors = index.whole(tokens[0], -math.inf, math.inf)
        else:
            anchors = [
                w
                for w in index.near(-math.inf, math.inf)
                if _stands_for(tokens[0], w.text, how, first=True, last=single)
            ]
        for anchor in anchors:
            rest = tokens[0][len(anchor.text) :] if how == FIRST_PART else ""
            found, breaks = _follow(anchor, rest, tokens[1:], index)
            if breaks is not None and (whole is None or breaks < whole[0]):
                whole = (breaks, found)
                if breaks == 0:
                    break
            if len(found) > len(best):
                best = found
        if whole is not None:
            return True, whole[1]
    return False, best


def _follow(
    anchor: Word, rest: str, tokens: list[str], index: _WordIndex
) -> tuple[list[Word], int | None]:
    """From the cell's first word on the page, find the others; `rest` is what of the first
    word is still to come. Returns the words found and, when all were, on how many more lines
    than one (None when some were not found)."""
    found = [anchor]
    used = {id(anchor)}
    left, right = anchor.x0, anchor.x1
    pending = ([rest] if rest else []) + tokens
    continued = bool(rest)  # the next piece is the rest of a broken word
    breaks = 0
    while pending:
        token, last_token = pending[0], len(pending) == 1
        last = found[-1]
        height = last.y1 - last.y0
        choice = None
        for how in (WHOLE, FIRST_PART, JOINED):
            if how == JOINED and not last_token:
                break
            top = last.y0 - 0.3 * height
            # a word joined to the next cell's letters is on the same line
            bottom = last.y0 + (0.3 if how == JOINED else 2.5) * height
            words = (
                index.whole(token, top, bottom)
                if how == WHOLE
                else [
                    w
                    for w in index.near(top, bottom)
                    if _stands_for(token, w.text, how, first=False, last=last_token)
                ]
            )
            for word in words:
                if id(word) in used:
                    continue
                gap = word.x0 - last.x1
                on_line = abs(word.y0 - last.y0) < 0.3 * height
                # the rest of a broken word follows at once on its line (pdftotext splits a
                # word at a wide letter gap) or starts the next line under the word's start
                if continued:
                    same_line = on_line and -1 <= gap < 0.25 * height
                    next_line = 0.3 * height <= word.y0 - last.y0 and abs(word.x0 - left) <= height
                else:
                    same_line = on_line and 0 <= gap < height
                    next_line = (
                        0.3 * height <= word.y0 - last.y0
                        and word.x0 < right + height
                        and word.x1 > left - height
                    )
                if same_line or next_line:
                    key = (word.y0 - last.y0, abs(word.x0 - left))
                    if choice is None or key < choice[0]:
                        choice = (key, word, how, next_line and not same_line)
            if choice is not None:
                break
        if choice is None:
            return found, None
        _, word, how, new_line = choice
        used.add(id(word))
        found.append(word)
        breaks += new_line
        left, right = min(left, word.x0), max(right, word.x1)
        if how == FIRST_PART:
            pending[0] = token[len(word.text) :]
            continued = True
        else:
            pending.pop(0)
            continued = False
    return found, breaks


class Grid:
    """Where the sheet's columns and rows are on the page, learnt from the text cells found on
    it, to name the cell of a word that no text cell drew (a number, "###").

    A column starts where its left-aligned text starts (the leftmost word of its cells); a row
    sits at the median top of its cells' first words. Numbers are right-aligned, so a number's
    column is the one its right end falls in.
    """

    def __init__(self, placement: Placement, page: Page):
        lefts: dict[str, float] = {}
        tops: dict[int, list[float]] = {}
        seen: set[str] = set()
        for word in sorted(page.words, key=lambda w: (w.y0, w.x0)):
            cell = placement.cell_of.get(id(word))
            if cell is None:
                continue
            letters = cell.rstrip("0123456789")
            lefts[letters] = min(lefts.get(letters, math.inf), word.x0)
            if cell not in seen:
                seen.add(cell)
                tops.setdefault(int(cell[len(letters) :]), []).append(word.y0)
        self.columns = sorted((x, letters) for letters, x in lefts.items())
        self.rows = sorted((statistics.median(ys), row) for row, ys in tops.items())

    def cell_at(self, word: Word) -> str | None:
        right = word.x1 - 1
        middle = (word.y0 + word.y1) / 2
        column = [letters for x, letters in self.columns if x <= right]
        row = [number for y, number in self.rows if y <= middle]
        return f"{column[-1]}{row[-1]}" if column and row else None
