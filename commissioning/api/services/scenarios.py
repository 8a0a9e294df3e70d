"""Create, list and read scenarios (drafts: commissioners only)."""

from __future__ import annotations

from typing import Any

from commissioning.api.services.access import NotFound, Principal, require
from commissioning.scenario_io import scenario_from_data, scenario_json
from commissioning.store import Store, StoredScenario


def create_scenario(store: Store, principal: Principal, raw: Any) -> StoredScenario:
    """Validate a scenario (areas inline) and keep it; raises ScenarioError naming each field."""
    return create_scenario_with_warnings(store, principal, raw)[0]


def create_scenario_with_warnings(
    store: Store, principal: Principal, raw: Any
) -> tuple[StoredScenario, list[str]]:
    """As create_scenario, also returning what is allowed but looks like a mistake."""
    stored, warnings, _ = store_scenario(store, principal, raw)
    return stored, warnings


def store_scenario(
    store: Store, principal: Principal, raw: Any
) -> tuple[StoredScenario, list[str], bool]:
    """Validate and keep a scenario, unless the same content (name included) is stored already:
    then that one is returned and nothing new is kept. The flag says whether it is new."""
    require(principal, "commissioner")
    scenario = scenario_from_data(raw, base_dir=None)
    content_hash = scenario.content_hash()
    existing = store.find_scenario(content_hash)
    if existing is not None:
        return existing, scenario.warnings(), False
    stored = store.add_scenario(
        scenario.name, scenario_json(scenario), content_hash, principal.key_id
    )
    return stored, scenario.warnings(), True


def list_scenarios(
    store: Store, principal: Principal, limit: int = 100, offset: int = 0
) -> list[StoredScenario]:
    require(principal, "commissioner")
    return store.list_scenarios(limit=limit, offset=offset)


def count_scenarios(store: Store, principal: Principal) -> int:
    """How many scenarios list_scenarios shows over every page."""
    require(principal, "commissioner")
    return store.count_scenarios()


def get_scenario(store: Store, principal: Principal, scenario_id: str) -> StoredScenario:
    require(principal, "commissioner")
    stored = store.get_scenario(scenario_id)
    if stored is None:
        raise NotFound(f"no scenario {scenario_id}", field="scenario_id")
    return stored
