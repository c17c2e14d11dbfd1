r"""Paper 000 Algorithm 1 ("A Lagrangian DRO algorithm") for models given by loss-and-gradient
callables.

The calibrated finite-family DRO problem :math:`\min_w \max_k C_k(w) - r_k` (paper 000 eq. (3))
is attacked through its Lagrangian (paper 000 Appendix A): ERM on a mixture
:math:`\sum_k \lambda_k P_k` whose weights are a running average of softmax responses. As
printed (paper 000 Section 3.3)::

    t <- K;  lambda_k <- 1/t
    repeat
        w_{t+1} <- Descend(w_t, {D_1 * lambda_1, ..., D_K * lambda_K})
        c_k     <- Cost(w_{t+1}, D_k)
        delta_k <- exp(beta (c_k - r_k)) / Z,   Z such that sum_k delta_k = 1
        lambda_k <- (t lambda_k + delta_k) / (t + 1)
        t <- t + 1
    until max_k |lambda_k - delta_k| < t eps

``Descend`` (unspecified in the paper) is here ``descend_steps`` steps of gradient descent with
step ``lr`` on :math:`\sum_k \lambda_k C_k` from the current iterate. ``beta = inf`` makes
:math:`\delta` one-hot on :math:`\arg\max_k c_k - r_k` (each outer step adds a copy of the
worst group). The stopping threshold :math:`t \varepsilon` grows with :math:`t`, as printed, so
the loop always ends (after at most about :math:`1 / \varepsilon` steps); ``max_iter`` caps it
as well. The algorithm carries no optimality certificate: for convex linear models the exact
conic model of :class:`~dro_opt.models.group_dro.GroupDROClassifier` gives the certified answer,
and :attr:`LagrangianDROResult.robust_objective` is the exact max of the calibrated costs at the
returned ``w`` (an upper bound of the DRO optimum).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dro_opt.errors import ParameterError

#: A group cost: ``w -> (C_k(w), grad C_k(w))``.
CostFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass
class LagrangianDROResult:
    """Output of :func:`lagrangian_dro`."""

    w: np.ndarray  # last iterate w_t
    weights: np.ndarray  # lambda (running average)
    deltas: np.ndarray  # last softmax response delta
    costs: np.ndarray  # C_k(w) at the last iterate
    robust_objective: float  # max_k C_k(w) - r_k at the last iterate (exact)
    iterations: int  # outer steps taken
    stopped_by: str  # "threshold" (the printed rule) or "max_iter"
    history: list[np.ndarray] = field(default_factory=list, repr=False)  # w_t sequence


def lagrangian_dro(
    costs: Sequence[CostFn],
    w0: Any,
    calibration: Any = None,
    *,
    beta: float = 10.0,
    eps: float = 1e-3,
    lr: float = 0.1,
    descend_steps: int = 20,
    max_iter: int = 10_000,
    keep_history: bool = False,
    verbose: bool = False,
) -> LagrangianDROResult:
    r"""Run paper 000 Algorithm 1 (module docstring).

    Parameters
    ----------
    costs : one callable per group, ``w -> (C_k(w), gradient)`` (any differentiable or
        sub-differentiable model).
    w0 : initial parameters.
    calibration : the :math:`r_k` (default 0).
    beta : softmax temperature :math:`\beta > 0` (``math.inf``: arg-max response).
    eps : stopping threshold :math:`\varepsilon > 0` of the printed rule.
    lr, descend_steps : the ``Descend`` step: gradient steps on the mixture cost.
    max_iter : cap on the outer steps.
    keep_history : keep every iterate in ``history``.
    verbose : print one line per outer step.
    """
    K = len(costs)
    if K < 1 or not all(callable(c) for c in costs):
        raise ParameterError("costs must be a non-empty sequence of callables w -> (C_k, grad)")
    w = np.array(w0, dtype=float)
    r = np.zeros(K) if calibration is None else np.asarray(calibration, dtype=float).ravel()
    if r.size != K or not np.isfinite(r).all():
        raise ParameterError(f"calibration must hold {K} finite numbers (one r_k per group)")
    if not (beta > 0) or math.isnan(beta):
        raise ParameterError(f"beta (temperature) must be > 0 or inf, got {beta!r}")
    for value, what in ((eps, "eps"), (lr, "lr")):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{what} must be a positive finite number, got {value!r}")
    if int(descend_steps) < 1 or int(max_iter) < 1:
        raise ParameterError("descend_steps and max_iter must be >= 1")
    t = K
    lam = np.full(K, 1.0 / K)
    history = [w.copy()] if keep_history else []
    stopped = "max_iter"
    delta = lam.copy()
    c = np.zeros(K)
    for step in range(int(max_iter)):
        w = _descend(costs, w, lam, lr, int(descend_steps))
        c = np.array([costs[k](w)[0] for k in range(K)], dtype=float)
        delta = _softmax_response(c - r, beta)
        lam = (t * lam + delta) / (t + 1)
        t += 1
        if keep_history:
            history.append(w.copy())
        gap = float(np.max(np.abs(lam - delta)))
        if verbose:
            print(f"lagrangian-dro step {step + 1}: max_k c_k - r_k = {np.max(c - r):.6g}, "
                  f"max|lambda - delta| = {gap:.3g} (threshold {t * eps:.3g})")  # fmt: skip
        if gap < t * eps:
            stopped = "threshold"
            break
    return LagrangianDROResult(
        w=w,
        weights=lam,
        deltas=delta,
        costs=c,
        robust_objective=float(np.max(c - r)),
        iterations=t - K,
        stopped_by=stopped,
        history=history,
    )


def _descend(
    costs: Sequence[CostFn], w: np.ndarray, lam: np.ndarray, lr: float, steps: int
) -> np.ndarray:
    """``steps`` gradient steps on :math:`\\sum_k \\lambda_k C_k` (the weighted union)."""
    for _ in range(steps):
        grad = np.zeros_like(w)
        for k, cost in enumerate(costs):  # one call per group, not per sample
            if lam[k] > 0:
                grad += lam[k] * np.asarray(cost(w)[1], dtype=float)
        w = w - lr * grad
    return w


def _softmax_response(excess: np.ndarray, beta: float) -> np.ndarray:
    """:math:`\\delta_k \\propto \\exp(\\beta (c_k - r_k))` (one-hot on the arg max for
    ``beta = inf``), computed stably."""
    if math.isinf(beta):
        out = np.zeros_like(excess)
        out[int(np.argmax(excess))] = 1.0
        return out
    z = beta * (excess - excess.max())
    e = np.exp(z)
    return e / e.sum()


def linear_group_costs(
    X: np.ndarray, ypm: np.ndarray, codes: np.ndarray, loss: str, alpha: float = 0.0
) -> list[CostFn]:
    r"""Per-group costs of a linear model :math:`\theta = (w, b)` for :func:`lagrangian_dro`:
    :math:`C_k(\theta) = \frac{1}{n_k}\sum_{i \in k} \ell(y_i (w'x_i + b)) +
    \frac{\alpha}{2}\|w\|^2` with its (sub)gradient (hinge: the subgradient with weight 0 at the
    kink), vectorised over the group's samples. ``ypm`` are labels coded :math:`\pm 1`,
    ``codes`` the group index of every sample.
    """
    if loss not in ("logistic", "hinge", "squared"):
        raise ParameterError(f"loss must be 'logistic', 'hinge' or 'squared', got {loss!r}")
    out: list[CostFn] = []
    for k in range(int(codes.max()) + 1):
        rows = codes == k
        Xa = np.column_stack([X[rows], np.ones(int(rows.sum()))]) * ypm[rows, None]
        out.append(_make_cost(Xa, loss, alpha))
    return out


def _make_cost(Xa: np.ndarray, loss: str, alpha: float) -> CostFn:
    n = Xa.shape[0]

    def cost(theta: np.ndarray) -> tuple[float, np.ndarray]:
        m = Xa @ theta
        if loss == "hinge":
            val = np.maximum(1.0 - m, 0.0)
            dm = -(m < 1.0).astype(float)
        elif loss == "logistic":
            val = np.logaddexp(0.0, -m)
            dm = -np.exp(-np.logaddexp(0.0, m))  # -sigmoid(-m)
        else:
            val = (1.0 - m) ** 2
            dm = -2.0 * (1.0 - m)
        w = theta[:-1]
        grad = Xa.T @ dm / n
        grad[:-1] += alpha * w
        return float(val.mean() + 0.5 * alpha * w @ w), grad

    return cost


__all__ = ["LagrangianDROResult", "lagrangian_dro", "linear_group_costs"]
