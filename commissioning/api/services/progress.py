"""How far a run has got: the stage it is in, and stages done of stages in all.

A solve goes through the stages below in order; the worker records each stage as it begins
(`StageRecorder`, fed by the solve's own timing clock, `optimise.clock.watch_steps`), so a poll
of `GET /api/v1/runs/{id}` shows where a long solve is. The store keeps only the stage's name;
steps done and in all follow from the run's kind and status (`run_progress`), so a run that
never reached the worker (queued, or failed at a restart) needs no write to report progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from commissioning.store import RunRecord, Store

log = logging.getLogger(__name__)

QUEUED = "queued"
FINISHED = "finished"

# A solve's stages, in the order it goes through them. Starting: the worker process loads the
# solver's libraries (about as long as the funding rounds and fairness of London together).
STARTING = "starting"
FUNDING_ROUNDS = "funding rounds"
FAIRNESS = "fairness"
COST = "cost"
EXPLAINING = "explaining"
MARGINAL_VALUE = "marginal value"
WRITING_FILES = "writing files"
SOLVE_STAGES = (
    STARTING,
    FUNDING_ROUNDS,
    FAIRNESS,
    COST,
    EXPLAINING,
    MARGINAL_VALUE,
    WRITING_FILES,
)

# A sweep's or uncertainty run's stages (its solves done of the total are counted apart).
SOLVING = "solving"
ANALYSIS_STAGES = (SOLVING, WRITING_FILES)

# The solve's timing steps (commissioning/optimise/clock.py names them) and the stage each is
# part of. A step not named here (a provisional answer) leaves the stage as it was.
STEP_STAGES = {
    "funding rounds": FUNDING_ROUNDS,
    "allocation data": FUNDING_ROUNDS,
    "models and fairness cells": FAIRNESS,
    "check that some allocation exists": FAIRNESS,
    "fairness": FAIRNESS,
    "stability": COST,
    "cost": COST,
    "split by pot": EXPLAINING,
    "reasons": EXPLAINING,
    "tables": EXPLAINING,
    "cost to benchmark": EXPLAINING,
    "binding rules": EXPLAINING,
}


def stages_of(kind: str) -> tuple[str, ...]:
    return SOLVE_STAGES if kind == "solve" else ANALYSIS_STAGES


@dataclass(frozen=True)
class RunProgress:
    stage: str
    steps_done: int
    steps_total: int


def run_progress(run: RunRecord) -> RunProgress:
    """Where the run is: queued (none done), a stage (the stages before it done), finished
    (all done); a run that failed or was stopped shows the stage it stopped in."""
    stages = stages_of(run.kind)
    total = len(stages)
    if run.status == "succeeded":
        return RunProgress(FINISHED, total, total)
    if run.started_at is None:
        return RunProgress(QUEUED, 0, total)
    stage = run.progress_stage if run.progress_stage in stages else stages[0]
    return RunProgress(stage, stages.index(stage), total)


class StageRecorder:
    """Records a running run's stage in the store as each begins (stages only move forward:
    the solve comes back to some steps, e.g. building models for the cost stage)."""

    def __init__(self, store: Store, run_id: str, lease: str, kind: str = "solve"):
        self.store = store
        self.run_id = run_id
        self.lease = lease
        self.stages = stages_of(kind)
        self.reached = -1

    def enter(self, stage: str) -> None:
        index = self.stages.index(stage)
        if index <= self.reached:
            return
        self.reached = index
        try:
            self.store.set_stage(self.run_id, self.lease, stage)
        except Exception:  # progress is for the reader: a failed write must not fail the solve
            log.warning("run %s: could not record stage %r", self.run_id, stage, exc_info=True)

    def step(self, name: str) -> None:
        """For `optimise.clock.watch_steps`: the solve began the timing step `name`."""
        stage = STEP_STAGES.get(name)
        if stage is not None:
            self.enter(stage)
