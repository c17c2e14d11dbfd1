"""Exact outer approximation for robust max-capture facility location (ERM and chi-square DRO).

Problem (paper 003 Sec. 3.2; docs/facility_location.md)::

    max F(z)  s.t.  z in {0,1}^D,  sum_j z_j <= r,

with ``f_i(z) = s_i / (1 + s_i)``, ``s_i = sum_j exp(a_ij) z_j`` and

* ``objective="erm"``:  ``F(z) = sum_i q_i f_i(z)`` -- monotone submodular;
* ``objective="chi2"``: ``F(z) = n min_{P in B} P'f(z)`` over the chi-square ball ``B`` of radius
  ``rho / n`` -- a concave, non-decreasing function ``Phi`` of the submodular ``f``.

Algorithm (Nemhauser & Wolsey 1981 submodular cuts; Duran & Grossmann 1986 / Mai & Lodi 2020
outer approximation; Ljubic & Moreno 2018 branch-and-cut for MNL capture):

1. Incumbent: greedy, then best-improvement swap local search (:mod:`greedy`), exact values.
2. Initial cuts at every set visited by greedy and local search (:mod:`oa_core`).
3. Bound tightening with the aggregated initial cuts ``F(T) <= C_k + c_k' 1_T`` (valid for all
   ``|T| <= r``, ``c_k >= 0``): ``U = min_k (C_k + sum of the r largest c_kj)`` bounds ``max F``;
   ``U_in(j) = min_k (C_k + c_kj + sum of the r-1 largest c_kl, l != j)`` bounds every ``T`` that
   contains ``j``, so ``U_in(j) < F(incumbent)`` proves that no set containing ``j`` beats the
   incumbent and ``z_j = 0`` may be fixed; symmetrically
   ``U_out(j) = min_k (C_k + sum of the r largest c_kl, l != j) < F(incumbent)`` fixes
   ``z_j = 1``. The incumbent satisfies every fixing (its value is not below itself), and
   ``max F = max(F(incumbent), max over the restricted domain)``, so the master bound on the
   restricted domain, maxed with the incumbent value, bounds ``max F``.
   3b. Chi-square: the coverage bound of :mod:`oa_chi2_coverage` at the root of the
   restricted domain (row blocks: no N x D temporaries); if the budget cannot reach enough
   customers above the level
   ``(LB + gap max(1, |LB|) / 2) / n``, every set of the restricted domain is below that level
   and the solve is proven without a master (rows whose optimum is far below 1).
4. Master (:mod:`oa_master_scip`: one SCIP branch-and-cut with a lazy constraint handler;
   or :mod:`oa_master_highs`: HiGHS MILP re-solve loop). Every master row is a valid cut, so the
   master is a relaxation and its proven dual bound bounds ``max F``; we add the allowance
   for LP rows violated within the feasibility tolerance (at most ``2 n feastol``,
   :meth:`OAOracle.tolerance_allowance`) and the solver's relative pruning epsilon
   (``1e-9 * |bound|``).
5. Chi-square hand-over: if the master has not closed the gap after :data:`MASTER_SLICE`
   seconds and the restricted domain is small (:data:`BRANCH_AND_BOUND_WORK`, at most
   :data:`BRANCH_AND_BOUND_CUSTOMERS` customers), the certified
   combinatorial branch-and-bound of :mod:`oa_chi2_branch_and_bound` searches the restricted
   domain for the rest of the time; its bound (and the master's, both valid) bounds the
   restricted domain, maxed with the incumbent as in step 3.
   5b. ERM hand-over (at most :data:`BRANCH_AND_BOUND_CUSTOMERS` customers): after
   :data:`ERM_MASTER_SLICE` seconds of master, the Nemhauser-Wolsey branch-and-bound of
   :mod:`oa_erm_branch_and_bound` gets :data:`ERM_BB_SLICE` CPU seconds (longer while its
   estimated total stays within :data:`ERM_BB_ESTIMATE`); if it does not finish, a new master
   solve (same rows, the better incumbent) gets the rest of the time. Every phase's
   bound is valid for the restricted domain, so the smallest one is used.

Choices made by measurement (this machine, 2 shared cores; ``benchmarks/facility_location_oa.py``):

* master: SCIP branch-and-cut (default) vs HiGHS re-solve loop on the 216 HM14 N=800 rows:
  median seconds to proof D=25 0.052 vs 0.070, D=50 0.175 vs 0.206; max 5.1 s vs one row
  (D=50, alpha=0.2, beta=1, r=10) not proven in 60 s by HiGHS.
* layout (HM14_800_25, alpha=0.2, beta=1, r=10): groups 0.3 s / 27 nodes, one variable per
  customer 14 s / 11 nodes (LP too large), fully aggregated 1.2 s / 263 nodes.
* fractional separation (hard D=50 rows): nested submodular + gradient 116 nodes, submodular
  only 255, gradient only 5-20x more nodes than submodular, integer points only 10-100x more;
  per-customer nested sets instead of one common top-r set halved the nodes.
* chi-square: the grouped hypograph of the incumbent's worst case plus ``t <= Phi(u)``
  (:attr:`OAOracle.phi_upper`). Re-measured after the lock fix of :mod:`oa_master_scip`
  (earlier fast "proofs" were false): HM14 N=800, rho in {1e2, 1e3, 1e4}, 18 of 48 rows proven
  within 30 s (``benchmarks/facility_location_oa.py --parts chi2``, gap 1e-6). More grouped
  families (worst cases of the 4 or 10 best greedy sets) did not help (HM14_800_25,
  alpha=0.05, beta=1, r=5, rho=100: 151 s vs 153 s with one family; 10 families not proven in
  200 s).
* chi-square, why the master cannot be tight (issue 10 item 2): every convex relaxation of the
  hypograph in ``(z, theta)`` has a root bound of at least the convex-hull value
  ``max {n Phi(theta) : theta in conv{f(T)}}`` (each ``(1_T, f(T))`` is feasible, ``Phi`` is
  concave). On the README row (HM14_800_25, alpha=0.05, beta=1, r=5, rho=100) column
  generation over sets (``benchmarks/facility_location_oa.py --parts hull``) gives a hull
  value >= 26.02 against the optimum 13.52; the chi-square dual split by its threshold
  ``eta`` (``Phi = max_eta eta - c ||(eta - f)_+||_p``, each ``eta`` a separable concave
  problem) relaxes no better: its continuous relaxation at the optimal ``eta`` is >= 28.9.
  Measured on that row (load 7-9 on 2 cores): groups master 40 s, bound 19.3 (1,831 nodes);
  one variable per customer 40 s, bound 25.4 (33 nodes); aggregate 40 s, bound 19.2. Only 4
  of the 53,130 sets lie within 1% of the optimum, but the bounds that do not mix sets are
  weak high in the tree: a depth-first search with the node bound ``n Phi(u)`` alone visits
  59,000 nodes (33 s), adding the worst-case-weighted marginal-gain bound 44,000 (99 s).
  What works is combinatorial (step 5): supergradient surrogates ``n P'f(T)`` with ``P`` the
  worst case at a subset one element smaller, evaluated in batches, exact values only above
  the threshold (12,240 of the 53,130 sets on that row), plus ``n Phi(u)`` for nodes whose
  worst customers cannot be reached (rows whose optimum is far below 1).
  Orders measured on that row: index order 12,240 exact evaluations, strong-first 31,720,
  weak-first 20,755 (one-sided surrogate); with the symmetric pair surrogates of
  :mod:`oa_chi2_branch_and_bound`, strong first: 19,362 on that row, and the ``Phi(u)`` prunes
  make it 6x faster on tiny-valued rows (HM14_800_50, alpha=0.1, beta=5, r=5, rho=1e4:
  5.0 s vs 29.9 s in index order).
* chi-square hand-over, side by side (``benchmarks/facility_location_oa.py --parts chi2
  --chi2-compare --time-limit 15``, gap 1e-4, 48 HM14 N=800 rows, load 10-12 on 2 cores):
  default route (1 s master, then the branch-and-bound) 18 of 48 proven, master alone 15 of 48;
  D = 25: 15 vs 12 of 24, D = 50: 3 vs 3 of 24 (the same rows). Proven only by the new route:
  D=25 (alpha, beta, r, rho) = (0.2, 1, 5, 1e2) 12.4 s, (0.2, 1, 10, 1e3) 3.0 s,
  (0.2, 10, 5, 1e2) 11.2 s, (0.2, 10, 5, 1e3) 3.0 s; proven only by the master:
  (0.2, 1, 10, 1e2) 11.8 s (the branch-and-bound cannot finish C(25, 10) sets there). Rows
  near the limit move with the load: the README row (0.05, 1, 5, 1e2) is proven in 17.3 s at
  gap 1e-6 (load 10.4; the master alone: bound 19.3 after 40 s), (0.05, 1, 5, 1e3) and
  (0.05, 1, 10, 1e3) in 9.9 s and 14.4 s in an earlier run at load 9 and just not in this one.
  Both routes fail on the D = 50 rows with rho <= 1e3 and on most r = 10 rows: far from the
  issue-10 target (all 48 rows, median <= 1 s). The branch-and-bound's worst case is the
  number of sets, so D = 50, r = 10 (1e10 sets) stayed with the master (since session 7 it
  hands over: :data:`BRANCH_AND_BOUND_WORK`).
* chi-square, coverage bounds (:mod:`oa_chi2_coverage`; step 3b and every node of the
  branch-and-bound) and the sort-free batched worst case (:mod:`oa_chi2_batch`). The same
  48 rows (``--parts chi2 --time-limit 40``, gap 1e-4, under ``nice -n 10`` at load 7-12, so a
  row got 2-20 CPU seconds of its 40 wall seconds): 26 of 48 proven (D = 25: 19 of 24,
  D = 50: 7 of 24), CPU median 4.7 s, max 19.9 s; the code before the coverage bounds, same
  conditions with 30 s: 21 of 48. Newly proven: D=50 (0.1, 5, 5, 1e3) 1.4 s wall (0.7 s CPU;
  not proven in 40 s by the branch-and-bound alone before), (0.1, 5, 5, 1e4) 0.3 s (coverage at
  the root), (0.2, 10, 5, 1e2) 20 s, (0.2, 10, 5, 1e3) 11 s; D=25 (0.1, 5, 5, 1e2) 7.6 s (the
  graded bound: 5,977 instead of 42,384 exact evaluations), (0.2, 1, 5, 1e3) 9.9 s (its
  optimum 15.438 is above every earlier incumbent, 12.95-14.13), (0.05, 1, 10, 1e3) 34 s.
  Not proven: every D = 25 row with r = 10 and rho = 1e2, and D = 50 with beta = 1 or
  rho = 1e2 (except (0.2, 10, 5, 1e2)) and most r = 10 rows; the issue-10 target (all 48,
  median <= 1 s) is not met. On a quiet machine (load 1.2-1.8, final code, ``--time-limit
  15``): 27 of 48 proven (D = 25: 20 of 24, D = 50: 7 of 24), wall median 5.2 s (CPU 5.0 s);
  the session's starting commit right after it (load 1.1-1.7): 24 of 48 (20 and 4), so the
  session-5 figure of 18 was the load; new here: D=50 (0.1, 5, 5, 1e3), (0.2, 10, 5, 1e2),
  (0.2, 10, 5, 1e3); on the 24 rows both prove, median 0.44 s vs 0.76 s;
  the README row (gap 1e-6) 5.5 / 5.2 s vs 5.3 / 5.4 s before (same run pairs, load 2: its
  pruning is in the last two levels, which the coverage bounds do not change); side by side
  with the session's starting commit at load 1.3: (0.1, 5, 5, 1e2) D=25 4.3 s vs 10.5 s,
  D=50 (0.2, 10, 5, 1e3) 6.0 s vs not proven in 40 s, D=50 (0.2, 10, 5, 1e2) 11.4 s vs 36.2 s.
* where the time goes at city scale (cProfile, NYC synthetic seed 0, N = 82,341, r = 6, ERM,
  before issue 10): 25 of 31 s in the fractional separation (26 rounds, ~0.95 s each), which
  built every candidate cut (7 nested sets, the gradient cut, strengthening, folding) on all
  N x D entries: about six full passes with 40 MB temporaries per round; greedy + swaps 3 s,
  initial cuts 2.4 s. Now the candidates are compared on the support of ``z`` only and the full
  rows are built once, in row blocks, for the customers of violated rows
  (:meth:`SubmodularCuts.nested_choice`, :meth:`SubmodularCuts.nested_coefficients`), and an
  exact evaluation reads only the open columns. Side by side in one run
  (``benchmarks/facility_location_scaling.py --compare-with``, load average about 6 on 2 cores):
  ERM N = 1e4 / 1e5: 2.2 s vs 5.8 s, 47.8 s vs 184.7 s; chi-square rho = 1e3: 12.5 vs 18.2 s,
  75.1 vs 108.8 s. Now (scaled units, 8 root rounds): see :mod:`oa_core`, 'Cost at city
  scale'; NYC seed 0/1 ERM r = 3/6/10: 1.5-4.2 s CPU vs 5.4-14.6 s before,
  benchmarks/facility_location_scaling.py docstring. On the uniform square instance (flat
  utilities) the tree is the problem: N = 1e4, r = 6 needs about 670 rounds and 470 nodes; 177
  or 944 groups instead of 59 did not help (35 s / 122 s+ vs 42 s).
* BLAS threads (:func:`_blas_threads`): at city scale with the cores shared, OpenBLAS's second
  thread made every long dot product slower; limited to ``threads``, NYC synthetic seed 0,
  r = 6, chi-square rho = 1e2 / 1e3 / 1e4 (all optimal, same rounds) take 3.65 / 5.25 / 9.57 s
  CPU vs 8.22 / 11.23 / 17.30 s before (``benchmarks/facility_location_scaling.py --sizes 82341
  --rhos 100,1000,10000 --budgets 6 --compare-with <previous commit>``, load 10-11.5; wall
  seconds at that load are 4-25x the CPU seconds and not comparable). The issue-10 target
  (<= 3 s wall) is not reached on this loaded machine. Uniform NYC-scale chi-square rho = 1e3,
  r = 6 (before the change, load 11.5): not proven in 300 s wall (20 s CPU), gap 1.1e-2.
* chi-square, Lagrangian node bound and its fixings (:mod:`oa_chi2_lagrangian`: one completion
  shared by all customers, ``n [P'f(A) + the k largest P-weighted gains]`` minimised over the
  ball by Frank-Wolfe; reduced-cost fixings; branching on the smallest ``U_out``) and the
  hand-over of HM14 D = 50, r = 10 (:data:`BRANCH_AND_BOUND_WORK`). The 48 rows side by
  side with the session's starting commit, each row in a fresh process, the two codes
  alternating row by row, each solve stopped after 15 CPU seconds as a Ctrl-C would
  (``benchmarks/facility_location_oa.py --cpu-limit 15``; under ``nice -n 10`` at load 3.9-7.6):
  **32 of 48 proven** (D = 25: 22, D = 50: 10) against 26 (20 and 6); CPU median over the 48
  rows 3.1 s vs 7.6 s, on the 26 rows both prove 1.46 s vs 1.94 s; again at load 1.2-3.0: 31
  vs 25 (22 and 9 vs 20 and 5), CPU median 3.4 vs 7.1 s, common rows 1.23 vs 1.68 s (D=50
  (0.2, 10, 10, 1e2) just missed the 15 s there). Newly proven (CPU s):
  D=25 (alpha, beta, r, rho) = (0.2, 1, 10, 1e2) 1.8, (0.2, 10, 10, 1e2) 2.2; D=50
  (0.2, 1, 5, 1e2) 2.6, (0.2, 1, 5, 1e4) 9.3, (0.2, 10, 10, 1e2) 9.1, (0.1, 5, 10, 1e4) 7.8;
  (0.2, 10, 5, 1e2) 2.3 vs 13.5. Just outside the 15 s: D=25 (0.05, 1, 10, 1e2) (the
  branch-and-bound alone proves it in 12.5-14 CPU s, the optimum 41.3133 is the greedy + swap
  incumbent) and (0.1, 5, 10, 1e2) (26 CPU s). Not proven: D = 50 with beta = 1, alpha = 0.05
  or rho = 1e3 and most r = 10 rows (where the master now gets 1 s instead of the whole time,
  so their reported gaps are larger: (0.2, 1, 10, 1e2) 0.13 vs 0.07, (0.05, 1, 10, 1e3) 7.6
  vs 5.3); there the Lagrangian relaxation is weak high in the tree
  (HM14_800_50, alpha = 0.05, beta = 1, r = 5, rho = 100: 2.66 x the incumbent at the root,
  1.43 x at depth 2) and the last two levels' exact evaluations take the time. The README
  row (gap 1e-6, ``dro-opt solve mc-flp``) 7.7 / 6.9 CPU s before, 8.4 / 6.7 after (load
  7.2-7.6; its pruning is in the last two levels, where the Lagrangian bound switches itself
  off). The issue-10 target (all 48, median <= 1 s) is not met.

* chi-square at city scale (NYC synthetic, N = 82,341, r = 6, CPU s; two helpers shared the
  2 cores, load 3-6): the worst case sorts only its largest values
  (``capture_objectives._partial_order``: 51 -> 13 ms per call) and the group rows and the
  ``t`` row of a round are summed in one pass (was two); side by side with the code before,
  seed 0, rho = 1e2 / 1e4: 1.45-1.49 / 3.60-3.62 s vs 2.28-2.33 / 5.27-5.43 s (partial sort)
  and rho = 1e3 / 1e4: 4.0-4.2 / 6.1-6.5 s vs 5.0-5.7 / 7.0-7.2 s (one pass, load 5-6). The
  hand-over of step 5 needs at most :data:`BRANCH_AND_BOUND_CUSTOMERS` customers: at r = 3
  (C(49, 3) N = 1.5e9 had handed over) the master alone proves in 2.0-5.1 s against 4.5-10.4 s.
  Tried and dropped: a second ``t`` row per round at the worst case of the cut values at ``z``
  (the tightest at ``z``; rounds 19 -> 16 and 31 -> 34, no gain) and initial cuts at the final
  greedy set only (ERM rounds 8 -> 13-14, 0.67 -> 0.91 s at r = 3). What is left is the
  rounds (8-12 ERM, 15-31 chi-square at rho = 1e3-1e4, about 0.1 s each: the choice among
  the nested-set cuts and one pass over all N x D entries; nearly every group is violated in
  every round, so no group can be skipped). Uniform square instance (flat utilities), r = 6:
  ERM 49.0 s (455 rounds, 270 nodes), chi-square rho = 1e3 proven in 109 s (940 rounds, 642
  nodes; the issue measured 171 s wall). At N = 1e4 that ERM root bound is 1.1 % above the
  optimum and the tree needs 440 nodes to close it: the cut family, not the round cost, is
  what limits there ("multi", one column per customer, is slower still: N = 2,000, 118 s
  without proof against 5.7 s).

Returned ``value`` is always the exact objective (``objectives.evaluate``) of the returned
``z``; ``bound`` is the proven upper bound above; ``status`` is OPTIMAL only when
``(bound - value) / max(1, |value|) <= gap``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from dro_opt import deadline, interrupt
from dro_opt.algorithms.capture_objectives import (
    capture_probabilities,
    evaluate,
    logsumexp_rows,
)
from dro_opt.algorithms.greedy import SetObjective, greedy, local_search
from dro_opt.algorithms.oa_chi2_branch_and_bound import branch_and_bound_chi2, count_sets
from dro_opt.algorithms.oa_chi2_coverage import coverage_discards
from dro_opt.algorithms.oa_core import CutRows, OAOracle
from dro_opt.algorithms.oa_erm_branch_and_bound import branch_and_bound_erm
from dro_opt.errors import CapabilityError, ParameterError, UnknownSolverError
from dro_opt.solvers.status import Status

__all__ = ["OAResult", "solve_oa"]

#: ``progress(incumbent, bound)``: the best decision found so far (0/1 mask, or None) and a proven
#: upper bound on ``max F`` of the instance solved (or None), called while :func:`solve_oa` runs.
Progress = Callable[[np.ndarray | None, float | None], None]

FEASTOL = 1e-10  # master LP feasibility tolerance (rows in probability units)
EPSILON = 1e-9  # relative comparison tolerance of the master solver (node pruning)
#: chi-square: seconds the master gets before the combinatorial branch-and-bound takes over
#: (:mod:`oa_chi2_branch_and_bound`; easy rows stay with the master);
#: 0.3 instead of 1 s (the 48 HM14 rows of ``benchmarks/facility_location_oa.py --parts chi2
#: --cpu-limit 15``, rows alternating, load 1.0-2.2): the same 34 rows proven, CPU median 2.80 vs
#: 3.28 s, 1.41 vs 1.81 s on the proven rows; the unproven rows stop with slightly larger gaps
#: (HM14_800_25, 0.1, 5, 10, 1e2: 1.0 vs 0.66), since their master had less time
MASTER_SLICE = 0.3
#: ... when there are at most BRANCH_AND_BOUND_CUSTOMERS customers and (sets of the restricted
#: domain) x customers is at most BRANCH_AND_BOUND_WORK (HM14 D = 50, r = 10: 8e12; the coverage
#: and Lagrangian bounds prune most of those sets). Beyond (city scale) the master keeps the whole
#: time: every set the branch-and-bound screens costs a pass over all customers, and at N = 82,341
#: (NYC synthetic seeds 0, 1, r = 3, rho in {1e2, 1e4}, where C(49, 3) N = 1.5e9 had handed over)
#: the master alone proves in 2.0-5.1 CPU s against 4.5-10.4 s with the hand-over.
BRANCH_AND_BOUND_WORK, BRANCH_AND_BOUND_CUSTOMERS = 1e13, 10_000
#: beyond this many customers the SCIP master separates one round per node instead of three:
#: each round is a pass over all N x D entries, the node LPs are cheap. Uniform square
#: instance, ERM r = 6 (CPU s, same optimum): N = 20,000: 19.2 s, 928 nodes, 593 rounds vs
#: 34.4 s, 690 nodes, 1,073 rounds; N = 82,341: 25.9 s (656 nodes, 386 rounds) vs 47.1 s (453,
#: 708); N = 10,000: 3.3 vs 3.1 s; NYC synthetic (N = 82,341) ERM r = 10 1.75 vs 1.99 s,
#: chi-square r = 6 rho = 1e4 3.03 / 2.95 vs 3.25 / 3.42 s (seeds 0 / 1), load about 3. At
#: HM14 size (N = 800, cheap rounds) one round per node was slower (oa_core docstring).
NODE_ROUNDS_CUSTOMERS = 10_000
#: ERM with at most BRANCH_AND_BOUND_CUSTOMERS customers: the master's first slice (SCIP: CPU s),
#: then the Nemhauser-Wolsey branch-and-bound (:mod:`oa_erm_branch_and_bound`) for at most
#: ERM_BB_SLICE CPU seconds, longer while its estimated total stays within ERM_BB_ESTIMATE CPU
#: seconds (:func:`oa_erm_branch_and_bound.branch_and_bound_erm`), then the master again (from
#: the better incumbent) for the rest
#: (HM14_800_100, beta = 1, from the greedy + swap incumbent: alpha = 0.2, r = 9 estimates 18.8 /
#: 18.3 / 22.9 s after 2 / 4 / 8 CPU s and finishes; r = 10 43.6 / 50.3 / 59.2 s, where the
#: master alone takes about 50 s and the search does not find the optimum early: it goes back;
#: CPU seconds grow with the load, the estimates too: at load 6, 30 sent r = 9 back, 35.7 s vs
#: 27.4 s for the master alone)
#: The first slice is short (1.5 CPU s): the estimate is already informative then, and a row the
#: search cannot finish loses less (HM14_800_100, 0.2, 2, 10: 12.0 CPU s with 3 s vs 5.6 s for
#: the master alone, whose slice is lost when it resumes from scratch)
ERM_MASTER_SLICE, ERM_BB_SLICE, ERM_BB_ESTIMATE = 2.0, 1.5, 40.0


@dataclass
class OAResult:
    """Outcome of :func:`solve_oa`.

    Attributes
    ----------
    z : (D,) 0/1 best decision found.
    value : exact objective of ``z`` (``objectives.evaluate``).
    bound : proven upper bound on the optimum of the instance given (None if none).
    status : OPTIMAL only if ``(bound - value) / max(1, |value|) <= gap``.
    iterations : enforcement / re-solve rounds of the master.
    cuts : cut rows generated.
    nodes : branch-and-bound nodes of the master (None if no master was needed).
    seconds : wall-clock time.
    message : human-readable summary (master, fixings, phases).
    master : MILP solver that ran the master ("scip"/"highs"), None when none was needed.
    build_seconds : part of ``seconds`` spent building the cut data and the master: the oracle
        (sorted rows, bounds), the initial cuts, the bound tightening and the master model.
    """

    z: np.ndarray
    value: float
    bound: float | None
    status: Status
    iterations: int
    cuts: int
    nodes: int | None
    seconds: float
    message: str
    master: str | None = None
    build_seconds: float = 0.0

    @property
    def gap(self) -> float | None:
        if self.bound is None:
            return None
        return max(0.0, self.bound - self.value) / max(1.0, abs(self.value))

    @property
    def open(self) -> list[int]:
        """Open locations, sorted, 1-based."""
        return (np.flatnonzero(self.z > 0.5) + 1).tolist()


def _check_inputs(instance, budget, objective, rho, gap, master, time_limit) -> tuple[int, str]:
    D = instance.num_locations
    if isinstance(budget, bool) or not float(budget).is_integer():
        raise ParameterError(f"budget must be an integer number of locations, got {budget!r}")
    r = int(budget)
    if r < 0 or r > D:
        raise ParameterError(f"budget must be between 0 and D = {D}, got {r}; pass --budget <= {D}")
    if objective not in ("erm", "chi2"):
        if objective == "variance":
            raise ParameterError(
                "the outer approximation needs a concave monotone objective; the variance "
                "objective is neither -- use method='misocp' for objective='variance'"
            )
        raise ParameterError(f"unknown objective {objective!r}; use 'erm' or 'chi2'")
    if not (isinstance(rho, int | float) and math.isfinite(rho)) or rho < 0:
        raise ParameterError(f"rho must be a finite number >= 0, got {rho!r}")
    if not (math.isfinite(gap) and gap >= 0):
        raise ParameterError(f"gap must be a finite number >= 0, got {gap!r}")
    if master not in (None, "scip", "highs"):
        from dro_opt.solvers.registry import get_backend

        try:
            get_backend(master)
        except UnknownSolverError:
            raise UnknownSolverError(
                f"unknown solver {master!r} for the outer-approximation master; use 'scip' or "
                "'highs'"
            ) from None
        # a known solver (built in or registered) that is no OA master
        raise CapabilityError(
            f"solver {master!r} cannot be the outer-approximation master (implemented for "
            "'scip' and 'highs'); use --solver scip or highs, or --method misocp"
        )
    if time_limit is not None and not (time_limit > 0):
        raise ParameterError(f"time_limit must be > 0 seconds, got {time_limit!r}")
    kind = "erm" if objective == "erm" or rho == 0 else "chi2"
    return r, kind


def _top_sum(c: np.ndarray, k: int) -> np.ndarray:
    """Sum of the ``k`` largest entries of each row of ``c`` (K, D)."""
    if k <= 0:
        return np.zeros(c.shape[0])
    return -np.sort(-c, axis=1)[:, :k].sum(axis=1)


def tighten(
    consts: np.ndarray, coefs: np.ndarray, budget: int, incumbent: float, fixed_one: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Bound tightening with aggregated cuts ``F(T) <= C_k + c_k'1_T`` (see module docstring).

    Returns ``(U, fix_zero, fix_one)`` (upper bound on ``max F``, new fixings). Cuts with
    ``c_k >= 0`` only; already fixed-in locations count in every ``T``.
    """
    K, D = coefs.shape
    base = consts + coefs[:, fixed_one].sum(axis=1)
    free = ~fixed_one
    c = np.where(free[None, :], coefs, 0.0)
    k = budget - int(fixed_one.sum())
    srt = -np.sort(-c, axis=1)
    top_k = srt[:, :k].sum(axis=1) if k > 0 else np.zeros(K)
    U = float(np.min(base + top_k))
    # U_in(j): j plus the k-1 largest others; U_out(j): k largest others
    kth = srt[:, k - 1] if k > 0 else np.zeros(K)  # k-th largest
    k1th = srt[:, k] if k < D else np.zeros(K)  # (k+1)-th largest
    in_top = c >= kth[:, None]  # ties: conservative (treat as in the top)
    top_km1_wo = np.where(in_top, top_k[:, None] - c, top_k[:, None] - kth[:, None])
    U_in = np.min(base[:, None] + c + top_km1_wo, axis=0) if k > 0 else np.full(D, -np.inf)
    top_k_wo = np.where(in_top, top_k[:, None] - c + k1th[:, None], top_k[:, None])
    U_out = np.min(base[:, None] + top_k_wo, axis=0)
    margin = 1e-12 * max(1.0, abs(incumbent))
    fix_zero = free & (U_in < incumbent - margin)
    fix_one = free & ~fix_zero & (U_out < incumbent - margin) & (k > 0)
    return U, fix_zero, fix_one


def _root_coverage(a, q, rho, budget, fixed_zero, fixed_one, LB, gap, incumbent=None):
    """Step 3b: the coverage bound (:mod:`oa_chi2_coverage`) at the root of the restricted
    domain with the level ``LB + gap max(1, |LB|) / 2``; if it discards the root, that level
    plus the rounding margin of :mod:`oa_chi2_branch_and_bound` bounds every set of the
    restricted domain (sets smaller than the budget are below a superset: ``F`` is monotone),
    and with the incumbent (value ``LB``) ``max F``. None otherwise (at once when the
    incumbent, a set of the restricted domain, itself reaches too many customers)."""
    n = float(q.sum())
    k = budget - int(fixed_one.sum())
    free = ~fixed_zero & ~fixed_one
    if k <= 0 or not free.any():
        return None
    level = LB + 0.5 * gap * max(1.0, abs(LB))
    if incumbent is not None and incumbent.sum() == budget and not (incumbent & fixed_zero).any():
        # the incumbent is a set of the restricted domain: if it alone reaches mass 1 - m above
        # the level, the claim's coverage (an over-estimate of every set's) cannot be below it
        reach = (q / n) @ (capture_probabilities(a, incumbent) > level / n)
        if reach >= 1.0 - 1.0 / (1.0 + 2.0 * rho / n):
            return None
    LA = logsumexp_rows(a[:, fixed_one], 1) if fixed_one.any() else np.full(a.shape[0], -np.inf)
    sub = a if free.all() else a[:, free]  # a view when nothing is fixed
    if not coverage_discards(q / n, LA, sub, k, level / n, rho / n):
        return None
    return level + 1e-11 * max(1.0, abs(level)) + (a.shape[0] * 2.3e-16 + 1e-13) * n


def _run_master(name: str, oracle: OAOracle, initial_rows: CutRows, kwargs: dict) -> dict:
    kwargs = dict(kwargs)
    cpu_clock = kwargs.pop("cpu_clock", False)  # SCIP only; the HiGHS loop keeps the wall clock
    if name == "scip":
        from dro_opt.algorithms.oa_master_scip import solve_master_scip

        params = None
        if oracle.N > NODE_ROUNDS_CUSTOMERS:  # a round costs a pass over the customers
            params = {"separating/maxrounds": 1}
        return solve_master_scip(oracle, initial_rows, params=params, cpu_clock=cpu_clock, **kwargs)
    from dro_opt.algorithms.oa_master_highs import solve_master_highs

    return solve_master_highs(oracle, initial_rows, **kwargs)


def _blas_threads(solve: Callable) -> Callable:
    """Run ``solve`` with the BLAS thread pool limited to its ``threads`` argument: the long
    dot products of the exact evaluations (N = 82,341) cost about 3x more with OpenBLAS's two
    threads than with one when the cores are shared (NYC synthetic, chi-square evaluation:
    0.47 s vs 0.14 s at load 8), and the solve uses ``threads`` cores anyway."""

    @functools.wraps(solve)
    def limited(*args, **kwargs):
        with threadpool_limits(limits=max(1, int(kwargs.get("threads", 1))), user_api="blas"):
            return solve(*args, **kwargs)

    return limited


@_blas_threads
def solve_oa(
    instance,
    budget: int,
    objective: str = "erm",
    rho: float = 0.0,
    *,
    gap: float = 1e-6,
    time_limit: float | None = None,
    master: str | None = None,
    threads: int = 1,
    verbose: bool = False,
    initial: np.ndarray | None = None,
    mode: str | None = None,
    fractional: bool = True,
    progress: Progress | None = None,
    branch_and_bound: bool = True,
) -> OAResult:
    """Solve ``max F(z), z binary, sum z <= budget`` exactly by outer approximation.

    Parameters
    ----------
    instance : MCFLPInstance (``a`` log-odds (N, D), ``q`` weights).
    budget : r, number of locations that may be opened.
    objective : "erm" or "chi2" (``rho = 0`` gives ERM).
    rho : chi-square radius parameter (ball radius ``rho / n``).
    gap : relative optimality gap ``(bound - value) / max(1, |value|)`` to prove.
    time_limit : seconds (wall clock) for the whole solve.
    master : "scip" (default: branch-and-cut, chosen by measurement) or "highs" (re-solve loop);
        if the chosen master's LP solver fails, the other one is tried.
    threads : solver threads.
    initial : optional (D,) 0/1 start; improved by local search and used as incumbent if better.
    mode : hypograph layout (:mod:`oa_core`): "groups" (default; customers grouped by their
        best location; for chi-square weighted by the worst-case distribution of the
        incumbent), "multi" (one variable per customer) or "aggregate" (one variable).
    fractional : separate cuts at fractional LP points (branch-and-cut) as well.
    branch_and_bound : chi-square: a master that has not closed the gap within
        :data:`MASTER_SLICE` seconds hands over to the certified combinatorial
        branch-and-bound (:mod:`oa_chi2_branch_and_bound`) for the rest of the time, when the
        restricted domain is small enough (:data:`BRANCH_AND_BOUND_WORK`); ERM: the same after
        :data:`ERM_MASTER_SLICE` seconds, to :mod:`oa_erm_branch_and_bound` within a CPU
        budget, then back to the master (step 5b); False keeps the master for the whole time.
    progress : called as ``progress(incumbent_mask, bound)`` after the incumbent phase, after the
        bound tightening and whenever the master's proven bound changes (bound-over-time; the
        bound is the same certified quantity as the returned ``bound``: master dual bound plus
        the tolerance allowance, capped by the tightening bound). Either argument may be None.

    Returns
    -------
    OAResult
    """
    t0 = time.perf_counter()
    r, kind = _check_inputs(instance, budget, objective, rho, gap, master, time_limit)
    time_limit = deadline.clip(time_limit)  # the command's budget and Ctrl-C (dro_opt.deadline)
    a, q = instance.a, instance.q
    D = a.shape[1]
    master = master or "scip"

    def finish(z, bound, iters, cuts, nodes, msg, forced_status=None, used=None) -> OAResult:
        z = np.asarray(z, dtype=float)
        value = float(evaluate(a, q, z, kind, rho))
        if bound is not None:
            bound = max(float(bound), value)
        ok = bound is not None and (bound - value) <= gap * max(1.0, abs(value))
        status = Status.OPTIMAL if ok else (forced_status or Status.FEASIBLE)
        seconds = time.perf_counter() - t0
        return OAResult(
            z, value, bound, status, iters, cuts, nodes, seconds, msg, used, min(build, seconds)
        )

    build = 0.0

    if r == 0 or r >= D:  # monotone objective: the best set of size min(r, D) is everything
        z = np.ones(D) if r >= D else np.zeros(D)
        return finish(z, evaluate(a, q, z, kind, rho), 0, 0, None, "trivial budget")

    obj = SetObjective(a, q, kind, rho)
    # 1) incumbents
    sets = greedy(obj, r)
    starts = [sets[-1]] if sets else []
    if initial is not None:
        init = np.asarray(initial, dtype=float).ravel() > 0.5
        if init.shape != (D,):
            raise ParameterError(f"initial must have {D} entries, got {init.shape}")
        if init.sum() > r:
            raise ParameterError(f"initial opens {int(init.sum())} > budget {r} locations")
        starts.append(init)
    for s in starts:
        if s.sum() < r:  # fill to r (monotone) before the swaps
            s = s.copy()
            s[np.flatnonzero(~s)[: r - int(s.sum())]] = True
        _, _, visited = local_search(obj, s)
        sets.extend(visited)
    values = [obj.value(s) for s in sets]
    best_set = sets[int(np.argmax(values))]
    if progress is not None:
        progress(best_set, None)
    # 2) master layout and initial cuts (aggregated copies for tightening)
    t_build = time.perf_counter()
    if mode is None:
        mode = "groups"
    family = None
    if kind == "chi2" and mode == "groups":
        family = obj.from_probabilities(capture_probabilities(a, best_set))[1] / obj.n
    oracle = OAOracle(a, q, r, kind, rho, mode, family=family)
    parts, consts, coefs = [oracle.structural_rows()], [], []
    for s in sets:
        rows, _F, (c0, c) = oracle.cuts_at_set(s, aggregate=True)
        parts.append(rows)
        consts.append(c0)
        coefs.append(c)
    initial_rows = CutRows.stack(parts, oracle.ncols)
    incumbent = oracle.best_mask.copy()
    LB = oracle.best_value
    # 3) tightening
    fixed_zero = np.zeros(D, dtype=bool)
    fixed_one = np.zeros(D, dtype=bool)
    consts_a, coefs_a = np.array(consts), np.array(coefs)
    U = oracle.n * oracle.phi_upper if kind == "chi2" else np.inf
    # the cut rows are computed in floating point: their values may sit below the exact rows'
    # by up to the rounding allowance, so bounds from them are raised by it and fixings need
    # that much room below the incumbent
    rounding = oracle.rounding_allowance() * (2.0 if kind == "chi2" else 1.0)
    for _ in range(D):
        U_k, fz, fo = tighten(
            consts_a, np.where(fixed_zero, 0.0, coefs_a), r, LB - rounding, fixed_one
        )
        U = min(U, U_k + rounding)
        fz &= ~fixed_zero
        fo &= ~fixed_zero
        if (U - LB) <= gap * max(1.0, abs(LB)) or not (fz.any() or fo.any()):
            break
        if int((fixed_one | fo).sum()) > r:  # cannot happen unless U < LB; stay safe
            break
        fixed_zero |= fz
        fixed_one |= fo
    msg_fix = f"fixed {int(fixed_zero.sum())} closed, {int(fixed_one.sum())} open"
    build = time.perf_counter() - t_build
    if progress is not None and np.isfinite(U):
        progress(None, float(max(U, LB)))
    if (U - LB) <= gap * max(1.0, abs(LB)):
        return finish(incumbent, U, 0, oracle.ncuts, None, f"proved by initial cuts; {msg_fix}")
    covered = None
    if kind == "chi2" and branch_and_bound:  # 3b) before any master (module docstring)
        covered = _root_coverage(a, q, rho, r, fixed_zero, fixed_one, LB, gap, incumbent)
    if covered is not None:
        msg = f"proved by the coverage bound (oa_chi2_coverage); {msg_fix}"
        return finish(incumbent, min(U, covered), 0, oracle.ncuts, None, msg)
    # 4) master
    remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.01)
    free = int((~fixed_zero & ~fixed_one).sum())
    work = count_sets(free, r - int(fixed_one.sum())) * float(oracle.N)
    small = oracle.N <= BRANCH_AND_BOUND_CUSTOMERS and work <= BRANCH_AND_BOUND_WORK
    hand_over = kind == "chi2" and branch_and_bound and small
    erm_hand_over = kind == "erm" and branch_and_bound and oracle.N <= BRANCH_AND_BOUND_CUSTOMERS
    slice_seconds = ERM_MASTER_SLICE if erm_hand_over else MASTER_SLICE
    hand_over = hand_over or erm_hand_over
    if hand_over:
        remaining = min(remaining or np.inf, slice_seconds)
    kwargs = dict(
        fixed_zero=fixed_zero, fixed_one=fixed_one, incumbent=incumbent, gap=gap,
        time_limit=remaining, threads=threads, verbose=verbose, fractional=fractional,
        feastol=FEASTOL,
    )  # fmt: skip
    left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
    if erm_hand_over and (left is None or left >= 4 * ERM_MASTER_SLICE):
        # the ERM slice in CPU seconds: under load a wall-clock slice of a master that needs
        # 1.9 CPU s (HM14_800_100, 0.2, 10, 10; 5.7 s wall at load 4) handed it over, 11.7 s
        kwargs["cpu_clock"] = True

    def certified(db: float) -> float:
        """The master's dual bound as a proven bound on ``max F`` (module docstring, step 4)."""
        slack = oracle.tolerance_allowance(FEASTOL) + EPSILON * max(1.0, abs(db))
        return min(db + slack, U)

    if progress is not None:
        kwargs["report"] = lambda db: progress(
            oracle.best_mask, max(certified(db), oracle.best_value)
        )
    notes = []
    out = None
    for name in (master, "highs" if master == "scip" else "scip"):
        try:
            out = _run_master(name, oracle, initial_rows, kwargs)
            if hand_over and out.get("status") == "timelimit" and not interrupt.requested():
                out["status"] = "slice"  # the master's slice is over, not the caller's limit
            master = name
            break
        except Exception as exc:  # the LP solver gave up (numerical trouble): try the other
            notes.append(f"master {name} failed: {type(exc).__name__}: {exc}")
            if time_limit is not None:
                kwargs["time_limit"] = max(time_limit - (time.perf_counter() - t0), 0.01)
            if hand_over:
                kwargs["time_limit"] = min(kwargs["time_limit"] or np.inf, slice_seconds)
    if out is None and not hand_over:
        msg = "; ".join(notes) + f"; bound from the initial cuts; {msg_fix}"
        return finish(incumbent, U, 0, oracle.ncuts, None, msg, Status.NUMERICAL_ERROR)
    out = out or {"status": "failed", "rounds": 0, "frac_rounds": 0, "nodes": 0}

    def absorb(out: dict, bound: float | None) -> float | None:
        """Take a master run's build time, solution and certified dual bound (the smaller of
        it and ``bound``: both are valid on the restricted domain)."""
        nonlocal build
        build += float(out.get("build_seconds", 0.0))
        if out.get("z") is not None:
            oracle.evaluate(out["z"])
        db = out.get("dual_bound")
        if db is not None and np.isfinite(db):
            bound = certified(float(db)) if bound is None else min(bound, certified(float(db)))
        return bound

    bound = absorb(out, None)
    best = oracle.best_mask
    msg_enum = ""
    closed = bound is not None and bound - oracle.best_value <= gap * max(1.0, oracle.best_value)
    if out.get("status") == "userinterrupt":  # SCIP caught Ctrl-C in its slice: no more phases
        interrupt.note_solver_interrupt()
    if hand_over and not closed and not interrupt.requested() and out["status"] != "userinterrupt":
        # max F = max(F(incumbent), max over the restricted domain): step 3 of the docstring
        stop = None if time_limit is None else t0 + time_limit
        upper = U if bound is None else min(bound, U)  # valid on the whole domain

        def report(mask: np.ndarray, running: float) -> None:
            progress(mask, max(min(running, upper), oracle.best_value))

        if kind == "erm":  # a time box; the master resumes if it does not finish
            en = branch_and_bound_erm(
                a, q, r, fixed_zero, fixed_one, best, oracle.best_value, gap, stop,
                progress=None if progress is None else report, upper=upper,
                cpu_seconds=ERM_BB_SLICE, cpu_extend_to=ERM_BB_ESTIMATE,
            )  # fmt: skip
        else:
            en = branch_and_bound_chi2(
                a, q, rho, r, fixed_zero, fixed_one, best, oracle.best_value, gap, stop,
                progress=None if progress is None else report, upper=upper,
            )  # fmt: skip
        oracle.evaluate(en.mask)
        best = oracle.best_mask
        msg_enum = (
            f"; branch-and-bound: {en.sets} sets, {en.evaluated} evaluated, {en.covered} nodes "
            "discarded by coverage"
        )
        if en.complete:
            bound = en.bound if bound is None else min(bound, en.bound)
            bound = min(bound, U)
            out["status"] = "branch-and-bound"
        elif kind == "erm" and (stop is None or time.perf_counter() < stop):
            msg_enum += " (stopped by its CPU budget; master resumed)"
            kwargs["incumbent"] = best
            kwargs["time_limit"] = None if stop is None else max(stop - time.perf_counter(), 0.01)
            kwargs["cpu_clock"] = False  # the caller's limit is wall-clock
            try:
                out = _run_master(master, oracle, initial_rows, kwargs)
            except Exception as exc:  # numerical trouble: the incumbent and U stand
                notes.append(f"master {master} failed: {type(exc).__name__}: {exc}")
                out = {"status": "failed", "rounds": 0, "frac_rounds": 0, "nodes": 0}
            bound = absorb(out, bound)
            best = oracle.best_mask
        else:
            msg_enum += " (stopped at the time limit)"
            out["status"] = "timelimit"
        if bound is None:
            bound = U if np.isfinite(U) else None
        if progress is not None:
            progress(best, None if bound is None else max(bound, oracle.best_value))
    status_map = {"timelimit": Status.TIME_LIMIT, "userinterrupt": Status.INTERRUPTED}
    stopped = status_map.get(str(out["status"]), Status.FEASIBLE)
    if stopped is Status.INTERRUPTED or interrupt.requested():  # SCIP's handler / HiGHS callback
        interrupt.note_solver_interrupt()
        stopped = Status.INTERRUPTED
    msg = (
        f"master={master} mode={oracle.mode} K={oracle.K} status={out['status']} "
        f"rounds={out['rounds']} frac_rounds={out['frac_rounds']}; {msg_fix}{msg_enum}"
    )
    if notes:
        msg += "; " + "; ".join(notes)
    return finish(
        best, bound, int(out["rounds"]), oracle.ncuts, int(out["nodes"]), msg,
        stopped, master if out.get("status") != "failed" else None,
    )  # fmt: skip
