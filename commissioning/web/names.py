"""Words for what the engine and the store keep as codes: a run's status and kind, a sweep
step's status, the fairness rules, and the scenario's own names for its pots and services.

Pages show people these words; the codes stay in the downloads (CSV files, workbooks), and a
code is shown on a page only beside its name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from commissioning.models import Scenario
from commissioning.store import Store

RUN_STATUS_WORDS = {
    "queued": "Waiting to start",
    "running": "Solving",
    "succeeded": "Finished",
    "failed": "Failed",
    "infeasible": "No allocation meets every rule",
    "cancelled": "Cancelled",
}
RUN_KIND_WORDS = {"solve": "Allocation", "sweep": "Budget sweep", "uncertainty": "Uncertainty"}
# A sweep step's status: the solver's verdict on that budget (commissioning.analysis.sweep).
STEP_STATUS_WORDS = {
    "optimal": "solved",
    "time_limit": "best found in the time allowed",
    "infeasible": "no allocation meets every rule",
    "failed": "failed",
    "invalid": "not a valid setting",
}
FAIRNESS_RULE_NAMES = {
    "leximin": "Worst-off first (leximin)",
    "proportional_to_benchmark_cost": "In proportion to the cost of reaching benchmark",
    "equal_shortfall": "Equal shortfall, weighted by need",
}

# The population a benchmark rate is per (an area indicator column of the scenario's tables).
INDICATOR_WORDS = {
    "female_16_plus": "women aged 16 and over",
    "female_16_to_64": "women aged 16 to 64",
    "female_65_plus": "women aged 65 and over",
    "female_all_ages": "women and girls of all ages",
    "male_all_ages": "men and boys of all ages",
    "population_16_plus": "people aged 16 and over",
    "population_all_ages": "people of all ages",
}


def _words(table: Mapping[str, str], code: str | None) -> str:
    if not code:
        return ""
    return table.get(code, code.replace("_", " "))


def run_status(status: str | None) -> str:
    return _words(RUN_STATUS_WORDS, status)


def run_kind(kind: str | None) -> str:
    return _words(RUN_KIND_WORDS, kind)


def step_status(status: str | None) -> str:
    return _words(STEP_STATUS_WORDS, status)


def fairness_rule(rule: str | None) -> str:
    return _words(FAIRNESS_RULE_NAMES, rule)


def indicator(column: str | None) -> str:
    """An indicator column in words; one this module does not know is shown with its code
    beside its words ("adults in work (adults_in_work)")."""
    if not column or column in INDICATOR_WORDS:
        return INDICATOR_WORDS.get(column or "", "")
    return f"{column.replace('_', ' ')} ({column})"


# Jinja globals: every template may say a status or kind in words.
TEMPLATE_GLOBALS: dict[str, Any] = {
    "run_status": run_status,
    "run_kind": run_kind,
    "step_status": step_status,
    "fairness_rule": fairness_rule,
}


@lru_cache(maxsize=32)
def _code_pattern(codes: tuple[str, ...]) -> re.Pattern[str]:
    # A code as a word of its own: not part of a longer code, a path (pots.x) or a file name.
    alternatives = "|".join(re.escape(c) for c in codes)
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w.-])")


@dataclass(frozen=True)
class ScenarioNames:
    """A scenario's names for its pots and services, by id (an unknown id is shown as is)."""

    pots: Mapping[str, str]
    services: Mapping[str, str]

    def pot(self, pot_id: str | None) -> str:
        return self.pots.get(pot_id or "", pot_id or "")

    def service(self, service_id: str | None) -> str:
        return self.services.get(service_id or "", service_id or "")

    def service_list(self, ids: Iterable[str]) -> str:
        return ", ".join(self.service(s) for s in ids)

    def in_words(self, sentence: str) -> str:
        """An engine sentence (a borough's paragraph, a cell's reason) with the pot and service
        ids it quotes replaced by their names. The sentences are written once, for the run's
        files too, which keep them as they are; a page shows them to people."""
        codes = {**self.services, **self.pots}
        if not codes:
            return sentence
        pattern = _code_pattern(tuple(sorted(codes, key=len, reverse=True)))
        return pattern.sub(lambda m: codes[m.group(0)], sentence)

    def merged(self, other: ScenarioNames) -> ScenarioNames:
        """Both scenarios' names (a comparison's runs may come from different scenarios)."""
        return ScenarioNames({**other.pots, **self.pots}, {**other.services, **self.services})

    @classmethod
    def of(cls, scenario: Scenario) -> ScenarioNames:
        return cls({p.id: p.name for p in scenario.pots}, {s.id: s.name for s in scenario.services})

    @classmethod
    def of_data(cls, data: Mapping[str, Any]) -> ScenarioNames:
        return cls(
            {p["id"]: p["name"] for p in data.get("pots", [])},
            {s["id"]: s["name"] for s in data.get("services", [])},
        )


_KEPT: dict[tuple[Path, str], ScenarioNames] = {}


def stored_scenario_names(store: Store, scenario_id: str) -> ScenarioNames:
    """The names in a stored scenario (blocking: a store read the first time; a stored
    scenario never changes, so its names are kept). Pot and service names are not any
    borough's figures, so every role that may see a run may see its scenario's names."""
    kept = _KEPT.get((store.data_dir, scenario_id))
    if kept is not None:
        return kept
    stored = store.get_scenario(scenario_id)
    if stored is None:
        return ScenarioNames({}, {})
    if len(_KEPT) >= 256:
        _KEPT.clear()
    names = _KEPT[(store.data_dir, scenario_id)] = ScenarioNames.of_data(json.loads(stored.body))
    return names
