"""Reuse between a sweep's steps: the grant and bid rounds, run once, not once per step.

Before each solve the engine runs its funding rounds (`funding_rounds.prepare`): formula grants
and the co-commissioning bid round (a MIP), a third of a London solve. A sweep of the MOPAC
direct pot changes nothing those rounds read, so solving them again gives the same answer.

`reusing_rounds()` (the engine's own hook, `funding_rounds.remembering_rounds`) remembers each
round's result under a key made of everything the round can read: the whole scenario, except the
yearly amounts of pots that no fund split, formula grant or bid round names (the rounds read
only the amounts of their own pots, after fund splits, less the commitments charged to them).
Steps of a sweep of such a pot share one key, so the rounds run once per worker; a step that
changes anything the rounds read (a unit cost, a benchmark, an area's population, a round's own
pot) gets a new key and its own rounds. The answer is the same object the round returned for an
identical input, so the solve is the one
`solve` would do; tests/test_sweep.py compares swept steps with direct solves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json

from commissioning.models import Scenario

_MEMORY_LIMIT = 64  # distinct round inputs kept per process; a sweep needs one or a few


def rounds_key(scenario: Scenario) -> str:
    """A digest of everything the funding rounds can read (see the module's docstring)."""
    named = {s.fund for s in scenario.fund_splits}
    named |= {s.co_commissioning_pot for s in scenario.fund_splits}
    named |= {s.direct_pot for s in scenario.fund_splits if s.direct_pot}
    named |= {g.pot for g in scenario.formula_grants}
    named |= {r.budget_pot for r in scenario.bid_rounds}
    data = scenario.model_dump(mode="json")
    for pot in data["pots"]:
        if pot["id"] not in named:
            pot["amounts"] = None
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def reusing_rounds() -> contextlib.AbstractContextManager[None]:
    """Within the block, the engine's grant and bid rounds answer again from memory."""
    from commissioning.optimise.funding_rounds import remembering_rounds

    return remembering_rounds(rounds_key, _MEMORY_LIMIT)
