"""Robust facility cost planning (MC-FCP, paper 003 Sec. 3.2 and Sec. 5.2): continuous
investments, MNL capture, PWLA MISOCP with a certificate, gradient baselines."""

from dro_opt.models.facility_cost.instance import FCPInstance, from_log_odds, read_json, write_json
from dro_opt.models.facility_cost.objective import (
    OBJECTIVES,
    capture_probabilities,
    evaluate,
    values_and_jacobian,
)
from dro_opt.models.facility_cost.solve import METHODS, solve_mc_fcp

__all__ = [
    "METHODS",
    "OBJECTIVES",
    "FCPInstance",
    "capture_probabilities",
    "evaluate",
    "from_log_odds",
    "read_json",
    "solve_mc_fcp",
    "values_and_jacobian",
    "write_json",
]
