r"""Spatial branch-and-bound over the coverage box: a certified optimum of the CONTINUOUS game.

Problem (paper 003 Sec. 3.2, the interface contract of ``dro-opt solve ssg``): ``max Phi(f(z))``
over ``z in [0, 1]^M``, ``sum z <= R``, with ``Phi`` the ERM mean, the VR objective or the
chi-square worst case (mean units) and ``f_n`` the quantal-response defender utilities. No PWLA:
the PWLA MISOCP's certificate pays the PWLA error times ``sum_n |P_n|`` (``1 + kappa`` for VR,
:mod:`.dual_bound`), which grows like ``sqrt(rho)``; at large ``rho`` (paper 003 Table 2,
``rho`` up to ``1e6``) it cannot prove 1 %. Here the boxes are refined where the bound is
loose, and every bound is second order in the box width.

Algorithm (best-first; GDPopt-style bound bookkeeping):

1. Incumbent: the exact objective ascent of :mod:`.polish` from the uniform coverage and from the
   root relaxation's coverage (and any ``starts`` given); later every node's relaxation
   coverage is evaluated exactly, the best is polished when it improves the incumbent.
2. Node ``Q = [lo, hi]`` (``hi_j <= R - sum_{k != j} lo_k``, tightened from the budget; a box
   with ``sum lo > R`` holds no feasible coverage): :func:`.spatial_bounds.box_model`, then the
   worst case at the centre and the parent's best ``P``, and, if these do not discard the node,
   the ball weights of the SOCP relaxation (:mod:`.spatial_weights`); the node bound is the
   smallest of :func:`.spatial_bounds.linear_bound` and :func:`.spatial_bounds.range_bound` over
   these ``P`` and, if that does not discard the node, :func:`.spatial_bounds.quadratic_bound`
   (second order with the ``P``-weighted Hessian: third order near a strict maximum) for the
   best of them -- each an upper bound of ``Phi(f(z))``
   on the node for ANY ball point ``P`` (``Phi(f) <= P'f``).
3. A node whose bound is at most ``lower + gap max(1, |lower|) / 2`` is discarded; its bound is
   remembered (``pruned``), so the certificate's upper is ``max(open bounds, pruned bounds,
   lower)``, a bound on the continuous optimum at every moment.
4. Branch: bisect the target with the largest weighted Taylor error share
   ``sum_n |P_n| (share_up[n, j] + share_down[n, j])`` (the width of the node's envelope of
   ``f`` along ``z_j``; widest first on ties).

Stops when ``(upper - lower) / max(1, |lower|) <= gap``, at ``max_nodes``, at the time limit
or the command's deadline, or on Ctrl-C; the upper bound is valid in every case.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dro_opt.certify import Certificate
from dro_opt.models.security_game.instance import SSGInstance
from dro_opt.models.security_game.objective import defender_values, objective_from_values
from dro_opt.models.security_game.polish import polish
from dro_opt.models.security_game.spatial_bounds import (
    box_model,
    knapsack_argmax,
    linear_bound,
    quadratic_bound,
    range_bound,
)
from dro_opt.models.security_game.spatial_weights import node_relaxation, worst_case_weights
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

DEFAULT_MAX_NODES = 200_000


@dataclass
class SpatialResult:
    """``lower`` = exact objective of ``z``; ``upper`` bounds the continuous optimum;
    ``reason`` one of ``gap``, ``nodes``, ``time``, ``interrupted``."""

    z: np.ndarray
    lower: float
    upper: float
    nodes: int
    open_nodes: int
    reason: str
    seconds: float
    history: list[tuple[float, float, float]] = field(default_factory=list)  # (s, lower, upper)


def spatial_branch_and_bound(
    instance: SSGInstance,
    objective: str,
    rho: float,
    *,
    gap: float = 1e-4,
    time_limit: float | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    starts: list[np.ndarray] | None = None,
    stop: Callable[[], bool] | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> SpatialResult:
    """Certified continuous optimum by spatial branch-and-bound (module docstring)."""
    t0 = time.perf_counter()
    M = instance.num_targets
    R = float(instance.budget)
    q = instance.weights
    n = float(q.sum())
    p = q / n
    effective = "erm" if rho == 0.0 else objective

    def exact(z: np.ndarray) -> float:
        return objective_from_values(defender_values(instance, z), q, effective, rho)

    def stopped() -> bool:
        if stop is not None and stop():
            return True
        return time_limit is not None and time.perf_counter() - t0 >= time_limit

    best_z = np.full(M, min(1.0, R / M))
    best = exact(best_z)

    def feasible(z: np.ndarray) -> np.ndarray:
        z = np.clip(z, 0.0, 1.0)
        total = float(z.sum())
        return z * (R / total) if total > R else z

    def offer(z: np.ndarray, ascend: bool) -> None:
        """Evaluate (and optionally polish) a coverage, made exactly feasible first."""
        nonlocal best_z, best
        z = feasible(z)
        value = exact(z)
        if ascend and not stopped():
            z_pol, _ = polish(instance, z, effective, rho, stop=stopped)
            z_pol = feasible(z_pol)
            v_pol = exact(z_pol)
            if v_pol > value:
                z, value = z_pol, v_pol
        if value > best:
            best_z, best = z.copy(), value

    for z in [best_z, *(starts or [])]:
        offer(np.asarray(z, dtype=float), ascend=True)

    def threshold() -> float:
        return best + 0.5 * gap * max(1.0, abs(best))

    def bound_node(
        lo: np.ndarray, hi: np.ndarray, inherited: np.ndarray | None
    ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """``(bound, branching shares, a feasible coverage of the node, the best P)``. The
        SOCP relaxation runs only if the inherited / centre weights do not discard the node."""
        box = box_model(instance, lo, hi)
        if effective == "erm":
            candidates = [p]
        else:
            candidates = [worst_case_weights(box.values, p, effective, rho, n)]
            if inherited is not None:
                candidates.append(inherited)

        def best_of(cands: list[np.ndarray]) -> tuple[float, np.ndarray]:
            value, arg = math.inf, cands[0]
            for P in cands:
                b = min(linear_bound(box, P, R), range_bound(box, P))
                if b < value:
                    value, arg = b, P
            if value > threshold():  # the second-order bound costs a small QP: best P only
                value = min(value, quadratic_bound(box, arg, R))
            return value, arg

        value, P_best = best_of(candidates)
        z_relax = None
        if effective != "erm" and value > threshold():
            solved = node_relaxation(box, p, effective, rho, n, R)
            if solved is not None:
                v, P = best_of([solved[0]])
                if v < value:
                    value, P_best = v, P
                z_relax = solved[1]
        if z_relax is None:
            z_relax = knapsack_argmax(box.jacobian.T @ P_best, lo, hi, R)
        share = np.abs(P_best) @ (box.share_up + box.share_down)
        return value, share, z_relax, P_best

    counter = itertools.count()
    heap: list[tuple[float, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    pruned = -math.inf
    nodes = 0
    history: list[tuple[float, float, float]] = []

    def push(
        lo: np.ndarray, hi: np.ndarray, inherited: np.ndarray | None, parent: float = math.inf
    ) -> None:
        nonlocal pruned, nodes
        slack = R - float(lo.sum())
        if slack < -1e-12:
            return
        hi = np.minimum(hi, lo + max(slack, 0.0))
        value, share, z_relax, P = bound_node(lo, hi, inherited)
        value = min(value, parent)  # the parent's bound holds on the child's box too
        nodes += 1
        offer(z_relax, ascend=False)
        if value <= threshold():
            pruned = max(pruned, value)
            return
        heapq.heappush(heap, (-value, next(counter), lo, hi, share, P))

    push(np.zeros(M), np.ones(M), None)
    if heap:
        offer(best_z, ascend=True)
    reason = "gap"
    last_report = t0
    while heap:
        upper = max(-heap[0][0], pruned, best)
        if (upper - best) / max(1.0, abs(best)) <= gap:
            break
        if stopped():
            reason = "interrupted" if stop is not None and stop() else "time"
            break
        if nodes >= max_nodes:
            reason = "nodes"
            break
        neg, _, lo, hi, share, P_parent = heapq.heappop(heap)
        if -neg <= threshold():
            pruned = max(pruned, -neg)
            continue
        width = hi - lo
        if float(width.max()) < 1e-9:  # a point: its bound is final
            pruned = max(pruned, -neg)
            continue
        score = share + 1e-15 * width
        j = int(np.argmax(np.where(width > 1e-12, score, -1.0)))
        mid = 0.5 * (lo[j] + hi[j])
        before = best
        left_hi = hi.copy()
        left_hi[j] = mid
        right_lo = lo.copy()
        right_lo[j] = mid
        push(lo, left_hi, P_parent, -neg)
        push(right_lo, hi, P_parent, -neg)
        if best > before:
            offer(best_z, ascend=True)
        now = time.perf_counter()
        if now - last_report > 0.5:
            last_report = now
            upper = max(-heap[0][0] if heap else -math.inf, pruned, best)
            history.append((now - t0, best, upper))
            if progress is not None:
                progress(best, upper)
    upper = max(-heap[0][0] if heap else -math.inf, pruned, best)
    history.append((time.perf_counter() - t0, best, upper))
    return SpatialResult(
        z=best_z, lower=best, upper=upper, nodes=nodes, open_nodes=len(heap), reason=reason,
        seconds=time.perf_counter() - t0, history=history,
    )  # fmt: skip


def solve_spatial(
    instance: SSGInstance,
    objective: str,
    rho: float,
    *,
    gap: float = 1e-4,
    time_limit: float | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Result:
    """``solve_ssg(method="spatial")``: :func:`spatial_branch_and_bound` on the full data, as a
    :class:`~dro_opt.solvers.result.Result` with the certificate ``lower <= OPT <= upper`` of the
    continuous problem (no PWLA, no reduction line). Stops on Ctrl-C and the command's
    deadline; the live progress line shows the certified values."""
    from dro_opt import deadline, interrupt, progress_line

    def stop() -> bool:
        return interrupt.requested() or deadline.expired()

    progress_line.set_phase("spatial branch-and-bound, certified values")
    res = spatial_branch_and_bound(
        instance, objective, rho, gap=gap, time_limit=time_limit, max_nodes=max_nodes,
        stop=stop, progress=progress_line.publish,
    )  # fmt: skip
    cert = Certificate.for_sense(
        "max",
        res.lower,
        res.upper,
        bound_note="largest node bound of the spatial branch-and-bound over the continuous "
        "coverage box (second-order bounds of spatial_bounds.py; no PWLA, full data)",
    )
    g = cert.gap
    if g is not None and g <= gap:
        status = Status.OPTIMAL
    elif res.reason == "interrupted":
        status = Status.INTERRUPTED if interrupt.requested() else Status.TIME_LIMIT
    elif res.reason == "time":
        status = Status.TIME_LIMIT
    else:
        status = Status.FEASIBLE
    return Result(
        status=status,
        objective=float(res.lower),
        bound=float(res.upper),
        solver="dro_opt-spatial",
        sense="max",
        x=res.z.copy(),
        solution={"z": res.z},
        build_seconds=0.0,
        solve_seconds=res.seconds,
        nodes=res.nodes,
        message=f"spatial branch-and-bound: {res.nodes} nodes, {res.open_nodes} open, "
        f"stopped by {res.reason}",
        certificate=cert,
        extra={
            "method": "spatial",
            "nodes": res.nodes,
            "open_nodes": res.open_nodes,
            "stopped_by": res.reason,
            "objective_name": objective,
            "rho": rho,
            "history": [list(h) for h in res.history],
        },
    )
