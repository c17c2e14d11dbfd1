"""Clarabel backend: continuous LP, SOCP (rotated cones included), exponential and power cones.

Clarabel (interior point, https://clarabel.org) solves exactly the canonical form of
docs/conventions.md ('Canonical conic form')
in its minimisation version::

    min  c_min'x   s.t.   A x + s = b,   s in K         (c_min = -c for maximisation)

so the translation is a handful of array operations:

* rotated cones are mapped onto standard ones by the exact orthogonal map of
  :func:`~dro_opt.solvers._transforms.rsoc_to_soc` (duals mapped back with the same map);
* fixed variables (``l_j = u_j``) become ``zero`` rows ``x_j = l_j`` and the other finite
  bounds ``nonneg`` rows (:func:`~dro_opt.solvers._transforms.bound_rows`), after the model's
  own rows;
* cone runs become Clarabel cone objects (``ZeroConeT``, ``NonnegativeConeT``,
  ``SecondOrderConeT``, ``ExponentialConeT``, ``PowerConeT``); the exponential cone
  ``y exp(x / y) <= z`` and the power cone ``x^a y^(1-a) >= |z|`` have the same coordinate
  order in Clarabel as in dro_opt.

Results: ``objective`` is ``c'x + c0`` at the returned ``x``; ``bound`` is Clarabel's dual
objective mapped to the problem's sense (a lower bound for minimisation, upper for maximisation,
valid up to the solver's feasibility tolerances) and is reported only for ``Solved``;
``duals`` are Clarabel's ``z`` (the conic dual ``z in K*`` of the minimisation form, the
convention of :class:`~dro_opt.solvers.result.Result`) by constraint block; bound rows' duals are
not reported. ``AlmostSolved`` (reduced accuracy) is ``FEASIBLE`` without a bound.
Integer variables are not supported (the registry refuses them with ``CapabilityError``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import EXP, NONNEG, POW, SOC, ZERO, ConeRun
from dro_opt.conic.problem import ConicProblem
from dro_opt.solvers._transforms import (
    bound_rows,
    duals_by_block,
    finite_or_none,
    min_form,
    rsoc_to_soc,
)
from dro_opt.solvers.base import Backend, Extracted, Run
from dro_opt.solvers.status import Status

# clarabel.SolverStatus name -> (Status, report objective/bound?, message)
STATUS_MAP: dict[str, tuple[Status, str]] = {
    "Solved": (Status.OPTIMAL, ""),
    "AlmostSolved": (Status.FEASIBLE, "solved to reduced accuracy only; no bound reported"),
    "PrimalInfeasible": (Status.INFEASIBLE, "primal infeasibility certificate"),
    "AlmostPrimalInfeasible": (
        Status.INFEASIBLE,
        "primal infeasibility certificate at reduced accuracy",
    ),
    "DualInfeasible": (Status.UNBOUNDED, "dual infeasibility certificate (unbounded ray)"),
    "AlmostDualInfeasible": (
        Status.UNBOUNDED,
        "dual infeasibility certificate at reduced accuracy",
    ),
    "MaxIterations": (Status.ITERATION_LIMIT, "iteration limit reached"),
    "MaxTime": (Status.TIME_LIMIT, "time limit reached"),
    "NumericalError": (Status.NUMERICAL_ERROR, "numerical error in the interior-point method"),
    "InsufficientProgress": (Status.NUMERICAL_ERROR, "insufficient progress (numerical trouble)"),
    "CallbackTerminated": (Status.INTERRUPTED, "terminated by a callback"),
}


def map_status(name: str) -> tuple[Status, str]:
    """Clarabel status name -> (:class:`Status`, message); unknown names give ``UNKNOWN``."""
    return STATUS_MAP.get(name, (Status.UNKNOWN, f"unrecognised Clarabel status {name!r}"))


def clarabel_cones(cones: list[ConeRun], clarabel: Any) -> list[Any]:
    """Clarabel cone objects for runs (no rotated cones: map them with ``rsoc_to_soc`` first).

    Linear runs become one object each; a run of ``k`` nonlinear cones becomes ``k`` entries
    (Clarabel takes one object per cone; the list repeats one shared object).
    """
    out: list[Any] = []
    for run in cones:
        if run.count == 0:
            continue
        if run.kind == ZERO:
            out.append(clarabel.ZeroConeT(run.rows))
        elif run.kind == NONNEG or (run.kind == SOC and run.dim == 1):
            out.append(clarabel.NonnegativeConeT(run.rows))
        elif run.kind == SOC:
            out.extend([clarabel.SecondOrderConeT(run.dim)] * run.count)
        elif run.kind == EXP:
            out.extend([clarabel.ExponentialConeT()] * run.count)
        elif run.kind == POW:
            out.extend([clarabel.PowerConeT(float(run.param))] * run.count)
        else:  # pragma: no cover - rsoc is mapped before, validate_run rejects the rest
            raise ValueError(f"cone kind {run.kind!r} reached the Clarabel translation")
    return out


class ClarabelBackend(Backend):
    """Clarabel interior-point solver (continuous conic problems, with duals)."""

    name = "clarabel"

    def build(self, run: Run) -> None:
        import clarabel

        run.state["data"] = self._translate(run.problem, clarabel)
        run.model = clarabel.DefaultSettings()
        run.model.verbose = bool(run.options.verbose)

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        if name.startswith("_") or not hasattr(run.model, name):
            raise KeyError(f"no Clarabel setting {name!r}")
        setattr(run.model, name, value)

    def optimise(self, run: Run) -> None:
        import clarabel

        P, q, A, b, cones, _, _ = run.state["data"]
        t0 = time.perf_counter()
        solver = clarabel.DefaultSolver(P, q, A, b, cones, run.model)
        run.state["setup_seconds"] = time.perf_counter() - t0
        run.state["solution"] = solver.solve()

    def extract(self, run: Run) -> Extracted:
        problem = run.problem
        sol = run.state["solution"]
        _, _, _, _, _, soc, sign = run.state["data"]
        status, message = map_status(str(sol.status))
        out = Extracted(
            status,
            message=message,
            extra={"setup_seconds": run.state["setup_seconds"], "iterations": int(sol.iterations)},
        )
        if status.has_solution:
            out.x = np.asarray(sol.x, dtype=float)
            if status is Status.OPTIMAL:
                dual = finite_or_none(sol.obj_val_dual)
                out.bound = None if dual is None else sign * dual + problem.c0
                z = np.asarray(sol.z, dtype=float)[: problem.m]
                out.duals = duals_by_block(problem, soc.dual_back(z))
        return out

    @staticmethod
    def _translate(problem: ConicProblem, clarabel: Any) -> tuple[Any, ...]:
        """Arrays and cone list for ``clarabel.DefaultSolver`` (all bulk operations)."""
        soc = rsoc_to_soc(problem)
        lb, ub = problem.lb, problem.ub
        fixed = np.flatnonzero(np.isfinite(lb) & (lb == ub))
        # fixed variables as equalities (an interior-point method dislikes x <= u, -x <= -u)
        F = sp.csr_matrix(
            (np.ones(fixed.size), (np.arange(fixed.size), fixed)), shape=(fixed.size, problem.n)
        )
        lb_free, ub_free = lb.copy(), ub.copy()
        lb_free[fixed], ub_free[fixed] = -np.inf, np.inf
        G, h = bound_rows(lb_free, ub_free)
        A = sp.vstack([soc.A, F, G], format="csc")
        b = np.concatenate([soc.b, lb[fixed], h])
        cones = list(soc.cones)
        if fixed.size:
            cones.append(ConeRun(ZERO, 1, fixed.size))
        if G.shape[0]:
            cones.append(ConeRun(NONNEG, 1, G.shape[0]))
        c_min, sign = min_form(problem)
        P = sp.csc_matrix((problem.n, problem.n))
        return P, c_min, A, b, clarabel_cones(cones, clarabel), soc, sign
