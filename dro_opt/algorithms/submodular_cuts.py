"""Per-customer marginal gains and valid cuts for the MNL capture probabilities (log space).

For customer ``i`` and a set ``S`` of open locations the capture probability is

    f_i(S) = s_i / (1 + s_i),    s_i(S) = sum_{j in S} exp(a_ij),

with log-odds ``a_ij = log(V_ij / W_i)`` (``models/facility_location/objectives.py``). Each ``f_i``
is nondecreasing and submodular in ``S`` (``s -> s/(1+s)`` is increasing and concave, ``s`` is
modular), and concave in the continuous relaxation ``z in [0,1]^D``.

Everything here is computed from ``a`` in log space, so every quantity is a probability or a
marginal gain in ``[0, 1]`` regardless of how many orders of magnitude the utilities ``V`` and
``W`` span (HM14 alpha = 0.2, beta = 10 spans more than 70): with ``L_i = log s_i(S)`` and
``sp(x) = log(1 + e^x)``,

    rho_ij(S) = f_i(S + j) - f_i(S) = e^{a_ij} / ((1 + s_i)(1 + s_i + e^{a_ij}))
              = exp(a_ij - sp(L_i) - sp(logaddexp(L_i, a_ij)))          (j not in S).

Cuts (Nemhauser & Wolsey 1981; Nemhauser, Wolsey & Fisher 1978, Prop. 2.2 form (a)). For a
nondecreasing submodular ``g``, any ``S`` and any ``T`` with ``|T| <= r``::

    g(T) <= g(S) - sum_{j in S\\T} rho_j((S u T) - j) + sum_{j in T\\S} rho_j(S).

Proof: ``g(S u T) <= g(S) + sum_{j in T\\S} rho_j(S)`` (submodularity), and removing the
elements of ``S\\T`` from ``S u T`` one at a time loses at least ``rho_j((S u T) - j)`` each
(submodularity again), so ``g(T) <= g(S u T) - sum_{j in S\\T} rho_j((S u T) - j)``.
The classical form (a) uses ``rho_j(N - j) <= rho_j((S u T) - j)``. Here ``|(S u T) - j| <=
m := |S| + r - 1`` and ``rho_ij(B)`` depends on ``B`` only through ``s_i(B)`` and decreases in
it, so ``rho_ij((S u T) - j) >= c_ij(m) := rho_ij evaluated at M_ij``, where ``M_ij`` is the
largest ``s_i`` of any ``m`` locations other than ``j`` (the ``m`` best of row ``i`` without
``j``). ``c_ij(m) >= rho_ij(N - j)``, so the cut is at least as tight as form (a) and valid on
every feasible ``T``. In ``z``::

    theta_i <= f_i(S) - sum_{j in S} c_ij (1 - z_j) + sum_{j not in S} rho_ij(S) z_j.

All coefficients are ``>= 0``. Coefficients below ``fold`` are folded into the constant
(``c z_j <= c`` because ``z_j <= 1``): this only loosens the cut, never invalidates it.
Only this one form is ever generated (mixing the two Nemhauser-Wolsey forms is a known source
of invalid "proofs": docs/facility_location.md, "Submodular cuts").

Gradient (outer-approximation) cuts use concavity of ``f_i`` on ``[0,1]^D``:
``theta_i <= f_i(z*) + sum_j g_ij (z_j - z*_j)``, ``g_ij = e^{a_ij} / (1 + s_i(z*))^2``,
followed by the coefficient strengthening of :func:`strengthen_with_upper_bound`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from dro_opt.algorithms.capture_objectives import logsumexp_rows

__all__ = [
    "CutBlock",
    "NestedChoice",
    "SubmodularCuts",
    "gain_factor",
    "logsumexp_rows",
    "softplus",
    "strengthen_with_upper_bound",
]


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + e^x)`` evaluated stably (``-inf -> 0``)."""
    return np.logaddexp(0.0, x)


def gain_factor(a: np.ndarray, L: np.ndarray) -> np.ndarray:
    """``rho_ij`` at log-score ``L_i`` for every ``j``: with ``s = e^L``, ``v = e^a``,
    ``w = v / (1+s) = exp(a - log(1+s))``,
    ``v / ((1+s)(1+s+v)) = (1 - f) * w / (1 + w)``, ``f = sigmoid(L)``; shape like ``a``.
    (``w`` is capped at ``e^700``; then ``w/(1+w) = 1`` to machine precision.)"""
    w = a - softplus(L)[:, None]
    np.minimum(w, 700.0, out=w)
    np.exp(w, out=w)
    out = w / (1.0 + w)
    out *= expit(-L)[:, None]
    return out


@dataclass
class CutBlock:
    """Cuts ``theta_i <= const_i + coef_i' z`` for the customers ``rows`` (one cut per row).

    ``coef`` is dense (k, D) with non-negative entries; zeros are absent terms.
    """

    rows: np.ndarray
    const: np.ndarray
    coef: np.ndarray

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def value(self, z: np.ndarray) -> np.ndarray:
        """Right-hand side at ``z`` (D,) for each cut."""
        return self.const + self.coef @ np.asarray(z, dtype=float)

    def subset(self, keep: np.ndarray) -> CutBlock:
        return CutBlock(self.rows[keep], self.const[keep], self.coef[keep])

    def aggregate(self, weights: np.ndarray) -> tuple[float, np.ndarray]:
        """``sum_k w_k (const_k + coef_k' z)`` as ``(constant, coefficients (D,))`` (valid for
        ``sum_k w_k theta_k`` whenever ``w >= 0``)."""
        w = np.asarray(weights, dtype=float)
        return float(w @ self.const), w @ self.coef


def strengthen_with_upper_bound(
    const: np.ndarray, coef: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Coefficient strengthening for ``theta_i <= const_i + coef_i' z`` with ``z`` binary,
    ``coef >= 0`` and the valid bound ``theta_i <= upper_i``.

    Replacing ``coef_ij`` by ``min(coef_ij, max(upper_i - const_i, 0))`` keeps the cut valid on
    every binary ``z``: if ``z_j = 0`` nothing changes; if ``z_j = 1`` the new right-hand side is
    ``>= const_i + (upper_i - const_i) = upper_i >= theta_i`` (the other terms are ``>= 0``) when
    ``upper_i >= const_i``, and ``>= const_i >= upper_i`` otherwise. Returns the new coefficients.
    """
    cap = np.maximum(upper - const, 0.0)
    return np.minimum(coef, cap[:, None])


@dataclass
class NestedChoice:
    """Per-customer choice of :meth:`SubmodularCuts.nested_choice` at one point ``z``.

    ``order``: the nested sets' elements (largest ``z_j`` first); customer ``i`` takes the
    submodular cut at ``S_k = order[:best_k[i]]`` (log-score ``best_L[i]``) unless
    ``use_gradient[i]``, then the strengthened tangent at ``z`` (log-score ``Lz[i]``, constant
    ``g_const[i]``, coefficient cap ``cap[i]``); ``value[i]`` is the chosen cut's value at ``z``.
    """

    order: np.ndarray
    best_k: np.ndarray
    best_L: np.ndarray
    use_gradient: np.ndarray
    Lz: np.ndarray
    g_const: np.ndarray
    cap: np.ndarray
    value: np.ndarray


class SubmodularCuts:
    """Marginal gains and cuts for the customer functions ``f_i`` of one instance.

    Parameters
    ----------
    a : (N, D) log-odds utilities (``-inf`` allowed).
    budget : r, the cardinality bound ``|T| <= r`` of every feasible set.
    fold : coefficients below this are folded into the cut's constant.
    """

    def __init__(self, a: np.ndarray, budget: int, fold: float = 1e-11) -> None:
        self.a = np.asarray(a, dtype=float)
        self.N, self.D = self.a.shape
        self.budget = int(budget)
        self.fold = float(fold)
        self._desc = -np.sort(-self.a, axis=1)  # each row sorted descending
        # ranks fit in int16 for D < 32768 (a quarter of the memory of int64 at city scale)
        self._rank = np.empty_like(self.a, dtype=np.int16 if self.D < 32768 else np.int64)
        order = np.argsort(-self.a, axis=1, kind="stable")
        np.put_along_axis(self._rank, order, np.arange(self.D)[None, :], axis=1)
        self._drop_cache: dict[int, np.ndarray] = {}
        self.upper = expit(logsumexp_rows(self._desc[:, : max(self.budget, 1)], axis=1))
        if self.budget == 0:
            self.upper = np.zeros(self.N)

    # ----------------------------------------------------------------- values and gains
    def log_scores(self, mask: np.ndarray) -> np.ndarray:
        """``L_i = log s_i(S)`` for the set ``S`` given as a boolean mask (D,)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return np.full(self.N, -np.inf)
        return logsumexp_rows(self.a[:, mask], axis=1)

    def values(self, mask: np.ndarray) -> np.ndarray:
        """``f_i(S)`` (N,)."""
        return expit(self.log_scores(mask))

    def gains(self, mask: np.ndarray, L: np.ndarray | None = None) -> np.ndarray:
        """``rho_ij(S)`` for every ``j`` (N, D); entries with ``j in S`` are 0."""
        mask = np.asarray(mask, dtype=bool)
        if L is None:
            L = self.log_scores(mask)
        out = gain_factor(self.a, L)
        out[:, mask] = 0.0
        return out

    def _drop_tables(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-row tables for ``M_ij``: the log-score of the ``m`` best locations (used when
        ``j`` is not among them) and the drop-one log-scores of the ``m + 1`` best (used when
        ``j`` has rank ``< m``). Cached per ``m``; (N,) and (N, m+1) floats."""
        if m in self._drop_cache:
            return self._drop_cache[m]
        top = self._desc[:, : m + 1]
        L_top_m = logsumexp_rows(self._desc[:, :m], axis=1)
        # drop-one log-sums of the top m+1 from prefix/suffix log-sums (no cancellation)
        ninf = np.full((self.N, 1), -np.inf)
        pre = np.hstack([ninf, np.logaddexp.accumulate(top, axis=1)[:, :-1]])
        suf = np.hstack([np.logaddexp.accumulate(top[:, ::-1], axis=1)[:, ::-1][:, 1:], ninf])
        tables = (L_top_m, np.logaddexp(pre, suf))
        self._drop_cache[m] = tables
        return tables

    def drop_columns(
        self, m: int, cols: np.ndarray, rows: np.ndarray | slice | None = None
    ) -> np.ndarray:
        """``c_ij(m)`` for the columns ``cols`` (and rows ``rows``: indices or a slice): a lower
        bound on ``rho_ij(B)`` over all ``B`` not containing ``j`` with ``|B| <= m``; ``M_ij``
        = the log-score of the ``m`` best locations of row ``i`` other than ``j``."""
        m = int(min(max(m, 0), self.D - 1))
        cols = np.asarray(cols, dtype=np.int64)
        if rows is None:
            rows = slice(0, self.N)
        if not isinstance(rows, slice):
            rows = np.asarray(rows, dtype=np.int64)

        def pick(x: np.ndarray) -> np.ndarray:
            return x[rows][:, cols] if isinstance(rows, slice) else x[np.ix_(rows, cols)]

        a = pick(self.a)
        if m == 0:
            M = np.full(a.shape, -np.inf)
        else:
            L_top_m, drop_one = self._drop_tables(m)
            rank = pick(self._rank)
            M = np.where(
                rank < m,
                np.take_along_axis(drop_one[rows], np.minimum(rank, m), axis=1),
                L_top_m[rows][:, None],
            )
        u = softplus(M)  # log(1 + s); expit(-M) = exp(-u)
        w = a - u
        np.minimum(w, 700.0, out=w)
        np.exp(w, out=w)
        w /= 1.0 + w
        np.negative(u, out=u)
        np.exp(u, out=u)
        return u * w

    def drop_coefficients(self, m: int) -> np.ndarray:
        """``c_ij(m)`` for every column (N, D) (see :meth:`drop_columns`)."""
        return self.drop_columns(m, np.arange(self.D))

    # ------------------------------------------------------------------------ cuts
    def submodular_cut(
        self, mask: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[CutBlock, np.ndarray]:
        """Form-(a) cuts at ``S`` (tightened drop coefficients, see module docstring).

        Returns ``(cuts, f_S)`` where ``f_S`` (N,) are the exact values at ``S``; the cut of
        customer ``i`` is exact at ``S``: ``const_i + coef_i' 1_S = f_i(S)`` (up to folding).
        """
        mask = np.asarray(mask, dtype=bool)
        L = self.log_scores(mask)
        block = self.cut_from_sets(L, np.broadcast_to(mask, (self.N, self.D)), rows)
        return block, expit(L)

    def cut_from_sets(
        self, L: np.ndarray, members: np.ndarray, rows: np.ndarray | None = None
    ) -> CutBlock:
        """Form-(a) cuts at a possibly different set ``S_i`` for each customer.

        ``members`` (N, D) boolean: row ``i`` is ``S_i``; ``L`` (N,) its log-scores
        ``log s_i(S_i)``. The cut of customer ``i`` only involves ``f_i``, so choosing ``S_i``
        per customer keeps every cut valid.
        """
        if rows is not None:
            L, members = L[rows], members[rows]
            a = self.a[rows]
        else:
            rows = np.arange(self.N)
            a = self.a
        coef = gain_factor(a, L)
        const = expit(L)
        sizes = members.sum(axis=1)
        used = np.flatnonzero(members.any(axis=0))
        for k in np.unique(sizes):
            if k == 0:
                continue
            sel = np.flatnonzero(sizes == k)
            ck = self.drop_columns(int(k) + self.budget - 1, used, rows[sel])
            mem = members[np.ix_(sel, used)]
            sub = coef[np.ix_(sel, used)]
            coef[np.ix_(sel, used)] = np.where(mem, ck, sub)
            const[sel] -= np.where(mem, ck, 0.0).sum(axis=1)
        return self._fold(rows, const, coef)

    def nested_best_cut(self, z: np.ndarray, gradient: bool = True, work: float = 1e7) -> CutBlock:
        """For a fractional ``z``: per customer, the tightest at ``z`` among the submodular cuts
        at the nested sets ``S_k = {k largest z_j}`` (``k = 0..r``, only ``z_j > 0``) and the
        gradient cut at ``z`` (:meth:`nested_choice`, then :meth:`nested_coefficients` for
        every customer)."""
        return self.nested_coefficients(self.nested_choice(z, gradient, work))

    def nested_choice(
        self, z: np.ndarray, gradient: bool = True, work: float = 1e7, chunk: int = 4096
    ) -> NestedChoice:
        """Which candidate cut of :meth:`nested_best_cut` each customer takes, and its value at
        ``z`` (before folding, which can only raise it by at most ``D * fold``).

        One pass over the customers in blocks of ``chunk`` rows that reads only the support of
        ``z`` (a cut's value at ``z`` needs no other column). When ``N * |support| * (r + 1)``
        exceeds ``work`` only about ``work / (N * |support|)`` of the nested sets (evenly
        spaced, always ``k = 0`` and ``k = r``) are tried."""
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        order = np.argsort(-z, kind="stable")[: self.budget]
        order = order[z[order] > 1e-9]
        supp = np.flatnonzero(z > 1e-12)
        ncand = int(np.clip(work / max(self.N * max(supp.size, 1), 1), 2, order.size + 1))
        tried = set(np.round(np.linspace(0, order.size, ncand)).astype(int).tolist())
        N = self.N
        ch = NestedChoice(
            order, np.zeros(N, np.int64), np.empty(N), np.zeros(N, bool), np.empty(N),
            np.empty(N), np.empty(N), np.empty(N),
        )  # fmt: skip
        step = max(int(chunk), 1)
        for lo in range(0, N, step):
            self._choose_rows(slice(lo, min(N, lo + step)), z, supp, tried, gradient, ch)
        return ch

    def _choose_rows(
        self, rows: slice, z: np.ndarray, supp: np.ndarray, tried: set[int], gradient: bool, ch
    ) -> None:
        """:meth:`nested_choice` on the consecutive customers ``rows`` (fills ``ch``)."""
        a = self.a[rows]
        n = a.shape[0]
        a_s, z_s, order = a[:, supp], z[supp], ch.order
        ord_pos = np.searchsorted(supp, order)
        L = np.full(n, -np.inf)
        best_v, best_k, best_L = np.full(n, np.inf), np.zeros(n, dtype=np.int64), L.copy()
        in_s = np.zeros(supp.size, dtype=bool)
        for k in range(order.size + 1):
            if k:
                L = np.logaddexp(L, a[:, order[k - 1]])
                in_s[ord_pos[k - 1]] = True
            if k not in tried:
                continue
            val = expit(L) + gain_factor(a_s[:, ~in_s], L) @ z_s[~in_s]
            if k:
                val -= self.drop_columns(k + self.budget - 1, supp[in_s], rows) @ (1.0 - z_s[in_s])
            better = val < best_v
            best_v = np.where(better, val, best_v)
            best_k = np.where(better, k, best_k)
            best_L = np.where(better, L, best_L)
        ch.best_k[rows], ch.best_L[rows], ch.value[rows] = best_k, best_L, best_v
        ch.use_gradient[rows] = False
        if gradient and supp.size:  # tangent of the concave f_i at z (see gradient_cut)
            Lz = logsumexp_rows(a_s + np.log(z_s)[None, :], axis=1)
            g_s = np.exp(np.minimum(a_s - 2.0 * softplus(Lz)[:, None], 700.0))
            g_const = expit(Lz) - g_s @ z_s
            cap = np.maximum(self.upper[rows] - g_const, 0.0)
            g_val = g_const + np.minimum(g_s, cap[:, None]) @ z_s
            use = g_val < best_v
            ch.use_gradient[rows], ch.Lz[rows] = use, Lz
            ch.g_const[rows], ch.cap[rows] = g_const, cap
            ch.value[rows] = np.where(use, g_val, best_v)

    def nested_coefficients(
        self, ch: NestedChoice, rows: np.ndarray | None = None, chunk: int = 4096
    ) -> CutBlock:
        """The cuts chosen in ``ch`` for the customers ``rows`` (default all), built in blocks
        of ``chunk`` rows with the formulas of :meth:`cut_from_sets` (submodular cut at
        ``S_k``) and :meth:`gradient_cut` (strengthened tangent), then folded: every row is one
        of those valid cuts."""
        rows = np.arange(self.N) if rows is None else np.asarray(rows, dtype=np.int64)
        const = np.empty(rows.size)
        coef = np.empty((rows.size, self.D))
        step = max(int(chunk), 1)
        for lo in range(0, rows.size, step):
            part = slice(lo, min(rows.size, lo + step))
            const[part], coef[part] = self._coefficient_rows(ch, rows[part])
        return CutBlock(rows, const, coef)

    def _coefficient_rows(self, ch: NestedChoice, rows: np.ndarray) -> tuple:
        a = self.a[rows]
        use = ch.use_gradient[rows]
        const = np.empty(rows.size)
        coef = np.empty((rows.size, self.D))
        if use.any():
            g = a[use] - 2.0 * softplus(ch.Lz[rows[use]])[:, None]
            np.minimum(g, 700.0, out=g)
            np.exp(g, out=g)
            coef[use] = np.minimum(g, ch.cap[rows[use], None])
            const[use] = ch.g_const[rows[use]]
        sub = ~use
        if sub.any():
            best_L, best_k = ch.best_L[rows], ch.best_k[rows]
            coef[sub] = gain_factor(a[sub], best_L[sub])
            const[sub] = expit(best_L[sub])
            for k in np.unique(best_k[sub]):
                if k == 0:
                    continue
                sel = np.flatnonzero(sub & (best_k == k))
                members = ch.order[:k]
                ck = self.drop_columns(int(k) + self.budget - 1, members, rows[sel])
                coef[np.ix_(sel, members)] = ck
                const[sel] -= ck.sum(axis=1)
        tiny = coef < self.fold
        const += np.where(tiny, coef, 0.0).sum(axis=1)
        coef[tiny] = 0.0
        return const, coef

    def gradient_cut(self, z: np.ndarray, rows: np.ndarray | None = None) -> CutBlock:
        """Tangent cuts of the concave ``f_i`` at the point ``z`` in ``[0,1]^D``."""
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        if rows is None:
            rows = np.arange(self.N)
        a = self.a[rows]
        supp = np.flatnonzero(z > 0)
        if supp.size:
            L = logsumexp_rows(a[:, supp] + np.log(z[supp])[None, :], axis=1)
        else:
            L = np.full(rows.size, -np.inf)
        g = a - 2.0 * softplus(L)[:, None]
        np.minimum(g, 700.0, out=g)
        np.exp(g, out=g)
        const = expit(L) - g @ z
        coef = strengthen_with_upper_bound(const, g, self.upper[rows])
        return self._fold(rows, const, coef)

    def _fold(self, rows: np.ndarray, const: np.ndarray, coef: np.ndarray) -> CutBlock:
        tiny = coef < self.fold
        const = const + (coef * tiny).sum(axis=1)
        coef[tiny] = 0.0
        return CutBlock(np.asarray(rows), const, coef)
