"""What each command loads: `--version` and `--help` nothing heavy, `validate` no solver.

Start-up time is mostly imports (measured: pydantic and the models about 0.3 s, polars 0.3 s,
pulp + highspy + numpy 0.25 s, openpyxl 0.15 s), so each check here runs a fresh interpreter
and looks at `sys.modules` afterwards: a module-level import that creeps back fails the test,
whatever the machine's speed. The timings themselves are in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LONDON = FIXTURES / "london-2019" / "scenario.json"
REFUGES = FIXTURES / "london-2019-refuges" / "scenario.json"  # fund splits and formula grants

HEAVY = {"pydantic", "polars", "pulp", "highspy", "numpy", "openpyxl", "litestar", "uvicorn"}
SOLVER = {"pulp", "highspy", "numpy"}


def loaded_after(code: str, tmp_path: Path) -> set[str]:
    """The top-level packages, and the commissioning modules, loaded once `code` has run in a
    fresh interpreter (its own output is left alone: the module list goes to a file)."""
    listing = tmp_path / "modules.json"
    script = (
        "import sys\n"
        f"try:\n    {code}\nexcept SystemExit:\n    pass\n"
        "import json\n"
        f"open({str(listing)!r}, 'w').write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    names = json.loads(listing.read_text())
    return {n.split(".")[0] for n in names} | {n for n in names if n.startswith("commissioning.")}


def cli(*args: str) -> str:
    return f"from commissioning.cli import main; main({list(args)!r})"


@pytest.mark.parametrize(
    "code",
    [
        "import commissioning.cli",
        cli("--version"),
        cli("--help"),
        cli("validate", "--help"),
        cli("keys", "--help"),
    ],
    ids=["import", "--version", "--help", "validate --help", "keys --help"],
)
def test_the_command_starts_without_the_heavy_libraries(code: str, tmp_path: Path) -> None:
    loaded = loaded_after(code, tmp_path)
    assert not loaded & HEAVY
    assert "commissioning.models" not in loaded  # pydantic models: ~0.3 s to build
    assert "commissioning.store.sqlite" not in loaded


@pytest.mark.parametrize("scenario", [LONDON, REFUGES], ids=["london", "refuges"])
def test_validate_loads_no_solver_and_no_workbook_library(scenario: Path, tmp_path: Path) -> None:
    loaded = loaded_after(cli("validate", str(scenario)), tmp_path)
    assert {"pydantic", "polars"} <= loaded  # the models, and the area tables (CSV) it reads
    assert "commissioning.checks" in loaded  # it did check the arithmetic
    assert not loaded & (SOLVER | {"openpyxl", "litestar", "uvicorn"})


def test_a_scenario_with_areas_inline_is_read_without_polars(tmp_path: Path) -> None:
    """polars is for reading area tables; a scenario without any does not load it."""
    inline = tmp_path / "inline.json"
    subprocess.run(
        [sys.executable, "-m", "commissioning.cli", "resolve", str(LONDON)],
        stdout=inline.open("w"),
        check=True,
    )
    code = f"from commissioning.scenario_io import load_scenario; load_scenario({str(inline)!r})"
    loaded = loaded_after(code, tmp_path)
    assert "pydantic" in loaded
    assert not loaded & (SOLVER | {"polars", "openpyxl"})


def test_the_solver_loads_when_a_scenario_is_solved(tmp_path: Path) -> None:
    """The other side of the checks above: the lazy imports do happen when they are needed."""
    code = (
        "from commissioning.optimise import solve; "
        "from commissioning.scenario_io import load_scenario; "
        f"solve(load_scenario({str(LONDON)!r}))"
    )
    loaded = loaded_after(code, tmp_path)
    assert SOLVER | {"polars", "pydantic"} <= loaded
    assert "openpyxl" not in loaded  # the workbook is written by the caller, not the engine


def test_the_command_runs_polars_on_one_thread(tmp_path: Path) -> None:
    """The command sets POLARS_MAX_THREADS=1 before polars loads (BENCHMARKS.md: on two cores
    polars' pool only adds work to these small tables); a setting of the user's own wins."""
    script = (
        "import os, sys\n"
        "os.environ.pop('POLARS_MAX_THREADS', None)\n"
        f"from commissioning.cli import main; main(['validate', {str(LONDON)!r}])\n"
        "import polars; sys.stderr.write(f'threads={polars.thread_pool_size()}')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "threads=1" in done.stderr
    chosen = subprocess.run(
        [sys.executable, "-c", script.replace("os.environ.pop('POLARS_MAX_THREADS', None)", "")],
        capture_output=True,
        text=True,
        env={**os.environ, "POLARS_MAX_THREADS": "2"},
    )
    assert "threads=2" in chosen.stderr, chosen.stderr
