r"""Paper 001 Algorithm 1: Per-Group DRO by iterative best response, for models given by a
loss-and-gradient interface (nonlinear models; the linear case has the exact conic model of
:class:`~dro_opt.models.per_group_dro.PerGroupDROClassifier`).

For fixed radii :math:`(\rho, \{\varepsilon_g\})` the lower level (paper 001 eq. (2)) is
:math:`\min_\theta \max_{p \in P_\phi(\rho)} \sum_g p_g \max_{q_g \in Q_g(\varepsilon_g)}
E_{q_g}[\ell(\theta)]`. Algorithm 1 (paper 001 Section 3) alternates, per epoch :math:`t`:

1. :math:`\theta \leftarrow \theta - \eta_\theta^t \nabla_\theta \sum_g p_g E_{q_g}[\ell(\theta)]`
   (plus the ridge :math:`\frac{\alpha}{2}\|\theta_{\text{penalised}}\|^2`);
2. for every group, :math:`q_g \leftarrow` projected gradient ascent (the PGD of Madry et al.
   2018 / Sinha et al. 2018 the paper cites) on :math:`E_{q_g}[\ell(\theta)]` over the
   distributions that move each of the group's :math:`n_g` points (equal weights, labels fixed)
   with average displacement :math:`\frac{1}{n_g}\sum_i \|\tilde x_i - x_i\|_2 \le
   \varepsilon_g` -- a subset of the type-1 Wasserstein ball (the Monge couplings of the
   empirical distribution), so the inner value is a lower estimate of the true supremum;
   warm-started from the previous :math:`q_g`. The projection onto
   :math:`\{D : \sum_i \|D_i\|_2 \le n_g \varepsilon_g\}` soft-thresholds the displacement norms
   by the :math:`\tau` of the Euclidean projection of the norm vector onto the
   :math:`\ell_1` ball (Duchi et al. 2008), i.e. it is exact;
3. :math:`p^* = \arg\max_{p \in P_\phi(\rho)} \sum_g p_g E_{q_g}[\ell]` exactly (the worst case of
   the modelling layer's phi-divergence set, :mod:`dro_opt.ambiguity`, by its closed forms and
   Lagrangian route without a conic solve: :func:`best_group_weights`), and the damped update
   :math:`p \leftarrow (1 - \eta_p^t) p + \eta_p^t p^*`.

The paper leaves the schedules, PGD steps and norm unspecified; here
:math:`\eta_\theta^t = \eta_\theta / (1 + t)^{\text{decay}}`, :math:`\eta_p^t = 2 / (t + 2)`
(Frank-Wolfe), ``pgd_steps`` ascent steps of size ``pgd_lr`` per epoch, :math:`p^0 = \hat p`,
:math:`q_g^0 = \hat q_g`. Full-batch gradients (the paper's SGD with the whole data as batch).

For the hinge loss of a linear model the restricted inner maximum equals the closed form
:math:`E[\ell] + \varepsilon_g \|w\|_2` as soon as one point of the group has margin below 1
(moving it along :math:`-y w` raises its loss at slope exactly :math:`\|w\|_2`), which is how the
tests compare Algorithm 1 run to convergence with the exact conic model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from dro_opt.ambiguity import phi_divergence
from dro_opt.ambiguity.phi_divergence import (
    _argmax_candidate,
    _tv_primal,
    kkt_primal,
    make_feasible,
)
from dro_opt.errors import ParameterError

from .per_group_dro import check_radii


class DifferentiableModel(Protocol):
    """What Algorithm 1 needs of a model with flat parameters ``theta``."""

    def losses(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        """(n,) per-sample losses; labels coded :math:`\\pm 1`."""
        ...

    def grad_theta(
        self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """Gradient in ``theta`` of ``weights @ losses``."""
        ...

    def grad_x(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        """(n, d) gradient of every sample's loss in its own features."""
        ...

    def penalised(self, theta: np.ndarray) -> np.ndarray:
        """Boolean mask of the parameters under the ridge (e.g. no intercepts)."""
        ...


@dataclass
class BestResponseResult:
    """Output of :func:`iterative_best_response`."""

    theta: np.ndarray
    group_weights: np.ndarray  # p at the end
    X_adv: np.ndarray  # the moved points of the q_g
    robust_loss: float  # sum_g p*_g E_{q_g}[loss] at the end (fresh best responses)
    objective: float  # robust_loss + ridge
    group_losses: np.ndarray  # nominal L_g at theta
    group_robust_losses: np.ndarray  # E_{q_g}[loss] at theta (PGD estimate of the inner sup)
    epochs: int
    history: list[float] = field(default_factory=list, repr=False)  # objective per epoch


def iterative_best_response(
    model: DifferentiableModel,
    theta0: Any,
    X: Any,
    ypm: Any,
    codes: Any,
    *,
    phi: str = "kl",
    rho: float = 0.1,
    eps: Any = 0.0,
    alpha: float = 0.0,
    epochs: int = 200,
    lr: float = 0.5,
    decay: float = 0.5,
    pgd_steps: int = 10,
    pgd_lr: float = 0.5,
    divergence_params: dict[str, Any] | None = None,
    verbose: bool = False,
) -> BestResponseResult:
    r"""Run paper 001 Algorithm 1 (module docstring).

    ``X`` (n, d) features, ``ypm`` labels coded :math:`\pm 1`, ``codes`` the group index
    ``0..G-1`` of every sample; ``phi``, ``rho``, ``eps`` the radii (``eps`` scalar or per
    group); ``alpha`` the ridge; ``epochs``, ``lr``, ``decay``, ``pgd_steps``, ``pgd_lr`` the
    schedules.
    """
    X, ypm, codes, counts = _check_data(X, ypm, codes)
    G = counts.size
    rho, eps_g = check_radii(rho, eps, G)
    for value, what in ((lr, "lr"), (pgd_lr, "pgd_lr")):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{what} must be a positive finite number, got {value!r}")
    ball = phi_divergence(phi, rho, **(divergence_params or {}))
    p_hat = counts / counts.sum()
    sample_mean = 1.0 / counts[codes]  # E over each group's points
    budget = eps_g * counts  # sum of displacement norms per group
    theta = np.array(theta0, dtype=float)
    mask = np.asarray(model.penalised(theta), dtype=bool)
    p = p_hat.copy()
    X_adv = X.copy()
    history: list[float] = []

    def ridge(th: np.ndarray) -> float:
        return 0.5 * alpha * float(th[mask] @ th[mask])

    for t in range(int(epochs)):
        weights = p[codes] * sample_mean
        grad = model.grad_theta(theta, X_adv, ypm, weights)
        grad = grad + alpha * np.where(mask, theta, 0.0)
        theta = theta - lr / (1.0 + t) ** decay * grad
        X_adv = _pgd(model, theta, X, X, ypm, codes, budget, pgd_steps, pgd_lr)
        robust = _group_means(model.losses(theta, X_adv, ypm), codes, counts)
        p_star = best_group_weights(ball, robust, p_hat)
        step = 2.0 / (t + 2.0)
        p = (1.0 - step) * p + step * p_star
        history.append(float(p_star @ robust) + ridge(theta))
        if verbose:
            print(f"per-gdro epoch {t + 1}: robust objective {history[-1]:.6g}")
    X_adv = _pgd(model, theta, X, X, ypm, codes, budget, 5 * pgd_steps, pgd_lr)
    robust = _group_means(model.losses(theta, X_adv, ypm), codes, counts)
    wc = ball.worst_case_distribution(robust, p_hat)
    return BestResponseResult(
        theta=theta,
        group_weights=np.asarray(wc.probabilities, dtype=float)[:G],
        X_adv=X_adv,
        robust_loss=float(wc.value),
        objective=float(wc.value) + ridge(theta),
        group_losses=_group_means(model.losses(theta, X, ypm), codes, counts),
        group_robust_losses=robust,
        epochs=int(epochs),
        history=history,
    )


def robust_validation_estimate(
    model: DifferentiableModel,
    theta: Any,
    X: Any,
    ypm: Any,
    codes: Any,
    *,
    phi: str = "kl",
    rho: float = 0.1,
    eps: Any = 0.0,
    pgd_steps: int = 50,
    pgd_lr: float = 0.5,
    divergence_params: dict[str, Any] | None = None,
) -> float:
    r"""Paper 001 eq. (9) for a differentiable model: :math:`\max_{p \in P_\phi^{val}(\rho)}
    \sum_g p_g \widehat{\sup}_{q_g} E_{q_g}[\ell(\theta)]` on validation data, the inner sup
    estimated by ``pgd_steps`` projected-gradient steps over the moved points (module
    docstring, step 2: a lower estimate of the type-1 Wasserstein supremum, not a bound), the
    outer max over the phi-ball around the validation proportions exactly (the set's worst
    case). Every group code ``0..G-1`` must occur."""
    X, ypm, codes, counts = _check_data(X, ypm, codes)
    G = counts.size
    rho, eps_g = check_radii(rho, eps, G)
    theta = np.asarray(theta, dtype=float)
    X_adv = _pgd(model, theta, X, X, ypm, codes, eps_g * counts, pgd_steps, pgd_lr)
    robust = _group_means(model.losses(theta, X_adv, ypm), codes, counts)
    ball = phi_divergence(phi, rho, **(divergence_params or {}))
    return float(ball.worst_case_distribution(robust, counts / counts.sum()).value)


def best_group_weights(ball: Any, losses: np.ndarray, p_hat: np.ndarray) -> np.ndarray:
    """A feasible maximiser of ``p @ losses`` over the phi-ball around ``p_hat``: the set's own
    closed forms and Lagrangian (KKT) route of :mod:`dro_opt.ambiguity.phi_divergence` (no conic
    solve per epoch; each candidate made exactly feasible), else its full worst case."""
    div, r = ball.divergence, ball.radius
    if r == 0.0:
        return p_hat.copy()
    active = np.ones(p_hat.size, dtype=bool)
    P, cost = _argmax_candidate(div, losses, p_hat, active)
    if cost <= r:
        return P
    if div.name == "tv":
        return make_feasible(div, r, _tv_primal(r, losses, p_hat), p_hat)
    P = kkt_primal(div, r, losses, p_hat)
    if P is None:
        wc = ball.worst_case_distribution(losses, p_hat)
        return np.asarray(wc.probabilities, dtype=float)[: p_hat.size]
    return make_feasible(div, r, P, p_hat)


def _check_data(X: Any, ypm: Any, codes: Any) -> tuple[np.ndarray, ...]:
    """``(X, ypm, codes, group counts)`` as arrays; every group code ``0..G-1`` must occur."""
    X = np.asarray(X, dtype=float)
    ypm = np.asarray(ypm, dtype=float)
    codes = np.asarray(codes, dtype=int)
    if X.ndim != 2 or ypm.shape != (X.shape[0],) or codes.shape != (X.shape[0],):
        raise ParameterError("X must be (n, d) with one label and one group code per row")
    G = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=G)
    if (counts == 0).any():
        raise ParameterError(f"group {int(np.flatnonzero(counts == 0)[0])} has no samples")
    return X, ypm, codes, counts


def _group_means(values: np.ndarray, codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.bincount(codes, weights=values, minlength=counts.size) / counts


def _pgd(
    model: DifferentiableModel,
    theta: np.ndarray,
    X: np.ndarray,
    X_adv: np.ndarray,
    ypm: np.ndarray,
    codes: np.ndarray,
    budget: np.ndarray,
    steps: int,
    lr: float,
) -> np.ndarray:
    """Projected gradient ascent of every group's summed loss over the moved points."""
    if not budget.any():
        return X.copy()
    D = X_adv - X
    for _ in range(int(steps)):
        D = D + lr * model.grad_x(theta, X + D, ypm)
        D = project_displacements(D, codes, budget)
    return X + D


def project_displacements(D: np.ndarray, codes: np.ndarray, budget: np.ndarray) -> np.ndarray:
    r"""Euclidean projection of the displacements ``D`` (n, d) onto
    :math:`\{D : \sum_{i \in g} \|D_i\|_2 \le B_g \ \forall g\}`: the norms are soft-thresholded
    by the per-group :math:`\tau_g \ge 0` of the projection of the norm vector onto the
    :math:`\ell_1` ball of radius :math:`B_g` (Duchi, Shalev-Shwartz, Singer & Chandra, ICML
    2008), directions kept. Vectorised by a lexicographic sort over (group, -norm)."""
    norms = np.linalg.norm(D, axis=1)
    G = budget.size
    totals = np.bincount(codes, weights=norms, minlength=G)
    over = totals > budget
    if not over.any():
        return D
    order = np.lexsort((-norms, codes))
    g_sorted = codes[order]
    v = norms[order]
    start = np.searchsorted(g_sorted, np.arange(G))
    csum = np.cumsum(v)
    base = np.where(start > 0, csum[start - 1], 0.0)
    within = csum - base[g_sorted]  # cumulative sum inside each group
    rank = np.arange(v.size) - start[g_sorted] + 1
    cand = (within - budget[g_sorted]) / rank
    ok = v > cand  # the support of the soft-threshold (a prefix of each group)
    last = np.zeros(G, dtype=int)
    np.maximum.at(last, g_sorted[ok], rank[ok])
    tau = np.zeros(G)
    has = last > 0
    idx = start[has] + last[has] - 1
    tau[has] = np.maximum(cand[idx], 0.0)
    tau[over & ~has] = np.inf  # budget 0: every displacement of the group projects to 0
    tau = np.where(over, tau, 0.0)
    shrink = np.maximum(norms - tau[codes], 0.0)
    scale = np.divide(shrink, norms, out=np.zeros_like(norms), where=norms > 0)
    return D * scale[:, None]


__all__ = [
    "BestResponseResult",
    "DifferentiableModel",
    "iterative_best_response",
    "project_displacements",
    "robust_validation_estimate",
]
