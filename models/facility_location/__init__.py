"""Robust max-capture facility location (MC-FLP, paper 003 Sec. 3.2)."""

from dro_opt.models.facility_location.bruteforce import BruteForceResult, brute_force, open_to_z
from dro_opt.models.facility_location.hm14 import read_hm14
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
    "BruteForceResult",
    "MCFLPInstance",
    "brute_force",
    "capture_probabilities",
    "chi2_worst_case",
    "evaluate",
    "evaluate_many",
    "open_to_z",
    "read_hm14",
]
