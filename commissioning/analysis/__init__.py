"""Measures of a solved run that hold whatever fairness rule produced it."""

from __future__ import annotations

from commissioning.analysis.scorecard import Scorecard, scorecard

__all__ = ["Scorecard", "scorecard"]
