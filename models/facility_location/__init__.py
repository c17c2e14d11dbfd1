"""Robust max-capture facility location (MC-FLP, paper 003 Sec. 3.2)."""

from dro_opt.models.facility_location.bruteforce import BruteForceResult, brute_force, open_to_z
from dro_opt.models.facility_location.hm14 import read_hm14
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.io import read_instance, write_instance
from dro_opt.models.facility_location.objectives import (
    OBJECTIVES,
    capture_probabilities,
    chi2_worst_case,
    evaluate,
    evaluate_many,
)
from dro_opt.models.facility_location.reduce import (
    Reduction,
    reduce_by_clustering,
    reduce_by_stratified_sampling,
)

__all__ = [
    "OBJECTIVES",
    "BruteForceResult",
    "MCFLPInstance",
    "Reduction",
    "brute_force",
    "capture_probabilities",
    "chi2_worst_case",
    "evaluate",
    "evaluate_many",
    "open_to_z",
    "read_hm14",
    "read_instance",
    "reduce_by_clustering",
    "reduce_by_stratified_sampling",
    "write_instance",
]
