"""Outer-approximation master layout and cut oracle shared by the SCIP and HiGHS masters.

Problem (paper 003 Sec. 3.2; docs/facility_location.md): ``max F(z)`` over ``z in {0,1}^D``,
``sum z <= r``,
with ``F(z) = sum_i q_i f_i(z)`` (ERM) or ``F(z) = n Phi(f(z))``,
``Phi(theta) = min_{P in B} P'theta`` over the chi-square ball ``B`` of radius ``rho/n``
(docs/conventions.md, 'Chi-square DRO').

Master columns: ``z`` (D binaries) followed by the hypograph variables of the mode:

* ERM, ``mode = "groups"`` (``"multi"`` = one group per customer, ``"aggregate"`` = one group):
  customers are partitioned into groups ``g``; ``theta_g`` bounds ``F_g(z) = sum_{i in g} q_i
  f_i(z)`` (a non-negative combination of submodular functions, hence submodular), objective
  ``sum_g theta_g``. Cuts: ``theta_g <= sum_{i in g} q_i cut_i(z)`` where ``cut_i`` is the
  per-customer submodular cut at one set ``S`` (form (a), :mod:`submodular_cuts`) or the gradient
  cut at one point -- a non-negative combination of valid cuts of the ``f_i``, valid for
  ``F_g``. The multi-cut master is the strongest, the aggregated one the smallest.
* chi-square, ``mode = "multi"``: ``theta_i`` (``0 <= theta_i <= u_i``) bounds ``f_i(z)`` with
  per-customer cuts, and ``t <= n P^k'theta`` for worst-case distributions ``P^k``: valid since
  ``Phi(theta) <= P'theta`` for every ``P in B`` and ``Phi`` is non-decreasing, so these rows
  relax ``t <= n Phi(theta) <= n Phi(f(z)) = F(z)`` and are exact where ``P^k`` is the worst case
  (docs/facility_location.md, "Chi-square OA facts").
* chi-square, ``mode = "aggregate"``: a single ``t`` with ``t <= n sum_i P^k_i cut_i(z)``;
  ``h_k(z) = sum_i P^k_i f_i(z)`` is submodular and ``F(z) <= n h_k(z)`` for every ``P^k``.
* chi-square, ``mode = "groups"``: one fixed distribution ``P^0`` of the ball (the worst case at
  the incumbent; ``p`` itself is in the ball) gets grouped hypograph variables exactly as ERM
  with weights ``P^0``: ``t <= sum_g W^0_g theta_g`` (``W^0_g = sum_{i in g} P^0_i``) and
  ``theta_g <= sum_{i in g} (P^0_i / W^0_g) cut_i(z)``, valid because
  ``F(z) / n = Phi(f(z)) <= P^0'f(z)``; the aggregate rows above for other ``P^k`` (the worst
  case at each master solution, exact there) make the master exact at every integer point.

Scaling: every row has coefficients in ``[0, 1]`` -- group variables are normalised,
``theta_g = F_g / W_g`` with ``W_g = sum_{i in g} q_i`` and objective weight ``W_g``, and ``t``
stands for ``F / n`` with objective weight ``n`` -- so LP tolerances act on probabilities.

Every row is valid for every feasible ``z``, so the master is a relaxation of ``max F`` and its
optimal value or proven dual bound is an upper bound on ``max F``.

Cost at city scale. All cut arithmetic runs in the row-scaled units of :mod:`scaled_scores`
(one multiply-add per entry instead of a ``logaddexp``); group rows are summed block by block
without forming per-customer rows (:meth:`SubmodularCuts.set_sums`, :meth:`SubmodularCuts.
nested_sums`); their rounding is covered by :meth:`OAOracle.rounding_allowance`. Only the 2r
largest scaled utilities of each row are kept sorted (a partition, not a full row sort) and
the ranks of a column are computed when the column is first cut at; exact values of sets use
the scaled units too; a set cut at twice (greedy's last set starts the swaps) is summed once.
Where the time goes (``instances/nyc_synthetic.py`` seed 0, N = 82,341, D = 59, ERM, r = 6,
gap 1e-4, 8 root rounds, 1 node; CPU seconds of each phase (``time.process_time``), two
interleaved runs each at load 9.3-9.6 on 2 cores; before = commit 0284241)::

    phase                               before       now
    greedy                            0.16-0.19     0.08
    swap local search                 0.20-0.22     0.07
    oracle (top-2r table, groups)     0.25-0.33     0.14
    initial cuts (6 distinct sets)    0.63-0.71   0.27-0.31
    8 fractional rounds: choice       0.39-0.40   0.42-0.45
                         group sums   0.40-0.41   0.26-0.28
    SCIP and the row transfer         0.11        0.06
    total                             2.26-2.51   1.33-1.44

At N = 10^6 (same generator, r = 6, 11 rounds; CPU s, load about 8) the first version of
the above spent: greedy 1.27, swaps 1.87, oracle 3.71, initial set cuts 8.17, rounds 8.34
(choice 3.86, sums 4.20), total 24.4 -- the oracle and the set cuts grew 28-30x for 12x the
customers, from N x (m + 1) temporaries of the drop tables and their transposed copy, strided
reads of the rank columns and N x D partition temporaries. They are now built in place,
column-major, and in row blocks: oracle 1.2 s, the 7 set cuts 4.8 s (cProfile, load ~8).

What is left at city scale is the per-customer choice among the nested-set and gradient cuts
(:meth:`SubmodularCuts.nested_choice`, about 50 ms per round: ``(r + 1)`` candidate values
over the support of ``z`` for every customer; the gradient cut wins for 65-82% of the
customers, every nested size for some) and one pass over all N x D entries per round for the
group sums; the rounds themselves are few (8 at r = 3 and 6; 12 at r = 10). 4 or 6 root
rounds instead of 8 (``separating/maxroundsroot``) gave 3-5 nodes and no gain (seeds 0/1,
r = 3/6/10).

Where the time goes on the harder kinds is the tree, not the cut arithmetic. HM14_800_100
(alpha = 0.2, beta = 1, r = 7, gap 1e-6; 184 nodes, 339 fractional rounds; SCIP statistics,
24.6 s wall at load 4-10): dual LP 8.9 s (905 solves of 40 iterations, 0.4 ms per iteration:
the LP holds thousands of dense 100-coefficient cut rows, 17,429 added), strong branching
6.6 s (303 LPs), our separation 4.5 s. Settings measured on that row (CPU s, baseline 11.0):
``lp/rowagelimit`` 3: 10.4; ``separating/cutagelimit`` 10: 11.6; ``separating/maxcuts`` 20:
11.8; best-bound node selection: 12.4; ``branching/relpscost/maxreliable`` 1: 13.9 (301
nodes); ``separating/maxrounds`` 1 or 10: 13.7 / 15.3; 20 or unlimited root rounds with
``maxstallroundsroot`` 3: 14.7 / 15.0; our own root stall rule (up to 60 root rounds, stop
when the last k rounds closed less than a fraction x of the gap to the incumbent; k, x = 3,
0.1 / 2, 0.2 / 3, 0.03): 13.9 / 15.3 / 12.9, and 1.6 / 1.6 / 2.0 s instead of 1.33 s on the
city-like r = 6 row above; 2x or 4x more customer groups (195 / 368): 25.7 / 58.6
s with about the same nodes (242 / 255) -- the nodes come from the cut family (one set or one
point per customer and round), not from the aggregation into groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from dro_opt.algorithms.greedy import SetObjective
from dro_opt.algorithms.submodular_cuts import SubmodularCuts, fold_rows

__all__ = ["CHECK_TOL", "CutRows", "OAOracle", "default_groups"]

#: relative tolerance of the hypograph check (a row value may exceed the exact hypograph by
#: ``CHECK_TOL * max(1, scale of the row)``); larger than the LP feasibility tolerance so that a
#: cut exact at ``S`` always removes a point that fails the check.
CHECK_TOL = 1e-8


@dataclass
class CutRows:
    """Linear cuts ``A x <= b`` on the master's column vector ``x``."""

    A: sp.csr_matrix
    b: np.ndarray

    def __len__(self) -> int:
        return int(self.b.shape[0])

    @staticmethod
    def stack(parts: list[CutRows], ncols: int) -> CutRows:
        parts = [p for p in parts if len(p)]
        if not parts:
            return CutRows(sp.csr_matrix((0, ncols)), np.zeros(0))
        A = sp.vstack([p.A for p in parts], format="csr")
        return CutRows(A, np.concatenate([p.b for p in parts]))


def default_groups(a: np.ndarray, count: int | None = None) -> np.ndarray:
    """Group labels: customers grouped by their most attractive location (``argmax_j a_ij``),
    optionally split further into ``count`` groups by rank of the best log-odds."""
    labels = np.argmax(a, axis=1)
    _, labels = np.unique(labels, return_inverse=True)
    if count is None or count <= labels.max() + 1:
        return labels.astype(np.int64)
    per = max(1, count // (labels.max() + 1))
    best = a.max(axis=1)
    out = np.empty_like(labels)
    for g in range(labels.max() + 1):
        idx = np.flatnonzero(labels == g)
        ranks = np.argsort(np.argsort(best[idx]))
        out[idx] = g * per + (ranks * per) // max(idx.size, 1)
    _, out = np.unique(out, return_inverse=True)
    return out.astype(np.int64)


class OAOracle:
    """Cut oracle, master layout and incumbent bookkeeping for one (instance, r, objective).

    Parameters
    ----------
    a, q : instance log-odds (N, D) and weights (N,).
    budget : r.
    kind : "erm" or "chi2" (``rho = 0`` is ERM).
    rho : chi-square radius parameter.
    mode : "multi", "groups" (ERM only) or "aggregate".
    groups : customer group labels for ``mode = "groups"`` (default :func:`default_groups`).
    family : chi-square ``mode = "groups"``: the distribution ``P^0`` of the ball whose grouped
        hypograph is modelled (default ``p``).
    """

    def __init__(
        self,
        a: np.ndarray,
        q: np.ndarray,
        budget: int,
        kind: str = "erm",
        rho: float = 0.0,
        mode: str = "multi",
        groups: np.ndarray | None = None,
        family: np.ndarray | None = None,
    ) -> None:
        self.a = np.asarray(a, dtype=float)
        self.q = np.asarray(q, dtype=float)
        self.N, self.D = self.a.shape
        self.budget = int(budget)
        self.obj = SetObjective(self.a, self.q, kind, rho)
        self.kind, self.rho, self.n = self.obj.kind, float(rho), self.obj.n
        self.cuts = SubmodularCuts(self.a, self.budget, fold=1e-10 / max(self.D, 1))
        self.best_value, self.best_mask = -np.inf, None
        self.ncuts = self.nevals = 0
        #: cut sums of the last sets cut at (:meth:`cuts_at_set`; rows are never modified)
        self._set_cache: dict[bytes, tuple] = {}
        if mode not in ("multi", "groups", "aggregate"):
            raise ValueError(f"unknown OA mode {mode!r}; use multi, groups or aggregate")
        self.mode = mode
        D, N = self.D, self.N
        self.link = False
        if self.kind == "erm" or mode == "groups":
            if mode == "multi":
                labels = np.arange(N)
            elif mode == "aggregate":
                labels = np.zeros(N, dtype=np.int64)
            else:
                labels = default_groups(self.a) if groups is None else np.asarray(groups)
            if self.kind == "erm":
                omega = self.q / self.n
            else:
                omega = self.obj.p if family is None else np.asarray(family, dtype=float)
                if omega.shape != (N,) or omega.min() < 0:
                    raise ValueError("family must be a distribution over the customers")
                omega = omega / omega.sum()
            keep = omega > 0
            _, labels_k = np.unique(labels[keep], return_inverse=True)
            self.K = int(labels_k.max()) + 1
            W = np.bincount(labels_k, weights=omega[keep], minlength=self.K)
            idx = np.flatnonzero(keep)
            self.G = sp.csr_matrix((omega[keep] / W[labels_k], (labels_k, idx)), shape=(self.K, N))
            self.weights = W  # group masses, summing to 1
            self.theta0 = D
            if self.kind == "erm":
                self.t_col = None
                self.ncols = D + self.K
            else:
                self.t_col = D + self.K
                self.ncols = D + self.K + 1
                self.link = True
        elif mode == "multi":
            self.K = N
            self.G = sp.identity(N, format="csr")
            self.theta0, self.t_col = D, D + N
            self.ncols = D + N + 1
        else:
            self.K = 0
            self.G = None
            self.theta0, self.t_col = None, D
            self.ncols = D + 1

    # ----------------------------------------------------------------- master layout
    def objective(self) -> np.ndarray:
        c = np.zeros(self.ncols)
        if self.kind == "erm":
            c[self.theta0 :] = self.n * self.weights
        else:
            c[self.t_col] = self.n
        return c

    def structural_rows(self) -> CutRows:
        """Rows every master needs besides the cuts: the link ``t <= sum_g W_g theta_g`` of the
        chi-square groups mode (none otherwise)."""
        if not self.link:
            return CutRows.stack([], self.ncols)
        return self._t_row(0.0, None, self.weights)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Column bounds; hypograph variables are capped by ``u_i = f_i(best r of row i)``."""
        lo, up = np.zeros(self.ncols), np.ones(self.ncols)
        if self.theta0 is not None:
            up[self.theta0 : self.theta0 + self.K] = self.G @ self.cuts.upper
        if self.t_col is not None:
            up[self.t_col] = self.phi_upper
        return lo, up

    @cached_property
    def phi_upper(self) -> float:
        """``Phi(u)`` with ``u_i = f_i(best r locations of customer i)``: since ``f(z) <= u`` for
        every feasible ``z`` and ``Phi`` is non-decreasing, ``F(z) / n <= Phi(u)`` (chi-square;
        for large radii far below the ERM value ``p'u``: HM14_800_50, alpha=0.1, beta=5, r=5,
        rho=1e4 gives n Phi(u) = 0.0011 where the master's bound was 40 after 30 s)."""
        u = self.cuts.upper
        dual, w = self.obj.from_probabilities(u)
        # the closed form's value is the dual at its eta, a lower bound of Phi(u); the bound
        # needs an upper one: w = n P with P a distribution of the ball, so Phi(u) <= P'u
        value = max(float(w @ u), dual) / self.n
        return float(value + 1e-12 * max(1.0, abs(value)))  # rounding of the sum

    def tolerance_allowance(self, feastol: float) -> float:
        """Largest increase of the master value caused by LP rows violated within the relative
        feasibility tolerance ``feastol`` (a row may be violated by ``feastol * max(1, |rhs|)``
        and every right-hand side here is at most 1).

        ERM: each group row can raise ``theta_g`` (objective weight ``n W_g``,
        ``sum_g W_g = 1``) by ``feastol``: ``n feastol`` in total. Chi-square multi: customer
        rows raise ``theta_i`` by ``feastol`` each, which raises ``t <= P'theta`` by at most
        ``feastol`` (``P`` is a distribution), and the ``t`` rows themselves by ``feastol``:
        ``2 n feastol``.
        Chi-square groups: the group rows move ``t`` by at most ``feastol`` through the link
        row, which itself and the aggregate rows add ``feastol``: ``2 n feastol``.
        Aggregate: only the ``t`` rows, ``n feastol``.

        Plus :meth:`rounding_allowance` (floating-point error of the computed rows), twice
        where two layers of rows (hypograph and ``t`` rows) stack.
        """
        if self.kind == "chi2" and self.mode in ("multi", "groups"):
            return 2.0 * (feastol * self.n + self.rounding_allowance())
        return feastol * self.n + self.rounding_allowance()

    def rounding_allowance(self) -> float:
        """Bound on how far rounding can move the master value above that of the exact rows.

        A row's constant and each of its ``D`` coefficients is a weighted sum (weights summing to
        at most 1) over at most ``N`` customers of terms in ``[0, 1]``, each term computed with
        at most ``r + 16`` roundings (:mod:`scaled_scores`: products of factors in ``[0, 1]``
        and the constant ``f - sum_{j in S} c_j``); standard summation error bounds give an
        absolute error of at most ``(N + r + 16) u`` (unit roundoff ``u = 2^-53``, first order)
        per number, so at most ``(D + 1) (N + r + 16) u`` for the row's value at any ``z`` in
        ``[0, 1]^D``. Hypograph variables carry objective weights summing to ``n`` (ERM: ``n W_g``;
        chi-square: ``t`` with weight ``n`` and distributions over the rows), so the master value
        moves by at most ``n`` times that (N = 82,341, D = 59: ``5.5e-10 n``)."""
        u = 2.0**-53
        return float(self.n * (self.D + 1) * (self.N + self.budget + 16) * u)

    # ----------------------------------------------------------------- evaluation
    def evaluate(self, mask: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """``(F(S), f(S), w)`` with ``w`` the surrogate weights (q, or n P*); records ``S`` as
        incumbent if it is feasible (``|S| <= r``) and better."""
        mask = np.asarray(mask, dtype=bool)
        f = self.cuts.values(mask)
        F, w = self.obj.from_probabilities(f)
        self.nevals += 1
        if F > self.best_value and mask.sum() <= self.budget:
            self.best_value, self.best_mask = F, mask.copy()
        return F, f, w

    def point(self, mask: np.ndarray) -> np.ndarray:
        """Master column vector of the set ``mask`` on the exact hypograph
        (``theta = G f(S)``, ``t = F(S) / n``): feasible for every valid cut."""
        F, f, _ = self.evaluate(mask)
        x = np.zeros(self.ncols)
        x[: self.D] = np.asarray(mask, dtype=float)
        if self.theta0 is not None:
            x[self.theta0 : self.theta0 + self.K] = self.G @ f
        if self.t_col is not None:
            x[self.t_col] = F / self.n
        return x

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float | None]:
        z = x[: self.D]
        theta = x[self.theta0 : self.theta0 + self.K] if self.theta0 is not None else None
        t = float(x[self.t_col]) if self.t_col is not None else None
        return z, theta, t

    def violation(self, x: np.ndarray, mask: np.ndarray) -> bool:
        """True iff ``x`` violates the exact hypograph at the binary set ``mask`` by more than
        :data:`CHECK_TOL` (relative)."""
        F, f, _ = self.evaluate(mask)
        _, theta, t = self.split(x)
        if theta is not None:
            exact = self.G @ f
            if np.any(theta > exact + CHECK_TOL):
                return True
        if t is not None and t > F / self.n + CHECK_TOL:
            return True
        return False

    # ----------------------------------------------------------------- cut rows
    def _theta_rows(self, idx: np.ndarray, const: np.ndarray, coef: np.ndarray) -> CutRows:
        """``theta_g - coef_g'z <= const_g`` for the groups ``idx``."""
        k = idx.size
        nz_r, nz_c = np.nonzero(coef)
        rows = np.concatenate([np.arange(k), nz_r])
        cols = np.concatenate([self.theta0 + idx, nz_c])
        vals = np.concatenate([np.ones(k), -coef[nz_r, nz_c]])
        A = sp.csr_matrix((vals, (rows, cols)), shape=(k, self.ncols))
        return CutRows(A, np.asarray(const, dtype=float).copy())

    def _t_row(
        self, const: float, zcoef: np.ndarray | None, theta_coef: np.ndarray | None
    ) -> CutRows:
        """``t - zcoef'z - theta_coef'theta <= const``."""
        cols, vals = [np.array([self.t_col])], [np.ones(1)]
        if zcoef is not None:
            nz = np.flatnonzero(zcoef)
            cols.append(nz)
            vals.append(-zcoef[nz])
        if theta_coef is not None:
            nz = np.flatnonzero(theta_coef)
            cols.append(self.theta0 + nz)
            vals.append(-theta_coef[nz])
        c, v = np.concatenate(cols), np.concatenate(vals)
        A = sp.csr_matrix((v, (np.zeros(c.size, dtype=np.int64), c)), shape=(1, self.ncols))
        return CutRows(A, np.array([float(const)]))

    def cuts_at_set(
        self,
        mask: np.ndarray,
        x: np.ndarray | None = None,
        eps: float = 0.25 * CHECK_TOL,
        aggregate: bool = False,
    ) -> tuple:
        """Cuts exact at the set ``mask`` (all of them, or those violated by ``x`` by more than
        ``eps``).

        Returns ``(rows, F(S))``, plus, if ``aggregate``, the aggregated cut
        ``(C, c)`` with ``F(T) <= C + c'1_T`` for every feasible ``T`` (weights ``w``: ``q``,
        or ``n P*(S)``).
        """
        mask = np.asarray(mask, dtype=bool)
        key = mask.tobytes()
        if key in self._set_cache:  # the same set again (greedy's last set starts the swaps)
            F, w, gc, gz, agg_P, agg_w = self._set_cache[key]
        else:
            F, _f, w = self.evaluate(mask)
            P = w / self.n
            if self.kind == "chi2" and self.mode == "multi":  # per-customer rows: full block
                block, _ = self.cuts.submodular_cut(mask)
                gc, gz = block.const, block.coef
                (agg_P, agg_w) = block.aggregate(P), block.aggregate(w)
            else:
                gc, gz, (agg_P, agg_w) = self._set_cut_sums(mask, (P, w))
                if len(self._set_cache) >= 16:
                    self._set_cache.pop(next(iter(self._set_cache)))
                self._set_cache[key] = (F, w, gc, gz, agg_P, agg_w)
        P = w / self.n
        parts: list[CutRows] = []
        if self.K:
            idx = np.arange(self.K)
            if x is not None:
                z, theta, _ = self.split(x)
                val = gc + gz @ z
                idx = np.flatnonzero(theta > val + eps)
            parts.append(self._theta_rows(idx, gc[idx], gz[idx]))
        if self.kind == "chi2":
            if self.mode == "multi":  # t <= P'theta
                if x is None or x[self.t_col] > P @ self.split(x)[1] + eps:
                    parts.append(self._t_row(0.0, None, P))
            else:
                const, coef = agg_P
                if x is None or x[self.t_col] > const + coef @ x[: self.D] + eps:
                    parts.append(self._t_row(const, coef, None))
        rows = CutRows.stack(parts, self.ncols)
        self.ncuts += len(rows)
        if aggregate:
            return rows, F, agg_w
        return rows, F

    def _set_cut_sums(
        self, mask: np.ndarray, weights: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, np.ndarray]]]:
        """Sums of the form-(a) cuts at ``S`` (:meth:`SubmodularCuts.set_sums`, exact at
        ``S``): per group ``(G const, G coef)``, folded, and, for each weight vector ``w``,
        ``(w'const, w'coef)``; no N x D array is formed (the sums are the same linear
        combinations of the same valid cuts)."""
        dense = sp.csr_matrix(np.vstack(weights)) if weights else None
        W = sp.vstack([m for m in (self.G, dense) if m is not None], format="csc")
        sums_c, sums_z = self.cuts.set_sums(mask, W)
        gc, gz = sums_c[: self.K], sums_z[: self.K]
        fold_rows(gc, gz, self.cuts.fold)
        agg = [(float(sums_c[self.K + k]), sums_z[self.K + k]) for k in range(len(weights))]
        return gc, gz, agg

    def fractional_cuts(self, x: np.ndarray, gradient: bool = True, eps: float = 1e-7) -> CutRows:
        """Cuts violated (by more than ``eps``, relative) by a fractional master point.

        Candidate cuts of each customer: the submodular cuts at the nested sets
        ``S_k = {k largest z_j}`` (``k = 0..r``) and the gradient cut at ``z``; each customer takes
        the candidate with the smallest value at ``z`` (a valid cut of ``f_i`` whichever is
        chosen), and the group rows are the weighted sums. The choice and the values at ``z``
        need only the support of ``z`` (:meth:`SubmodularCuts.nested_choice`); full rows of
        coefficients are built only for the customers of violated rows and summed block by
        block (:meth:`SubmodularCuts.nested_sums`), then the sums are folded.
        """
        z, theta, t = self.split(x)
        choice = self.cuts.nested_choice(z, gradient)
        parts: list[CutRows] = []
        idx = np.zeros(0, dtype=np.int64)
        if self.K:
            idx = np.flatnonzero(theta > self.G @ choice.value + eps)
        P_row = None  # chi-square groups / aggregate: the worst case at the rounded point
        if self.kind == "chi2" and self.mode == "multi":
            _, w = self.obj.from_probabilities(np.clip(theta, 0.0, None))
            P = w / self.n
            if t > P @ theta + eps:
                parts.append(self._t_row(0.0, None, P))
        elif self.kind == "chi2":
            order = np.argsort(-z, kind="stable")[: self.budget]
            last_mask = np.zeros(self.D, dtype=bool)
            last_mask[order[z[order] > 1e-9]] = True
            _, _, w = self.evaluate(last_mask)
            if t > (w / self.n) @ choice.value + eps:
                P_row = w / self.n
        # one pass over the customers for the group rows and the t row together
        blocks = [self.G[idx]] if idx.size else []
        if P_row is not None:
            blocks.append(sp.csr_matrix(P_row[None, :]))
        if blocks:
            gc, gz = self.cuts.nested_sums(choice, sp.vstack(blocks, format="csc"))
            fold_rows(gc, gz, self.cuts.fold)
            if idx.size:
                gci, gzi = gc[: idx.size], gz[: idx.size]
                keep = theta[idx] > gci + gzi @ z + eps
                parts.append(self._theta_rows(idx[keep], gci[keep], gzi[keep]))
            if P_row is not None:
                const, coef = float(gc[-1]), gz[-1]
                if t > const + coef @ z + eps:
                    parts.append(self._t_row(const, coef, None))
        rows = CutRows.stack(parts, self.ncols)
        self.ncuts += len(rows)
        return rows
