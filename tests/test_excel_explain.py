"""The explanation sheets of the London workbook, read back with openpyxl."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
from test_cost_to_benchmark import london_cut

from commissioning.excel import write_london_workbook
from commissioning.models import Scenario
from commissioning.optimise import solve
from commissioning.runs import with_marginal_value

HEADER_ROW = 5


def _sheet_rows(path: Path, name: str) -> tuple[list[str], list[dict[str, object]]]:
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) for h in rows[HEADER_ROW - 1]]
    return header, [dict(zip(header, r, strict=False)) for r in rows[HEADER_ROW:] if r[0]]


def test_cost_to_benchmark_marginal_and_binding_sheets(
    london_scenario: Scenario, tmp_path: Path
) -> None:
    run = with_marginal_value(solve(london_cut(london_scenario)))
    path = write_london_workbook(run, tmp_path / "london.xlsx")
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert {"Cost to benchmark", "Marginal value", "Binding rules"} <= set(names)

    _, cost = _sheet_rows(path, "Cost to benchmark")
    assert len(cost) == run.table("cost_to_benchmark").height
    london = next(r for r in cost if r["Level"] == "London" and r["Year"] == "2019/20")
    assert Decimal(str(london["Cost to benchmark"])) == Decimal("540000")
    assert Decimal(str(london["Extra money needed"])) == Decimal("532833.33")

    _, marginal = _sheet_rows(path, "Marginal value")
    table = run.table("marginal")
    assert len(marginal) == table.height
    hundred_k = table.filter(
        (pl.col("pot") == "mopac_direct")
        & (pl.col("year") == "2019/20")
        & (pl.col("change_pence") == 10_000_000)
        & (pl.col("service") == "all")
    ).row(0, named=True)
    row = next(
        r
        for r in marginal
        if r["Year"] == "2019/20"
        and r["Service"] == "All services"
        and Decimal(str(r["Change"])) == Decimal("100000")
        and str(r["Pot"]).startswith("MOPAC directly")
    )
    assert row["Units gained or lost"] == hundred_k["units_change"] > 0
    assert row["Lowest coverage after"] == hundred_k["lowest_coverage_after"]

    _, binding = _sheet_rows(path, "Binding rules")
    budget = [
        r
        for r in binding
        if r["Rule"] == "pot budget" and "Victims Fund 2019/20" in str(r["Description"])
    ]
    assert budget and budget[0]["Binds"] == "yes"
