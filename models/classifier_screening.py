r"""Screening for the large hinge fits of :mod:`dro_opt.models.classifier_conic` (issue 12).

The conic programs of the hinge models carry one row with the ``d`` features per sample, so an
interior-point iteration costs about ``n d^2``. Most samples are far from the kinks of their
term at the optimum; these are aggregated into a few rows of an **under-estimator** of the
objective that is valid for every decision, so the reduced program's dual bound is a lower
bound of the full optimum whatever the split, and the exact objective of its solution (the
full data, :func:`~dro_opt.models.classifier_conic.exact_objective`) is the upper bound.
Rounds refine the split until the two meet (then the certificate of
:func:`~dro_opt.models.classifier_direct.fit_direct` is that of the reduced program: its dual
bound widened by ``|reduced objective - exact value|``); after a few rounds the full program
is solved instead. Samples are handled in bulk (index arrays), never one at a time.

Hinge ERM / Wasserstein (:func:`screened_hinge`): ``max(0, 1 - m_i)`` is replaced by 0 on
the samples with margin above 1 and, on groups of those below, by
:math:`\max(0, \sum_{i \in g} (1 - m_i))` (a sum of maxima is at least the maximum of the
sum).

Hinge chi-square (:func:`screened_chi2`): the Duchi & Namkoong dual
:math:`\eta + \sqrt{(1 + 2r)/n}\,\|g\|_2`, :math:`g_i = \max(0, 1 - m_i - \eta, -\eta)`
(:mod:`~dro_opt.models.classifier_conic`). The under-estimator keeps the kept samples exact,
merges the samples with margin above 1 into :math:`\sqrt{|Z|}\,t`, :math:`t \ge (-\eta)_+`
(there :math:`g_i \ge (-\eta)_+` since the hinge is :math:`\ge 0`), drops those with zero
excess (:math:`g_i \ge 0`) and merges the rest ``L`` into one variable
:math:`z \ge \max(0, \mu'(1 - m_L - \eta))` for a fixed unit vector :math:`\mu \ge 0`:
since :math:`g \ge 0` and :math:`g_i \ge 1 - m_i - \eta`,
:math:`\|g_L\|_2 \ge \mu' g_L \ge \mu'(1 - m_L - \eta)` (Cauchy-Schwarz), and the norm is
monotone on non-negative vectors. With :math:`\mu` the direction of :math:`g_L` at a point
near the optimum the bound is tight; from a poor point its minimiser runs away (a linear
term), so the point comes first from rounds of the exact-while-the-split-holds program (phase
1 of :func:`screened_chi2`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from dro_opt.models.classifier_conic import (
    CLARABEL_ATTEMPTS,
    Layout,
    Options,
    Solved,
    exact_objective,
    solve_layout,
    solve_rows,
)

#: Hinge ERM / Wasserstein fits above this many samples use margin screening.
SCREEN_MIN_SAMPLES = 2000
#: Samples kept individually per screening round (the margins closest to 1), at least.
SCREEN_KEEP = 800
#: Groups of the screened samples with margin below 1 (one aggregated hinge row each).
SCREEN_GROUPS = 20
#: Screening rounds before the full program is solved instead.
SCREEN_ROUNDS = 6


def screened_hinge(opts: Options, X: np.ndarray, ypm: np.ndarray) -> Solved | None:
    r"""Hinge ERM / Wasserstein by margin screening. With a guess of the margins
    :math:`m_i`, the samples split into the kept ``B`` (the margins closest to 1), ``Z``
    (:math:`m_i > 1`) and ``L`` (:math:`m_i < 1`), the latter cut into
    :data:`SCREEN_GROUPS` groups ``g`` by margin; the program with the hinge terms of ``Z``
    replaced by 0 and those of a group by :math:`\max(0, \sum_{i \in g} (1 - m_i))` is an
    **under-estimator** of the objective everywhere (:math:`\max(0, a) \ge 0` and
    :math:`\sum_i \max(0, a_i) \ge \max(0, \sum_i a_i)`), so its dual bound is a valid lower
    bound of the full optimum. At its solution the split is checked on all samples: a sample
    of ``L`` with :math:`m_i > 1` or of ``Z`` with :math:`m_i < 1` joins ``B`` and the round
    repeats. When none crossed, the reduced and the full objectives agree at the returned
    point (certificate: the exact re-evaluation and the reduced dual bound). The first guess
    is :func:`guess`; after :data:`SCREEN_ROUNDS` rounds the full program is solved."""
    n = X.shape[0]
    Xs = ypm[:, None] * X
    coef, intercept = guess(opts, X, ypm)
    margins = Xs @ coef + ypm * intercept
    keep = np.zeros(n, dtype=bool)
    keep[np.argsort(np.abs(margins - 1.0), kind="stable")[: 2 * SCREEN_KEEP]] = True
    for _ in range(SCREEN_ROUNDS):
        low = ~keep & (margins < 1.0)
        idx_low = np.flatnonzero(low)
        groups = np.array_split(idx_low[np.argsort(margins[idx_low], kind="stable")], SCREEN_GROUPS)
        groups = [g for g in groups if g.size]
        kept = np.flatnonzero(keep)
        rows = np.vstack([Xs[kept], *(Xs[g].sum(axis=0) for g in groups)])
        yrows = np.concatenate([ypm[kept], [float(ypm[g].sum()) for g in groups]])
        consts = np.concatenate([np.ones(kept.size), [float(g.size) for g in groups]])
        solved = solve_rows(opts, rows, yrows, consts, n)
        if solved is None:
            break
        margins = Xs @ solved.coef + ypm * solved.intercept
        crossed = ~keep & (low != (margins < 1.0))
        if not crossed.any():
            return solved
        keep |= crossed
        keep[np.argsort(np.abs(margins - 1.0), kind="stable")[:SCREEN_KEEP]] = True
    return solve_rows(opts, Xs, ypm, np.ones(n), n)


def guess(opts: Options, X: np.ndarray, ypm: np.ndarray) -> tuple[np.ndarray, float]:
    """A cheap approximate hinge fit for the first split of :func:`_screened` (its accuracy
    only changes how many rounds are needed, never the certificate): liblinear's
    ``LinearSVC``, which minimises ``||w||^2 / 2 + C sum_i hinge_i``, i.e. the mean hinge plus
    ``||w||^2 / (2 C n)``; the optimum of the mean hinge plus ``(alpha / 2) ||w||^2 +
    (r + c) ||w||`` is also that of the squared weight ``alpha + (r + c) / ||w*||``, so ``C``
    follows ``||w||`` for a few fits."""
    import warnings

    n = X.shape[0]
    slope = (opts.r if opts.amb == "wasserstein" else 0.0) + opts.norm_penalty
    # start from ||w|| = 1 (ERM: the weight 0.1); a weak weight makes liblinear slow
    weight = opts.alpha + slope if opts.alpha + slope > 0 else 0.1
    C, coef, intercept = 1.0 / (n * weight), np.zeros(X.shape[1]), 0.0
    for _ in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svc = LinearSVC(
                loss="hinge",
                C=C,
                fit_intercept=opts.fit_intercept,
                intercept_scaling=10.0,
                tol=1e-4,
                max_iter=2000,
            ).fit(X, ypm)
        coef = svc.coef_[0]
        intercept = float(svc.intercept_[0]) if opts.fit_intercept else 0.0
        norm = float(np.linalg.norm(coef))
        weight = opts.alpha + (slope / norm if norm > 0 else 0.0)
        if not weight > 0 or slope == 0.0:
            break
        C = 1.0 / (n * weight)
    return coef, intercept


#: Clarabel settings for the reduced chi-square programs: the defaults first (measured: with
#: iterative refinement off they ended AlmostSolved / InsufficientProgress and were re-run).
DEFAULTS_FIRST = CLARABEL_ATTEMPTS[1:]
#: Hinge chi-square fits above this many samples use screening (:func:`screened_chi2`).
CHI2_SCREEN_MIN_SAMPLES = 2000
#: Samples kept individually in the chi-square rounds, at least (else ``n / 10``).
CHI2_KEEP = 600
#: Relative gap (exact value - under-estimator's dual bound) accepted by :func:`screened_chi2`.
CHI2_BOUND_GAP = 1e-7


def screened_chi2(opts: Options, X: np.ndarray, ypm: np.ndarray) -> Solved | None:
    r"""Hinge chi-square in two phases (module docstring for the split and the bound).

    1. Candidate: the program with the kept samples exact, the samples above the margin as
       :math:`\sqrt{|Z|}\,t`, :math:`t \ge (-\eta)_+`, those with zero excess dropped, and the
       rest ``L`` (positive excess :math:`x_i = 1 - m_i - \eta`) by the exact norm of the
       affine map :math:`x_L = 1 - M_L v` through its Gram matrix
       :math:`M_L'M_L = U \Lambda U'`, :math:`\|x_L\|_2^2 = \|R v - g\|_2^2 + \rho^2` with
       :math:`R = \Lambda^{1/2} U'`, :math:`g = \Lambda^{-1/2} U' M_L' 1`,
       :math:`\rho^2 = |L| - \|g\|^2` (exact while the split holds), rounds until no sample
       leaves its group.
    2. Bound: the under-estimator of the module docstring (``L`` by
       :math:`\mu' x_L` with :math:`\mu` the unit direction of the candidate's excess) -- valid
       for every decision, so its dual bound is a lower bound of the full optimum; its solution
       is returned when the exact value there is within :data:`CHI2_BOUND_GAP` of that bound.

    Otherwise (no convergence, a failed solve) the full program is solved."""
    n = X.shape[0]
    Xs = ypm[:, None] * X
    c = math.sqrt(1.0 + 2.0 * opts.r)
    coef, intercept = guess(opts, X, ypm)
    size = max(CHI2_KEEP, n // 10)
    split = _chi2_split(Xs, ypm, coef, intercept, c, np.zeros(n, dtype=bool), size)
    for _ in range(SCREEN_ROUNDS):
        keep, above, lin, _ = split
        cand = _solve_chi2_candidate(opts, Xs, ypm, keep, lin, int(above.sum()), n)
        if cand is None:
            return solve_rows(opts, Xs, ypm, np.ones(n), n)
        margins = Xs @ cand.coef + ypm * cand.intercept
        hinge = np.maximum(1.0 - margins, 0.0)
        excess = hinge - _chi2_eta(hinge, c)
        dropped = ~keep & ~above & ~lin
        moved = (
            (above & (margins < 1.0))
            | (lin & ((excess < 0) | (margins > 1.0)))
            | (dropped & (excess > 0))
        )
        split = _chi2_split(Xs, ypm, cand.coef, cand.intercept, c, keep | moved, size)
        if not moved.any():
            break
    else:
        return solve_rows(opts, Xs, ypm, np.ones(n), n)
    keep, above, lin, excess = split
    bound = _solve_chi2_reduced(opts, Xs, ypm, keep, lin, excess, int(above.sum()), n)
    if bound is None or bound.dual is None:
        return solve_rows(opts, Xs, ypm, np.ones(n), n)
    margins = Xs @ bound.coef + ypm * bound.intercept
    upper = exact_objective(
        "hinge",
        "chi2",
        opts.r,
        margins,
        bound.coef,
        alpha=opts.alpha,
        norm_penalty=opts.norm_penalty,
    )[0]
    if upper - bound.dual <= CHI2_BOUND_GAP * max(1.0, abs(upper)):
        return bound
    return solve_rows(opts, Xs, ypm, np.ones(n), n)


def _chi2_split(
    Xs: np.ndarray,
    ypm: np.ndarray,
    coef: np.ndarray,
    intercept: float,
    c: float,
    keep: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(keep, above, lin, excess)`` at a decision: ``keep`` plus the ``size`` samples
    closest to a kink (margin 1 or excess 0), ``above`` the others with margin ``>= 1``,
    ``lin`` the others with positive excess ``max(0, 1 - m) - eta`` (``eta`` the dual's
    minimiser at the decision)."""
    margins = Xs @ coef + ypm * intercept
    hinge = np.maximum(1.0 - margins, 0.0)
    excess = hinge - _chi2_eta(hinge, c)
    kink = np.minimum(np.abs(margins - 1.0), np.abs(excess))
    keep = keep.copy()
    keep[np.argsort(kink, kind="stable")[:size]] = True
    above = ~keep & (margins >= 1.0)
    lin = ~keep & ~above & (excess > 0)
    return keep, above, lin, excess


def _chi2_eta(hinge: np.ndarray, c: float) -> float:
    """The minimiser of the convex ``eta + c sqrt(mean((l - eta)_+^2))`` (bounded Brent; only
    the split uses it)."""
    lo, hi = float(hinge.min()), float(hinge.max())

    def value(eta: float) -> float:
        return eta + c * math.sqrt(float(np.mean(np.maximum(hinge - eta, 0.0) ** 2)))

    res = minimize_scalar(
        value, bounds=(lo - (hi - lo) - 1.0, hi), method="bounded", options={"xatol": 1e-12}
    )
    return float(res.x)


def _chi2_layout(
    opts: Options, Xs: np.ndarray, ypm: np.ndarray, keep: np.ndarray, n: int, extra: int
) -> tuple[Layout, np.ndarray, dict[str, slice]]:
    """The shared part of both phases: ``w, b, eta, tau``, the kept samples' ``s`` with
    ``s_i >= max(0, 1 - m_i - eta, -eta)``, ``t >= max(0, -eta)`` and ``extra`` more scalars;
    the objective ``eta + sqrt((1 + 2r)/n) tau``."""
    d = Xs.shape[1]
    kept = np.flatnonzero(keep)
    k = kept.size
    lay = Layout()
    v = {"w": lay.var(d), "b": lay.var(1 if opts.fit_intercept else 0)}
    v["eta"], v["tau"], v["s"], v["t"] = lay.var(1), lay.var(1), lay.var(k), lay.var(1)
    v["extra"] = lay.var(extra)
    v["penalty"] = lay.var(1 if opts.norm_penalty > 0 else 0)
    lay.n_final = lay.n
    q = np.zeros(lay.n)
    q[v["eta"]] = 1.0
    q[v["tau"]] = math.sqrt((1.0 + 2.0 * opts.r) / n)
    eye = sp.identity(k, format="csr")
    one = np.ones((k, 1))
    s, eta, t = v["s"], v["eta"], v["t"]
    margin = lay.cols(v["w"], Xs[kept])
    if opts.fit_intercept:
        margin = margin + lay.cols(v["b"], ypm[kept][:, None])
    lay.add("nonneg", lay.cols(s, eye) + margin + lay.cols(eta, one), -np.ones(k))
    lay.add("nonneg", lay.cols(s, eye) + lay.cols(eta, one), np.zeros(k))
    lay.add("nonneg", lay.cols(s, eye), np.zeros(k))
    lay.add("nonneg", lay.cols(t, [[1.0]]) + lay.cols(eta, [[1.0]]), np.zeros(1))
    lay.add("nonneg", lay.cols(t, [[1.0]]), np.zeros(1))
    return lay, q, v


def _affine_excess(
    lay: Layout, v: dict[str, slice], Xs: np.ndarray, ypm: np.ndarray, mat: np.ndarray
) -> sp.csr_matrix:
    """``mat @ [Xs, ypm, 1]``-weighted margins as rows: ``-(mat Xs) w - (mat y) b - (mat 1)
    eta`` (the linear part of ``mat @ (1 - m - eta)``)."""
    rows = -lay.cols(v["w"], mat @ Xs) - lay.cols(v["eta"], mat.sum(axis=1, keepdims=True))
    if v["b"].stop > v["b"].start:
        rows = rows - lay.cols(v["b"], (mat @ ypm)[:, None])
    return rows


def _solve_chi2_candidate(
    opts: Options,
    Xs: np.ndarray,
    ypm: np.ndarray,
    keep: np.ndarray,
    lin: np.ndarray,
    n_above: int,
    n: int,
) -> Solved | None:
    """Phase 1 of :func:`screened_chi2`: ``r >= ||(R v - g, rho)|| = ||1 - m_L - eta||`` by
    the Gram matrix of the affine map on ``L`` (below), ``||(s, r, sqrt(|Z|) t)|| <= tau``."""
    lay, q, v = _chi2_layout(opts, Xs, ypm, keep, n, 1)
    idx = np.flatnonzero(lin)
    cols = [Xs[idx], np.ones((idx.size, 1))]
    if opts.fit_intercept:
        cols.insert(1, ypm[idx][:, None])
    # with G = M'M = U diag(lam) U' (M the map's columns [Xs, y, 1] on L, lam > 0 kept) and
    # M'1 in range(G): ||1 - M v||^2 = ||diag(sqrt lam) U'v - g||^2 + n_L - ||g||^2 with
    # g = diag(1 / sqrt lam) U'M'1 (a Gram matrix instead of a QR: measured 5.6 s for two
    # numpy QRs of 3000 x 102 on the loaded machine)
    M = np.hstack(cols)
    lam, U = np.linalg.eigh(M.T @ M)
    ok = lam > 1e-12 * max(float(lam.max()), 1e-300)
    root = np.sqrt(lam[ok])
    g = (U[:, ok].T @ M.sum(axis=0)) / root
    rho = math.sqrt(max(float(idx.size - g @ g), 0.0))
    R = root[:, None] * U[:, ok].T
    d = Xs.shape[1]
    rv = v["extra"]
    if idx.size:
        part = lay.cols(v["w"], R[:, :d]) + lay.cols(v["eta"], R[:, -1:])
        if opts.fit_intercept:
            part = part + lay.cols(v["b"], R[:, d : d + 1])
        small = sp.vstack([lay.cols(rv, [[1.0]]), part, sp.csr_matrix((1, lay.n_final))])
        lay.add("soc", small, np.concatenate([[0.0], -g, [rho]]), small.shape[0])
    else:
        lay.add("nonneg", lay.cols(rv, [[1.0]]), np.zeros(1))
    k = int(keep.sum())
    big = sp.vstack(
        [
            lay.cols(v["tau"], [[1.0]]),
            lay.cols(v["s"], sp.identity(k, format="csr")),
            lay.cols(rv, [[1.0]]),
            lay.cols(v["t"], [[math.sqrt(n_above)]]),
        ]
    )
    lay.add("soc", big, 0, k + 3)
    return solve_layout(
        lay, q, v["w"], v["b"], v["penalty"] if opts.norm_penalty else None, opts, DEFAULTS_FIRST
    )


def _solve_chi2_reduced(
    opts: Options,
    Xs: np.ndarray,
    ypm: np.ndarray,
    keep: np.ndarray,
    lin: np.ndarray,
    excess: np.ndarray,
    n_above: int,
    n: int,
) -> Solved | None:
    """Phase 2 of :func:`screened_chi2`, the under-estimator: ``z >= max(0, mu'(1 - m_L -
    eta))`` with ``mu`` the unit direction of ``excess`` on ``L``, ``||(s, z, sqrt(|Z|) t)||
    <= tau``."""
    lay, q, v = _chi2_layout(opts, Xs, ypm, keep, n, 1)
    idx = np.flatnonzero(lin)
    mu = excess[idx]
    norm = float(np.linalg.norm(mu))
    mu = mu / norm if norm > 0 else mu
    z = v["extra"]
    part = _affine_excess(lay, v, Xs[idx], ypm[idx], mu[None, :])
    lay.add("nonneg", lay.cols(z, [[1.0]]) - part, np.array([-float(mu.sum())]))
    lay.add("nonneg", lay.cols(z, [[1.0]]), np.zeros(1))
    k = int(keep.sum())
    big = sp.vstack(
        [
            lay.cols(v["tau"], [[1.0]]),
            lay.cols(v["s"], sp.identity(k, format="csr")),
            lay.cols(z, [[1.0]]),
            lay.cols(v["t"], [[math.sqrt(n_above)]]),
        ]
    )
    lay.add("soc", big, 0, k + 3)
    return solve_layout(
        lay, q, v["w"], v["b"], v["penalty"] if opts.norm_penalty else None, opts, DEFAULTS_FIRST
    )
