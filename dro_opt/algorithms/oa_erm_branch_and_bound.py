"""Certified combinatorial branch-and-bound for ERM facility location (Nemhauser-Wolsey bound).

Problem (paper 003 Sec. 3.2; docs/facility_location.md): ``max F(T) = sum_i q_i f_i(T)`` over
``|T| <= r``, ``f_i(T) = s_i / (1 + s_i)``, ``s_i = sum_{j in T} exp(a_ij)``. ``F`` is monotone
and submodular (each ``f_i`` is a concave non-decreasing function of a modular score;
Nemhauser, Wolsey & Fisher 1978), so the maximum is attained on a set of size ``min(r, D)``.
After the root fixings of ``submodular_oa`` (step 3) only the sets ``fixed_one u X``, ``X`` a
``k``-subset of the free locations, remain. Arithmetic in the row-scaled units of
:mod:`scaled_scores` (``f_i = t_i / (b_i + t_i)``, gains ``(b / (b + T)) (x / (b + T + x))``).

Node ``(A, R, k)``: members ``A``, candidates ``R``, ``k`` slots; its sets are ``A u X``,
``X`` a subset of ``R`` with ``|X| = min(k, |R|)``. With the marginal gains
``g_j = F(A + j) - F(A) >= 0``:

* **NW bound** (Nemhauser & Wolsey 1981; the chi-square bound of :mod:`oa_chi2_lagrangian`
  with ``P = q / n``): ``F(A u X) <= F(A) + sum_{j in X} g_j`` by submodularity, so every set
  of the node is at most ``U = F(A) + (sum of the k largest g_j)``.
* **Fixings** (the reduced-cost fixing of a MIP, as :func:`submodular_oa.tighten` at the
  root): the sets of the node that contain ``j`` are at most ``U_in(j) = F(A) + g_j + (the
  k - 1 largest g_l, l != j)``, those that miss ``j`` at most ``U_out(j) = F(A) + (the k
  largest g_l, l != j)`` (the NW bound of the node with ``j`` forced in, resp. removed). If
  ``U_in(j)`` is at most the threshold, ``j`` leaves ``R``; if ``U_out(j)`` is, ``j`` joins
  ``A``. Every discarded set is bounded by the ``U`` of a candidate it contains or misses.
* **Last levels exactly**: with one slot, ``F(A + j) = F(A) + g_j`` are the exact values
  (nothing to bound); with two slots the pairs ``{i, j}`` whose bound ``F(A) + g_i + g_j`` is
  above the threshold are evaluated exactly in batches.

Incumbent: every set better than the incumbent starts the swap local search of :mod:`greedy`
(exact values); the set it returns is feasible for the whole problem but may leave the
restricted domain, which only raises the threshold (every set of the restricted domain is still
evaluated or bounded).

Branching: depth first on the candidate with the smallest ``U_out`` (the one the bound leans on
most), include first, so that good sets are met early; the exclude child has the same members,
so it reuses its parent's gains (no pass over the customers). A node or set is discarded only if its
bound is at most the threshold ``F(incumbent) + gap max(1, |F(incumbent)|) / 2``; the returned
bound is the largest exact value or discarded bound seen, plus a rounding margin of
``(k + 2) (2.3e-16 N + 1e-13) n + 1e-11 max(1, |F|)`` (``k + 2`` sums of ``N`` terms in
``[0, 1]`` weighted by ``q``; every gain is a product of factors in ``[0, 1]``, computed to a few
units in the last place), so it bounds ``max F`` over the restricted domain.

Time estimate: the fraction of the sets of the restricted domain already evaluated or discarded
(``1 - sets in the open nodes / all sets``) grows about linearly in the CPU time on the HM14 rows:
(alpha, beta, r) = (0.2, 1, 8) / (0.2, 1, 9) / (0.2, 1, 10): 0.27 / 0.13 / 0.057 after 1.5 CPU
s and 0.53 / 0.22 / 0.106 after 3 s, i.e. estimated totals 5.7 / 13.8 / 28 s against 3.4 /
12.3 / 35.5 s measured in full (a guide for the hand-over of ``submodular_oa``, not part of any
bound).

Measured (HM14_800_100, beta = 1, gap 1e-6, the known optimum as the threshold, i.e. the cost
of the proof alone; CPU s under ``nice -n 10`` at load 3-5, 2 shared cores): (alpha, r) =
(0.1, 9) 0.37, (0.1, 10) 0.81, (0.2, 7) 0.96, (0.2, 8) 3.4, (0.2, 9) 12.3, (0.2, 10) 35.5 --
the nodes with 4-6 slots dominate, where the NW bound is about 2x the optimum at the root.
Tried and dropped (same rows): the per-customer best completion
``sum_i q_i f_i(A + customer i's k best candidates)`` as a second node bound (decisive at 6% of
the nodes, half of the time: an ``N x m`` partition per node; 2.2-2.7x slower with it); the NW
cut at ``S = A + the k best candidates`` and its convex combinations with the NW cut at ``A``
(3-8x more nodes: its smaller ``U_out`` changed the branching); the cut at the include sibling
``A + j`` for the exclude child (valid for all sets; 5-10% fewer gains, 1.7x slower);
branching on the smallest top-k gain or the largest ``U_in`` (2-10x more nodes).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from dro_opt import interrupt
from dro_opt.algorithms.greedy import SetObjective, local_search
from dro_opt.algorithms.oa_chi2_branch_and_bound import EnumerationResult, count_sets
from dro_opt.algorithms.oa_chi2_lagrangian import fixing_bounds, top_sum
from dro_opt.algorithms.scaled_scores import scaled_scores

__all__ = ["branch_and_bound_erm"]

#: pairs times customers evaluated exactly per block (memory: about 8 bytes per unit)
BLOCK_WORK = 4_000_000
#: seconds between two progress reports
PROGRESS_EVERY = 0.5
#: CPU seconds between two estimates of the total time past the first budget
ESTIMATE_EVERY = 0.25


def branch_and_bound_erm(
    a: np.ndarray,
    q: np.ndarray,
    budget: int,
    fixed_zero: np.ndarray,
    fixed_one: np.ndarray,
    incumbent: np.ndarray,
    incumbent_value: float,
    gap: float,
    deadline_at: float | None = None,
    progress: Callable[[np.ndarray, float], None] | None = None,
    upper: float = math.inf,
    cpu_seconds: float | None = None,
    cpu_extend_to: float | None = None,
) -> EnumerationResult:
    """Maximise the ERM capture ``F`` over the sets ``fixed_one u X``, ``X`` a subset of the
    free locations of size ``min(budget - |fixed_one|, #free)`` (module docstring).
    ``incumbent`` (a feasible set of value ``incumbent_value``) seeds the threshold; ``gap`` is
    the relative gap of ``solve_oa``; ``deadline_at`` a ``time.perf_counter()`` instant after
    which it stops incomplete (also on Ctrl-C), ``cpu_seconds`` a budget of process CPU seconds
    with the same effect; with ``cpu_extend_to`` the search goes on past ``cpu_seconds`` while
    its estimated total (CPU seconds so far divided by the fraction of the sets already
    evaluated or discarded; module docstring) is at most ``cpu_extend_to``.
    ``progress(best_mask, bound)`` as in :func:`oa_chi2_branch_and_bound.branch_and_bound_chi2`
    (open nodes carry their parent's bound, the root ``upper``)."""
    sc = scaled_scores(np.asarray(a, dtype=float))
    v, b = sc.v, sc.b
    q = np.asarray(q, dtype=float)
    N = v.shape[0]
    n = float(q.sum())
    fixed_zero = np.asarray(fixed_zero, dtype=bool)
    fixed_one = np.asarray(fixed_one, dtype=bool)
    free = np.flatnonzero(~fixed_zero & ~fixed_one)
    k0 = max(min(int(budget) - int(fixed_one.sum()), free.size), 0)
    total = count_sets(free.size, k0)
    best_mask = np.asarray(incumbent, dtype=bool).copy()
    best = float(incumbent_value)
    t0 = sc.scores(fixed_one)
    vT = np.ascontiguousarray(v.T)  # (D, N): a node reads whole rows of its candidates
    obj = SetObjective(np.asarray(a, dtype=float), q)
    pruned_max = -math.inf
    evaluated = 0
    fixed = 0
    rounding = (k0 + 2) * (N * 2.3e-16 + 1e-13) * n

    def threshold() -> float:
        return best + 0.5 * gap * max(1.0, abs(best))

    def record(value: float, cols: np.ndarray) -> None:
        """A set better than the incumbent: take it, then the swap local search from it."""
        nonlocal best, best_mask
        if value > best:
            mask = fixed_one.copy()
            mask[cols] = True
            improved, improved_value, _ = local_search(obj, mask)
            if improved_value > value:
                mask, value = improved, improved_value
            best, best_mask = value, mask

    def running_bound() -> float:
        open_nodes = max((node[4] for node in stack), default=-math.inf)
        return max(best, pruned_max, open_nodes) + 1e-11 * max(1.0, abs(best)) + rounding

    # (scaled scores of A, members, candidates, k, bound of the parent, F(A) and the gains of
    # the candidates when known: None, or the parent's for an exclude child)
    stack = [(t0, np.zeros(0, dtype=np.int64), free, k0, float(upper), None, None)]
    reported = time.perf_counter()
    cpu_start = time.process_time()
    cpu_stop = None if cpu_seconds is None else cpu_start + cpu_seconds

    def over_budget() -> bool:
        """Past ``cpu_seconds`` and, if extensions are allowed, estimated past ``cpu_extend_to``."""
        nonlocal cpu_stop
        now = time.process_time()
        if cpu_stop is None or now <= cpu_stop:
            return False
        if cpu_extend_to is None or total == 0:
            return True
        done = 1.0 - sum(count_sets(node[2].size, node[3]) for node in stack) / total
        if done > 0 and (now - cpu_start) / done <= cpu_extend_to:
            cpu_stop = now + ESTIMATE_EVERY  # look again a little later
            return False
        return True

    while stack:
        now = time.perf_counter()
        late = deadline_at is not None and now > deadline_at
        late = late or over_budget()
        if late or interrupt.requested():
            left = sum(count_sets(node[2].size, node[3]) for node in stack)
            return EnumerationResult(
                best_mask, best, None, False, total, evaluated, 0, 0, fixed, left
            )
        if progress is not None and now - reported >= PROGRESS_EVERY:
            progress(best_mask, running_bound())
            reported = now
        tA, members, rest, k, _, base, g = stack.pop()
        bt = b + tA
        if base is None:
            base = float(q @ (tA / bt))
        if k == 0 or rest.size <= k:  # one set: the members plus the candidates left, if slots
            last = rest[:k]
            t = tA + v[:, last].sum(axis=1)
            evaluated += 1
            record(float(q @ (t / (b + t))), np.concatenate([members, last]))
            continue
        if g is None:  # marginal gains F(A + j) - F(A) (an exclude child reuses its parent's)
            den = vT[rest]  # (m, N), rows contiguous
            den /= den + bt
            g = den @ (q * (b / bt))
            evaluated += rest.size
        if k == 1:  # exact values of every set of the node
            i = int(np.argmax(g))
            record(base + float(g[i]), np.append(members, rest[i]))
            pruned_max = max(pruned_max, base + float(g[i]))
            continue
        level = threshold()
        ub = base + top_sum(g, k)  # NW
        if ub <= level:
            pruned_max = max(pruned_max, ub)
            continue
        U_in, U_out = fixing_bounds(base, g, k)
        drop = U_in <= level
        force = ~drop & (U_out <= level)
        if drop.any() or force.any():  # a smaller node with the same sets above the level
            fixed += int(drop.sum() + force.sum())
            pruned_max = max(pruned_max, float(np.max(U_in[drop], initial=-np.inf)))
            pruned_max = max(pruned_max, float(np.max(U_out[force], initial=-np.inf)))
            if int(force.sum()) > k:
                continue
            if force.any():
                tA = tA + v[:, rest[force]].sum(axis=1)
                members = np.concatenate([members, rest[force]])
            keep = ~drop & ~force
            same = not force.any()  # only drops: the same members, the gains of the others
            node = (base, g[keep]) if same else (None, None)
            stack.append((tA, members, rest[keep], k - int(force.sum()), ub, *node))
            continue
        if k == 2:  # pairs above the level, exactly, in blocks
            order = np.argsort(-g, kind="stable")
            gs, cols = g[order], rest[order]
            ii, jj = np.triu_indices(gs.size, 1)
            keep = base + gs[ii] + gs[jj] > level
            if (~keep).any():
                pruned_max = max(
                    pruned_max, float(np.max(base + gs[ii] + gs[jj], where=~keep, initial=-np.inf))
                )
            ii, jj = ii[keep], jj[keep]
            step = max(1, BLOCK_WORK // max(N, 1))
            xs = vT[cols]
            for lo in range(0, ii.size, step):
                bi, bj = ii[lo : lo + step], jj[lo : lo + step]
                t = xs[bi] + xs[bj]
                t += tA
                den = t + b
                np.divide(t, den, out=t)
                vals = t @ q
                evaluated += bi.size
                h = int(np.argmax(vals))
                pruned_max = max(pruned_max, float(vals[h]))
                record(float(vals[h]), np.concatenate([members, [cols[bi[h]], cols[bj[h]]]]))
            continue
        j_pos = int(np.argmin(U_out))
        j = rest[j_pos]
        others = np.delete(rest, j_pos)
        # exclude j (explored second; same members, so the same gains), then include j
        stack.append((tA, members, others, k, ub, base, np.delete(g, j_pos)))
        stack.append((tA + v[:, j], np.append(members, j), others, k - 1, ub, None, None))
    bound = running_bound()
    if progress is not None:
        progress(best_mask, bound)
    return EnumerationResult(best_mask, best, bound, True, total, evaluated, 0, 0, fixed)
