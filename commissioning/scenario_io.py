"""Read and write scenario files: JSON, with area data optionally in CSV tables beside it."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from commissioning.errors import Problem, ScenarioError, problems_from
from commissioning.models import Area, AreaDataSource, AreaTable, Scenario, ScenarioFile
from commissioning.strict_json import JsonInputError, parse_json

if TYPE_CHECKING:
    import polars as pl

_AREA_CODE = re.compile(r"[EWSN]\d{8}")  # the AreaCode pattern
# Commas are accepted only as thousands separators ("79,013"), never as a decimal point ("3,5").
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def load_scenario(path: str | Path, data_root: str | Path | None = None) -> Scenario:
    """Read, resolve and validate a scenario file, or raise ScenarioError with every problem.

    Area tables are read only from the scenario's folder (below it), or from `data_root` when
    given, so a scenario from someone else cannot make the engine read any file on the machine.
    """
    path = Path(path)
    try:
        raw = parse_json(path.read_bytes())  # strict: no repeated keys, NaN, huge numbers
    except FileNotFoundError:
        raise ScenarioError([Problem("", f"scenario file not found: {path}")]) from None
    except IsADirectoryError as exc:
        raise ScenarioError([Problem("", f"cannot read {path}: {exc}")]) from None
    except JsonInputError as exc:
        # A problem about the whole file names the file; one inside it names its field.
        raise JsonInputError(
            [p if p.field else Problem("", f"{path} {p.message}") for p in exc.problems]
        ) from None
    return scenario_from_data(raw, base_dir=path.parent, data_root=data_root)


def scenario_from_data(
    raw: Any, base_dir: Path | None = None, data_root: str | Path | None = None
) -> Scenario:
    """Validate scenario data already parsed from JSON; CSV tables are read relative to base_dir
    and must lie inside it (or inside `data_root`)."""
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
                [
                    Problem(
                        "area_data", "CSV area tables are only read from files; send areas inline"
                    )
                ]
            )
        areas = read_areas(file.area_data, base_dir, data_root)
    fields = file.model_dump(exclude={"areas", "area_data"})
    try:
        return Scenario.model_validate({**fields, "areas": [a.model_dump() for a in areas]})
    except ValidationError as exc:
        raise ScenarioError(problems_from(exc)) from None


def read_areas(
    source: AreaDataSource, base_dir: Path, data_root: str | Path | None = None
) -> list[Area]:
    """Join the area tables on area code, keep the included areas, and build Area records."""
    problems: list[Problem] = []
    frames: list[tuple[int, AreaTable, pl.DataFrame]] = []
    allowed = _allowed_folders(base_dir, data_root)
    for t, table in enumerate(source.tables):
        where = f"area_data.tables[{t}]"
        if not _inside(base_dir / table.path, allowed):
            problems.append(Problem(f"{where}.path", _outside_message(table.path, allowed)))
            continue
        frame = _read_table(base_dir / table.path, where, problems)
        if frame is None:
            continue
        for column in (table.code_column, table.name_column):
            if column is not None and column not in frame.columns:
                problems.append(Problem(f"{where}.path", f"{table.path} has no column {column!r}"))
        frames.append((t, table, frame))
    if source.group_column is not None and not any(
        source.group_column in frame.columns for _, _, frame in frames
    ):
        problems.append(
            Problem("area_data.group_column", f"no table has a column {source.group_column!r}")
        )
    if problems:
        raise ScenarioError(problems)

    names: dict[str, str] = {}
    groups: dict[str, str] = {}
    indicators: dict[str, dict[str, float]] = {}
    order: list[str] = []
    for t, table, frame in frames:
        where = f"area_data.tables[{t}].path"
        text_columns = {table.code_column, table.name_column, source.group_column}
        bad_cells: dict[str, list[tuple[int, str]]] = {}
        seen: dict[str, int] = {}
        for row_number, row in enumerate(frame.iter_rows(named=True), start=2):
            code = (row[table.code_column] or "").strip()
            if not code:
                problems.append(Problem(where, f"{table.path} row {row_number}: no area code"))
                continue
            if not _AREA_CODE.fullmatch(code):
                problems.append(
                    Problem(
                        where,
                        f"{table.path} row {row_number}: {code!r} is not an ONS area code "
                        "like E09000007",
                    )
                )
                continue
            if code in seen:
                problems.append(
                    Problem(
                        where,
                        f"{table.path} row {row_number}: area {code} appears twice "
                        f"(also row {seen[code]})",
                    )
                )
                continue
            seen[code] = row_number
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
                text = cell.strip()
                try:
                    value = float(text.replace(",", "") if _GROUPED.fullmatch(text) else text)
                except ValueError:
                    value = math.nan
                if math.isfinite(value):
                    indicators[code][column] = value
                else:
                    bad_cells.setdefault(column, []).append((row_number, cell))
        for column, cells in bad_cells.items():
            row_number, cell = cells[0]
            more = f" (and {len(cells) - 1} more rows)" if len(cells) > 1 else ""
            problems.append(
                Problem(
                    where,
                    f"{table.path} row {row_number} column {column!r}: "
                    f"{cell!r} is not a number{more}",
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
        include = "all" if source.include is None else f"[{', '.join(source.include)}]"
        problems.append(
            Problem(
                "area_data",
                f"no areas left after include/exclude: the tables have {len(order)} areas; "
                f"include={include}; {len(source.exclude)} excluded",
            )
        )
    areas: list[Area] = []
    for code in chosen:
        if code not in names:
            problems.append(Problem("area_data.tables", f"area {code} has no name in any table"))
            continue
        try:
            areas.append(
                Area(
                    code=code, name=names[code], group=groups.get(code), indicators=indicators[code]
                )
            )
        except ValidationError as exc:
            problems += [
                Problem("area_data.tables", f"area {code}: {p}") for p in problems_from(exc)
            ]
    if problems:
        raise ScenarioError(problems)
    return areas


def _allowed_folders(base_dir: Path, data_root: str | Path | None) -> list[Path]:
    folders = [base_dir.resolve()]
    if data_root is not None:
        folders.append(Path(data_root).resolve())
    return folders


def _inside(path: Path, folders: list[Path]) -> bool:
    """Does `path`, with `..` and every symlink resolved, lie inside one of `folders`?"""
    real = path.resolve()
    return any(real.is_relative_to(folder) for folder in folders)


def _outside_message(path: str, allowed: list[Path]) -> str:
    if len(allowed) == 1:
        return (
            f"{path!r} is outside the scenario's folder {allowed[0]}; area tables must be in it "
            "(or allow another folder with --data-root, or data_root= in the library)"
        )
    return f"{path!r} is outside the scenario's folder {allowed[0]} and the data root {allowed[1]}"


def _read_table(path: Path, where: str, problems: list[Problem]) -> pl.DataFrame | None:
    # polars loads only for a scenario with area tables: inline areas and `--version` skip it.
    import polars as pl

    try:
        # Everything is read as text first so a bad cell is reported by row and column.
        return pl.read_csv(path, infer_schema=False)
    except FileNotFoundError:
        problems.append(Problem(f"{where}.path", f"file not found: {path}"))
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"{where}.path", f"cannot read {path}: {exc}"))
    return None


def scenario_json(scenario: Scenario | ScenarioFile) -> str:
    """Canonical JSON text of a scenario (areas inline), suitable for a scenario file.

    Nulls are kept: dropping them would turn an explicit None back into a non-None default
    (e.g. AreaTable.name_column) when the file is read again.
    """
    return scenario.model_dump_json(indent=2) + "\n"


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    Path(path).write_text(scenario_json(scenario), encoding="utf-8")
