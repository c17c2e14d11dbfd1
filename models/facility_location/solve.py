"""Solve robust MC-FLP with a certificate for the ORIGINAL full-data problem (issue 5).

:func:`solve_mc_flp` validates the parameters, optionally reduces the customers (clustering or
stratified sampling, paper 003 Sec. 4), solves the (reduced) problem by

* ``"oa"``: exact outer approximation (:func:`dro_opt.algorithms.submodular_oa.solve_oa`) -- ERM
  and chi-square DRO only: both are concave and monotone in the capture probabilities, so the
  problem is a convex MINLP in disguise (docs/facility_location.md, 'Structure of the objectives').
  VR is not concave, and OA cuts would not be
  valid upper bounds for it, hence ``method="oa"`` with ``objective="variance"`` is refused;
* ``"misocp"``: the paper's MISOCP (:mod:`.misocp`) on any solver of the registry (default: the
  registry's choice, SCIP for the SOC models, HiGHS for the ERM MILP);
* ``"auto"``: ``oa`` for erm/chi2 (and any objective at ``rho = 0``); for variance the chi-square
  bound first (below) and the MISOCP only if that bound does not certify the VR value of the
  chi-square optimum within ``gap`` (``extra["method"]`` is then ``"chi2-bound"``);

and ALWAYS re-evaluates the returned decision exactly on the full data. The certificate is::

    lower = F_full(z)   <=   OPT_full   <=   upper = bound + cap/drop line (MISOCP) + reduction line

where ``bound`` is the solver's (or OA's) proven bound on the problem it solved. The solver's word
is not passed through: on the MISOCP route its objective is compared with the exact value of its
decision on the model it solved, and its bound with the exact value of a greedy witness
(:mod:`.certificate`); a disagreement discards the bound and reports
``Status.NUMERICAL_ERROR`` unless an independent bound still certifies the gap.

Variance (VR): since ``VR(z) <= chi2(z)`` for every ``z`` (docs/conventions.md, 'Chi-square DRO'),
``max VR <= max chi2``, an
exactly computable valid bound. When the MISOCP does not certify the full-data gap by itself
(reduction, time limit or numerical failure) -- or up front with ``method="auto"``, where it
gets 25% of ``time_limit`` and often certifies VR alone (the bound is tight whenever the
chi-square worst case stays non-negative) -- the chi-square problem is solved on the full data
by OA (after the MISOCP: with the time that is left, at least 10% of ``time_limit``); its bound
is taken when smaller, and its decision is kept when its exact VR value is better. The smaller
of the valid bounds is the certificate's ``upper``; both are listed in ``extra["bounds"]``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dro_opt import deadline
from dro_opt.certify import Certificate, CertificateLine, total_error
from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.certificate import (
    bound_falsified,
    greedy_decision,
    incumbent_disagreement,
    open_locations,
)
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.misocp import _check_arguments, build_mc_flp_misocp_model
from dro_opt.models.facility_location.objectives import evaluate
from dro_opt.models.facility_location.progress import CertifiedTrajectory
from dro_opt.progress_line import set_phase, solver_values
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status
from dro_opt.validate import check_reduction, check_solve_arguments

METHODS = ("auto", "oa", "misocp")
#: Integrality/feasibility tolerance options of the MISOCP route, per solver. With utilities
#: s_ij up to s_max, a "binary" z_j off by the tolerance tol buys up to s_max * tol capture per
#: customer, so tol = 1e-5 / s_max (clipped to [1e-9, 1e-6]): at most ~1e-5 per customer, and
#: the exact re-evaluation catches anything larger. Tighter than needed is expensive on the SOC
#: models (SCIP on the shipped 100 x 25 VR instance: 58 s at 1e-6, 110 s at 1e-8, > 120 s at 1e-9).
TOLERANCE_OPTIONS: dict[str, tuple[str, ...]] = {
    "scip": ("numerics/feastol",),
    "highs": ("mip_feasibility_tolerance",),
}


def solver_tolerance(s_max: float) -> float:
    """Integrality/feasibility tolerance for utilities up to ``s_max`` (see above)."""
    return float(min(1e-6, max(1e-9, 1e-5 / max(1.0, s_max))))


OA_OBJECTIVES = ("erm", "chi2")


@dataclass
class _Outcome:
    """What one solve route hands back (decision on the solved instance + its bound)."""

    z: np.ndarray
    bound: float | None  # proven upper bound on the solved (reduced) problem, None if none
    error_lines: list[CertificateLine]
    status: Status  # the route's own status (solver / OA)
    solver: str
    solver_version: str | None = None
    message: str = ""
    numerical_error: bool = False
    model_objective: float | None = None
    model_bound: float | None = None
    nodes: int | None = None
    iterations: int | None = None
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def solve_mc_flp(
    instance: MCFLPInstance,
    budget: int,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    method: str = "auto",
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float = 1e-6,
    clusters: int | None = None,
    strata: int | None = None,
    per_stratum: int | None = None,
    seed: int = 0,
    threads: int = 1,
    verbose: bool = False,
    chi2_bound: bool = True,
    trajectory: bool = False,
) -> Result:
    """Solve robust max-capture facility location with a certified gap on the full data.

    Parameters
    ----------
    instance : full data (weights ``q``, log-odds ``a``).
    budget : at most ``budget`` locations open (integer in ``[1, D]``).
    objective : ``erm``, ``variance`` (paper 003 eq. VR) or ``chi2`` (exact chi-square DRO).
    rho : radius (``rho / n`` per sample), finite and ``>= 0``; ``rho = 0`` is ERM.
    method : ``auto`` | ``oa`` | ``misocp`` (module docstring).
    solver : MISOCP solver name (any of the registry; default its choice) or OA master.
    time_limit : seconds for the solve step (None = no limit).
    gap : relative gap target; ``Status.OPTIMAL`` only if the certificate's gap is ``<= gap``.
    clusters : solve on ``clusters`` weighted k-means representatives (paper 003 Sec. 4).
    strata, per_stratum : stratified sampling (``per_stratum`` draws in each of ``strata``).
    seed : seed of the reduction.
    threads, verbose : passed to the solver.
    chi2_bound : for variance, use the bound ``max VR <= max chi2`` (module docstring); False
        gives the paper's MISOCP route alone (benchmark baseline).
    trajectory : record the bound over time in ``extra["trajectory"]``: ``[seconds, primal,
        dual]`` points of the ORIGINAL problem (:mod:`.progress`). On the OA routes every point
        is certified (exact value of a decision found by then, proven bound widened by the
        reduction lines); on the MISOCP route the points are the solver's own incumbent value and
        bound (widened by the cap/drop and reduction lines) from its callback. The last point is
        always the returned ``(objective, bound)``. ``extra["trajectory_kind"]`` says which.

    Returns
    -------
    Result with ``objective`` = exact full-data value of the returned decision,
    ``bound`` = certificate upper bound (None when none is proven), ``solution["z"]``,
    ``certificate`` for the ORIGINAL problem and ``extra`` = {open (sorted, 1-based), method,
    reduction, model_objective, model_bound, iterations, bounds, ...}.
    """
    t_start = time.perf_counter()
    objective, rho, budget = _validate(
        instance,
        budget,
        objective,
        rho,
        method,
        time_limit,
        gap,
        clusters,
        strata,
        per_stratum,
        seed,
        threads,
    )
    effective = "erm" if rho == 0.0 else objective
    chosen = _choose_method(method, effective)
    messages: list[str] = []
    bounds: dict[str, float | None] = {}
    tracker = CertifiedTrajectory(instance, objective, rho, t_start) if trajectory else None

    # ---- VR, method auto: the chi-square bound first (max VR <= max chi2, exact by OA) --------
    chi2: dict[str, Any] | None = None
    if chi2_bound and method == "auto" and effective == "variance":
        share = None if time_limit is None else 0.25 * time_limit
        chi2 = _chi2_bound(instance, budget, rho, solver, share, gap, threads, verbose, tracker)
        bounds["chi2_oa_full_data"] = chi2["bound"]
        messages.append(chi2["message"])
        if chi2["z"] is not None and chi2["bound"] is not None:
            zc = np.round(chi2["z"]).astype(float)
            vr = evaluate(instance.a, instance.q, zc, objective, rho)
            if (chi2["bound"] - vr) / max(1.0, abs(vr)) <= gap:
                chosen = "chi2-bound"

    # ---- reduction ------------------------------------------------------------------------------
    t0 = time.perf_counter()
    if chosen == "chi2-bound":
        solved, red_lines, red_info = instance, [], None
    else:
        solved, red_lines, red_info = _reduce(
            instance, effective, rho, clusters, strata, per_stratum, seed
        )
    reduce_seconds = time.perf_counter() - t0
    if tracker is not None:
        tracker.set_widening(red_lines)

    # ---- solve ----------------------------------------------------------------------------------
    if chosen == "chi2-bound":
        assert chi2 is not None
        out = chi2["outcome"]
        messages.append(
            "certified by the chi-square bound alone: the VR value of the chi-square optimum "
            "meets max VR <= max chi2 within the gap (no MISOCP needed)"
        )
    elif chosen == "oa":
        out = _run_oa(
            solved, budget, effective, rho, solver, time_limit, gap, threads, verbose, tracker
        )
    else:
        remaining = time_limit
        if time_limit is not None:
            remaining = max(0.1 * time_limit, time_limit - (time.perf_counter() - t_start))
        out = _run_misocp(
            solved, budget, effective, rho, solver, remaining, gap, threads, verbose, tracker,
            red_lines,
        )  # fmt: skip

    # ---- exact full-data re-evaluation and certificate --------------------------------------
    z = np.round(out.z).astype(float)
    exact = evaluate(instance.a, instance.q, z, objective, rho)
    bound_note = {
        "chi2-bound": "max VR <= max chi2 (docs/conventions.md, 'Chi-square DRO'): OA bound of "
        "the chi-square problem on the full data",
    }.get(
        chosen,
        "proven bound of the solved model"
        + (" (reduced instance)" if red_info is not None else "")
        + f", method {chosen}",
    )
    cert = Certificate.for_sense(
        "max", exact, out.bound, errors=out.error_lines + red_lines, bound_note=bound_note
    )
    bounds[chosen] = cert.upper
    if out.message:
        messages.append(out.message)

    if (
        chi2_bound
        and effective == "variance"
        and chosen == "misocp"
        and (cert.gap is None or cert.gap > gap)
        and (red_info is not None or out.status is not Status.OPTIMAL or out.numerical_error)
        and (chi2 is not None or not deadline.expired())  # no time left / Ctrl-C: no new phase
    ):
        if chi2 is None:
            remaining = None
            if time_limit is not None:
                remaining = max(0.1 * time_limit, time_limit - (time.perf_counter() - t_start))
            if tracker is not None:
                tracker.set_widening([])  # the chi-square bound is on the full data
            chi2 = _chi2_bound(
                instance, budget, rho, solver, remaining, gap, threads, verbose, tracker
            )
            bounds["chi2_oa_full_data"] = chi2["bound"]
            messages.append(chi2["message"])
        if chi2["z"] is not None:
            zc = np.round(chi2["z"]).astype(float)
            vr = evaluate(instance.a, instance.q, zc, objective, rho)
            if vr > exact:
                z, exact = zc, vr
                messages.append("decision taken from the chi-square OA solve (better exact VR)")
        cb = chi2["bound"]
        if cb is not None and (cert.upper is None or cb < cert.upper):
            cert = Certificate.for_sense(
                "max",
                exact,
                cb,
                errors=[],
                bound_note="max VR <= max chi2 (docs/conventions.md, 'Chi-square DRO'): OA bound "
                "of the chi-square problem on the full data",
            )
        else:
            cert = Certificate(exact, cert.upper, "max", cert.lines)

    status = _final_status(cert, gap, out)
    if out.numerical_error and status is not Status.OPTIMAL:
        status = Status.NUMERICAL_ERROR
    total = time.perf_counter() - t_start
    chi2_seconds = 0.0 if chi2 is None or chosen == "chi2-bound" else chi2["seconds"]
    extra: dict[str, Any] = {
        "open": open_locations(z),
        "method": chosen,
        "objective_name": objective,
        "rho": rho,
        "budget": budget,
        "reduction": red_info,
        "model_objective": out.model_objective,
        "model_bound": out.model_bound,
        "route_status": out.status.value,
        "iterations": out.iterations,
        "bounds": bounds,
        "reduce_seconds": reduce_seconds,
        "chi2_bound_seconds": chi2_seconds,
        "total_seconds": total,
        **out.extra,
    }
    if tracker is not None:
        tracker.final(float(exact), cert.upper, total)
        extra["trajectory"] = tracker.as_list()
        extra["trajectory_kind"] = "solver-reported" if chosen == "misocp" else "certified"
    return Result(
        status=status,
        objective=float(exact),
        bound=cert.upper,
        solver=out.solver,
        solver_version=out.solver_version,
        sense="max",
        x=z.copy(),
        solution={"z": z},
        build_seconds=reduce_seconds + out.build_seconds,
        solve_seconds=out.solve_seconds + chi2_seconds,
        nodes=out.nodes,
        message="; ".join(m for m in messages if m),
        certificate=cert,
        extra=extra,
    )


# ----------------------------------------------------------------------------- validation
def _validate(
    instance: MCFLPInstance,
    budget: int,
    objective: str,
    rho: float,
    method: str,
    time_limit: float | None,
    gap: float,
    clusters: int | None,
    strata: int | None,
    per_stratum: int | None,
    seed: int,
    threads: int,
) -> tuple[str, float, int]:
    """Raise :class:`ParameterError` naming the fix; returns (objective, rho, budget)."""
    if not isinstance(instance, MCFLPInstance):
        raise ParameterError(
            f"instance must be an MCFLPInstance (read one with read_hm14), got "
            f"{type(instance).__name__}"
        )
    _check_arguments(instance, budget, objective, rho)
    rho = float(rho)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if method == "oa" and objective == "variance" and rho > 0:
        raise ParameterError(
            "method 'oa' is exact only for concave monotone objectives (erm, chi2); the "
            "variance-regularised objective is neither, so OA cuts are not valid bounds for it: "
            "use method 'misocp' (or 'auto'), or objective 'chi2' (its monotone upper envelope)"
        )
    check_solve_arguments(time_limit=time_limit, gap=gap, threads=threads, seed=seed)
    check_reduction(clusters, strata, per_stratum)
    return objective, rho, int(budget)


def _choose_method(method: str, effective: str) -> str:
    if method == "auto":
        return "oa" if effective in OA_OBJECTIVES else "misocp"
    return method


# ------------------------------------------------------------------------------ reduction
def _reduce(
    instance: MCFLPInstance,
    objective: str,
    rho: float,
    clusters: int | None,
    strata: int | None,
    per_stratum: int | None,
    seed: int,
) -> tuple[MCFLPInstance, list[CertificateLine], dict[str, Any] | None]:
    """The instance to solve, the reduction's rigorous error line and its description."""
    if clusters is None and strata is None:
        return instance, [], None
    from dro_opt.models.facility_location.reduce import (
        reduce_by_clustering,
        reduce_by_stratified_sampling,
    )

    if clusters is not None:
        red = reduce_by_clustering(instance, int(clusters), seed=int(seed))
    else:
        red = reduce_by_stratified_sampling(
            instance,
            int(strata),
            int(per_stratum),
            seed=int(seed),  # type: ignore[arg-type]
        )
    line = red.error_bound(objective, rho)
    prior = red.a_priori_bound(objective, rho)
    info = {
        "method": red.method,
        "representatives": int(red.instance.num_customers),
        "clusters": clusters,
        "strata": strata,
        "per_stratum": per_stratum,
        "seed": int(seed),
        "radius": float(red.radius),
        "error_bound": line.value,
        "error_bound_rigorous": line.rigorous,
        "a_priori_bound": None if prior is None else prior.value,
        "a_priori_note": None if prior is None else prior.note,
    }
    return red.instance, [line], info


# ----------------------------------------------------------------------------------- routes
def _run_oa(
    inst: MCFLPInstance,
    budget: int,
    objective: str,
    rho: float,
    solver: str | None,
    time_limit: float | None,
    gap: float,
    threads: int,
    verbose: bool,
    tracker: CertifiedTrajectory | None = None,
) -> _Outcome:
    from dro_opt.algorithms.submodular_oa import solve_oa

    set_phase("outer approximation")
    res = solve_oa(
        inst,
        budget,
        objective,
        rho,
        gap=gap,
        time_limit=time_limit,
        master=solver,
        threads=threads,
        verbose=verbose,
        progress=None if tracker is None else tracker.update,
    )
    return _Outcome(
        z=np.asarray(res.z, dtype=float),
        bound=res.bound,
        error_lines=[],
        status=res.status,
        solver=res.master or "none (proved by the initial cuts)",
        message=res.message,
        model_objective=res.value,
        model_bound=res.bound,
        nodes=res.nodes,
        iterations=res.iterations,
        build_seconds=res.build_seconds,
        solve_seconds=res.seconds - res.build_seconds,
        extra={"cuts": res.cuts},
    )


def _run_misocp(
    inst: MCFLPInstance,
    budget: int,
    objective: str,
    rho: float,
    solver: str | None,
    time_limit: float | None,
    gap: float,
    threads: int,
    verbose: bool,
    tracker: CertifiedTrajectory | None = None,
    reduction_lines: list[CertificateLine] | None = None,
) -> _Outcome:
    from dro_opt.solvers.registry import default_solver, solve

    t0 = time.perf_counter()
    model = build_mc_flp_misocp_model(inst, budget, objective, rho)
    build_seconds = time.perf_counter() - t0
    name = solver or default_solver(model.problem)
    finite = model.a_model[np.isfinite(model.a_model)]
    tol = solver_tolerance(float(np.exp(finite.max())) if finite.size else 1.0)
    solve_start = time.perf_counter()
    # the live progress line: the solver's incumbent (its value on the model) and its bound
    # widened by the cap/drop and reduction lines, as the solver reports them
    widen = total_error([model.error_line(), *(reduction_lines or [])])

    def widened(primal: float | None, dual: float | None) -> tuple[float | None, float | None]:
        return primal, None if dual is None or widen is None else dual + widen

    with solver_values(f"MISOCP ({name}), the solver's incumbent", widened):
        res = solve(
            model.problem,
            name,
            # half the target: the certificate adds the cap/drop line and the solver's tolerances
            SolveOptions(
                time_limit=time_limit,
                gap=0.5 * gap,
                threads=threads,
                verbose=verbose,
                extra={key: tol for key in TOLERANCE_OPTIONS.get(name, ())},
                trajectory=tracker is not None,
            ),
        )
    n = inst.n
    sensitivity = (
        1.0
        + {
            "erm": 0.0,
            "variance": math.sqrt(2 * rho / n),
            "chi2": math.sqrt(1 + 2 * rho / n),
        }[objective]
    )
    messages: list[str] = []
    numerical = False
    z_greedy, _ = greedy_decision(inst, budget, objective, rho)
    greedy_model_value = model.model_value(z_greedy)
    bound = res.bound if res.bound is not None and math.isfinite(res.bound) else None

    z_solver = None
    if res.status.has_solution and "z" in res.solution:
        z_solver = np.round(np.asarray(res.solution["z"], dtype=float))
        if z_solver.sum() > budget + 0.5:
            numerical = True
            messages.append(f"{name}'s decision opens {int(z_solver.sum())} > {budget} locations")
            z_solver = None
    elif res.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED, Status.UNBOUNDED):
        numerical = True
        messages.append(
            f"{name} answered {res.status.value!r} on a model that is feasible (nothing open) and "
            "bounded (captured demand <= n): a numerical failure"
        )
        bound = None
    model_value_solver = None
    if z_solver is not None:
        model_value_solver = model.model_value(z_solver)
        msg = incumbent_disagreement(
            res.objective,
            model_value_solver,
            n,
            claims_optimal=res.status is Status.OPTIMAL,
            gap=gap,
            sensitivity=sensitivity,
            violation=res.extra.get("max_violation"),
        )
        if msg:
            numerical = True
            messages.append(f"{name}: {msg}")
    if bound is not None:
        witness = max(greedy_model_value, model_value_solver or -math.inf)
        if bound_falsified(bound, witness, n, sensitivity=sensitivity):
            numerical = True
            messages.append(
                f"{name}'s bound {bound:.10g} is below the exact value {witness:.10g} of a "
                "feasible decision: the bound is false"
            )
    if numerical:
        bound = None
    if tracker is not None:
        tracker.set_widening([model.error_line(), *(reduction_lines or [])])
        tracker.add_solver_points(
            res.extra.get("trajectory") or [],
            offset=solve_start - tracker.start + (res.build_seconds or 0.0),
            bounds_valid=not numerical,
        )
    # the better decision (exact value on the solved instance) of the solver's and the greedy's
    z = z_greedy
    source = "greedy"
    if z_solver is not None and evaluate(inst.a, inst.q, z_solver, objective, rho) >= evaluate(
        inst.a, inst.q, z_greedy, objective, rho
    ):
        z, source = z_solver, "solver"
    if res.message and res.status is not Status.OPTIMAL:
        messages.append(f"{name}: {res.message}")
    return _Outcome(
        z=z,
        bound=bound,
        error_lines=[model.error_line()],
        status=res.status,
        solver=name,
        solver_version=res.solver_version,
        message="; ".join(messages),
        numerical_error=numerical,
        model_objective=res.objective,
        model_bound=res.bound,
        nodes=res.nodes,
        build_seconds=build_seconds + res.build_seconds,
        solve_seconds=res.solve_seconds,
        extra={
            "decision_source": source,
            "greedy_model_value": greedy_model_value,
            "solver_decision_model_value": model_value_solver,
            "misocp_size": {
                "variables": model.problem.n,
                "rows": model.problem.m,
                "nonzeros": int(model.problem.A.nnz),
            },
            "solver_tolerance": tol,
            "pairs_dropped": model.num_dropped,
            "pairs_capped": model.num_capped,
        },
    )


def _chi2_bound(
    instance: MCFLPInstance,
    budget: int,
    rho: float,
    solver: str | None,
    time_limit: float | None,
    gap: float,
    threads: int,
    verbose: bool,
    tracker: CertifiedTrajectory | None = None,
) -> dict[str, Any]:
    """``max chi2`` by OA on the full data: a valid upper bound on ``max VR``.

    Returns ``{"bound", "z", "message", "outcome"}`` (``outcome``: an :class:`_Outcome` whose
    bound is the chi-square bound, for the VR certificate).
    """
    from dro_opt.algorithms.submodular_oa import solve_oa

    master = solver if solver in (None, "scip", "highs") else None
    set_phase("chi-square bound (outer approximation)")
    res = solve_oa(
        instance,
        budget,
        "chi2",
        rho,
        gap=gap,
        time_limit=time_limit,
        master=master,
        threads=threads,
        verbose=verbose,
        progress=None if tracker is None else tracker.update,
    )
    outcome = _Outcome(
        z=np.asarray(res.z, dtype=float),
        bound=res.bound,
        error_lines=[],
        status=res.status,
        solver=res.master or "none (proved by the initial cuts)",
        model_objective=res.value,
        model_bound=res.bound,
        nodes=res.nodes,
        iterations=res.iterations,
        build_seconds=res.build_seconds,
        solve_seconds=res.seconds - res.build_seconds,
        extra={"cuts": res.cuts, "chi2_value": res.value},
    )
    bound_txt = "none" if res.bound is None else f"{res.bound:.10g}"
    return {
        "bound": res.bound,
        "z": res.z,
        "message": f"chi-square OA on the full data: value {res.value:.10g}, bound {bound_txt} "
        f"({res.status.value}, {res.seconds:.2f} s)",
        "outcome": outcome,
        "seconds": res.seconds,
    }


def _final_status(cert: Certificate, gap: float, out: _Outcome) -> Status:
    g = cert.gap
    if g is not None and g <= gap:
        return Status.OPTIMAL
    if out.status is Status.TIME_LIMIT:
        return Status.TIME_LIMIT
    if out.status in (Status.LICENSE_LIMIT, Status.UNSUPPORTED, Status.ERROR):
        return out.status
    return Status.FEASIBLE
