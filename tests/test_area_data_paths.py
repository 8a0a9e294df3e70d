"""Area tables are read only from inside the scenario's folder, unless --data-root allows more.

A scenario file may come from someone else; without this rule its `area_data` could make the
engine read (and echo back in errors and outputs) any CSV-shaped file on the machine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import ScenarioCopy

from commissioning.cli import main
from commissioning.errors import ScenarioError
from commissioning.scenario_io import load_scenario

POPULATION = "london_population_mid2019.csv"


def _point_first_table_at(copy: ScenarioCopy, path: str) -> None:
    copy.edit(lambda data: data["area_data"]["tables"][0].update(path=path))


def _move_population_to(copy: ScenarioCopy, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    moved = folder / POPULATION
    shutil.move(copy.folder / POPULATION, moved)
    return moved


def _refused(copy: ScenarioCopy, path: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(copy.path)
    [problem] = caught.value.problems
    assert problem.field == "area_data.tables[0].path"
    assert path in problem.message and "outside the scenario's folder" in problem.message
    return problem.message


def test_the_fixture_reads_its_tables_from_its_own_folder(london_copy: ScenarioCopy) -> None:
    assert len(load_scenario(london_copy.path).areas) == 32


def test_a_table_in_a_subfolder_is_fine(london_copy: ScenarioCopy) -> None:
    _move_population_to(london_copy, london_copy.folder / "data")
    _point_first_table_at(london_copy, f"data/{POPULATION}")
    assert len(load_scenario(london_copy.path).areas) == 32


def test_an_absolute_path_outside_the_folder_is_refused(
    london_copy: ScenarioCopy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = _move_population_to(london_copy, tmp_path / "elsewhere")
    _point_first_table_at(london_copy, str(elsewhere))
    _refused(london_copy, str(elsewhere))
    assert main(["validate", str(london_copy.path)]) == 2
    error = capsys.readouterr().err
    assert "area_data.tables[0].path" in error and "--data-root" in error
    assert "Traceback" not in error


def test_a_path_climbing_out_with_dot_dot_is_refused(
    london_copy: ScenarioCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    _move_population_to(london_copy, london_copy.folder.parent)
    _point_first_table_at(london_copy, f"../{POPULATION}")
    _refused(london_copy, f"../{POPULATION}")
    assert main(["resolve", str(london_copy.path)]) == 2
    assert "outside the scenario's folder" in capsys.readouterr().err


def test_a_dot_dot_path_that_comes_back_inside_is_fine(london_copy: ScenarioCopy) -> None:
    _point_first_table_at(london_copy, f"../{london_copy.folder.name}/{POPULATION}")
    assert len(load_scenario(london_copy.path).areas) == 32


def test_a_symlink_that_escapes_the_folder_is_refused(
    london_copy: ScenarioCopy, tmp_path: Path
) -> None:
    elsewhere = _move_population_to(london_copy, tmp_path / "elsewhere")
    os.symlink(elsewhere, london_copy.folder / POPULATION)
    _refused(london_copy, POPULATION)


def test_a_scenario_folder_reached_through_a_symlink_still_reads_its_tables(
    london_copy: ScenarioCopy, tmp_path: Path
) -> None:
    link = tmp_path / "linked"
    os.symlink(london_copy.folder, link)
    assert len(load_scenario(link / "scenario.json").areas) == 32


def test_data_root_allows_another_folder(
    london_copy: ScenarioCopy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared-data"
    elsewhere = _move_population_to(london_copy, shared)
    _point_first_table_at(london_copy, str(elsewhere))
    assert len(load_scenario(london_copy.path, data_root=shared).areas) == 32
    assert main(["validate", str(london_copy.path), "--data-root", str(shared)]) == 0
    assert "ok:" in capsys.readouterr().out
    # a data root does not open everything: a table outside both folders is still refused
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        load_scenario(london_copy.path, data_root=tmp_path / "somewhere-else")


def test_data_root_allows_a_symlink_into_it(london_copy: ScenarioCopy, tmp_path: Path) -> None:
    shared = tmp_path / "shared-data"
    elsewhere = _move_population_to(london_copy, shared)
    os.symlink(elsewhere, london_copy.folder / POPULATION)
    assert main(["resolve", str(london_copy.path), "--data-root", str(shared)]) == 0
