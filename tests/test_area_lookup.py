"""`--borough` takes a name or an ONS code, and a near miss is answered with "did you mean":
the lookup on the London fixture's 32 boroughs, and `commissioning export` on a real solved run
(workbooks written to disk, or nothing written at all)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from test_excel_london import solved_run_dir

from commissioning.area_lookup import UnknownBorough, find_area_code
from commissioning.cli import main
from commissioning.models import Scenario

CAMDEN = "E09000007"


@pytest.mark.parametrize(
    "given",
    ["Camden", "camden", "  CAMDEN ", CAMDEN, CAMDEN.lower(), f" {CAMDEN} "],
)
def test_a_borough_is_found_by_name_or_code_whatever_the_case_and_spacing(
    london_scenario: Scenario, given: str
) -> None:
    assert find_area_code(london_scenario.areas, given) == CAMDEN


def test_names_of_several_words_and_ampersands(london_scenario: Scenario) -> None:
    areas = london_scenario.areas
    assert find_area_code(areas, "kensington  and chelsea") == "E09000020"
    assert find_area_code(areas, "Barking & Dagenham") == "E09000002"
    assert find_area_code(areas, "Hammersmith&Fulham") == "E09000013"


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("Camdn", ["Camden"]),
        ("hackny", ["Hackney"]),
        ("Westminister", ["Westminster"]),
        ("kensington", ["Kensington and Chelsea"]),
        ("Tower", ["Tower Hamlets"]),
        ("thames", ["Kingston upon Thames", "Richmond upon Thames"]),
    ],
)
def test_a_near_miss_is_answered_with_what_it_was_probably_meant_to_be(
    london_scenario: Scenario, given: str, meant: list[str]
) -> None:
    with pytest.raises(UnknownBorough) as caught:
        find_area_code(london_scenario.areas, given)
    quoted = " or ".join(f'"{name}"' for name in meant)
    assert str(caught.value) == f"unknown borough {given!r}: did you mean {quoted}?"
    assert [a.name for a in caught.value.suggestions] == meant


@pytest.mark.parametrize("given", ["E0900007", "e090000077", "E09O00007"])
def test_a_mistyped_code_suggests_codes_one_slip_away(
    london_scenario: Scenario, given: str
) -> None:
    with pytest.raises(UnknownBorough) as caught:
        find_area_code(london_scenario.areas, given)
    assert '"E09000007" (Camden)' in str(caught.value)
    for area in caught.value.suggestions:  # each one digit missing, extra or wrong
        assert area.code in {"E09000007", "E09000017", "E09000027"}


@pytest.mark.parametrize("given", ["Narnia", "xyz", "", "E09000001", "E09999999"])
def test_nonsense_or_a_code_outside_the_run_lists_the_boroughs(
    london_scenario: Scenario, given: str
) -> None:
    # E09000001 is the City of London: a real ONS code, but the London fixture leaves it out,
    # and suggesting a code one digit away from it would name an unrelated borough.
    with pytest.raises(UnknownBorough) as caught:
        find_area_code(london_scenario.areas, given)
    message = str(caught.value)
    assert "did you mean" not in message
    assert caught.value.suggestions == ()
    assert "the run's boroughs are: Barking and Dagenham, Barnet, Bexley," in message
    assert all(area.name in message for area in london_scenario.areas)


# ---- the command ----


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, london_scenario: Scenario) -> Path:
    return solved_run_dir(tmp_path_factory.mktemp("lookup"), london_scenario)


def test_export_by_name_writes_the_same_workbook_as_by_code(run_dir: Path, tmp_path: Path) -> None:
    by_code, by_name, lower = (tmp_path / f"{n}.xlsx" for n in ("code", "name", "lower"))
    assert main(["export", str(run_dir), "--borough", CAMDEN, "--out", str(by_code)]) == 0
    assert main(["export", str(run_dir), "--borough", "Camden", "--out", str(by_name)]) == 0
    assert main(["export", str(run_dir), "--borough", " camden ", "--out", str(lower)]) == 0
    assert by_code.read_bytes() == by_name.read_bytes() == lower.read_bytes()
    assert openpyxl.load_workbook(by_name)["Summary"]["A1"].value.startswith("Camden")


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("Camdn", "error: --borough: unknown borough 'Camdn': did you mean \"Camden\"?"),
        (
            "kensington",
            "error: --borough: unknown borough 'kensington': did you mean "
            '"Kensington and Chelsea"?',
        ),
        ("Narnia", "error: --borough: unknown borough 'Narnia'; the run's boroughs are: Barking"),
    ],
)
def test_export_of_an_unknown_borough_is_a_clear_error_and_writes_nothing(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, says: str
) -> None:
    out = tmp_path / "out"
    code = main(["export", str(run_dir), "--borough", given, "--out", str(out / "x.xlsx")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(says), captured.err
    assert len(captured.err.splitlines()) == 1
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_explain_uses_the_same_lookup(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(run_dir), "--borough", "Camdn"]) == 2
    assert capsys.readouterr().err == (
        "error: --borough: unknown borough 'Camdn': did you mean \"Camden\"?\n"
    )
    assert main(["explain", str(run_dir), "--borough", "camden", "--year", "2019/20"]) == 0
    assert capsys.readouterr().out.startswith(f"Camden ({CAMDEN})\n")
