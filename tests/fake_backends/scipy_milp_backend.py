"""A backend written as a plugin: ``scipy.optimize.milp`` (LP/MILP) through the Backend template.

It shows that a new solver is one file: this module registers the backend, and
``tests/test_backend_conformance.py`` (which imports every file in this folder) runs the whole
conformance suite on it with no test code of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.solvers._transforms import linear_sides, row_kinds
from dro_opt.solvers.base import BOUND, INTEGER, Backend, Extracted, Run
from dro_opt.solvers.registry import register_backend
from dro_opt.solvers.status import Status

KNOWN_OPTIONS = frozenset({"time_limit", "mip_rel_gap", "presolve", "disp", "node_limit"})
# scipy.optimize.milp status -> Status (0 optimal, 1 limit, 2 infeasible, 3 unbounded, 4 other)
STATUS = {0: Status.OPTIMAL, 1: Status.TIME_LIMIT, 2: Status.INFEASIBLE, 3: Status.UNBOUNDED}


class ScipyMilpBackend(Backend):
    """LP/MILP with scipy's HiGHS wrapper: minimises ``sign * c'x`` (sign -1 for max)."""

    name = "scipy_milp"
    module = "scipy"
    distribution = "scipy"
    display_name = "scipy.optimize.milp"
    features = frozenset({INTEGER, BOUND})
    option_names = (("time_limit", "time_limit"), ("gap", "mip_rel_gap"))
    option_reference = "scipy.optimize.milp's options"

    def build(self, run: Run) -> None:
        from scipy.optimize import Bounds, LinearConstraint

        p = run.problem
        lower, upper = linear_sides(row_kinds(p.cones), p.b)
        run.state["sign"] = -1.0 if p.sense == "max" else 1.0
        run.model = {
            "c": run.state["sign"] * p.c,
            "integrality": (p.vtype != 0).astype(int),
            "bounds": Bounds(p.lb, p.ub),
            "constraints": [LinearConstraint(sp.csr_matrix(p.A), lower, upper)] if p.m else [],
            "options": {"disp": bool(run.options.verbose)},
        }

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        if name not in KNOWN_OPTIONS:
            raise KeyError(f"unknown milp option {name!r}")
        run.model["options"][name] = value

    def optimise(self, run: Run) -> None:
        from scipy.optimize import milp

        run.state["answer"] = milp(**run.model)

    def undecided(self, run: Run) -> bool:
        return "infeasible or unbounded" in str(run.state["answer"].message).lower()

    def resolve_decided(self, run: Run, time_left: float | None) -> None:
        run.model["options"]["presolve"] = False
        if time_left is not None:
            run.model["options"]["time_limit"] = time_left
        self.optimise(run)

    def extract(self, run: Run) -> Extracted:
        ans, sign, p = run.state["answer"], run.state["sign"], run.problem
        status = STATUS.get(int(ans.status), Status.UNKNOWN)
        if status is Status.TIME_LIMIT and "time" not in str(ans.message).lower():
            status = Status.NODE_LIMIT
        out = Extracted(status, message=str(ans.message))
        if ans.x is not None and status.has_solution:
            out.x = np.asarray(ans.x, dtype=float)
        dual = getattr(ans, "mip_dual_bound", None)
        if p.is_mixed_integer and dual is not None and status.has_solution:
            out.bound = sign * float(dual) + p.c0
            out.nodes = int(getattr(ans, "mip_node_count", 0) or 0)
        return out


register_backend(ScipyMilpBackend())
