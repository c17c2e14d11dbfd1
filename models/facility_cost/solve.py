"""Solve robust facility cost planning (MC-FCP) with a certificate on the ORIGINAL problem.

:func:`solve_mc_fcp` (paper 003 Sec. 3.2 and Sec. 5.2): optionally reduce the clients
(:mod:`.reduce`), build a MISOCP, solve it, and re-evaluate the decision EXACTLY on the full
data. Two models (``method``):

* ``"secant"`` (default): the secant over-estimation relaxation of :mod:`.secant_socp`. Its
  optimum is >= the continuous optimum (no approximation line) and its decision ``z`` is
  continuous and feasible; the bound is tight up to a second-order chord error for ERM / chi2.
* ``"pwla"`` (alias ``"misocp"``): the grid-restricted PWLA MISOCP of :mod:`.misocp`, exact on the
  grid, whose bound needs the first-order PWLA line.

Default chosen by measurement (shared 2-core machine under load; NYC-synthetic 1,000 x 15, the
800 training clients of benchmarks/fcp_tables.py, ERM, m = 2, 50 clusters, SCIP, 60 s limit):
``pwla`` K = 4: bound 0.3554 + PWLA line 0.507 (upper capped at 0.5815), 39.8 s; K = 8: time
limit, PWLA line 0.412. ``secant`` K = 4: bound 0.3554 with no line, 11.3 s; K = 8: 2.7 s. The
decision's full-data value was 0.3574 in all four runs; the secant's remaining gap (0.136) is the
clustering line (0.137; the first-order line of that time, before the
per-cluster bound of :mod:`.cluster_taylor`).

Certificate (mean units: average capture probability)::

    lower = F_full(z)  <=  OPT (continuous z, full data)
          <=  upper = solver bound (solved data) [+ PWLA line] + reduction line

capped by ``E_p f(min(U, B))`` (line ``capture_cap``) when that is smaller: capture is increasing
in every ``z_j``, so no objective exceeds it. ``pieces="auto"`` solves with K = 4, 8, 16, 32, 64
cells until the certified gap is ``<= gap`` or the time limit is spent (with a reduction: or
until the model's own part of the gap is ``<= gap``, the reduction line does not depend on K);
every run's upper bound is valid, so the certificate takes the smallest upper and the best
decision (exact full-data value) over the runs.

The returned decision is the best, on the full data, of the solvers' decisions and
``z = 0`` (no investment; objective 0), which a decision from reduced data can lose to under a
large ``rho``. The solver's word is checked: its bound must not lie below the exact value of
its own decision on the solved data (both models contain that value); otherwise the bound is
dropped and the status is ``NUMERICAL_ERROR``. ``OPTIMAL`` only when the certificate's gap is
``<= gap``, otherwise ``FEASIBLE`` (or the solver's time/licence status) with the gap actually
proven.

``method="pga"`` / ``"tt-gad"``: the gradient baselines of
:mod:`dro_opt.algorithms.gradient_baselines` on the full data (best of ``restarts`` random
starts, normalised = clipped steps as paper 003 App. J needs here); no bound (``bound`` None).

SCIP options (:func:`scip_options`): ``separating/maxrounds = separating/maxroundsroot = 0``
for ERM and chi2 (the relaxation gains little from cuts; on a 12-client, 3-location, K = 8
instance ERM went from 14.3 s to 0.35 s with the same proven bound, measured on the shared
machine). VR keeps SCIP's root separation rounds (``maxrounds = 0`` only): its N + 1 dimensional
standard-deviation cone is handled by SCIP through linear outer-approximation cuts, and without
root rounds the LP bound stays far above the cone relaxation. Measured (NYC-synthetic
1,000 x 15, the 800 training clients of benchmarks/fcp_tables.py, rho = 1E3, m = 2, K = 4, full
data, one thread, load 8-12): the exact continuous relaxation (Clarabel, binaries relaxed) is
0.2010 and the best known decision scores 0.1656; without root rounds SCIP's root bound was
0.4085 and 0.3999 after 4 nodes (30.8 CPU s); with them 0.1932 at the root after 40 SCIP CPU
s (``timing/clocktype = 1``): the gap above the known decision falls from 0.234 to 0.028. On a
small VR instance (120 clients, 8 locations, budget 3, rho = 3: tests/test_cli_signals.py) the
rounds cost time instead: optimal in 7.6-7.7 CPU s vs 4.1-4.6 without (same decision); the large
case decides the default.
Tangent-floor rows ``y_n >= c_n S^tan_n(v)`` (a valid lower bound on ``f_n``, against the VR model
lowering ``y``) left that continuous relaxation unchanged (0.2010; also 0.3154 at rho = 1E2):
the gap is the outer approximation's, not the ``y <= f^sec`` form's, so they are not used.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from dro_opt.certify import Certificate, CertificateLine
from dro_opt.errors import ParameterError
from dro_opt.models.facility_cost.instance import FCPInstance
from dro_opt.models.facility_cost.misocp import build_fcp_misocp
from dro_opt.models.facility_cost.objective import (
    OBJECTIVES,
    capture_probabilities,
    evaluate,
    values_and_jacobian,
)
from dro_opt.models.facility_cost.secant_socp import build_fcp_secant
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

METHODS = ("secant", "pwla", "misocp", "pga", "tt-gad")
AUTO_PIECES = (4, 8, 16, 32, 64)
SCIP_OPTIONS = {"separating/maxrounds": 0, "separating/maxroundsroot": 0}
#: VR: SCIP's root separation rounds stay on (module docstring, 'SCIP options').
SCIP_OPTIONS_VR = {"separating/maxrounds": 0}


def scip_options(objective: str) -> dict[str, Any]:
    """SCIP parameters for the model of ``objective`` ("erm", "variance", "chi2")."""
    return dict(SCIP_OPTIONS_VR if objective == "variance" else SCIP_OPTIONS)


def solve_mc_fcp(
    instance: FCPInstance,
    budget: float,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    pieces: int | str = 8,
    method: str = "secant",
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float = 1e-4,
    clusters: int | None = None,
    strata: int | None = None,
    per_stratum: int | None = None,
    seed: int = 0,
    threads: int = 1,
    verbose: bool = False,
    restarts: int = 10,
    candidates: list[np.ndarray] | None = None,
    solver_options: dict[str, Any] | None = None,
) -> Result:
    """Solve with a certified gap (module docstring).

    ``candidates``: known feasible investments (e.g. the decision of a reduced or an ERM solve),
    evaluated exactly on the full data and returned when better than the solver's decision;
    they do not touch the bound. ``solver_options``: native parameters merged over the defaults
    (e.g. ``{"timing/clocktype": 1}``: SCIP's time limit in CPU seconds).

    Returns a Result whose ``objective`` is the exact full-data value of ``solution["z"]``,
    ``bound`` the certificate's upper bound (None when none is proven), ``certificate``, and
    ``extra`` (method, pieces, PWLA and reduction lines, the model's own objective and bound).
    """
    t_start = time.perf_counter()
    _validate(
        instance, budget, objective, rho, pieces, method, time_limit, gap, clusters, strata,
        per_stratum, seed, threads, restarts, candidates, solver_options,
    )  # fmt: skip
    rho = float(rho)
    effective = "erm" if rho == 0.0 else objective
    if method in ("pga", "tt-gad"):
        return _baseline(instance, budget, objective, rho, method, seed, restarts, time_limit)

    t0 = time.perf_counter()
    solved, red_lines, red_info = instance, [], None
    if clusters is not None or strata is not None:
        from dro_opt.models.facility_cost.reduce import reduce_clients

        solved, red_lines, red_info = reduce_clients(
            instance, budget, effective, rho, clusters, strata, per_stratum, seed
        )
    reduce_seconds = time.perf_counter() - t0
    kind = "pwla" if method in ("pwla", "misocp") else "secant"
    name = solver or "scip"
    ladder = AUTO_PIECES if pieces == "auto" else (int(pieces),)
    runs: list[dict[str, Any]] = []
    for K in ladder:
        left = None if time_limit is None else time_limit - (time.perf_counter() - t_start)
        if runs and left is not None and left <= 0:
            break
        run = _run_model(
            kind, solved, budget, effective, rho, K, name, left, gap, threads, verbose,
            red_info is not None, solver_options or {},
        )  # fmt: skip
        runs.append(run)
        if run["status"] in (Status.LICENSE_LIMIT, Status.ERROR) or _proven(
            runs, red_lines, instance, objective, rho, gap
        ):
            break
    best = min(runs, key=_upper_of)
    messages = [m for r in runs for m in r["messages"]]
    found = [r["z"] for r in runs if r["z"] is not None]
    z = max(found, key=lambda c: _full_value(instance, c, objective, rho)) if found else None
    if z is None:
        z = np.zeros(instance.num_locations)
        messages.append("no solver decision: reporting z = 0 (no investment)")
    exact = evaluate(instance, z, objective, rho)
    for i, c in enumerate(candidates or []):
        c = _feasible(c, instance.upper, budget)
        value = evaluate(instance, c, objective, rho)
        if value > exact:
            messages.append(f"candidate {i} scores {value:.6g} > {exact:.6g}: returned instead")
            z, exact = c, value
    nothing = evaluate(instance, np.zeros_like(z), objective, rho)  # = 0: no facility at all
    if nothing > exact:  # a reduced model's decision can lose to z = 0 on the full data
        messages.append(
            f"the solver's decision scores {exact:.6g} on the full data, below z = 0 "
            f"({nothing:.6g}): returning z = 0"
        )
        z, exact = np.zeros_like(z), nothing
    cert = Certificate.for_sense(
        "max",
        exact,
        best["bound"],
        errors=[*best["lines"], *red_lines],
        bound_note=best["note"],
    )
    cert = _capped(cert, instance, budget)
    numerical = any(r["numerical"] for r in runs)
    status = _status(cert, gap, numerical, runs[-1]["status"])
    return Result(
        status=status,
        objective=float(exact),
        bound=cert.upper,
        solver=name,
        solver_version=runs[-1]["version"],
        sense="max",
        x=z.copy(),
        solution={"z": z},
        build_seconds=reduce_seconds + sum(r["build_seconds"] for r in runs),
        solve_seconds=sum(r["solve_seconds"] for r in runs),
        nodes=runs[-1]["nodes"],
        message="; ".join(messages),
        certificate=cert,
        extra={
            "method": kind,
            "pieces": best["pieces"],
            "pieces_tried": [r["pieces"] for r in runs],
            "pwla_line": best["lines"][0].value if best["lines"] else 0.0,
            "reduction": red_info,
            "model_objective": best["model_objective"],
            "model_bound": best["bound_raw"],
            "model_value_of_decision": best["on_solved"],
            "objective_name": objective,
            "rho": rho,
            "total_seconds": time.perf_counter() - t_start,
        },
    )


def _proven(
    runs: list[dict[str, Any]], red_lines: list[CertificateLine], instance: FCPInstance,
    objective: str, rho: float, gap: float,
) -> bool:  # fmt: skip
    """Whether more cells cannot help: the runs so far certify ``gap`` (best full-data value vs
    the smallest upper), or the model's own part (smallest upper on the solved data minus the
    best value of a decision on the solved data) is already ``<= gap`` -- the rest is the
    reduction line, which no K changes."""
    lower = max(_full_value(instance, r["z"], objective, rho) for r in runs)
    upper = min(_upper_of(r) for r in runs)
    if upper + sum(line.value for line in red_lines) - lower <= gap * max(1.0, abs(lower)):
        return True
    solved = [r["on_solved"] for r in runs if r["on_solved"] is not None]
    return bool(red_lines) and bool(solved) and upper - max(solved) <= gap * max(1.0, abs(lower))


def _full_value(instance: FCPInstance, z: np.ndarray | None, objective: str, rho: float) -> float:
    return -math.inf if z is None else evaluate(instance, z, objective, rho)


def _upper_of(run: dict[str, Any]) -> float:
    """The run's upper bound on the solved data (solver bound + its approximation lines)."""
    if run["bound"] is None:
        return math.inf
    return run["bound"] + sum(line.value for line in run["lines"])


def _run_model(
    kind: str, solved: FCPInstance, budget: float, objective: str, rho: float, pieces: int,
    name: str, time_limit: float | None, gap: float, threads: int, verbose: bool,
    reduced: bool, solver_options: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Build and solve one model (``kind`` = "secant" or "pwla") with ``pieces`` cells; the
    decision, the solver's checked bound and the approximation lines (none for the secant
    relaxation: its bound is valid as it stands, :mod:`.secant_socp`)."""
    from dro_opt.solvers.registry import solve

    t0 = time.perf_counter()
    if kind == "secant":
        model: Any = build_fcp_secant(solved, budget, objective, rho, pieces)
    else:
        model = build_fcp_misocp(solved, budget, objective, rho, pieces)
    build_seconds = time.perf_counter() - t0
    res = solve(
        model.problem,
        name,
        SolveOptions(
            time_limit=time_limit,
            gap=0.25 * gap,
            threads=threads,
            verbose=verbose,
            extra={**(scip_options(objective) if name == "scip" else {}), **solver_options},
        ),
    )
    messages = (
        [f"{name} (K = {pieces}): {res.message}"]
        if res.message and res.status is not Status.OPTIMAL
        else []
    )
    lines = [model.pwla_line()] if kind == "pwla" else []
    z = None
    if res.status.has_solution and "v" in res.solution:
        z = _feasible(model.decision(res.solution), solved.upper, budget)
    bound = None if res.bound is None or not math.isfinite(res.bound) else float(res.bound)
    numerical = False
    on_solved = None
    if z is not None:
        # both models contain the returned z's value: the bound must not lie below it
        on_solved = evaluate(solved, z, objective, rho)
        if bound is not None and bound < on_solved - 1e-7 * max(1.0, abs(on_solved)):
            messages.append(
                f"{name}'s bound {bound:.10g} is below the exact value {on_solved:.10g} of its "
                "own decision on the solved data: bound discarded"
            )
            bound, numerical = None, True
    what = "secant MISOCP relaxation (no approximation line)" if kind == "secant" else "grid MISOCP"
    return {
        "pieces": int(pieces),
        "z": z,
        "bound": bound,
        "bound_raw": res.bound,
        "lines": lines,
        "note": f"{name}'s proven bound of the {what}, K = {pieces}"
        + (", reduced clients" if reduced else ""),
        "messages": messages,
        "numerical": numerical,
        "status": res.status,
        "version": res.solver_version,
        "nodes": res.nodes,
        "model_objective": res.objective,
        "on_solved": on_solved,
        "build_seconds": build_seconds + res.build_seconds,
        "solve_seconds": res.solve_seconds,
    }


def _capped(cert: Certificate, instance: FCPInstance, budget: float) -> Certificate:
    """``upper = min(upper, E_p f(U'))``: f_n is increasing in every z_j, so every objective is
    at most ``E_p f(z) <= E_p f(U')`` on the box ``[0, U']`` (which contains the feasible set;
    full data)."""
    cap = float(instance.q @ capture_probabilities(instance, np.minimum(instance.upper, budget)))
    cap /= instance.n
    if cert.upper is not None and cert.upper <= cap:
        return cert
    was = "none proven" if cert.upper is None else f"{cert.upper:.6g}"
    line = CertificateLine(
        "capture_cap",
        cap,
        True,
        f"upper = E_p f(min(U, B)) (capture is increasing in z; every objective <= E_p f): below "
        f"solver bound + the error lines ({was}), which are listed for information",
    )
    return Certificate(cert.lower, cap, "max", [line, *cert.lines])


def _status(cert: Certificate, gap: float, numerical: bool, solver_status: Status) -> Status:
    g = cert.gap
    if g is not None and g <= gap:
        return Status.OPTIMAL
    if numerical and cert.upper is None:
        return Status.NUMERICAL_ERROR
    if solver_status in (Status.TIME_LIMIT, Status.LICENSE_LIMIT, Status.ERROR):
        return solver_status
    return Status.FEASIBLE


def _feasible(z: np.ndarray, upper: np.ndarray, budget: float) -> np.ndarray:
    """Clip to the box; if round-off put ``sum z`` above the budget, scale down (stays >= 0)."""
    z = np.clip(np.asarray(z, dtype=float), 0.0, upper)
    s = float(z.sum())
    return z * (budget / s) if s > budget else z


def _baseline(
    instance: FCPInstance,
    budget: float,
    objective: str,
    rho: float,
    method: str,
    seed: int,
    restarts: int,
    time_limit: float | None,
) -> Result:
    from dro_opt.algorithms import gradient_baselines as gb

    def vj(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return values_and_jacobian(instance, z)

    M = instance.num_locations
    box = (np.zeros(M), np.minimum(instance.upper, budget))
    common: dict[str, Any] = dict(restarts=restarts, seed=seed, time_limit=time_limit)
    if method == "pga":
        res = gb.projected_gradient_ascent(
            vj, instance.q, *box, budget, objective=objective, rho=rho, **common
        )
    else:
        res = gb.two_time_scale_gda(
            vj, instance.q, *box, budget, rho=rho, objective=objective, **common
        )
    z = _feasible(res.z, instance.upper, budget)
    exact = evaluate(instance, z, objective, rho)  # re-evaluated on the asked objective
    return Result(
        status=Status.FEASIBLE,
        objective=float(exact),
        bound=None,
        solver="none",
        sense="max",
        x=z.copy(),
        solution={"z": z},
        build_seconds=0.0,
        solve_seconds=float(res.seconds),
        message=f"{method}: best of {res.restarts} random starts; no bound is proven",
        certificate=Certificate(lower=float(exact), upper=None, sense="max", lines=[]),
        extra={
            "method": method,
            "iterations": res.iterations,
            "evaluations": res.evaluations,
            "objective_name": objective,
            "rho": rho,
        },
    )


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | np.integer)


def _validate(
    instance: FCPInstance,
    budget: float,
    objective: str,
    rho: float,
    pieces: int | str,
    method: str,
    time_limit: float | None,
    gap: float,
    clusters: int | None,
    strata: int | None,
    per_stratum: int | None,
    seed: int,
    threads: int,
    restarts: int,
    candidates: list[np.ndarray] | None,
    solver_options: dict[str, Any] | None,
) -> None:
    if not isinstance(instance, FCPInstance):
        raise ParameterError(f"instance must be an FCPInstance, got {type(instance).__name__}")
    total = float(instance.upper.sum())
    if not (isinstance(budget, int | float) and math.isfinite(budget) and 0 < budget <= total):
        raise ParameterError(
            f"budget must be a number in (0, {total:g}] (the sum of the investment bounds U_j), "
            f"got {budget!r}"
        )
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if not (isinstance(rho, int | float) and math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho!r}")
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if pieces != "auto" and (not _is_int(pieces) or pieces < 1):
        raise ParameterError(f"pieces (K) must be an integer >= 1 or 'auto', got {pieces!r}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise ParameterError(f"time_limit must be a finite number of seconds > 0, got {time_limit}")
    if not (isinstance(gap, int | float) and math.isfinite(gap) and gap >= 0):
        raise ParameterError(f"gap must be a finite number >= 0, got {gap}")
    for label, value in (("clusters", clusters), ("strata", strata), ("per_stratum", per_stratum)):
        if value is not None and (not _is_int(value) or value < 1):
            raise ParameterError(f"{label} must be an integer >= 1, got {value!r}")
    if clusters is not None and strata is not None:
        raise ParameterError("give either clusters or strata (with per_stratum), not both")
    if (strata is None) != (per_stratum is None):
        raise ParameterError("stratified sampling needs both strata and per_stratum")
    if method in ("pga", "tt-gad") and (clusters is not None or strata is not None):
        raise ParameterError("the gradient baselines run on the full data: drop clusters/strata")
    if not _is_int(seed):
        raise ParameterError(f"seed must be an integer, got {seed!r}")
    if not _is_int(threads) or threads < 1:
        raise ParameterError(f"threads must be an integer >= 1, got {threads!r}")
    if not _is_int(restarts) or restarts < 1:
        raise ParameterError(f"restarts must be an integer >= 1, got {restarts!r}")
    M = instance.num_locations
    for i, c in enumerate(candidates or []):
        c = np.asarray(c, dtype=float)
        if c.shape != (M,) or not np.isfinite(c).all() or (c < 0).any():
            raise ParameterError(f"candidates[{i}] must be {M} finite investments >= 0, got {c!r}")
    if solver_options is not None and not isinstance(solver_options, dict):
        raise ParameterError(f"solver_options must be a dict, got {type(solver_options).__name__}")


__all__ = ["METHODS", "scip_options", "solve_mc_fcp"]
