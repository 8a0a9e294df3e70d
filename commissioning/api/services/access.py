"""Who is asking, what they may see, and the errors a service reports."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from commissioning.store import RunRecord, Store
from commissioning.store.interface import Role


class ServiceError(Exception):
    """A request the service cannot honour; `field` names the input at fault, if one is."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """No such scenario, run, table or area."""


class Forbidden(ServiceError):
    """The caller's role or borough does not cover this."""


class Conflict(ServiceError):
    """The request is valid but the run is not in a state that allows it."""


class Busy(ServiceError):
    """The run queue is full; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """The caller: an API key's role, and for a borough lead the one area it covers."""

    key_id: str | None
    role: Role
    area_code: str | None = None

    @classmethod
    def system(cls) -> Principal:
        """The CLI and library act as a commissioner without a key."""
        return cls(key_id=None, role="commissioner")

    @property
    def is_commissioner(self) -> bool:
        return self.role == "commissioner"

    @property
    def borough(self) -> str | None:
        """The area a borough lead is limited to; None for London-wide roles."""
        return self.area_code if self.role == "borough_lead" else None


def require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this needs the {' or '.join(roles)} role; your key is {principal.role}")


def visible_run(store: Store, principal: Principal, run_id: str) -> RunRecord:
    """The run if the caller may see it: drafts (unpublished runs) are commissioners' only."""
    run = store.get_run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id}", field="run_id")
    if not principal.is_commissioner and not run.published:
        raise Forbidden(f"run {run_id} is not published; only commissioners see drafts", "run_id")
    return run


def table_visible(principal: Principal, frame: pl.DataFrame) -> bool:
    """Borough leads see only per-area tables (those with an area_code column)."""
    return principal.borough is None or "area_code" in frame.columns


def scope_table(principal: Principal, name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of a table the caller may see: a borough lead gets only its own area's rows."""
    area = principal.borough
    if area is None:
        return frame
    if "area_code" not in frame.columns:
        raise Forbidden(
            f"table {name!r} is London-wide; a borough lead sees only its own borough's rows",
            field="table",
        )
    return frame.filter(pl.col("area_code") == area)


def require_area(principal: Principal, area_code: str) -> None:
    if principal.borough is not None and principal.borough != area_code:
        raise Forbidden(
            f"your key covers {principal.borough} only, not {area_code}", field="area_code"
        )
