"""Read and write scenario files: JSON, with area data optionally in CSV tables beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from commissioning.errors import Problem, ScenarioError, problems_from
from commissioning.models import Area, AreaDataSource, Scenario, ScenarioFile


def load_scenario(path: str | Path) -> Scenario:
    """Read, resolve and fully validate a scenario file, or raise ScenarioError with every problem."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem("", f"scenario file not found: {path}")]) from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ScenarioError([Problem("", f"cannot read {path}: {exc}")]) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            [Problem("", f"{path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from None
    return scenario_from_data(raw, base_dir=path.parent)


def scenario_from_data(raw: Any, base_dir: Path | None = None) -> Scenario:
    """Validate scenario data already parsed from JSON; CSV tables are read relative to base_dir."""
    try:
        file = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc)) from None
    if file.areas is not None:
        areas = file.areas
    else:
        assert file.area_data is not None
        if base_dir is None:
            raise ScenarioError(
                [Problem("area_data", "CSV area tables are only read from files; send areas inline")]
            )
        areas = read_areas(file.area_data, base_dir)
    fields = file.model_dump(exclude={"areas", "area_data"})
    try:
        return Scenario.model_validate({**fields, "areas": [a.model_dump() for a in areas]})
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc)) from None


def read_areas(source: AreaDataSource, base_dir: Path) -> list[Area]:
    """Join the area tables on area code, keep the included areas, and build Area records."""
    problems: list[Problem] = []
    names: dict[str, str] = {}
    groups: dict[str, str] = {}
    indicators: dict[str, dict[str, float]] = {}
    order: list[str] = []
    for t, table in enumerate(source.tables):
        where = f"area_data.tables[{t}]"
        frame = _read_table(base_dir / table.path, where, problems)
        if frame is None:
            continue
        for column in (table.code_column, table.name_column):
            if column is not None and column not in frame.columns:
                problems.append(Problem(f"{where}.path", f"{table.path} has no column {column!r}"))
        if problems:
            continue
        text_columns = {table.code_column, table.name_column, source.group_column}
        for row_number, row in enumerate(frame.iter_rows(named=True), start=2):
            code = (row[table.code_column] or "").strip()
            if not code:
                problems.append(Problem(f"{where}.path", f"{table.path} row {row_number}: no area code"))
                continue
            if code not in indicators:
                indicators[code] = {}
                order.append(code)
            if table.name_column and row[table.name_column]:
                names.setdefault(code, row[table.name_column].strip())
            if source.group_column and row.get(source.group_column):
                groups[code] = row[source.group_column].strip()
            for column, cell in row.items():
                if column in text_columns or cell is None or not cell.strip():
                    continue  # blank cells are missing data, never zero
                try:
                    indicators[code][column] = float(cell.replace(",", ""))
                except ValueError:
                    problems.append(
                        Problem(
                            f"{where}.path",
                            f"{table.path} row {row_number} column {column!r}: "
                            f"{cell!r} is not a number",
                        )
                    )
    if problems:
        raise ScenarioError(problems)

    for field, codes in (("include", source.include or []), ("exclude", source.exclude)):
        for i, code in enumerate(codes):
            if code not in indicators:
                problems.append(Problem(f"area_data.{field}[{i}]", f"unknown area {code!r}"))
    chosen = [
        code
        for code in order
        if (source.include is None or code in source.include) and code not in source.exclude
    ]
    if not chosen:
        problems.append(Problem("area_data", "no areas left after include/exclude"))
    for code in chosen:
        if code not in names:
            problems.append(Problem("area_data.tables", f"area {code} has no name in any table"))
    if problems:
        raise ScenarioError(problems)
    try:
        return [
            Area(code=c, name=names[c], group=groups.get(c), indicators=indicators[c]) for c in chosen
        ]
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc)) from None


def _read_table(path: Path, where: str, problems: list[Problem]) -> pl.DataFrame | None:
    try:
        # Everything is read as text first so a bad cell is reported by row and column.
        return pl.read_csv(path, infer_schema=False)
    except FileNotFoundError:
        problems.append(Problem(f"{where}.path", f"file not found: {path}"))
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"{where}.path", f"cannot read {path}: {exc}"))
    return None


def scenario_json(scenario: Scenario | ScenarioFile) -> str:
    """Canonical JSON text of a scenario (areas inline), suitable for a scenario file."""
    return scenario.model_dump_json(indent=2, exclude_none=True) + "\n"


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    Path(path).write_text(scenario_json(scenario), encoding="utf-8")
