"""Outputs never destroy what isn't theirs, and a kill at any instant leaves a whole run.

The kill tests run the real command (and the real folder swap) in a child process and `kill -9`
it at many instants: before, during and after writing. The folder must then hold exactly the old
run or exactly the new one, compared file by file with the two known runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURE_DIR

from commissioning.cli import main
from commissioning.results import RunResult
from commissioning.safe_output import (
    MARKER,
    UNMARKED_RUN_FILES,
    OutputRefused,
    check_run_folder,
    remove_leftovers,
    staged_file,
)

CLI = [sys.executable, "-m", "commissioning.cli"]
LONDON = FIXTURE_DIR / "scenario.json"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file's SHA-256, except timing.json (wall-clock figures differ between reruns)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.name != "timing.json"
    }


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(n for n in os.listdir(parent) if n.startswith(f".{name}."))


@dataclass(frozen=True)
class KnownRuns:
    old: Path
    new: Path
    new_scenario: Path
    old_files: dict[str, str]
    new_files: dict[str, str]


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> KnownRuns:
    """The London run (old) and a run of London with less MOPAC money and another name (new)."""
    root = tmp_path_factory.mktemp("known")
    folder = root / "scenario"
    shutil.copytree(FIXTURE_DIR, folder)
    data = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    data["name"] = "London with a smaller MOPAC direct budget"
    pot = next(p for p in data["pots"] if p["id"] == "mopac_direct")
    for amount in pot["amounts"]:
        amount["amount_pence"] = 400_000_000
    new_scenario = folder / "smaller.json"
    new_scenario.write_text(json.dumps(data), encoding="utf-8")
    assert main(["solve", str(LONDON), "--out", str(root / "old")]) == 0
    assert main(["solve", str(new_scenario), "--out", str(root / "new")]) == 0
    old_files, new_files = snapshot(root / "old"), snapshot(root / "new")
    assert old_files.keys() == new_files.keys() and old_files != new_files
    return KnownRuns(root / "old", root / "new", new_scenario, old_files, new_files)


# -- what may be replaced -------------------------------------------------------------------


def test_out_on_a_foreign_folder_is_refused_and_its_files_survive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "budget.xlsx").write_bytes(b"the commissioner's own file")
    (documents / "notes").mkdir()

    assert main(["solve", str(LONDON), "--out", str(documents)]) == 2

    error = capsys.readouterr().err
    assert "not a run folder written by commissioning" in error and "budget.xlsx" in error
    assert "Traceback" not in error
    assert (documents / "budget.xlsx").read_bytes() == b"the commissioner's own file"
    assert sorted(p.name for p in documents.iterdir()) == ["budget.xlsx", "notes"]
    assert leftovers(tmp_path, "Documents") == []


def test_out_dot_in_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    done = subprocess.run(
        [*CLI, "solve", str(LONDON), "--out", "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert "not a run folder" in done.stderr and "Traceback" not in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_out_on_an_existing_file_is_refused_and_the_file_is_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("do not touch", encoding="utf-8")
    assert main(["solve", str(LONDON), "--out", str(report)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert report.read_text(encoding="utf-8") == "do not touch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_a_previous_run_holding_someone_elses_file_is_refused(
    known: KnownRuns, tmp_path: Path
) -> None:
    target = tmp_path / "run"
    shutil.copytree(known.old, target)
    (target / "my-notes.txt").write_text("notes", encoding="utf-8")
    with pytest.raises(OutputRefused, match=r"my-notes\.txt"):
        RunResult.read(known.new).write(target)
    assert (target / "my-notes.txt").read_text(encoding="utf-8") == "notes"
    assert {k: v for k, v in snapshot(target).items() if k != "my-notes.txt"} == known.old_files


def test_a_run_folder_is_marked_and_lists_its_files(known: KnownRuns) -> None:
    marker = json.loads((known.old / MARKER).read_text(encoding="utf-8"))
    assert marker["tool"] == "commissioning" and marker["format"] == 1 and marker["version"]
    assert sorted(marker["files"]) == sorted(
        p.name for p in known.old.iterdir() if p.name != MARKER
    )


def test_resolving_into_a_previous_run_replaces_it(
    known: KnownRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "run"
    shutil.copytree(known.old, target)
    assert main(["solve", str(known.new_scenario), "--out", str(target)]) == 0
    assert snapshot(target) == known.new_files
    assert leftovers(tmp_path, "run") == []
    # and the run folder still reads back and exports
    assert RunResult.read(target).summary["scenario"] == "London with a smaller MOPAC direct budget"
    capsys.readouterr()
    assert main(["export", str(target), "--out", str(tmp_path / "london.xlsx")]) == 0
    assert (tmp_path / "london.xlsx").stat().st_size > 0
    assert leftovers(tmp_path, "london.xlsx") == []


def test_an_empty_folder_and_an_unmarked_0_1_0_run_may_be_written(
    known: KnownRuns, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    check_run_folder(empty)
    unmarked = tmp_path / "unmarked"
    shutil.copytree(known.old, unmarked)
    (unmarked / MARKER).unlink()
    for later in {p.name for p in unmarked.iterdir()} - UNMARKED_RUN_FILES:
        (unmarked / later).unlink()  # files 0.1.0 did not write (explanations.csv, …)
    check_run_folder(unmarked)
    RunResult.read(known.new).write(unmarked)
    assert (unmarked / MARKER).is_file()
    assert RunResult.read(unmarked).summary == json.loads(
        (known.new / "summary.json").read_text(encoding="utf-8")
    )


def test_export_refuses_a_folder_and_replaces_a_file_whole(
    known: KnownRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "a-folder.xlsx"
    folder.mkdir()
    assert main(["export", str(known.old), "--out", str(folder)]) == 2
    assert "it is a folder" in capsys.readouterr().err
    workbook = tmp_path / "camden.xlsx"
    workbook.write_bytes(b"an older export")
    (tmp_path / ".camden.xlsx.staging-deadbeef0000").write_bytes(b"left by a killed export")
    assert main(["export", str(known.old), "--borough", "E09000007", "--out", str(workbook)]) == 0
    assert workbook.read_bytes()[:2] == b"PK"
    assert leftovers(tmp_path, "camden.xlsx") == []


def test_a_leftover_still_being_written_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "book.xlsx"
    dead = tmp_path / ".book.xlsx.staging-0123456789ab"
    dead.write_bytes(b"left by a killed writer")
    with staged_file(target) as handle:
        assert not dead.exists()  # the writer cleared what a dead writer left
        live = leftovers(tmp_path, "book.xlsx")
        assert len(live) == 1
        dead.write_bytes(b"left by a killed writer")
        assert remove_leftovers(tmp_path, "book.xlsx") == 1  # the dead one only
        assert leftovers(tmp_path, "book.xlsx") == live
        handle.write(b"new bytes")
        assert not target.exists()  # nothing in place until the bytes are complete
    assert target.read_bytes() == b"new bytes"
    assert leftovers(tmp_path, "book.xlsx") == []


# -- kill -9 at any instant -----------------------------------------------------------------


def _kill_after_staging(command: list[str], parent: Path, name: str, delay: float) -> str:
    """Start `command`, wait until it has begun writing `name` (or `delay` has passed when
    negative, i.e. kill it while it is still solving), then kill -9 it after `delay` seconds.

    Returns what the kill interrupted: "solving", "writing" or "finished".
    """
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        if delay < 0:
            time.sleep(-delay)
        else:
            while child.poll() is None and not leftovers(parent, name):
                if time.monotonic() - started > 60:
                    raise AssertionError("the child never started writing")
                time.sleep(0.001)
            time.sleep(delay)
        writing = bool(leftovers(parent, name))
        finished = child.poll() is not None
        child.kill()
    finally:
        child.wait()
    if finished:
        return "finished"
    return "writing" if writing else "solving"


def _reset(target: Path, run: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(run, target)


def test_kill_9_during_a_cli_solve_leaves_the_old_run_or_the_new_one(
    known: KnownRuns, tmp_path: Path
) -> None:
    target = tmp_path / "run"
    command = [*CLI, "solve", str(known.new_scenario), "--out", str(target)]
    interrupted = []
    for delay in (-0.4, 0.0, 0.03, 0.1, 0.25, 0.5):
        _reset(target, known.old)
        interrupted.append(_kill_after_staging(command, tmp_path, "run", delay))
        state = snapshot(target)
        assert state in (known.old_files, known.new_files), f"mixed run after kill at {delay}"
    # The kills must really have hit the solve and the writing, or this test proves nothing.
    assert "solving" in interrupted and interrupted.count("writing") >= 3, interrupted

    # The next run removes what the killed ones left and writes the new run whole.
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert snapshot(target) == known.new_files
    assert leftovers(tmp_path, "run") == []


_COPY_RUN = """
import shutil, sys
from pathlib import Path
from commissioning.safe_output import MARKER, replace_run_folder
source = Path(sys.argv[1])
def fill(staging):
    for path in sorted(source.iterdir()):
        if path.name != MARKER:
            shutil.copyfile(path, staging / path.name)
replace_run_folder(sys.argv[2], fill)
"""


def test_kill_9_at_many_instants_of_the_swap_leaves_a_whole_run(
    known: KnownRuns, tmp_path: Path
) -> None:
    """The folder swap alone (no solve), killed at instants spread over its whole write."""
    target = tmp_path / "run"
    command = [sys.executable, "-c", _COPY_RUN, str(known.new), str(target)]
    # Start-up time varies with machine load, so the spread is measured on the slowest of three
    # whole runs and reaches past it; kills that still all land early are pushed later.
    wholes = []
    for _ in range(3):
        _reset(target, known.old)
        started = time.monotonic()
        subprocess.run(command, check=True)
        wholes.append(time.monotonic() - started)
    whole = max(wholes)
    delays = [whole * step / 10 for step in range(13)]
    outcomes = set()
    while delays:
        delay = delays.pop(0)
        _reset(target, known.old)
        child = subprocess.Popen(command)
        time.sleep(delay)
        child.kill()
        child.wait()
        state = snapshot(target)
        assert state in (known.old_files, known.new_files), f"mixed run after {delay:.3f}s"
        outcomes.add("old" if state == known.old_files else "new")
        if not delays and "new" not in outcomes and delay < 20 * whole:
            delays.append(delay * 1.5)
    assert outcomes == {"old", "new"}
    subprocess.run(command, check=True)
    assert snapshot(target) == known.new_files and leftovers(tmp_path, "run") == []
