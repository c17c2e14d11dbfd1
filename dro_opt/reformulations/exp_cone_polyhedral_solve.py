r"""Adaptive certified sandwich for exponential-cone models on LP/MILP solvers.

Source -> target: a :class:`~dro_opt.conic.problem.ConicProblem` with exponential cones -> a
sequence of LP/MILP solves of its polyhedral outer and inner approximations
(:mod:`dro_opt.reformulations.exp_cone_polyhedral`, where the mathematics is derived), refined
until they meet.

Loop (a Kelley 1960 cutting-plane method on the outer side, inner linearisation in the sense of
Bertsekas & Yu 2011 on the inner side; cf. Lubin et al., Math. Program. 172, 2018):

1. solve the outer model (tangent cuts at the current points): a valid bound ``L`` (min) -- for
   an LP the optimal value, for a MILP the solver's proven dual bound;
2. solve the inner model (rays at the same points): its ``x[:n]`` is feasible for the original,
   its objective evaluated on the *original* model is a valid ``U`` (it is re-checked with
   :meth:`ConicProblem.max_violation`; a point violating by more than ``feas_tol`` is not used);
3. add, per cone, the ratio ``s = x/y`` of the outer solution where it violates the cone (its
   tangent cut separates that point) and of the inner solution where it is not on the cone
   boundary (the ray through it lets the inner model reach the boundary), and repeat until
   ``(U - L) / max(1, |L|) <= tol``, the rounds or the time run out, or nothing new is found.

The reported bounds are the best over the rounds (each one is valid), so the history is
monotone. Exactness: ``L <= OPT <= U`` (mirrored for maximisation) whatever the points; the
points only decide how close the two are.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from dro_opt.certify import Certificate, CertificateLine
from dro_opt.conic.problem import MAX, ConicProblem
from dro_opt.reformulations.exp_cone_polyhedral import (
    S_RANGE,
    ExpRows,
    PointSet,
    PointsLike,
    cone_slacks,
    exp_rows,
    inner_approximation,
    outer_approximation,
)
from dro_opt.reformulations.exp_cone_polyhedral import initial_points as default_points
from dro_opt.solvers.base import EXP, MI_EXP, Backend, SolveOptions, required_features
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

EXP_FEATURES = frozenset({EXP, MI_EXP})
LINE_NAME = "exp_cone_polyhedral"


def polyhedral_route(problem: ConicProblem, solver: str | None) -> str | None:
    """The LP/MILP solver to run :func:`solve_exp_polyhedral` with, or ``None`` (solve as usual).

    Routes only when the problem has exp cones, the solver lacks exactly the exp features
    (``exp``/``mi_exp``; anything else missing, e.g. ``soc``, leaves the usual
    :class:`~dro_opt.errors.CapabilityError`), and either ``solver`` was asked for explicitly or
    no installed solver supports exp cones (then the first installed LP/MILP one is used).
    """
    from dro_opt.solvers.registry import all_backends, get_backend, solvers_supporting

    if EXP not in required_features(problem):
        return None
    if solver is not None:
        backend = get_backend(solver)
        missing = backend.missing_features(problem)
        ok = bool(missing) and missing <= EXP_FEATURES and backend.is_installed()
        return backend.name if ok else None
    if solvers_supporting(problem):
        return None
    for backend in all_backends():
        missing = backend.missing_features(problem)
        if backend.is_installed() and missing and missing <= EXP_FEATURES:
            return backend.name
    return None


def _bound(res: Result, sense: str) -> float | None:
    """A valid bound of the solved model from ``res`` in its sense (below for min, above for max):
    a MILP's proven dual bound; for an optimal LP the more conservative of its optimal value and
    its dual objective."""
    if res.status is Status.OPTIMAL and res.objective is not None:
        vals = [v for v in (res.objective, res.bound) if v is not None and math.isfinite(v)]
        return max(vals) if sense == MAX else min(vals)
    if res.bound is not None and math.isfinite(res.bound):
        return float(res.bound)
    return None


def _new_points(
    problem: ConicProblem,
    rows: ExpRows,
    x_out: np.ndarray | None,
    x_in: np.ndarray | None,
    rel_tol: float,
    s_range: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Ratios ``x/y`` of cones violated at the outer point and of cones strictly inside at the
    inner point (both vectorised over the cones)."""
    cones, svals = [], []
    ytol = 1e-12
    for point, outer in ((x_out, True), (x_in, False)):
        if point is None:
            continue
        X, Y, Z = cone_slacks(problem, point, rows)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            ratio = X / np.where(Y > ytol, Y, 1.0)
            fval = np.where(Y > ytol, Y * np.exp(np.clip(ratio, -700, 700)), 0.0)
            scale = rel_tol * np.maximum(1.0, np.abs(Z))
            if outer:
                pick = (Y > ytol) & (fval - Z > scale)
                # closure face y ~ 0 with x > 0: a cut with e^s x > z separates it
                face = (Y <= ytol) & (X > scale)
                s_face = np.log(np.maximum(Z, 1e-300) / np.where(X > 0, X, 1.0)) + 1.0
                ids = np.concatenate([np.flatnonzero(pick), np.flatnonzero(face)])
                vals = np.concatenate([ratio[pick], s_face[face]])
            else:
                pick = (Y > ytol) & (Z - fval > scale)
                ids, vals = np.flatnonzero(pick), ratio[pick]
        cones.append(ids)
        svals.append(np.clip(vals, *s_range))
    if not cones:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(cones), np.concatenate(svals)


def solve_exp_polyhedral(
    problem: ConicProblem,
    solver: str = "highs",
    options: SolveOptions | None = None,
    *,
    tol: float = 1e-6,
    max_rounds: int = 30,
    initial_points: PointsLike = None,
    feas_tol: float = 1e-6,
    s_range: tuple[float, float] = S_RANGE,
) -> Result:
    """Solve an exp-cone model with an LP/MILP solver as a certified sandwich.

    Parameters
    ----------
    problem
        Model with exponential cones (plus linear rows; integer variables allowed). Other
        nonlinear cones are passed on to ``solver``, which then has to support them.
    solver
        Registry name of the LP/MILP solver for the sub-solves.
    options
        Solver options; ``time_limit`` is for the whole loop, ``gap`` (the sub-solves' MIP gap)
        is tightened to ``tol / 4``.
    tol
        Target relative sandwich gap ``(upper - lower) / max(1, |lower|)`` (min; mirrored).
    max_rounds
        Most outer/inner solve pairs.
    initial_points
        Starting points ``s`` (:meth:`PointSet.coerce`); ``None``: the default of
        :func:`~dro_opt.reformulations.exp_cone_polyhedral.initial_points`.
    feas_tol
        Largest violation of the original model accepted for the inner point.
    s_range
        Interval of the points.

    Returns
    -------
    Result
        ``objective``: the original objective at ``x`` (the best inner point, feasible for the
        original up to ``extra["max_violation"]``); ``bound``: the best outer bound;
        ``certificate``: the sandwich (its sides are exactly these two numbers, ``None`` where
        none is proven) with the line ``exp_cone_polyhedral`` (value: the absolute width
        ``upper - lower``). ``status``: ``OPTIMAL`` when the relative gap is ``<= tol``;
        ``INFEASIBLE`` when the outer model is (proves the original is); ``UNBOUNDED`` when the
        inner model is and no outer bound contradicts it; else ``FEASIBLE`` / ``TIME_LIMIT`` /
        ``ITERATION_LIMIT``.
        ``extra``: ``rounds``, ``cuts`` and ``rays`` per cone, ``history`` of the sandwich's
        ``(lower, upper)`` after each round, ``max_violation`` of ``x``, ``sandwich_gap``.
    """
    from dro_opt.solvers.registry import get_backend

    opts = options or SolveOptions()
    backend = get_backend(solver)
    t_start = time.perf_counter()
    rows = exp_rows(problem)
    pts = (
        default_points(problem, s_range=s_range)
        if initial_points is None
        else PointSet.coerce(initial_points, rows.count, s_range)
    )
    is_max = problem.sense == MAX
    sub_gap = tol / 4 if opts.gap is None else min(float(opts.gap), tol / 4)

    def sub_options() -> SolveOptions | None:
        left = None
        if opts.time_limit is not None:
            left = float(opts.time_limit) - (time.perf_counter() - t_start)
            if left <= 0:
                return None
        return dataclasses.replace(opts, time_limit=left, gap=sub_gap, trajectory=False)

    state = _State(is_max)
    rounds = 0
    retried_unbounded = False
    while rounds < max_rounds:
        so = sub_options()
        if so is None:
            state.stop = Status.TIME_LIMIT
            break
        rounds += 1
        r_out = backend.solve(outer_approximation(problem, pts, s_range=s_range), so)
        state.out_status = r_out.status
        if r_out.status is Status.INFEASIBLE:
            state.final(Status.INFEASIBLE, "the outer relaxation is infeasible, so the original is")
            break
        if r_out.status in (Status.UNBOUNDED, Status.INFEASIBLE_OR_UNBOUNDED):
            if not retried_unbounded:
                retried_unbounded, rounds = True, rounds - 1
                dense = np.linspace(s_range[0], s_range[1], 41)
                k = rows.count
                pts = pts.add(np.repeat(np.arange(k), dense.size), np.tile(dense, k), s_range)
                state.notes.append(
                    f"outer relaxation {r_out.status.value}: added cuts on 41 points over "
                    f"s in [{s_range[0]:g}, {s_range[1]:g}] and retried"
                )
                continue
            state.notes.append(
                f"round {rounds}: outer relaxation still {r_out.status.value} with cuts over "
                f"s in [{s_range[0]:g}, {s_range[1]:g}]: no bound proven"
            )
        elif r_out.status is not Status.OPTIMAL:
            state.notes.append(f"round {rounds}: outer solve {r_out.status.value} {r_out.message}")
        state.add_bound(_bound(r_out, problem.sense))
        so = sub_options()
        if so is None:
            state.stop = Status.TIME_LIMIT
            state.record()
            break
        r_in = backend.solve(inner_approximation(problem, pts, s_range=s_range), so)
        state.in_status = r_in.status
        if r_in.status is Status.UNBOUNDED and state.bound is None:
            state.final(Status.UNBOUNDED, "the inner restriction is unbounded, so the original is")
            break
        if r_in.status is not Status.OPTIMAL:
            state.notes.append(f"round {rounds}: inner solve {r_in.status.value} {r_in.message}")
        x_in = None
        if r_in.x is not None:
            x_in = np.asarray(r_in.x[: problem.n], dtype=float)
            state.add_point(problem, x_in, feas_tol, rounds)
        state.record()
        if state.rel_gap() <= tol:
            state.final(Status.OPTIMAL)
            break
        x_out = None if r_out.x is None else np.asarray(r_out.x, dtype=float)
        cone, s_new = _new_points(problem, rows, x_out, x_in, 1e-9, s_range)
        grown = pts.add(cone, s_new, s_range)
        if grown.size == pts.size:
            state.stop = Status.FEASIBLE
            state.notes.append(f"round {rounds}: no new separating point (s in {s_range})")
            break
        pts = grown
    return _result(problem, backend, state, rounds, pts, tol, time.perf_counter() - t_start)


@dataclasses.dataclass
class _State:
    """Best valid bound and best feasible point over the rounds."""

    is_max: bool
    bound: float | None = None  # of OPT: below for min, above for max
    x: np.ndarray | None = None
    value: float | None = None
    violation: float = math.inf
    history: list[tuple[float | None, float | None]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    status: Status | None = None  # proven outcome (optimal, infeasible, unbounded)
    stop: Status | None = None  # why the loop stopped otherwise
    out_status: Status = Status.UNKNOWN
    in_status: Status = Status.UNKNOWN

    def add_bound(self, b: float | None) -> None:
        if b is None:
            return
        if self.bound is None:
            self.bound = b
        else:
            self.bound = min(self.bound, b) if self.is_max else max(self.bound, b)

    def add_point(self, problem: ConicProblem, x: np.ndarray, feas_tol: float, rnd: int) -> None:
        viol = problem.max_violation(x)
        if viol > feas_tol:
            self.notes.append(f"round {rnd}: inner point violates the original by {viol:.2e}")
            return
        val = problem.objective_value(x)
        if self.value is None or (val > self.value if self.is_max else val < self.value):
            self.x, self.value, self.violation = x, val, viol

    def sides(self) -> tuple[float | None, float | None]:
        """``(lower, upper)`` of the sandwich."""
        return (self.value, self.bound) if self.is_max else (self.bound, self.value)

    def record(self) -> None:
        self.history.append(self.sides())

    def rel_gap(self) -> float:
        """``(upper - lower) / max(1, |lower|)``; ``inf`` when a side is missing."""
        lower, upper = self.sides()
        if lower is None or upper is None:
            return math.inf
        return max(0.0, upper - lower) / max(1.0, abs(lower))

    def final(self, status: Status, note: str = "") -> None:
        self.status = status
        if note:
            self.notes.append(note)


def _result(
    problem: ConicProblem,
    backend: Backend,
    state: _State,
    rounds: int,
    pts: PointSet,
    tol: float,
    seconds: float,
) -> Result:
    """The :class:`Result` and its certificate from the loop's state."""
    status = state.status
    if status is None:
        if state.stop is Status.TIME_LIMIT:
            status = Status.TIME_LIMIT
        elif state.x is None:
            status = Status.ITERATION_LIMIT
        else:
            status = Status.FEASIBLE
    proven_empty = status in (Status.INFEASIBLE, Status.UNBOUNDED)
    if proven_empty:
        state.x, state.value, state.bound = None, None, None
    rel = state.rel_gap()
    lower, upper = state.sides()
    counts = pts.counts()
    width = None if lower is None or upper is None else max(0.0, upper - lower)
    line = CertificateLine(
        LINE_NAME,
        width,
        rigorous=width is not None,
        note=(
            f"exp cones -> polyhedral sandwich: {pts.ncones} cones, "
            f"{_span(counts)} tangent cuts and as many "
            f"rays (+2 recession rays) per cone, {pts.size} of each in all; value = upper - lower"
            f" (relative gap {rel:.3g}); both sides are proven as they stand, nothing is added"
        ),
    )
    bound_line = CertificateLine(
        "solver_bound",
        state.bound,
        state.bound is not None,
        "proven bound of the polyhedral outer relaxation (valid for the original model)",
    )
    cert = (
        None
        if proven_empty
        else Certificate(lower=lower, upper=upper, sense=problem.sense, lines=[bound_line, line])
    )
    head = f"exp cones replaced by a polyhedral sandwich ({rounds} rounds, gap {rel:.3g})"
    x = state.x
    return Result(
        status=status,
        objective=state.value,
        bound=state.bound,
        solver=backend.name,
        solver_version=backend.version(),
        sense=problem.sense,
        x=x,
        solution={} if x is None else problem.split_solution(x),
        solve_seconds=seconds,
        message="; ".join([head, *state.notes]),
        certificate=cert,
        extra={
            "method": LINE_NAME,
            "rounds": rounds,
            "cuts": counts.tolist(),
            "rays": (counts + 2).tolist(),
            "history": [list(h) for h in state.history],
            "sandwich_gap": rel if math.isfinite(rel) else None,
            "tol": tol,
            "max_violation": None if x is None else float(state.violation),
            "last_outer_status": state.out_status.value,
            "last_inner_status": state.in_status.value,
        },
    )


def _span(counts: np.ndarray) -> str:
    """``"lo-hi"`` (or ``"k"``) for the number of points per cone."""
    if counts.size == 0:
        return "0"
    lo, hi = int(counts.min()), int(counts.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


__all__ = ["LINE_NAME", "polyhedral_route", "solve_exp_polyhedral"]
