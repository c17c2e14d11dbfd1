"""Per-customer marginal gains and valid cuts for the MNL capture probabilities.

For customer ``i`` and a set ``S`` of open locations the capture probability is

    f_i(S) = s_i / (1 + s_i),    s_i(S) = sum_{j in S} exp(a_ij),

with log-odds ``a_ij = log(V_ij / W_i)`` (``models/facility_location/objectives.py``). Each ``f_i``
is nondecreasing and submodular in ``S`` (``s -> s/(1+s)`` is increasing and concave, ``s`` is
modular), and concave in the continuous relaxation ``z in [0,1]^D``.

Everything here is computed in the row-scaled units of :mod:`scaled_scores` (``v_ij =
e^{a_ij - m_i}``, ``b_i = e^{-m_i}``, scaled score ``t_i = sum_{j in S} v_ij``), so every
quantity is a probability or a marginal gain in ``[0, 1]``, computed as a product of factors in
``[0, 1]``, regardless of how many orders of magnitude the utilities ``V`` and ``W`` span (HM14
alpha = 0.2, beta = 10 spans more than 70)::

    rho_ij(S) = f_i(S + j) - f_i(S) = e^{a_ij} / ((1 + s_i)(1 + s_i + e^{a_ij}))
              = (b_i / (b_i + t_i)) (v_ij / (b_i + t_i + v_ij))          (j not in S).

(The log-space form ``exp(a_ij - sp(L_i) - sp(logaddexp(L_i, a_ij)))``, :func:`gain_factor`,
gives the same numbers at about ten times the cost.)

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
import scipy.sparse as sp
from scipy.special import expit

from dro_opt.algorithms.capture_objectives import logsumexp_rows
from dro_opt.algorithms.scaled_scores import scaled_scores

__all__ = [
    "CutBlock",
    "NestedChoice",
    "SubmodularCuts",
    "fold_rows",
    "gain_factor",
    "logsumexp_rows",
    "softplus",
    "strengthen_with_upper_bound",
]


#: entries ``N * |support of z| * (nested sets tried)`` one round's cut choice may read
#: (:meth:`SubmodularCuts.nested_choice`). Which valid cut a customer takes only decides how tight
#: the row is. NYC synthetic (N = 82,341, support 10-20, so 2-3 nested sets instead of all
#: r + 1), CPU s, min of 2 runs, load about 3: ERM seeds 0 / 1, r = 3, 6, 10: 0.82 / 0.71,
#: 0.88 / 1.28, 1.71 / 1.51 with 3e6 against 0.73 / 0.70, 1.08 / 1.27, 2.39 / 1.91 with 1e7
#: (rounds 8-13 either way); chi-square r = 6, rho = 1e2 / 1e3 / 1e4: 1.63 / 1.90 / 3.06 (seed 0)
#: and 1.62 / 1.90 / 3.10 (seed 1) against 1.38 / 2.64 / 4.00 and 1.71 / 2.36 / 3.48; 1e6 (two
#: sets) took more rounds (chi-square 40 instead of 29-31). HM14 (N = 800) is below it: all sets.
#: The uniform square instance (N = 82,341, ERM r = 6), side by side: 45.7 s CPU, 709 rounds, 453
#: nodes against 48.7 s, 457 rounds, 270 nodes with 1e7 (same optimum; load 3.8).
NESTED_WORK = 3e6
#: customers up to which the drop tables of all rows are cached (:meth:`SubmodularCuts.
#: _drop_tables`); NYC synthetic ERM r = 6, CPU s: N = 10^6 12.1 s with the tables built per row
#: block against 15.1 s cached; N = 10^5 1.57 s against 1.40 s (the per-block builds cost more
#: than the cache there)
DROP_CACHE_CUSTOMERS = 250_000


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


def _weighted_block(W: sp.csc_matrix, fac: np.ndarray, v: np.ndarray, bt: np.ndarray) -> np.ndarray:
    """``W @ (fac_i * v_ij / (v_ij + bt_i))``: the gains of a block of customers
    (:func:`_gain` with ``fac = b / (b + t)``) summed with the weights ``W`` (k, n); the row
    factor goes into the weights, so the block costs two elementwise passes."""
    R = v + bt[:, None]
    np.divide(v, R, out=R)
    return np.asarray(_scale_columns(W, fac) @ R)


def _scale_columns(W: sp.csc_matrix, fac: np.ndarray) -> sp.csc_matrix:
    """``W @ diag(fac)`` for a CSC matrix (scales the stored entries column by column)."""
    out = W.copy()
    out.data *= np.repeat(fac, np.diff(W.indptr))
    return out


def fold_rows(const: np.ndarray, coef: np.ndarray, fold: float) -> None:
    """Fold the coefficients below ``fold`` of the rows ``theta_g <= const_g + coef_g' z``
    into the constants, in place: ``c z_j <= c`` for ``c >= 0`` and ``z_j <= 1``, so the rows
    only get looser."""
    tiny = coef < fold
    const += np.where(tiny, coef, 0.0).sum(axis=1)
    coef[tiny] = 0.0


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
    submodular cut at ``S_k = order[:best_k[i]]`` (scaled score ``best_t[i]``,
    :mod:`scaled_scores`) unless ``use_gradient[i]``, then the strengthened tangent at ``z``
    (scaled score ``tz[i]``, constant ``g_const[i]``, coefficient cap ``cap[i]``); ``value[i]``
    is the chosen cut's value at ``z``.
    """

    order: np.ndarray
    best_k: np.ndarray
    best_t: np.ndarray
    use_gradient: np.ndarray
    tz: np.ndarray
    g_const: np.ndarray
    cap: np.ndarray
    value: np.ndarray


def _gain(b: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``f(S + j) - f(S) = (b / (b + t)) (v / (b + t + v))`` (rows ``b``, ``t`` (n,), ``v``
    (n, k)): products of factors in ``[0, 1]``, no cancellation (:mod:`scaled_scores`)."""
    bt = (b + t)[:, None]
    out = v + bt
    np.divide(v, out, out=out)
    out *= b[:, None] / bt
    return out


class SubmodularCuts:
    """Marginal gains and cuts for the customer functions ``f_i`` of one instance.

    All cut arithmetic runs in the row-scaled units of :mod:`scaled_scores` (``v = e^{a - m}``,
    ``b = e^{-m}``): the formulas of the module docstring with ``s_i`` replaced by the scaled
    score ``t_i`` and ``1`` by ``b_i``, each a product of factors in ``[0, 1]``.

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
        self.scaled = scaled_scores(self.a)
        self.v, self.b = self.scaled.v, self.scaled.b
        # only the 2r best entries of each row enter the drop coefficients of sets of size
        # <= r (m = |S| + r - 1 <= 2r - 1 needs the m + 1 best); a wider table is built on
        # demand (:meth:`_ensure_top`)
        self._drop_cache: dict[int, np.ndarray] = {}  # (N, m + 1) tables (_drop_tables)
        self._ensure_top(min(self.D, 2 * max(self.budget, 1)))
        top = self._vtop[:, : max(self.budget, 1)].sum(axis=1)
        self.upper = top / (self.b + top) if self.budget > 0 else np.zeros(self.N)

    def _ensure_top(self, width: int) -> None:
        """Keep, per row, the ``width`` largest ``v_ij`` in descending order (``_vtop``, (N,
        width), column-major for the column loops of :meth:`_drop_tables`). A partition plus
        a sort of the ``width`` best replaces the full row sort (values only; the ranks are
        computed per column when a column is first needed, :meth:`_ranks`)."""
        width = int(min(max(width, 1), self.D))
        if getattr(self, "_width", 0) >= width:
            return
        self._vtop = np.empty((self.N, width), order="F")
        for lo in range(0, self.N, 16384):  # row blocks: no N x D temporaries
            neg = -self.v[lo : lo + 16384]
            if width < self.D:
                neg = np.partition(neg, width - 1, axis=1)[:, :width]
            neg.sort(axis=1)
            self._vtop[lo : lo + 16384] = -neg
        # rank of v_ij = number of entries of row i strictly above it, capped at ``width``
        # (int16 for D < 32768); among equal values any of them may count as "the" j: equal
        # values give equal sums M_ij, and position rank_ij of the sorted row holds v_ij
        dtype = np.int16 if self.D < 32768 else np.int64
        self._rank = np.empty(self.v.shape, dtype=dtype, order="F")
        self._rank_done = np.zeros(self.D, dtype=bool)
        self._width = width
        self._drop_cache.clear()

    def _ranks(self, cols: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """``_rank`` with the columns ``cols`` filled in (each column once per width; the
        missing columns together, in blocks of ``chunk`` contiguous rows: one read of those
        rows instead of a strided column read each; read the ranks only after
        :meth:`_ensure_top`)."""
        cols = np.asarray(cols, dtype=np.int64)
        missing = np.unique(cols[~self._rank_done[cols]])
        if missing.size == 0:
            return self._rank
        for lo in range(0, self.N, chunk):
            hi = min(self.N, lo + chunk)
            block = self.v[lo:hi][:, missing]
            count = np.zeros(block.shape, dtype=self._rank.dtype)
            for p in range(self._width):
                count += self._vtop[lo:hi, p, None] > block
            self._rank[lo:hi, missing] = count
        self._rank_done[missing] = True
        return self._rank

    # ----------------------------------------------------------------- values and gains
    def log_scores(self, mask: np.ndarray) -> np.ndarray:
        """``L_i = log s_i(S)`` for the set ``S`` given as a boolean mask (D,)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return np.full(self.N, -np.inf)
        return logsumexp_rows(self.a[:, mask], axis=1)

    def values(self, mask: np.ndarray) -> np.ndarray:
        """``f_i(S) = t_i / (b_i + t_i)`` (N,) in the scaled units of :mod:`scaled_scores`
        (as accurate as the log-space ``sigmoid(logsumexp)``, a few units in the last place,
        at a fraction of the cost; reads only the columns of ``S``)."""
        return self.scaled.probabilities(self.scores(mask))

    def scores(self, mask: np.ndarray) -> np.ndarray:
        """Scaled scores ``t_i(S)`` (:mod:`scaled_scores`)."""
        return self.scaled.scores(mask)

    def gains(self, mask: np.ndarray) -> np.ndarray:
        """``rho_ij(S)`` for every ``j`` (N, D); entries with ``j in S`` are 0."""
        mask = np.asarray(mask, dtype=bool)
        out = _gain(self.b, self.scores(mask), self.v)
        out[:, mask] = 0.0
        return out

    def _drop_tables(self, m: int, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """Per-row table for ``M_ij`` (scaled) of the customers ``rows`` (default all),
        (n, m + 1), column-major: column ``p`` is the score of the ``m + 1`` best locations
        without the one at position ``p`` (used when ``j`` has rank ``p < m``); column ``m`` is
        the score of the ``m`` best (used when ``j`` is not among them). Prefix plus suffix
        sums (no subtraction), one column at a time on contiguous vectors, in place.

        With at most :data:`DROP_CACHE_CUSTOMERS` customers the tables of all rows are cached
        per ``m`` (:meth:`_drop_from` gathers from them); beyond, each call builds the table of
        its row block: at N = 10^6 the cached (N, m + 1) tables (``m = r .. 2r - 1``: 456 MB at
        r = 6) took 60x their N = 10^5 time (fresh pages, gathers far apart) against 10x for
        everything else (cProfile, NYC synthetic, ERM r = 6). Either way the same operations
        per row, so the same entries bit for bit."""
        if self._width < m + 1:  # the callers widen first: ranks read before must stay valid
            raise RuntimeError(f"drop tables for m = {m} need _ensure_top({m + 1}) first")
        top = self._vtop[rows if rows is not None else slice(None), : m + 1]
        table = np.empty((top.shape[0], m + 1), order="F")
        table[:, 0] = 0.0
        for p in range(1, m + 1):  # prefix sums: table[:, p] = sum of top[:, :p]
            np.add(table[:, p - 1], top[:, p - 1], out=table[:, p])
        suffix = np.zeros(top.shape[0])
        for p in range(m - 1, -1, -1):  # add sum of top[:, p + 1 : m + 1]
            suffix += top[:, p + 1]
            table[:, p] += suffix
        return table

    def drop_columns(
        self, m: int, cols: np.ndarray, rows: np.ndarray | slice | None = None
    ) -> np.ndarray:
        """``c_ij(m)`` for the columns ``cols`` (and rows ``rows``: indices or a slice): a lower
        bound on ``rho_ij(B)`` over all ``B`` not containing ``j`` with ``|B| <= m``; ``M_ij``
        = the score of the ``m`` best locations of row ``i`` other than ``j``."""
        m = int(min(max(m, 0), self.D - 1))
        self._ensure_top(m + 1)  # before the ranks are read
        cols = np.asarray(cols, dtype=np.int64)
        if rows is None:
            rows = slice(0, self.N)
        if not isinstance(rows, slice):
            rows = np.asarray(rows, dtype=np.int64)

        def pick(x: np.ndarray) -> np.ndarray:
            return x[rows][:, cols] if isinstance(rows, slice) else x[np.ix_(rows, cols)]

        return self._drop_from(m, pick(self.v), pick(self._ranks(cols)) if m else None, rows)

    def _drop_from(
        self, m: int, v: np.ndarray, rank: np.ndarray | None, rows: np.ndarray | slice
    ) -> np.ndarray:
        """:meth:`drop_columns` from the already selected ``v`` and ``rank`` entries (same
        shape) of the customers ``rows``."""
        b = self.b[rows]
        if m == 0:
            M = np.zeros(v.shape)
        else:
            # M_ij = drop_one[i, min(rank_ij, m)]: column m of the drop-one table is the
            # score of the m best (nothing after position m to drop), so no branch is needed;
            # a flat gather (take_along_axis cost 4x more here)
            if self.N <= DROP_CACHE_CUSTOMERS:  # column-major: entry (i, p) at p N + i
                if m not in self._drop_cache:
                    self._drop_cache[m] = self._drop_tables(m)
                table = self._drop_cache[m]
                ids = np.arange(*rows.indices(self.N)) if isinstance(rows, slice) else rows
            else:  # the rows' own table: entry (i, p) at p n + i
                table = self._drop_tables(m, rows)
                ids = np.arange(table.shape[0])
            pos = np.minimum(rank, m).astype(np.int64)  # int16 ranks: widen before p n
            pos *= table.shape[0]
            pos += ids[:, None]
            M = np.take(table.ravel(order="F"), pos)
        # (b / (b + M)) (v / (b + M + v)), elementwise M
        M += b[:, None]
        out = v + M
        np.divide(v, out, out=out)
        np.divide(b[:, None], M, out=M)
        out *= M
        return out

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
        block = self.cut_from_scores(
            self.scores(mask), np.broadcast_to(mask, (self.N, self.D)), rows
        )
        return block, self.values(mask)

    def cut_from_sets(
        self, L: np.ndarray, members: np.ndarray, rows: np.ndarray | None = None
    ) -> CutBlock:
        """:meth:`cut_from_scores` with the sets' log-scores ``L_i = log s_i(S_i)`` instead of
        scaled scores (``t_i = exp(L_i + log b_i)``)."""
        t = np.exp(np.asarray(L, dtype=float) + np.log(self.b))
        return self.cut_from_scores(t, members, rows)

    def cut_from_scores(
        self,
        t: np.ndarray,
        members: np.ndarray,
        rows: np.ndarray | slice | None = None,
        fold: bool = True,
    ) -> CutBlock:
        """Form-(a) cuts at a possibly different set ``S_i`` for each customer.

        ``members`` (N, D) boolean: row ``i`` is ``S_i``; ``t`` (N,) its scaled scores
        ``t_i(S_i)``. The cut of customer ``i`` only involves ``f_i``, so choosing ``S_i`` per
        customer keeps every cut valid. ``fold=False`` skips the folding of tiny coefficients
        (for callers that aggregate the rows first and fold the sums, :func:`fold_rows`).
        """
        if rows is None:
            rows = np.arange(self.N)
        elif isinstance(rows, slice):
            rows = np.arange(self.N)[rows]
        t, members = t[rows], members[rows]
        b = self.b[rows]
        coef = _gain(b, t, self.v[rows])
        const = t / (b + t)
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
        if not fold:
            return CutBlock(rows, const, coef)
        return self._fold(rows, const, coef)

    def nested_best_cut(
        self, z: np.ndarray, gradient: bool = True, work: float = NESTED_WORK
    ) -> CutBlock:
        """For a fractional ``z``: per customer, the tightest at ``z`` among the submodular cuts
        at the nested sets ``S_k = {k largest z_j}`` (``k = 0..r``, only ``z_j > 0``) and the
        gradient cut at ``z`` (:meth:`nested_choice`, then :meth:`nested_coefficients` for
        every customer)."""
        return self.nested_coefficients(self.nested_choice(z, gradient, work))

    def nested_choice(
        self, z: np.ndarray, gradient: bool = True, work: float = NESTED_WORK, chunk: int = 4096
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
        v = self.v[rows]
        b = self.b[rows]
        n = v.shape[0]
        v_s, z_s, order = v[:, supp], z[supp], ch.order
        self._ensure_top(min(order.size + self.budget, self.D))  # before the ranks are read
        rank_s = self._ranks(supp)[rows][:, supp]
        ord_pos = np.searchsorted(supp, order)
        t = np.zeros(n)
        best_v, best_k, best_t = np.full(n, np.inf), np.zeros(n, dtype=np.int64), t.copy()
        in_s = np.zeros(supp.size, dtype=bool)
        for k in range(order.size + 1):
            if k:
                t = t + v[:, order[k - 1]]
                in_s[ord_pos[k - 1]] = True
            if k not in tried:
                continue
            bt = b + t
            gain = v_s + bt[:, None]
            np.divide(v_s, gain, out=gain)
            val = t / bt + (b / bt) * (gain @ np.where(in_s, 0.0, z_s))
            if k:
                m = min(k + self.budget - 1, self.D - 1)
                c = self._drop_from(m, v_s[:, in_s], rank_s[:, in_s], rows)
                val -= c @ (1.0 - z_s[in_s])
            better = val < best_v
            best_v = np.where(better, val, best_v)
            best_k = np.where(better, k, best_k)
            best_t = np.where(better, t, best_t)
        ch.best_k[rows], ch.best_t[rows], ch.value[rows] = best_k, best_t, best_v
        ch.use_gradient[rows] = False
        if gradient and supp.size:  # tangent of the concave f_i at z (see gradient_cut)
            tz = v_s @ z_s
            btz = b + tz
            g_s = v_s * ((b / btz) / btz)[:, None]  # no overflow of btz^2
            g_const = tz / btz - g_s @ z_s
            cap = np.maximum(self.upper[rows] - g_const, 0.0)
            g_val = g_const + np.minimum(g_s, cap[:, None]) @ z_s
            use = g_val < best_v
            ch.use_gradient[rows], ch.tz[rows] = use, tz
            ch.g_const[rows], ch.cap[rows] = g_const, cap
            ch.value[rows] = np.where(use, g_val, best_v)

    def nested_coefficients(
        self, ch: NestedChoice, rows: np.ndarray | None = None, chunk: int = 4096
    ) -> CutBlock:
        """The cuts chosen in ``ch`` for the customers ``rows`` (default all), built in blocks
        of ``chunk`` rows with the formulas of :meth:`cut_from_scores` (submodular cut at
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

    def set_sums(
        self, mask: np.ndarray, weights: sp.csc_matrix, chunk: int = 16384
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(weights @ const, weights @ coef)`` of the form-(a) cuts at the set ``S`` of
        every customer (:meth:`submodular_cut`, before folding) for a non-negative ``weights``
        (k, N), without forming the (N, D) block: per block of ``chunk`` customers two passes
        (``R = v / (v + b + t)``, :func:`_weighted_block`) and one sparse product."""
        S = np.flatnonzero(np.asarray(mask, dtype=bool))
        t = self.scores(mask)
        k = weights.shape[0]
        gc, gz, gz_S = np.zeros(k), np.zeros((k, self.D)), np.zeros((k, S.size))
        for lo in range(0, self.N, max(int(chunk), 1)):
            rows = slice(lo, min(self.N, lo + max(int(chunk), 1)))
            W = weights[:, rows]
            if W.nnz == 0:
                continue
            b, tb = self.b[rows], t[rows]
            bt = b + tb
            const = tb / bt
            if S.size:
                ck = self.drop_columns(S.size + self.budget - 1, S, rows)
                const -= ck.sum(axis=1)
                gz_S += np.asarray(W @ ck)
            gz += _weighted_block(W, b / bt, self.v[rows], bt)
            gc += W @ const
        gz[:, S] = gz_S  # members: the drop coefficients replace the gains
        return gc, gz

    def nested_sums(
        self, ch: NestedChoice, weights: sp.csc_matrix, chunk: int = 16384
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(weights @ const, weights @ coef)`` of the cuts chosen in ``ch`` (before folding),
        for a non-negative ``weights`` (k, N): the aggregated rows ``sum_i w_gi cut_i`` without
        forming the (N, D) block (blocks of ``chunk`` customers, two passes each as in
        :meth:`set_sums`; the members of each customer's nested set and the gradient
        customers are patched in). Every sum is a non-negative combination of valid cuts
        (:meth:`_coefficient_rows` builds the same rows one by one); fold it with
        :func:`fold_rows`."""
        k = weights.shape[0]
        gc, gz = np.zeros(k), np.zeros((k, self.D))
        step = max(int(chunk), 1)
        for lo in range(0, self.N, step):
            rows = slice(lo, min(self.N, lo + step))
            W = weights[:, rows]
            if W.nnz == 0:
                continue
            b, use = self.b[rows], ch.use_gradient[rows]
            t = np.where(use, ch.tz[rows], ch.best_t[rows])
            bt = b + t
            fac = b / bt
            const = np.where(use, ch.g_const[rows], t / bt)
            v = self.v[rows]
            if use.any():  # strengthened tangent: min(b v / (b + t)^2, cap)
                # min(v s, cap) = s min(v, cap / s), s = b / (b + t)^2 > 0: the row factor
                # goes into the weights as for the gains (one pass fewer). The majority kind
                # is computed on the whole block, the minority's rows are gathered and patched
                scale = np.maximum(fac / bt, 1e-300)
                capped = (ch.cap[rows] / scale)[:, None]
                if 2 * np.count_nonzero(use) >= use.size:
                    R = np.minimum(v, capped)
                    g = np.flatnonzero(~use)
                    R[g] = v[g] / (v[g] + bt[g, None])
                else:
                    R = v + bt[:, None]
                    np.divide(v, R, out=R)
                    g = np.flatnonzero(use)
                    R[g] = np.minimum(v[g], capped[g])
                fac = np.where(use, scale, fac)
            else:
                R = v + bt[:, None]
                np.divide(v, R, out=R)
            best_k = np.where(use, 0, ch.best_k[rows])
            for size in np.unique(best_k):
                if size == 0:
                    continue
                sel = np.flatnonzero(best_k == size)
                members = ch.order[:size]
                ck = self.drop_columns(int(size) + self.budget - 1, members, lo + sel)
                # the weights carry the row factor fac > 0: store ck / fac (finite: ck <= fac
                # v / (b + M), v <= e^700, b >= 1), two roundings more per entry
                R[np.ix_(sel, members)] = ck / fac[sel, None]
                const[sel] -= ck.sum(axis=1)
            gz += np.asarray(_scale_columns(W, fac) @ R)
            gc += W @ const
        return gc, gz

    def _coefficient_rows(self, ch: NestedChoice, rows: np.ndarray, fold: bool = True) -> tuple:
        v = self.v[rows]
        b = self.b[rows]
        use = ch.use_gradient[rows]
        const = np.empty(rows.size)
        coef = np.empty((rows.size, self.D))
        if use.any():
            btz = b[use] + ch.tz[rows[use]]
            g = v[use] * ((b[use] / btz) / btz)[:, None]
            coef[use] = np.minimum(g, ch.cap[rows[use], None])
            const[use] = ch.g_const[rows[use]]
        sub = ~use
        if sub.any():
            best_t, best_k = ch.best_t[rows], ch.best_k[rows]
            coef[sub] = _gain(b[sub], best_t[sub], v[sub])
            const[sub] = best_t[sub] / (b[sub] + best_t[sub])
            for k in np.unique(best_k[sub]):
                if k == 0:
                    continue
                sel = np.flatnonzero(sub & (best_k == k))
                members = ch.order[:k]
                ck = self.drop_columns(int(k) + self.budget - 1, members, rows[sel])
                coef[np.ix_(sel, members)] = ck
                const[sel] -= ck.sum(axis=1)
        if not fold:
            return const, coef
        tiny = coef < self.fold
        const += np.where(tiny, coef, 0.0).sum(axis=1)
        coef[tiny] = 0.0
        return const, coef

    def gradient_cut(self, z: np.ndarray, rows: np.ndarray | None = None) -> CutBlock:
        """Tangent cuts of the concave ``f_i`` at the point ``z`` in ``[0,1]^D``:
        ``g_ij = b_i v_ij / (b_i + t_i(z))^2`` (:mod:`scaled_scores`), then
        :func:`strengthen_with_upper_bound`."""
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        if rows is None:
            rows = np.arange(self.N)
        v, b = self.v[rows], self.b[rows]
        tz = v @ z
        btz = b + tz
        g = v * ((b / btz) / btz)[:, None]
        const = tz / btz - g @ z
        coef = strengthen_with_upper_bound(const, g, self.upper[rows])
        return self._fold(rows, const, coef)

    def _fold(self, rows: np.ndarray, const: np.ndarray, coef: np.ndarray) -> CutBlock:
        tiny = coef < self.fold
        const = const + (coef * tiny).sum(axis=1)
        coef[tiny] = 0.0
        return CutBlock(np.asarray(rows), const, coef)
