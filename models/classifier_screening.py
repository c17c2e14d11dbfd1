r"""Screening for the large hinge fits of :mod:`dro_opt.models.classifier_conic` (issue 12).

The conic programs of the hinge models carry one row with the ``d`` features per sample, so an
interior-point iteration costs about ``n d^2``. Most samples are far from the kinks of their
term at the optimum; these are aggregated into a few rows of an **under-estimator** of the
objective that is valid for every decision, so the reduced program's dual bound is a lower
bound of the full optimum whatever the split, and the exact objective of its solution (the
full data, :func:`~dro_opt.models.classifier_conic.exact_objective`) is the upper bound.
Rounds refine the split until the two meet (then the certificate of
:func:`~dro_opt.models.classifier_conic.fit_direct` is that of the reduced program: its dual
bound widened by ``|reduced objective - exact value|``); after a few rounds the full program
is solved instead. Samples are handled in bulk (index arrays), never one at a time.

Hinge ERM / Wasserstein (:func:`screened_hinge`): ``max(0, 1 - m_i)`` is replaced by 0 on
the samples with margin above 1 and, on groups of those below, by
:math:`\max(0, \sum_{i \in g} (1 - m_i))` (a sum of maxima is at least the maximum of the
sum). (The same idea for the chi-square dual, with the far samples merged under the norm by
Cauchy-Schwarz, was tried and dropped: from the liblinear first guess its rounds did not
converge on the benchmark data, so chi-square fits solve the full program.)
"""

from __future__ import annotations

import numpy as np

from dro_opt.models.classifier_conic import (
    Options,
    Solved,
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

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

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
