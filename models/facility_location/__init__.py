"""Robust max-capture facility location (MC-FLP, paper 003 Sec. 3.2)."""

from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import (
    OBJECTIVES,
    capture_probabilities,
    chi2_worst_case,
    evaluate,
    evaluate_many,
)

__all__ = [
    "OBJECTIVES",
    "MCFLPInstance",
    "capture_probabilities",
    "chi2_worst_case",
    "evaluate",
    "evaluate_many",
]
