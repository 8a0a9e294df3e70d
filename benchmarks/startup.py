"""Start-up: what `commissioning` costs before and around the work (a benchmark, not a test).

    .venv/bin/python benchmarks/startup.py [--repeats 7]

Every figure is CPU seconds (user + system, from the kernel's accounting of finished child
processes), the median of `--repeats` fresh processes:

- bare `python -c pass`, `commissioning --version`, `--help`, `validate` on the London fixture;
- `commissioning solve` on the London fixture, cold (one process: read, solve, marginal value,
  write every file and the workbook);
- what importing each heavy library costs on its own (its import minus bare Python), and all
  the libraries a cold solve needs together: the floor under any cold solve built on them.

Then where the cold solve's import time goes: the modules the process ends up holding are
imported one after another in a fresh interpreter under `python -X importtime` (so no work and
no second thread blur the figures), and each module's own time is summed by the library it
belongs to (milliseconds of wall time, median of `--repeats`).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT / "fixtures" / "london-2019" / "scenario.json"
PYTHON = sys.executable
COMMAND = str(Path(PYTHON).with_name("commissioning"))

# What a cold `commissioning solve` imports and cannot do without: the scenario's models, its
# tables, the solver and the workbook.
NEEDED = ("pydantic", "polars", "numpy", "highspy", "pulp", "openpyxl")

LIBRARIES = {
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection"),
    "polars": ("polars", "_polars_runtime_32"),
    "pulp": ("pulp",),
    "highspy": ("highspy",),
    "numpy": ("numpy",),
    "openpyxl": ("openpyxl", "et_xmlfile", "lxml"),
}


def children_cpu(action: Callable[[], object]) -> float:
    """CPU seconds of the child processes `action` starts and waits for (and theirs)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    action()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(command: list[str], repeats: int) -> float:
    def run() -> None:
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    return statistics.median(children_cpu(run) for _ in range(repeats))


def cold_solve(repeats: int) -> float:
    """`commissioning solve` on the London fixture, into a new folder each time."""
    with tempfile.TemporaryDirectory() as folder:
        return statistics.median(
            median_cpu([COMMAND, "solve", str(LONDON), "--out", str(Path(folder) / f"run{n}")], 1)
            for n in range(repeats)
        )


def modules_loaded(code: str) -> list[str]:
    """Every module a fresh interpreter holds after running `code`."""
    done = subprocess.run(
        [PYTHON, "-c", f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split("\n")[-2].split()


def import_breakdown(modules: list[str], repeats: int) -> dict[str, float]:
    """Milliseconds of import time by library when `modules` are imported one after another in
    a fresh interpreter (no work, no threads): each module's own time from -X importtime,
    summed per library; the median of `repeats` interpreters."""
    runs = [_one_breakdown(modules) for _ in range(repeats)]
    return {g: statistics.median(run.get(g, 0.0) for run in runs) for g in set().union(*runs)}


def _one_breakdown(modules: list[str]) -> dict[str, float]:
    importable = [m for m in modules if not m.startswith("_") and m not in {"__main__"}]
    code = "\n".join(f"try:\n    import {m}\nexcept Exception:\n    pass" for m in importable)
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    groups: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        top = name.split(".")[0]
        group = next((lib for lib, tops in LIBRARIES.items() if top in tops), None)
        if group is None and top == "commissioning":
            group = "commissioning (models)" if ".models" in name else "commissioning (rest)"
        groups[group or "standard library and others"] += int(own) / 1000
    return dict(groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    n = args.repeats

    bare = median_cpu([PYTHON, "-c", "pass"], n)
    rows = [
        ("python -c pass", bare),
        ("commissioning --version", median_cpu([COMMAND, "--version"], n)),
        ("commissioning --help", median_cpu([COMMAND, "--help"], n)),
        ("commissioning validate (London)", median_cpu([COMMAND, "validate", str(LONDON)], n)),
    ]
    rows.append(("commissioning solve (London), cold", cold_solve(n)))
    print(f"| command (median of {n}) | CPU s |\n|---|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} |")

    print(f"\n| import on its own (median of {n}, minus bare Python) | CPU s |\n|---|---:|")
    for label, code in (
        ("pydantic", "import pydantic"),
        ("pydantic + the scenario models", "import commissioning.models"),
        ("polars", "import polars"),
        ("pulp + highspy + numpy", "import pulp, highspy, numpy"),
        ("openpyxl", "import openpyxl"),
        ("all of these together (a cold solve needs each)", f"import {', '.join(NEEDED)}"),
    ):
        print(f"| {label} | {median_cpu([PYTHON, '-c', code], n) - bare:.3f} |")

    with tempfile.TemporaryDirectory() as folder:
        cli_modules = modules_loaded(
            "from commissioning.cli import main\n"
            f"main(['solve', {str(LONDON)!r}, '--out', {folder + '/run'!r}])"
        )
        cli_imports = import_breakdown(cli_modules, n)
    print(f"\n| imports of the cold solve (ms, median of {n}) | ms |")
    print("|---|---:|")
    for group in sorted(cli_imports, key=lambda g: -cli_imports[g]):
        print(f"| {group} | {cli_imports[group]:.0f} |")
    print(f"| **all imports** | {sum(cli_imports.values()):.0f} |")


if __name__ == "__main__":
    main()
