"""Filters and pages over one table: what an integrator asks for, checked and applied.

Filters (`area_code`, `service`, `year`, `pot`) are repeatable: `?service=idva&service=isva`
keeps rows of either service; different filters combine with AND. A filter on a column the
table lacks is a 400 naming the parameter and the tables that have it. Rows keep the table's
own order (its key columns, commissioning.results.SORT_KEYS, as the CSV files are written), so
pages are stable: a succeeded run never changes. A cursor is an opaque token for the row to
start at, bound to the run, the table and the filters: used with other filters it is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from commissioning.api.services.access import Forbidden, Principal, ServiceError

FILTERS = ("area_code", "service", "year", "pot")
MAX_LIMIT = 10_000  # rows a page; without `limit` a table comes whole, as before pagination

PATTERNS = {  # as the scenario's own fields are written (commissioning.models.base)
    "area_code": r"^[EWSN][0-9]{8}$",
    "service": r"^[a-z][a-z0-9_]{0,63}$",
    "year": r"^[0-9]{4}/[0-9]{2}$",
    "pot": r"^[a-z][a-z0-9_]{0,63}$",
}
_LIKE = {
    "area_code": "an ONS area code like E09000007",
    "service": "a service id like idva",
    "year": "a financial year like 2019/20",
    "pot": "a pot id like mopac_direct",
}
_CURSOR = re.compile(r"^([0-9]{1,9})\.([0-9a-f]{16})$")


class BadQuery(ServiceError):
    """A filter, limit or cursor that cannot be applied (answered 400, naming the parameter)."""


@dataclass(frozen=True)
class TableQuery:
    """The filters, page size and cursor of one table request."""

    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    limit: int | None = None
    cursor: str | None = None

    def fingerprint(self, scope: str) -> str:
        """What a cursor is bound to: the run and table (scope) and the filters."""
        text = (
            scope
            + "|"
            + "|".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(self.filters.items()))
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Page:
    rows: pl.DataFrame
    total: int  # rows matching the filters, over every page
    next_cursor: str | None  # None on the last page


def table_query(
    area_code: Sequence[str] | None = None,
    service: Sequence[str] | None = None,
    year: Sequence[str] | None = None,
    pot: Sequence[str] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> TableQuery:
    """Check each value's form (400 naming the parameter) and gather the query."""
    given = {"area_code": area_code, "service": service, "year": year, "pot": pot}
    filters: dict[str, tuple[str, ...]] = {}
    for name, values in given.items():
        if not values:
            continue
        for value in values:
            if not re.match(PATTERNS[name], value):
                raise BadQuery(f"{value!r} is not {_LIKE[name]}", field=name)
        filters[name] = tuple(dict.fromkeys(values))
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit must be 1 to {MAX_LIMIT:,}, got {limit}", field="limit")
    return TableQuery(filters, limit, cursor)


def encode_cursor(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}.{fingerprint}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> int:
    bad = BadQuery(
        "not a cursor this table gave with these filters; start again without cursor",
        field="cursor",
    )
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    match = _CURSOR.match(text)
    if match is None or match.group(2) != fingerprint:
        raise bad
    return int(match.group(1))


def tables_with(column: str, columns_by_table: Mapping[str, Sequence[str]]) -> list[str]:
    return [name for name, columns in columns_by_table.items() if column in columns]


def page(
    principal: Principal,
    scope: str,
    table: str,
    frame: pl.DataFrame,
    query: TableQuery,
    columns_by_table: Mapping[str, Sequence[str]],
) -> Page:
    """The page of `frame` (already cut to the caller's scope) that the query asks for.

    A borough lead's filters can only narrow: an area_code outside its borough is a 403, never
    another borough's rows.
    """
    for name in query.filters:
        if name not in frame.columns:
            having = tables_with(name, columns_by_table)
            raise BadQuery(
                f"table {table!r} has no {name} column; the {name} filter applies to "
                + (", ".join(having) if having else "no table here"),
                field=name,
            )
    borough = principal.borough
    if borough is not None:
        others = [a for a in query.filters.get("area_code", ()) if a != borough]
        if others:
            raise Forbidden(
                f"your key covers {borough} only, not {', '.join(others)}", field="area_code"
            )
    for name, values in query.filters.items():
        frame = frame.filter(pl.col(name).is_in(list(values)))
    total = frame.height
    fingerprint = query.fingerprint(f"{scope}/{table}")
    offset = 0 if query.cursor is None else _decode_cursor(query.cursor, fingerprint)
    if offset > total:
        raise BadQuery("the cursor is past the last row; start again", field="cursor")
    rows = frame.slice(offset, query.limit)
    end = offset + rows.height
    return Page(rows, total, encode_cursor(end, fingerprint) if end < total else None)
