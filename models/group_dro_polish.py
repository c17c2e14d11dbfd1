r"""Newton polishing of group DRO solutions for smooth losses (logistic, squared).

Interior-point solvers stop at a duality gap of about 1e-8; on the flat objectives of group DRO
that leaves the parameters up to ~1e-5 off (measured: squared loss, paper 000 model, Clarabel).
For a smooth loss :math:`\ell` the optimality conditions are a small square system, solved here
by Newton's method from the solver's point; the result is kept only when it satisfies them to
near machine precision and does not raise the objective, so polishing can only tighten a
certificate (the solver's lower bound stays valid; the objective is re-evaluated exactly).

With :math:`\theta = (w, b)` and the signed samples :math:`z_i = y_i (x_i, 1)`, the margins are
:math:`m = Z\theta` and the group risks
:math:`R_k(\theta) = \frac{1}{n_k}\sum_{i \in k} \ell(m_i) + \frac{\alpha}{2}\|w\|^2`.

* :func:`polish_weighted_erm`: :math:`\min_\theta \sum_i s_i \ell(m_i) + \frac{\alpha}{2}\|w\|^2`
  (the mixture ERM of paper 000 Appendix A), Newton steps with backtracking.
* :func:`polish_group_dro`: the KKT system of :math:`\min_\theta \max_k R_k(\theta) - r_k`
  (paper 000 eq. 4) on the active groups :math:`A`:
  :math:`\sum_{k \in A} \lambda_k \nabla R_k = 0`, :math:`\sum_{k\in A} \lambda_k = 1`,
  :math:`R_k - r_k = t` (:math:`k \in A`), unknowns :math:`(\theta, \lambda_A, t)`; accepted only
  with :math:`\lambda_A \ge 0` and every inactive group's excess at most :math:`t`, i.e. a KKT
  point of the convex problem, hence optimal with the returned :math:`\lambda` its multipliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

#: Losses with two continuous derivatives (the hinge has none at the kink).
SMOOTH_LOSSES = ("logistic", "squared")
_RESIDUAL_TOL = 1e-11


@dataclass(frozen=True)
class Polished:
    """A polished point: parameters, multipliers (group DRO only) and the final residual."""

    theta: np.ndarray
    weights: np.ndarray | None
    residual: float


def _derivatives(loss: str, m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``l(m), l'(m), l''(m)`` elementwise."""
    if loss == "squared":
        return (1.0 - m) ** 2, -2.0 * (1.0 - m), np.full_like(m, 2.0)
    return np.logaddexp(0.0, -m), -expit(-m), expit(m) * expit(-m)


def _ridge(theta: np.ndarray, alpha: float, d: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian diagonal of ``alpha/2 ||w||^2`` (``w = theta[:d]``)."""
    mask = np.zeros(theta.size)
    mask[:d] = alpha
    return 0.5 * alpha * float(theta[:d] @ theta[:d]), mask * theta, mask


def signed_design(X: np.ndarray, ypm: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Rows ``y_i (x_i, 1)`` (or ``y_i x_i`` without intercept): ``margins = Z @ theta``."""
    Z = ypm[:, None] * X
    return np.hstack([Z, ypm[:, None]]) if fit_intercept else Z


def polish_weighted_erm(
    loss: str, Z: np.ndarray, sample_w: np.ndarray, alpha: float, d: int, theta: np.ndarray
) -> Polished | None:
    """Newton's method on the weighted ERM from ``theta``; ``None`` when it does not converge
    to a stationary point with an objective no higher than at ``theta``."""
    if loss not in SMOOTH_LOSSES:
        return None

    def value(t: np.ndarray) -> float:
        return float(sample_w @ _derivatives(loss, Z @ t)[0]) + _ridge(t, alpha, d)[0]

    start = value(theta)
    cur = theta.astype(float).copy()
    for _ in range(30):
        _, d1, d2 = _derivatives(loss, Z @ cur)
        _, rg, rh = _ridge(cur, alpha, d)
        grad = Z.T @ (sample_w * d1) + rg
        if float(np.abs(grad).max()) <= _RESIDUAL_TOL * max(1.0, abs(start)):
            break
        hess = (Z.T * (sample_w * d2)) @ Z + np.diag(rh)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(step).all():
            return None
        size, base = 1.0, value(cur)
        while size > 1e-8 and value(cur - size * step) > base + 1e-14 * max(1.0, abs(base)):
            size *= 0.5
        cur = cur - size * step
    _, d1, _ = _derivatives(loss, Z @ cur)
    residual = float(np.abs(Z.T @ (sample_w * d1) + _ridge(cur, alpha, d)[1]).max())
    if residual > 1e-9 or value(cur) > start + 1e-14 * max(1.0, abs(start)):
        return None
    return Polished(cur, None, residual)


def polish_group_dro(
    loss: str,
    Z: np.ndarray,
    codes: np.ndarray,
    counts: np.ndarray,
    calibration: np.ndarray,
    alpha: float,
    d: int,
    theta: np.ndarray,
    weights: np.ndarray,
) -> Polished | None:
    """Newton's method on the KKT system of the calibrated group DRO problem (module
    docstring) from the solver's ``theta`` and multipliers ``weights``; ``None`` unless it ends
    at a verified KKT point whose objective is no higher than at ``theta``."""
    if loss not in SMOOTH_LOSSES:
        return None
    K = counts.size
    p = theta.size

    def risks_grads(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        val, d1, d2 = _derivatives(loss, Z @ t)
        rv, rg, rh = _ridge(t, alpha, d)
        R = np.bincount(codes, weights=val, minlength=K) / counts + rv
        G = np.stack([Z[codes == k].T @ d1[codes == k] / counts[k] for k in range(K)], axis=1)
        G += rg[:, None]
        H = [(Z[codes == k].T * d2[codes == k]) @ Z[codes == k] / counts[k] for k in range(K)]
        return R, G, [h + np.diag(rh) for h in H]

    R0 = risks_grads(theta)[0]
    start = float(np.max(R0 - calibration))
    active = np.flatnonzero(weights > 1e-6 * max(1.0, float(weights.max())))
    for _attempt in range(K):
        cur = theta.astype(float).copy()
        lam = weights[active] / weights[active].sum()
        t = float(np.max(R0[active] - calibration[active]))
        a = active.size
        residual = np.inf
        for _ in range(40):
            R, G, H = risks_grads(cur)
            GA = G[:, active]
            F = np.concatenate([GA @ lam, [lam.sum() - 1.0], R[active] - calibration[active] - t])
            residual = float(np.abs(F).max())
            if residual <= _RESIDUAL_TOL * max(1.0, abs(start)):
                break
            J = np.zeros((p + 1 + a, p + a + 1))
            J[:p, :p] = sum(lam[j] * H[k] for j, k in enumerate(active))
            J[:p, p : p + a] = GA
            J[p, p : p + a] = 1.0
            J[p + 1 :, :p] = GA.T
            J[p + 1 :, p + a] = -1.0
            try:
                delta = np.linalg.solve(J, -F)
            except np.linalg.LinAlgError:
                return None
            if not np.isfinite(delta).all():
                return None
            cur, lam, t = cur + delta[:p], lam + delta[p : p + a], t + delta[p + a]
        if residual > _RESIDUAL_TOL * max(1.0, abs(start)) * 100:
            return None
        if (lam < 0).any():  # a group left the active set: drop the most negative, retry
            active = np.delete(active, int(np.argmin(lam)))
            if active.size == 0:
                return None
            continue
        excess = risks_grads(cur)[0] - calibration
        inactive = np.setdiff1d(np.arange(K), active)
        slack = 100 * _RESIDUAL_TOL * max(1.0, abs(t))
        if (excess[inactive] > t + slack).any() or float(excess.max()) > start:
            return None
        full = np.zeros(K)
        full[active] = lam
        return Polished(cur, full / full.sum(), residual)
    return None
