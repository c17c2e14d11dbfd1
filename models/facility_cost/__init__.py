"""Robust facility cost planning (MC-FCP, paper 003 Sec. 3.2 and Sec. 5.2): continuous
investments, MNL capture, secant MISOCP relaxation (default) and PWLA MISOCP with a certificate,
gradient baselines."""

from dro_opt.models.facility_cost.instance import FCPInstance, from_log_odds, read_json, write_json
from dro_opt.models.facility_cost.objective import (
    OBJECTIVES,
    capture_probabilities,
    evaluate,
    values_and_jacobian,
)

#: The model builders import cvxpy (through the modelling layer's rules): resolved on first use
#: (PEP 562), so that ``dro-opt``, which imports this package to register ``solve mc-fcp``,
#: starts without importing cvxpy.
_LAZY = {
    "build_fcp_secant": "dro_opt.models.facility_cost.secant_socp",
    "secant_capture": "dro_opt.models.facility_cost.secant_socp",
    "METHODS": "dro_opt.models.facility_cost.solve",
    "solve_mc_fcp": "dro_opt.models.facility_cost.solve",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OBJECTIVES",
    "FCPInstance",
    "capture_probabilities",
    "evaluate",
    "from_log_odds",
    "read_json",
    "values_and_jacobian",
    "write_json",
    *_LAZY,
]
