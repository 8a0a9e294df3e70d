"""The London workbook and Camden's, rendered by headless LibreOffice as a reader would print
them, and read back from the PDF: a sensible number of pages, no "###" where a number is too
wide for its column, no words drawn over other words, and every text cell shown in full.

The workbooks are those of the London fixture run as `commissioning solve` and `export` write
them. Each check reads the PDF twice over: as printed (pages as a reader gets them) and with
each sheet on one page of its own (so a complaint names its sheet and cells). A small workbook
with known faults shows that each check finds what it looks for, and passes what is right.

LibreOffice, poppler and the Carlito font are installed by scripts/ensure_libreoffice.sh when
missing (scripts/test runs it first; so does this module); the module skips only when they
still cannot be found.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from cell_text import Grid, Placement, place_cells, visible_cells
from conftest import FIXTURE_DIR
from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet
from pdf_render import Page, Word, overlapping_words, pages, to_pdf

from commissioning.excel import export_workbook
from commissioning.runs import solve_to_directory
from commissioning.scenario_io import load_scenario

ROOT = Path(__file__).resolve().parents[1]
ENSURE = ROOT / "scripts" / "ensure_libreoffice.sh"
TOOLS = ("soffice", "pdftotext")
# Printed pages. A borough lead's workbook is a short read: its 7 sheets, the Methodology the
# longest, fit in 15 pages. The London workbook is the board's pack with every borough's rows
# (Coverage and Cost to benchmark run to a few hundred rows each): 45 pages at most.
MOST_PAGES = {"london": 45, "camden": 15}
SHOWN = 12  # complaints listed per check; the count says how many more
REPORTS = Path(tempfile.gettempdir()) / "commissioning-render-report"


@dataclass(frozen=True)
class Sheet:
    """A sheet of a workbook and its page in the one-page-per-sheet PDF."""

    book: str
    name: str
    cells: dict[str, str]
    page: Page
    placement: Placement
    grid: Grid

    def label(self, word: Word) -> str:
        """The cell that drew the word and its text; for a word of no text cell found (a number,
        "###", the rest of a cut-short text), the cell it is probably in and its line's words."""
        cell = self.placement.cell_of.get(id(word))
        if cell:
            return f"{cell} {_short(self.cells[cell])!r}"
        near = self.grid.cell_at(word)
        return f"{f'near {near}' if near else 'a cell'}: {_short(word.line)!r}"


# ---- fixtures ----


@pytest.fixture(scope="module")
def tools() -> None:
    if not all(shutil.which(tool) for tool in TOOLS):
        done = subprocess.run(
            ["bash", str(ENSURE)], capture_output=True, text=True, timeout=1800, check=False
        )
        if not all(shutil.which(tool) for tool in TOOLS):
            pytest.skip(f"LibreOffice or poppler missing and not installable: {done.stderr[-400:]}")


@pytest.fixture(scope="module")
def workbooks(tools: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("render")
    _, run_dir = solve_to_directory(load_scenario(FIXTURE_DIR / "scenario.json"), folder / "run")
    london = shutil.copyfile(run_dir / "workbook.xlsx", folder / "london.xlsx")
    camden = export_workbook(run_dir, folder / "camden.xlsx", "Camden")
    return {"london": Path(london), "camden": camden, "faults": _faults(folder / "faults.xlsx")}


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LibreOffice user profile of this run's own (see pdf_render.to_pdf)."""
    return tmp_path_factory.mktemp("libreoffice-profile")


@pytest.fixture(scope="module")
def printed(
    workbooks: dict[str, Path], profile: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Page]]:
    books = {k: v for k, v in workbooks.items() if k != "faults"}
    out = tmp_path_factory.mktemp("printed")
    pdfs = to_pdf(books.values(), out, profile, one_page_per_sheet=False)
    return {name: pages(pdf) for name, pdf in zip(books, pdfs, strict=True)}


@pytest.fixture(scope="module")
def sheets(
    workbooks: dict[str, Path], profile: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Sheet]]:
    out = tmp_path_factory.mktemp("one-page-per-sheet")
    pdfs = to_pdf(workbooks.values(), out, profile, one_page_per_sheet=True)
    found = {}
    for (name, path), pdf in zip(workbooks.items(), pdfs, strict=True):
        book = openpyxl.load_workbook(path)
        shown = [book[n] for n in book.sheetnames if book[n].sheet_state == "visible"]
        on_pages = pages(pdf)
        assert len(on_pages) == len(shown), (
            f"{path.name}: {len(on_pages)} pages for {len(shown)} sheets "
            f"({', '.join(s.title for s in shown)}); an empty sheet prints no page"
        )
        found[name] = [_sheet(name, s, p) for s, p in zip(shown, on_pages, strict=True)]
    return found


def _sheet(book: str, sheet: object, page: Page) -> Sheet:
    cells = visible_cells(sheet) if isinstance(sheet, Worksheet) else {}
    title = getattr(sheet, "title", "")
    placement = place_cells(cells, page)
    return Sheet(book, title, cells, page, placement, Grid(placement, page))


# ---- what a reader of the two workbooks sees ----


@pytest.mark.parametrize("book", ["london", "camden"])
def test_each_workbook_prints_on_a_sensible_number_of_pages(
    printed: dict[str, list[Page]], sheets: dict[str, list[Sheet]], book: str
) -> None:
    count = len(printed[book])
    assert len(sheets[book]) <= count <= MOST_PAGES[book], (
        f"{book} workbook prints on {count} pages (expected {len(sheets[book])} sheets to take "
        f"at most {MOST_PAGES[book]})"
    )


def test_the_borough_workbook_opens_on_the_boroughs_own_summary(
    printed: dict[str, list[Page]], sheets: dict[str, list[Sheet]]
) -> None:
    assert sheets["camden"][0].name == "Summary"
    assert printed["camden"][0].text().startswith("Camden")


@pytest.mark.parametrize("book", ["london", "camden"])
def test_no_number_is_too_wide_for_its_column(
    printed: dict[str, list[Page]], sheets: dict[str, list[Sheet]], book: str
) -> None:
    problems = [
        f"sheet {sheet.name!r}: '###' at {sheet.label(word)}"
        for sheet in sheets[book]
        for word in sheet.page.words
        if "###" in word.text
    ]
    on_paper = [p.number for p in printed[book] if any("###" in w.text for w in p.words)]
    if on_paper:
        problems.append(f"printed pages {', '.join(map(str, on_paper))} show '###'")
    assert not problems, _report(book, "numbers too wide for their column", problems)


@pytest.mark.parametrize("book", ["london", "camden"])
def test_no_text_is_drawn_over_other_text(sheets: dict[str, list[Sheet]], book: str) -> None:
    problems = [
        f"sheet {sheet.name!r}: {pair}" for sheet in sheets[book] for pair in _overlaps(sheet)
    ]
    assert not problems, _report(book, "text drawn over other text", problems)


@pytest.mark.parametrize("book", ["london", "camden"])
def test_every_text_cell_is_shown_in_full(sheets: dict[str, list[Sheet]], book: str) -> None:
    problems = [
        f"sheet {sheet.name!r}: {cell} {_short(sheet.cells[cell])!r} shows only {shown!r}"
        for sheet in sheets[book]
        for cell, shown in sheet.placement.short.items()
    ]
    assert not problems, _report(book, "text cells cut short", problems)


# ---- the checks themselves find faults, and pass what is right ----


def _faults(path: Path) -> Path:
    """One sheet of faults and one of the same things done right."""
    book = openpyxl.Workbook()
    bad = book.active
    assert bad is not None
    bad.title = "Faults"
    bad.column_dimensions["A"].width = 14
    bad["A1"] = "Text clipped by its neighbour"
    bad["B1"] = "Neighbour"
    bad["A2"] = 123456789012.5  # too wide: LibreOffice prints ###
    bad["A2"].number_format = '"£"#,##0.00'
    bad["A3"] = "Wrapped text in a row far too short for its many words"
    bad["A3"].alignment = Alignment(wrap_text=True)
    bad.row_dimensions[3].height = 15
    bad["A4"] = "Next row"

    good = book.create_sheet("Right")
    good.column_dimensions["A"].width = 14
    # Text may run on over empty cells, within the printed columns (the page ends after the
    # last column that holds something: text running beyond it is cut off on paper).
    good["A1"] = "Overflow into an empty neighbour is shown"
    good["F1"] = "Edge"
    good["A2"] = "Wrapped text in a row tall enough for it"
    good["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    good.row_dimensions[2].height = 60
    good["A3"] = "3a9dc1e9a48195bda85972c1459b0bce"  # broken across lines, all shown
    good["A3"].alignment = Alignment(wrap_text=True, vertical="top")
    good.row_dimensions[3].height = 45
    good["A4"] = 1234.5
    good["A4"].number_format = '"£"#,##0.00'
    good["B4"] = "Next cell"
    book.save(path)
    return path


def test_the_checks_find_each_fault_and_pass_the_same_things_done_right(
    sheets: dict[str, list[Sheet]],
) -> None:
    bad, good = sheets["faults"]
    # A1 is cut short; A3 is drawn in full, but over its neighbours
    assert set(bad.placement.short) == {"A1"}, bad.placement.short
    assert bad.cells["A1"].startswith(bad.placement.short["A1"] + " ")
    assert [w.text for w in bad.page.words if "###" in w.text] == ["###"]
    overlaps = _overlaps(bad)
    assert overlaps and all("A3 " in pair for pair in overlaps), overlaps

    assert good.placement.short == {}
    assert not [w for w in good.page.words if "###" in w.text]
    assert _overlaps(good) == []


# ---- helpers ----


def _overlaps(sheet: Sheet) -> list[str]:
    """Each pair of cells (or other texts) drawn over each other, once, with two of the words."""
    pairs: dict[tuple[str, str], str] = {}
    for a, b in overlapping_words(sheet.page):
        first, second = sheet.label(a), sheet.label(b)
        if first != second:
            pairs.setdefault(
                (first, second), f"{first} and {second} overlap ({a.text!r} on {b.text!r})"
            )
    return list(pairs.values())


def _report(book: str, what: str, problems: list[str]) -> str:
    """The first few problems; all of them in a file beside the rendered PDFs."""
    listed = "\n  ".join(problems[:SHOWN])
    if len(problems) <= SHOWN:
        return f"{book} workbook: {len(problems)} {what}:\n  {listed}"
    slug = "-".join(what.split()[:3])
    report = REPORTS / f"{book}-{slug}.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(problems) + "\n", encoding="utf-8")
    return (
        f"{book} workbook: {len(problems)} {what}:\n  {listed}\n"
        f"  … and {len(problems) - SHOWN} more (all listed in {report})"
    )


def _short(text: str, size: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
