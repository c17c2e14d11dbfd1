"""Solve the robust quantal-response security game with a certificate on the ORIGINAL problem.

:func:`solve_ssg` (paper 003 Sec. 3.2 and Sec. 5.1) validates the parameters, optionally reduces
the attacker types (clustering or stratified sampling, :mod:`.reduce`), builds the PWLA MISOCP
(:mod:`.misocp`) and solves it; the grid decision it returns is then polished off the grid by
exact-objective ascent (:mod:`.polish`, never worse) and re-evaluated EXACTLY on the full data.
The certificate (mean units, original payoffs)::

    lower = F_full(z)   <=   OPT (continuous z, full data)
          <=   upper = solver bound (grid problem) + PWLA line + reduction line

The PWLA line is the rigorous grid-restriction bound of
:mod:`dro_opt.reformulations.pwla_fractional` (paper 003 Thm. 2 with the constant computed from
the data). With ``pwla_mode="adaptive"`` (default) or ``"curvature"``, the ERM model carries its
second-order error inside (:mod:`.cell_curvature`; the line is then 0) and ``adaptive`` refines
the grid around the incumbent (:mod:`.refine`: the upper is the max of the proven bounds outside
and inside the refined boxes). For VR and chi-square in these modes (``R K`` integral) the
ball dual of :mod:`.dual_bound` runs after the grid solve: ``Phi(f) <= P'f`` for every ``P`` of
the ball, so the proven bound of the ``P``-weighted ERM model (second-order offsets inside,
signed by ``P_n``; ``adaptive`` refines it locally) bounds the continuous optimum; it is skipped
when the ERM cell line alone exceeds the current certificate's width. Under a ``time_limit``
the solves end :data:`POLISH_RESERVE` seconds (at most 5 %) early so that the polish runs
inside it (and the polish gets at least :data:`POLISH_MIN` seconds, typically all it needs);
the grid solve comes first (its decision is the certificate's lower side) and the ball dual
gets what is left. The smallest proven upper of all solves is kept.
The solver's word is checked: its bound must not lie below the exact value of its own decision
on the solved instance (the model is exact on the grid);
otherwise the bound is dropped and the status is ``NUMERICAL_ERROR``.

``pieces="auto"``: the smallest ``K`` of ``2, 4, 8, ...`` (at most ``max_pieces``) whose PWLA line
is at most half of ``gap * max(1, |F(z0)|)`` (``z0`` the uniform coverage ``R / M``; ERM with
``adaptive``: ``FACTOR^2`` times that, as the refined box is ``FACTOR`` times finer); after the
solve, while the certificate's gap is above ``gap`` and ``K < max_pieces``, ``K`` is doubled and
the model re-solved (every solve's upper bound is valid, the smallest is kept, and the best exact
decision). The line decreases like ``1 / K`` but its constant is large for steep games
(``|DR - DP|`` and ``lam |AP - AR| spread``), so small gaps may be out of reach: the status is
then ``FEASIBLE`` with the gap actually proven.

``method="spatial"``: :mod:`.spatial` -- no PWLA and no reduction: a spatial branch-and-bound
over boxes of coverages with second-order node bounds; its certificate holds for the continuous
problem at every ``rho`` (the PWLA route's error is multiplied by ``sum |P_n|``, which grows like
``sqrt(rho)``), its cost grows quickly with ``M`` (``pieces``, ``solver`` and ``threads`` are not
used).

``method="pga"`` / ``"tt-gad"``: the gradient baselines of
:mod:`dro_opt.algorithms.gradient_baselines` (best of ``restarts`` random starts) on the full data;
they prove no bound (``bound`` is None).

SCIP default options here: ``separating/maxrounds = separating/maxroundsroot = 0``. Measured on a
3-target, 8-type game with K = 8 (shared machine): ERM 19.7 s -> 0.3 s, VR 40.1 s -> 6.4 s with the
same proven bound; the McCormick LP relaxation gains little from SCIP's root cuts.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from dro_opt import deadline, interrupt
from dro_opt.certify import Certificate, CertificateLine
from dro_opt.errors import ParameterError
from dro_opt.models.security_game.cell_curvature import cell_line
from dro_opt.models.security_game.curvature import applies
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.misocp import PWLA_MODES, build_ssg_misocp, pwla_line_for
from dro_opt.models.security_game.objective import OBJECTIVES, evaluate, values_and_jacobian
from dro_opt.models.security_game.refine import FACTOR, refine_erm
from dro_opt.solvers.base import SolveOptions
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

METHODS = ("misocp", "spatial", "pga", "tt-gad")
SCIP_OPTIONS = {"separating/maxrounds": 0, "separating/maxroundsroot": 0}
DEFAULT_MAX_PIECES = 64
POLISH_RESERVE = 0.5  # seconds of a time limit (at most 5 %) kept for the polish
POLISH_MIN = 0.1  # seconds the polish gets even when the solves overran the limit


def solve_ssg(
    instance: SSGInstance,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    pieces: int | str = 8,
    method: str = "misocp",
    solver: str | None = None,
    time_limit: float | None = None,
    gap: float = 1e-4,
    clusters: int | None = None,
    strata: int | None = None,
    per_stratum: int | None = None,
    seed: int = 0,
    threads: int = 1,
    verbose: bool = False,
    max_pieces: int = DEFAULT_MAX_PIECES,
    restarts: int = 10,
    polish: bool = True,
    pwla_mode: str = "adaptive",
) -> Result:
    """Solve with a certified gap (module docstring).

    Parameters
    ----------
    instance : the game (full data).
    objective : ``erm``, ``variance`` (``E_p f - sqrt(2 rho Var_p f / n)``) or ``chi2``.
    rho : radius, finite ``>= 0`` (``rho / n`` per sample); ``rho = 0`` is ERM.
    pieces : ``K >= 1`` cells per target, or ``"auto"``.
    method : ``misocp`` | ``spatial`` (:mod:`.spatial`: certified continuous optimum by spatial
        branch-and-bound, no PWLA; for few targets, M <= 5 or so) | ``pga`` | ``tt-gad``.
    solver : MISOCP solver (default SCIP; HiGHS is possible for ``erm``).
    time_limit : seconds for all solves together (None = no limit).
    gap : relative gap target; ``OPTIMAL`` only if the certificate's gap is ``<= gap``.
    clusters, strata, per_stratum, seed : reduction of the attacker types (:mod:`.reduce`).
    max_pieces : the largest ``K`` of ``pieces="auto"``.
    restarts : random starts of the gradient baselines.
    polish : move the grid decision off the grid by exact-objective ascent (:mod:`.polish`);
        the returned coverage is the better one (``extra["grid_objective"]`` keeps the other).
    pwla_mode : ``adaptive`` (default: ``curvature`` plus, for ERM, the local refinement of
        :mod:`.refine`), ``curvature`` (ERM error inside the model, cell-dependent lines) or
        ``restriction`` (grid restriction + round-down / averaged line); :mod:`.misocp`.

    Returns
    -------
    Result: ``objective`` exact full-data value of ``solution["z"]`` (original units), ``bound``
    the certificate's upper bound (None if none is proven), ``certificate``, ``extra`` (pieces,
    pwla_line, reduction, model objective/bound, ...).
    """
    t_start = time.perf_counter()
    objective, rho = _validate(
        instance, objective, rho, pieces, method, time_limit, gap, clusters, strata,
        per_stratum, seed, threads, max_pieces, pwla_mode,
    )  # fmt: skip
    if method == "spatial":
        from dro_opt.models.security_game.spatial import solve_spatial

        return solve_spatial(instance, objective, rho, gap=gap, time_limit=time_limit)
    if method != "misocp":
        return _run_baseline(instance, objective, rho, method, seed, restarts, time_limit, t_start)

    effective = "erm" if rho == 0.0 else objective
    t0 = time.perf_counter()
    solved, red_lines, red_info = _reduce(
        instance, effective, rho, clusters, strata, per_stratum, seed
    )
    reduce_seconds = time.perf_counter() - t0
    model_mode = "curvature" if pwla_mode == "adaptive" else pwla_mode
    if pieces == "auto":
        M = instance.num_targets
        z0 = np.full(M, min(1.0, instance.budget / M))
        target = 0.5 * gap * max(1.0, abs(evaluate(instance, z0, objective, rho)))
        if pwla_mode == "adaptive" and (effective == "erm" or applies(solved, 1)):
            target *= FACTOR**2  # the refined box has FACTOR x finer cells (error ~ 1/K^2)
        K = 2
        while K < max_pieces and _auto_line(solved, K, effective, rho, model_mode) > target:
            if interrupt.requested():
                break
            K *= 2
        K = min(K, max_pieces)
    else:
        K = int(pieces)

    name = solver or "scip"
    grid_z: np.ndarray | None = None

    def run(model: Any, remaining: float | None) -> Result:
        from dro_opt.solvers.registry import solve

        extra = dict(SCIP_OPTIONS) if name == "scip" else {}
        options = SolveOptions(
            time_limit=remaining, gap=0.25 * gap, threads=threads, verbose=verbose, extra=extra
        )
        return solve(model.problem, name, options)

    best_z: np.ndarray | None = None
    best_exact = -math.inf
    best_cert: Certificate | None = None
    build_seconds = solve_seconds = 0.0
    messages: list[str] = []
    tried: list[dict[str, Any]] = []
    numerical = False
    last_status = Status.UNKNOWN
    nodes = None
    version = None

    # the solves end POLISH_RESERVE early: the polish (milliseconds) runs inside the budget
    solve_limit = None
    if time_limit is not None:
        solve_limit = time_limit - min(POLISH_RESERVE, 0.05 * time_limit)

    def out_of_time() -> bool:
        """The solves' share of ``time_limit`` or the command's budget (or Ctrl-C) is used up."""
        over = solve_limit is not None and time.perf_counter() - t_start >= solve_limit
        return over or deadline.expired()

    polish_start = [0.0]

    def polish_over() -> bool:
        """The polish stops at the limit, but gets at least POLISH_MIN seconds."""
        now = time.perf_counter()
        if now - polish_start[0] < POLISH_MIN:
            return interrupt.requested()
        over = time_limit is not None and now - t_start >= time_limit
        return over or deadline.expired()

    def adopt(step: Any, step_build: float, line: Any, note: str) -> None:
        """Take a refinement / ball-dual step's decision (re-evaluated exactly on all types)
        and its proven upper bound when they improve on what is known."""
        nonlocal best_z, best_exact, best_cert, build_seconds, solve_seconds
        build_seconds += step_build
        solve_seconds += step.seconds[1]
        tried.extend(step.solves)
        if step.decision is not None:
            exact = evaluate(instance, step.decision, objective, rho)
            if exact > best_exact:
                best_z, best_exact = step.decision, exact
        if step.upper is not None and (
            best_cert is None or best_cert.upper is None or step.upper < best_cert.upper
        ):
            best_cert = Certificate.for_sense(
                "max", best_exact, step.upper, errors=[line, *red_lines], bound_note=note
            )

    while True:
        if best_z is not None and out_of_time():
            break
        t0 = time.perf_counter()
        model = build_ssg_misocp(solved, effective, rho, K, model_mode)
        line = model.pwla_line()  # the model's own line: before the solve, inside the budget
        build_seconds += time.perf_counter() - t0
        if interrupt.requested():  # Ctrl-C during the build / PWLA line: start no solve
            break
        remaining = None  # what is left after the build
        if solve_limit is not None:
            remaining = solve_limit - (time.perf_counter() - t_start)
            if best_z is None:  # no decision yet: the first solve gets at least a tenth
                remaining = max(remaining, 0.1 * solve_limit)
            elif remaining <= 0:
                break
        res = run(model, remaining)
        solve_seconds += res.solve_seconds
        build_seconds += res.build_seconds
        last_status, nodes, version = res.status, res.nodes, res.solver_version
        entry: dict[str, Any] = {"pieces": K, "status": res.status.value, "pwla_line": line.value}
        z = None
        if res.status.has_solution and "v" in res.solution:
            z = _feasible(model.decision(res.solution), instance.budget)
        bound = None
        if res.bound is not None and math.isfinite(res.bound):
            bound = float(res.bound) - model.shift
        if z is not None:
            grid_z = z
            on_solved = evaluate(solved, z, effective, rho)
            entry["model_value_of_decision"] = on_solved
            if bound is not None and bound < on_solved - 1e-7 * max(1.0, abs(on_solved)):
                numerical = True
                messages.append(
                    f"{name}'s bound {bound:.10g} (K = {K}) is below the exact value "
                    f"{on_solved:.10g} of its own grid decision: bound discarded"
                )
                bound = None
            exact = evaluate(instance, z, objective, rho)
            if exact > best_exact:
                best_z, best_exact = z, exact
        entry["bound"] = bound
        tried.append(entry)
        if bound is not None:
            cert = Certificate.for_sense(
                "max",
                best_exact if best_z is not None else None,
                bound,
                errors=[line, *red_lines],
                bound_note=f"{name}'s proven bound of the grid MISOCP (K = {K}"
                + (", reduced types)" if red_info is not None else ")"),
            )
            if (
                best_cert is None
                or best_cert.upper is None
                or (cert.upper is not None and cert.upper < best_cert.upper)
            ):
                best_cert = cert
        if res.message and res.status is not Status.OPTIMAL:
            messages.append(f"{name}: {res.message}")
        if pwla_mode == "adaptive" and z is not None and model.error_in_model and not out_of_time():
            t0 = time.perf_counter()
            ref = refine_erm(solved, K, z, lambda m: run(m, _remaining(solve_limit, t_start)))
            if ref is not None:
                adopt(
                    ref,
                    ref.seconds[0] + (time.perf_counter() - t0 - sum(ref.seconds)),
                    _refined_line(K),
                    f"{name}'s proven bounds, max(outside the refined box at K = {K}, inside it "
                    f"at {FACTOR}x finer cells); refine.py",
                )
        if _dual_worth_it(solved, K, effective, model_mode, best_exact, best_cert) and not (
            out_of_time()
        ):
            start = [zz for zz in (z, best_z) if zz is not None] or [_uniform_start(instance)]
            dual = _dual_step(
                solved, effective, rho, K, start, pwla_mode, gap,
                lambda m: run(m, _remaining(solve_limit, t_start)), out_of_time,
            )  # fmt: skip
            if dual is not None:
                adopt(
                    dual,
                    dual.seconds[0],
                    _dual_line(K, pwla_mode),
                    f"{name}'s proven bound of max_z P'f(z) (K = {K}) for the ball weights P of "
                    "dual_bound.py: Phi(f) <= P'f for every P in the ball",
                )
        g = _gap(best_exact, best_cert)
        if pieces != "auto" or (g is not None and g <= gap) or K >= max_pieces:
            break
        if res.status in (Status.TIME_LIMIT, Status.INTERRUPTED) or out_of_time():
            break
        K = min(2 * K, max_pieces)

    if best_z is None:
        best_z = np.zeros(instance.num_targets)
        best_exact = evaluate(instance, best_z, objective, rho)
        messages.append("no solver decision: reporting z = 0")
    grid_exact = best_exact
    if polish:
        from dro_opt.models.security_game.polish import polish as ascend

        polish_start[0] = time.perf_counter()
        z_pol, v_pol = ascend(instance, best_z, objective, rho, stop=polish_over)
        if v_pol > best_exact and z_pol.sum() <= instance.budget + 1e-12:
            best_z, best_exact = z_pol, evaluate(instance, z_pol, objective, rho)
    if best_cert is None:
        cert = Certificate(lower=best_exact, upper=None, sense="max", lines=[])
    else:
        cert = Certificate(best_exact, best_cert.upper, "max", best_cert.lines)
    g = cert.gap
    if g is not None and g <= gap:
        status = Status.OPTIMAL
    elif numerical and cert.upper is None:
        status = Status.NUMERICAL_ERROR
    elif last_status in (Status.TIME_LIMIT, Status.LICENSE_LIMIT, Status.ERROR, Status.UNSUPPORTED):
        status = last_status
    elif out_of_time() or any(e.get("status") == Status.TIME_LIMIT.value for e in tried):
        status = Status.TIME_LIMIT  # a later step (refinement, ball dual) ran into the limit
    else:
        status = Status.FEASIBLE
    return Result(
        status=status,
        objective=float(best_exact),
        bound=cert.upper,
        solver=name,
        solver_version=version,
        sense="max",
        x=best_z.copy(),
        solution={"z": best_z},
        build_seconds=reduce_seconds + build_seconds,
        solve_seconds=solve_seconds,
        nodes=nodes,
        message="; ".join(messages),
        certificate=cert,
        extra={
            "method": "misocp",
            "pieces": K,
            "pwla_mode": pwla_mode,
            "solves": tried,
            "reduction": red_info,
            "objective_name": objective,
            "rho": rho,
            "grid_objective": grid_exact,
            "grid_decision": None if grid_z is None else grid_z.tolist(),
            "polished": bool(best_exact > grid_exact),
            "total_seconds": time.perf_counter() - t_start,
        },
    )


def _dual_applies(instance: SSGInstance, pieces: int, objective: str, mode: str) -> bool:
    """The ball-dual bound of :mod:`.dual_bound` (VR / chi-square, curvature offsets, ``R K``
    integral)."""
    return objective in ("variance", "chi2") and mode == "curvature" and applies(instance, pieces)


def _dual_worth_it(
    instance: SSGInstance,
    pieces: int,
    objective: str,
    mode: str,
    lower: float,
    cert: Certificate | None,
) -> bool:
    """Run the ball dual when it applies and its a-priori error (the ERM cell line of
    :mod:`.cell_curvature`, a lower estimate of the P-weighted one) is below the current
    certificate's width (coarse grids: the round-down line is then the better one)."""
    if not _dual_applies(instance, pieces, objective, mode):
        return False
    if cert is None or cert.upper is None or not math.isfinite(lower):
        return True
    estimate = cell_line(instance, pieces, "erm", 0.0)
    return estimate is not None and float(estimate.value) < cert.upper - lower  # type: ignore[arg-type]


def _uniform_start(instance: SSGInstance) -> np.ndarray:
    """The coverage ``R / M`` on every target: a feasible start when no solve returned one."""
    M = instance.num_targets
    return np.full(M, min(1.0, instance.budget / M))


def _dual_step(
    instance: SSGInstance,
    objective: str,
    rho: float,
    pieces: int,
    start: list[np.ndarray],
    pwla_mode: str,
    gap: float,
    run: Any,
    stop: Any,
) -> Any:
    """:func:`.dual_bound.dual_certificate` from the coverages ``start``; ``adaptive`` refines
    the best ``P`` model locally (:mod:`.refine` with the dual weights)."""
    from dro_opt.models.security_game.dual_bound import dual_certificate

    def refine(P: np.ndarray, center: np.ndarray) -> Any:
        return refine_erm(instance, pieces, center, run, dual_weights=P)

    lower = max(evaluate(instance, z, objective, rho) for z in start)
    return dual_certificate(
        instance, objective, rho, pieces, start, run, lower=lower, gap=gap, stop=stop,
        refine=refine if pwla_mode == "adaptive" else None,
    )  # fmt: skip


def _dual_line(pieces: int, pwla_mode: str) -> CertificateLine:
    local = ", locally refined" if pwla_mode == "adaptive" else ""
    return CertificateLine(
        "pwla",
        0.0,
        True,
        f"PWLA error inside the ball-dual models (K = {pieces}{local}): signed cell-dependent "
        "second-order offsets (cell_curvature.py, dual_bound.py)",
    )


def _auto_line(instance: SSGInstance, K: int, objective: str, rho: float, mode: str) -> float:
    """The a-priori PWLA line of ``K`` for ``pieces="auto"``: the ERM line (the P-weighted ERM
    error of the ball dual is of its order) where :mod:`.dual_bound` applies, else the
    objective's own line."""
    if _dual_applies(instance, K, objective, mode):
        return float(pwla_line_for(instance, K, "erm", 0.0, mode).value)  # type: ignore[arg-type]
    return float(pwla_line_for(instance, K, objective, rho, mode).value)  # type: ignore[arg-type]


def _remaining(time_limit: float | None, t_start: float) -> float | None:
    """What is left of ``time_limit`` (at least 1 ms: the solve then stops at once)."""
    if time_limit is None:
        return None
    return max(time_limit - (time.perf_counter() - t_start), 1e-3)


def _refined_line(pieces: int) -> CertificateLine:
    return CertificateLine(
        "pwla",
        0.0,
        True,
        f"PWLA error inside the models (K = {pieces}, locally {FACTOR}x finer): cell-dependent "
        "second-order offsets raise every grid point's numerators (cell_curvature.py, refine.py)",
    )


def _gap(lower: float, cert: Certificate | None) -> float | None:
    if cert is None or cert.upper is None or not math.isfinite(lower):
        return None
    return max(0.0, cert.upper - lower) / max(1.0, abs(lower))


def _feasible(z: np.ndarray, budget: float) -> np.ndarray:
    """Clip to the box and, if round-off put ``sum z`` above the budget, scale down."""
    z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
    s = float(z.sum())
    if s > budget:
        z = z * (budget / s)
    return z


# --------------------------------------------------------------------------- baselines
def _run_baseline(
    instance: SSGInstance,
    objective: str,
    rho: float,
    method: str,
    seed: int,
    restarts: int,
    time_limit: float | None,
    t_start: float,
) -> Result:
    from dro_opt.algorithms import gradient_baselines as gb

    def vj(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return values_and_jacobian(instance, z)

    M = instance.num_targets
    common = dict(restarts=restarts, seed=seed)
    if method == "pga":
        res = gb.projected_gradient_ascent(
            vj, instance.weights, np.zeros(M), np.ones(M), instance.budget,
            objective=objective, rho=rho, time_limit=time_limit, **common,
        )  # fmt: skip
    else:
        res = gb.two_time_scale_gda(
            vj, instance.weights, np.zeros(M), np.ones(M), instance.budget,
            rho=rho, objective=objective, time_limit=time_limit, **common,
        )  # fmt: skip
    z = _feasible(np.asarray(res.z, dtype=float), instance.budget)
    exact = evaluate(instance, z, objective, rho)  # re-evaluated here, whatever it optimised
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
        message=f"{method}: best of {restarts} random starts; no bound is proven",
        certificate=Certificate(lower=float(exact), upper=None, sense="max", lines=[]),
        extra={
            "method": method,
            "iterations": res.iterations,
            "restart_objectives": np.asarray(res.restart_objectives).tolist(),
            "objective_name": objective,
            "rho": rho,
        },
    )


# --------------------------------------------------------------------------- reduction
def _reduce(
    instance: SSGInstance,
    objective: str,
    rho: float,
    clusters: int | None,
    strata: int | None,
    per_stratum: int | None,
    seed: int,
) -> tuple[SSGInstance, list[CertificateLine], dict[str, Any] | None]:
    if clusters is None and strata is None:
        return instance, [], None
    from dro_opt.models.security_game.reduce import reduce_types

    return reduce_types(instance, objective, rho, clusters, strata, per_stratum, seed)


# --------------------------------------------------------------------------- validation
def _validate(
    instance: SSGInstance,
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
    max_pieces: int,
    pwla_mode: str = "adaptive",
) -> tuple[str, float]:
    if not isinstance(instance, SSGInstance):
        raise ParameterError(f"instance must be an SSGInstance, got {type(instance).__name__}")
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    try:
        rho = float(rho)
    except (TypeError, ValueError):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho!r}") from None
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho}")
    if pwla_mode not in (*PWLA_MODES, "adaptive"):
        modes = ", ".join(("adaptive", *PWLA_MODES))
        raise ParameterError(f"pwla_mode must be one of {modes}, got {pwla_mode!r}")
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if pieces != "auto" and (
        isinstance(pieces, bool) or not isinstance(pieces, int | np.integer) or pieces < 1
    ):
        raise ParameterError(f"pieces (K) must be an integer >= 1 or 'auto', got {pieces!r}")
    if isinstance(max_pieces, bool) or not isinstance(max_pieces, int) or max_pieces < 1:
        raise ParameterError(f"max_pieces must be an integer >= 1, got {max_pieces!r}")
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise ParameterError(f"time_limit must be a finite number of seconds > 0, got {time_limit}")
    if not (isinstance(gap, int | float) and math.isfinite(gap) and gap >= 0):
        raise ParameterError(f"gap must be a finite number >= 0, got {gap}")
    for label, value in (("clusters", clusters), ("strata", strata), ("per_stratum", per_stratum)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1
        ):
            raise ParameterError(f"{label} must be an integer >= 1, got {value!r}")
    if clusters is not None and strata is not None:
        raise ParameterError("give either clusters or strata (with per_stratum), not both")
    if (strata is None) != (per_stratum is None):
        raise ParameterError("stratified sampling needs both strata and per_stratum")
    if method != "misocp" and (clusters is not None or strata is not None):
        what = (
            "the spatial branch-and-bound runs"
            if method == "spatial"
            else ("the gradient baselines run")
        )
        raise ParameterError(f"{what} on the full data: drop --clusters/--strata")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError(f"seed must be an integer, got {seed!r}")
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise ParameterError(f"threads must be an integer >= 1, got {threads!r}")
    return objective, rho
