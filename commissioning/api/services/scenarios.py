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
    require(principal, "commissioner")
    scenario = scenario_from_data(raw, base_dir=None)
    stored = store.add_scenario(
        scenario.name, scenario_json(scenario), scenario.content_hash(), principal.key_id
    )
    return stored, scenario.warnings()


def list_scenarios(
    store: Store, principal: Principal, limit: int = 100, offset: int = 0
) -> list[StoredScenario]:
    require(principal, "commissioner")
    return store.list_scenarios(limit=limit, offset=offset)


def get_scenario(store: Store, principal: Principal, scenario_id: str) -> StoredScenario:
    require(principal, "commissioner")
    stored = store.get_scenario(scenario_id)
    if stored is None:
        raise NotFound(f"no scenario {scenario_id}", field="scenario_id")
    return stored
