"""Exact, vectorised objectives of robust max-capture facility location (paper 003 Sec. 3.2).

Lives in the algorithms layer (the outer approximation, greedy and local search need it);
``models/facility_location/objectives.py`` re-exports every public name.

Choice model (MNL, HM14 conventions: docs/conventions.md, 'MC-FLP and HM14 instances'): customer
``i`` picks an open
location of ours with probability

    f_i(z) = V_i'z / (W_i + V_i'z) = s_i / (1 + s_i),     s_i = sum_j exp(a_ij) z_j,

where ``a_ij = log(V_ij / W_i)`` is the *log-odds utility* of location ``j`` against the
competitors. Working with ``a`` (never with ``V`` or ``W`` separately) keeps every customer on
its own scale, so instances whose utilities span more than 70 orders of magnitude (HM14,
alpha = 0.2, beta = 10) evaluate without overflow: ``f_i = sigmoid(logsumexp_j(a_ij + log z_j))``.

Objectives (docs/conventions.md, 'Chi-square DRO'; weights ``q``, ``n = sum q``, ``p = q / n``), all
reported on the
scale of the HM14 reference values:

* ``erm``:      n * E_p f                           = sum_i q_i f_i(z)
* ``variance``: n * (E_p f - sqrt(2 rho Var_p f / n))               (paper 003 eq. VR)
* ``chi2``:     n * min { E_P f : sum_i p_i phi(P_i / p_i) <= rho / n },  phi(t) = (t - 1)^2 / 2

``rho = 0`` gives the ERM value for all three. ``chi2 >= variance`` always, with equality whenever
the worst-case distribution of the chi-square ball stays non-negative (Duchi & Namkoong 2019).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

OBJECTIVES = ("erm", "variance", "chi2")


def logsumexp_rows(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log sum exp`` along ``axis`` (``-inf`` for all ``-inf`` slices): a lean version of
    :func:`scipy.special.logsumexp` (no array-API dispatch) for the hot loops."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis=axis)
    return out


def log_score(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``L_i = log s_i = logsumexp_j(a_ij + log z_j)`` for ``z >= 0`` of shape (D,) or (K, D).

    Returns shape (N,) or (K, N); ``-inf`` where nothing is open for that customer. For one
    ``z`` only the columns with ``z_j > 0`` are read (the others contribute ``exp(-inf) = 0``),
    so evaluating a decision costs ``N * |open|``, not ``N * D``.
    """
    z = np.asarray(z, dtype=float)
    if np.any(z < 0):
        raise ValueError("location variables z must be non-negative")
    if z.ndim == 1:
        supp = np.flatnonzero(z > 0)
        if supp.size == 0:
            return np.full(a.shape[0], -np.inf)
        return logsumexp_rows(a[:, supp] + np.log(z[supp])[None, :], axis=1)
    with np.errstate(divide="ignore"):
        logz = np.log(z)
    return logsumexp_rows(a[None, :, :] + logz[:, None, :], axis=2)


def capture_probabilities(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``f_i(z) = s_i / (1 + s_i)`` computed stably as ``sigmoid(log s_i)``; shape like
    :func:`log_score`."""
    return expit(log_score(a, z))


def erm_value(q: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``sum_i q_i f_i`` (vectorised over leading axes of ``f``)."""
    return np.asarray(f) @ np.asarray(q, dtype=float)


def variance_value(q: np.ndarray, f: np.ndarray, rho: float) -> np.ndarray:
    """``n * (E_p f - sqrt(2 rho Var_p f / n))`` with ``Var_p f = sum_i p_i (f_i - E_p f)^2``."""
    q = np.asarray(q, dtype=float)
    n = q.sum()
    p = q / n
    f = np.asarray(f, dtype=float)
    mean = f @ p
    var = ((f - mean[..., None] if f.ndim > 1 else f - mean) ** 2) @ p
    return n * (mean - np.sqrt(2.0 * rho * np.maximum(var, 0.0) / n))


def chi2_worst_case(p: np.ndarray, f: np.ndarray, radius: float) -> tuple[float, np.ndarray]:
    """Worst case of ``E_P f`` over the chi-square ball ``{P : sum p_i phi(P_i/p_i) <= radius}``.

    Returns ``(value, P_star)``. Dual (reward form, docs/conventions.md, 'Chi-square DRO')::

        value = sup_eta  eta - c * sqrt(sum_i p_i ((eta - f_i)_+)^2),   c = sqrt(1 + 2 radius)

    On the region where exactly the customers with ``f_i < eta`` are active (set A, mass P_A,
    weighted mean mu_A, weighted variance sigma_A^2 within A), stationarity gives
    ``eta = mu_A + sigma_A / sqrt(c^2 P_A - 1)`` (needs ``c^2 P_A > 1``). We try every active
    prefix of the sorted ``f`` in one vectorised pass, keep the feasible stationary points and
    all breakpoints, and evaluate the dual directly at the best candidate. The worst-case
    distribution is ``P*_i = c p_i (eta - f_i)_+ / sqrt(S)``, which is also the supergradient of
    the value with respect to ``f`` (the value is ``min_P P'f``: concave, non-decreasing,
    positively homogeneous and translation-equivariant in ``f``).
    """
    p = np.asarray(p, dtype=float)
    f = np.asarray(f, dtype=float)
    if radius < 0:
        raise ValueError("chi-square radius must be >= 0")
    if radius == 0.0:
        return float(p @ f), p.copy()
    c = np.sqrt(1.0 + 2.0 * radius)
    order, start = _partial_order(p, f, c)
    fs, ps = f[order], p[order]
    shift = float(ps @ fs)
    g = fs - shift  # centred values: prefix moments lose less to cancellation
    # 1) locate the active prefix with prefix sums (cheap, may be slightly inaccurate) ...
    k_star = _best_prefix(ps, g, c, start)
    # 2) ... then recompute the stationary point on that prefix and its neighbours with
    #    two-pass moments, and keep the best direct evaluation of the dual.
    best_eta, best_val = g[0], _chi2_dual_direct(ps, g, g[0], c)
    for k in range(max(1, k_star - 1), min(len(g), k_star + 1) + 1):
        for eta in (_stationary_eta(ps[:k], g[:k], c), g[k - 1]):
            if eta is None:
                continue
            val = _chi2_dual_direct(ps, g, eta, c)
            if val > best_val:
                best_eta, best_val = eta, val
    diff = np.maximum(best_eta - g, 0.0)
    S = float(ps @ (diff * diff))
    if S > 0:
        P_sorted = c * ps * diff / np.sqrt(S)
    else:  # eta = min f and the ball holds the point masses there: spread p over the minimisers
        tied = g <= best_eta
        P_sorted = np.where(tied, ps, 0.0) / ps[tied].sum()
    P = np.empty_like(P_sorted)
    P[order] = P_sorted
    value = float(best_val + shift)
    pos = p > 0
    div = 0.5 * float(np.sum((P[pos] - p[pos]) ** 2 / p[pos]))
    if abs(float(P.sum()) - 1.0) > 1e-9 or div > radius * (1.0 + 1e-9):
        value, P = _chi2_by_bisection(p, f, radius, value)  # the search missed the optimum
    return value, chi2_ball_point(p, P, radius)


def _chi2_by_bisection(
    p: np.ndarray, f: np.ndarray, radius: float, value: float
) -> tuple[float, np.ndarray]:
    """Fallback of :func:`chi2_worst_case` for rows its closed form cannot place (many
    near-zero values, large radius): the threshold by bisection on the sign of the concave
    dual's slope (:func:`dro_opt.algorithms.oa_chi2_batch.bisect_eta`), the better of the two
    dual values (each a lower bound of ``Phi``) and the ball distribution at that threshold."""
    from dro_opt.algorithms.oa_chi2_batch import bisect_eta, certify

    c = math.sqrt(1.0 + 2.0 * radius)
    F = np.asarray(f, dtype=float)[None, :]
    eta = bisect_eta(p, F, c)
    _, _, P_s = certify(p, F, radius, eta, want_P=True)
    dual = float(eta[0] - c * math.sqrt(float(p @ np.maximum(eta[0] - F[0], 0.0) ** 2)))
    return max(value, dual), np.asarray(P_s)[0]


def chi2_ball_point(p: np.ndarray, P: np.ndarray, radius: float) -> np.ndarray:
    """A distribution of the chi-square ball ``{Q : sum_i (Q_i - p_i)^2 / (2 p_i) <= radius}``
    near ``P >= 0``: ``P`` restricted to the support of ``p`` and normalised, then, if it lies
    outside the ball, moved towards the centre ``Q = p + lam (P - p)`` with
    ``lam = sqrt(radius / D(P))`` (the divergence is exactly quadratic in ``lam``).

    :func:`chi2_worst_case`'s ``P* = c p (eta - f)_+ / sqrt(S)`` is a distribution of the ball
    only at the optimal ``eta``; where the candidate search misses it (rows of many near-zero
    values and a large radius: sums 0.79-1.05 were measured) the rows ``t <= n P'theta`` and
    the bounds ``Phi(u) <= P'u`` built from it are valid only after this repair. At the optimum
    it changes ``P`` by rounding only."""
    p = np.asarray(p, dtype=float)
    Q = np.where(p > 0, np.maximum(np.asarray(P, dtype=float), 0.0), 0.0)
    total = float(Q.sum())
    if not (total > 0 and np.isfinite(total)):
        return p.copy()
    Q /= total
    pos = p > 0
    div = 0.5 * float(np.sum((Q[pos] - p[pos]) ** 2 / p[pos]))
    if div > radius * (1.0 + 1e-10):  # beyond the rounding of div at the optimum
        Q = np.maximum(p + math.sqrt(radius / div) * (Q - p), 0.0)
    return Q


def chi2_upper_value(p: np.ndarray, f: np.ndarray, radius: float) -> float:
    """An upper bound of ``Phi(f) = min_{P in ball} P'f``: ``P'f`` for the ball point ``P`` of
    :func:`chi2_worst_case` (weak duality; equal to ``Phi(f)`` where ``P`` is the worst case).
    The value :func:`chi2_worst_case` returns is the dual at its ``eta``, a LOWER bound of
    ``Phi(f)``: use that one for the exact objective of a decision, this one for bounds."""
    _, P = chi2_worst_case(p, f, radius)
    return float(P @ np.asarray(f, dtype=float))


def _stationary_eta(p: np.ndarray, g: np.ndarray, c: float) -> float | None:
    """Stationary point ``mu_A + sigma_A / sqrt(c^2 P_A - 1)`` on the active set (two-pass)."""
    P_A = float(p.sum())
    denom = c * c * P_A - 1.0
    if denom <= 0:
        return None
    mu = float(p @ g) / P_A
    var = float(p @ ((g - mu) ** 2)) / P_A
    return mu + np.sqrt(var / denom)


def _chi2_dual_direct(p: np.ndarray, g: np.ndarray, eta: float, c: float) -> float:
    diff = np.maximum(eta - g, 0.0)
    return float(eta - c * np.sqrt(p @ (diff * diff)))


def _partial_order(p: np.ndarray, f: np.ndarray, c: float) -> tuple[np.ndarray, int]:
    """An order of the customers whose first ``start`` entries (in any order) are below all
    the others and all active at the optimal threshold, the rest sorted ascending.

    Why the unsorted block is active: the dual ``h(eta) = eta - c sqrt(S(eta))`` is concave with
    right derivative ``1 - c sum_{f_i < eta} p_i (eta - f_i) / sqrt(S) >= 1 - c sqrt(P_<(eta))``
    (Cauchy-Schwarz; ``P_<`` the mass strictly below ``eta``), positive while
    ``P_<(eta) < 1 / c^2``: the maximiser has at least mass ``1 / c^2`` strictly below it. A
    block of the smallest values whose mass is below ``1 / c^2`` therefore lies below it. The
    largest values are selected by ``argpartition`` until their mass exceeds
    ``1 - 1 / c^2`` (starting from four times the count of an average mass, doubling it), so
    only those are sorted (NYC synthetic, N = 82,341, rho = 1e2 - 1e4: 1,024 - 2,700 of
    them; 51 -> 13 ms per worst case)."""
    N = f.size
    need = 1.0 - 1.0 / (c * c)
    m = N if N <= 4096 else min(N, max(1024, 4 * int(need * N) + 64))
    while m < N:
        part = np.argpartition(f, N - m)
        top = part[N - m :]
        if float(p[top].sum()) > need * (1.0 + 1e-6) + 1e-12:  # bottom mass below 1 / c^2
            top = top[np.argsort(f[top], kind="stable")]
            return np.concatenate([part[: N - m], top]), N - m
        m = min(N, 2 * m)
    return np.argsort(f, kind="stable"), 0


def _prefix_moments(p: np.ndarray, g: np.ndarray, start: int) -> tuple[np.ndarray, ...]:
    """Mass, first and second moments of the prefixes of lengths ``start .. N``."""
    pg = p * g
    out = []
    for w in (p, pg, pg * g):
        base = float(w[:start].sum())
        out.append(np.concatenate([[base], base + np.cumsum(w[start:])]))
    return tuple(out)


def _best_prefix(p: np.ndarray, g: np.ndarray, c: float, start: int = 0) -> int:
    """Index k (1-based prefix length) of the best candidate from the vectorised pass; only
    prefixes of length at least ``start`` (:func:`_partial_order`: ``g[start:]`` sorted and
    above ``g[:start]``) are candidates."""
    moments = _prefix_moments(p, g, start)
    P_A, M1, M2 = (m[1:] for m in moments)  # prefixes of lengths start + 1 .. N
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = M1 / P_A
        var = np.maximum(M2 / P_A - mu * mu, 0.0)
        denom = c * c * P_A - 1.0
        eta_stat = np.where(denom > 0, mu + np.sqrt(var / denom), -np.inf)
    tail = g[start:]
    vals_stat = np.where(
        denom > 0,
        _chi2_dual_shifted(tail, moments, np.where(denom > 0, eta_stat, 0), c),
        -np.inf,
    )
    vals_break = _chi2_dual_shifted(tail, moments, tail, c)
    k_stat = int(np.argmax(vals_stat))
    k_break = int(np.argmax(vals_break))
    if vals_stat[k_stat] >= vals_break[k_break]:
        return start + k_stat + 1
    return max(1, start + k_break)


def _chi2_dual_shifted(
    tail: np.ndarray, moments: tuple[np.ndarray, ...], etas: np.ndarray, c: float
) -> np.ndarray:
    """Dual objective at many ``etas`` via the prefix moments of :func:`_prefix_moments` over
    the sorted ``tail``; an ``eta`` below the tail's first value counts the whole unsorted
    block as active, which can only lower the value (a candidate rank, not a bound)."""
    P_A, M1, M2 = moments
    k = np.searchsorted(tail, etas, side="left")  # active: g < eta
    S = P_A[k] * etas * etas - 2.0 * M1[k] * etas + M2[k]
    return etas - c * np.sqrt(np.maximum(S, 0.0))


def chi2_value(q: np.ndarray, f: np.ndarray, rho: float) -> float:
    """``n * min_P E_P f`` over the chi-square ball of radius ``rho / n`` (exact)."""
    q = np.asarray(q, dtype=float)
    n = q.sum()
    value, _ = chi2_worst_case(q / n, f, rho / n)
    return n * value


def objective_from_probabilities(
    q: np.ndarray, f: np.ndarray, objective: str, rho: float = 0.0
) -> float:
    """Value of ``objective`` in {erm, variance, chi2} for capture probabilities ``f`` (N,)."""
    if objective == "erm" or rho == 0.0:
        return float(erm_value(q, f))
    if objective == "variance":
        return float(variance_value(q, f, rho))
    if objective == "chi2":
        return chi2_value(q, f, rho)
    raise ValueError(f"unknown objective {objective!r}; use one of {OBJECTIVES}")


def evaluate(
    a: np.ndarray, q: np.ndarray, z: np.ndarray, objective: str, rho: float = 0.0
) -> float:
    """Exact full-data objective of the decision ``z`` (D,): the certificates' ``lower``."""
    return objective_from_probabilities(q, capture_probabilities(a, z), objective, rho)


def evaluate_many(
    a: np.ndarray, q: np.ndarray, Z: np.ndarray, objective: str, rho: float = 0.0
) -> np.ndarray:
    """Exact objective of each row of ``Z`` (K, D); vectorised for ERM and variance."""
    Z = np.atleast_2d(np.asarray(Z, dtype=float))
    F = capture_probabilities(a, Z)
    if objective == "erm" or rho == 0.0:
        return erm_value(q, F)
    if objective == "variance":
        return variance_value(q, F, rho)
    return np.array([chi2_value(q, F[k], rho) for k in range(F.shape[0])])
