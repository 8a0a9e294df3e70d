"""Helpers shared by the web workspace's tests (this module holds no tests of its own).

`web_store` makes a real store with one key per role, the London scenario with MOPAC's direct
budget at £4.4m a year (every borough at benchmark only with the Victims Fund's spare money, so
a cut to the Victims Fund shows on the map) solved with the real optimiser and published, and
the London fixture itself solved as a draft.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postgres_support import open_test_store, world_store
from test_api_support import CAMDEN, ISLINGTON, london_data, settings_at

from commissioning.api.services import lifecycle, runs, scenarios
from commissioning.api.services.access import Principal
from commissioning.api.settings import ApiSettings
from commissioning.store import Store, StoreLocation

BASE_NAME = "London, MOPAC direct £4.4m a year"
DIRECT_PENCE = 440_000_000
VICTIMS_FUND_PENCE = 30_000_000


def base_data() -> dict[str, Any]:
    data = copy.deepcopy(london_data())
    data["name"] = BASE_NAME
    pot = next(p for p in data["pots"] if p["id"] == "mopac_direct")
    for amount in pot["amounts"]:
        amount["amount_pence"] = DIRECT_PENCE
    return data


@dataclass(frozen=True)
class WebKeys:
    commissioner: str
    finance: str
    camden: str
    islington: str


@dataclass(frozen=True)
class WebStore:
    store: Store
    location: StoreLocation  # a SQLite file, or a PostgreSQL URL (postgres_support.py)
    keys: WebKeys
    base_scenario: str
    base_run: str  # published
    draft_run: str  # the London fixture, solved, never published

    def settings(self, **changes: Any) -> ApiSettings:
        """Settings for an app on this store (one solver worker unless `changes` say)."""
        return settings_at(self.location, **changes)


def web_store(folder: Path) -> WebStore:
    location = world_store(folder, "web")
    store = open_test_store(location)
    keys = WebKeys(
        commissioner=store.create_key("commissioner", label="web test")[1],
        finance=store.create_key("finance")[1],
        camden=store.create_key("borough_lead", CAMDEN)[1],
        islington=store.create_key("borough_lead", ISLINGTON)[1],
    )
    system = Principal.system()
    base = scenarios.create_scenario(store, system, base_data())
    base_run = runs.run_now(store, system, base.id)
    assert base_run.status == "succeeded", base_run.reason
    lifecycle.publish(store, system, base_run.id, "the base for the web tests")
    london = scenarios.create_scenario(store, system, london_data())
    draft = runs.run_now(store, system, london.id)
    assert draft.status == "succeeded", draft.reason
    return WebStore(store, location, keys, base.id, base_run.id, draft.id)


CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)
