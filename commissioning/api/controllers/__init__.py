"""HTTP controllers, one per domain; each handler is a thin call into the services."""

from commissioning.api.controllers.analyses import AnalysisController
from commissioning.api.controllers.explanations import ExplanationController
from commissioning.api.controllers.exports import ExportController
from commissioning.api.controllers.reference import ReferenceController
from commissioning.api.controllers.runs import RunController
from commissioning.api.controllers.scenarios import ScenarioController

__all__ = [
    "AnalysisController",
    "ExplanationController",
    "ExportController",
    "ReferenceController",
    "RunController",
    "ScenarioController",
]
