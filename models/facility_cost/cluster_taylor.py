r"""Second-order bound on a cluster's mean capture vs its centroid's, uniform in the decision.

The clustering line of :mod:`.reduce` bounds every client against its centroid separately
(``d_ik >= sup_z |f_i(z) - f_k(z)|``, first order in the distance). What the certificate needs
is less: a bound ``e_k >= sup_z |fhat_k(z) - g_k(z)|`` on the cluster's MEAN capture
``fhat_k = sum_i (q_i / w_k) f_i`` against the centroid's ``g_k`` (the reverse-kernel form of
:func:`dro_opt.reductions.representatives.representative_line`). Because the centroid is the
weighted mean of its clients' parameters, the first-order terms cancel (paper 003 Thm. 3 uses the
same cancellation in spirit; this is our rigorous, computed version).

Setting. ``f(theta; z) = sigmoid(s)``, ``s = log sum_j exp(u_j)``, ``u_j = b_j + L(r_j z_j)``,
``L(x) = log expm1(x)`` (:mod:`.objective`; locations with ``z_j = 0`` drop out), parameters
``theta = (b, r)`` with every ``r_j > 0``. For client ``i`` of cluster ``k`` let ``Delta_i =
theta_i - theta_k``. Taylor's theorem with Lagrange remainder on the segment, for every ``z``::

    f(theta_i) - f(theta_k) = grad f(theta_k) . Delta_i + f''_i(xi) / 2,
    fhat_k - g_k = grad f(theta_k) . eps_k + sum_i (q_i / w_k) f''_i(xi_i) / 2,

with ``eps_k = sum_i (q_i / w_k) Delta_i`` (zero for the exact weighted mean; its computed value
is kept, so round-off or a centroid that is not the mean stays covered). Along the direction
``Delta = (db, dr)`` (dots = derivatives in ``t``; ``phi_j = z_j L'(r_j z_j) = z_j / (1 -
e^{-r_j z_j})``, ``pi = softmax(u)``)::

    du_j = db_j + phi_j dr_j,    ddu_j = z_j^2 L''(r_j z_j) dr_j^2,
    ds = pi . du,                dds = pi . ddu + Var_pi(du),
    f'' = sigma'(s) dds + sigma''(s) ds^2,  sigma' = f (1 - f),  sigma'' = f (1 - f)(1 - 2 f).

Bounds valid for every ``z`` in the box ``[0, U']`` and every point of the segment (rates between
``r_lo = min(r_ij, r_kj)`` and ``r_hi = max(r_ij, r_kj)``):

* ``phi_j`` lies in ``[1 / r_hi, U'_j / (1 - e^{-r_lo U'_j})]`` (``x / (1 - e^{-x}) >= 1`` is
  increasing in ``x``, and ``phi`` is decreasing in ``r``), so ``du_j`` lies in ``[lo_j, hi_j]``
  (its values at the two ends, linear in ``phi``); ``|ds| <= A = max_j max(|lo_j|, |hi_j|)`` and
  ``Var_pi(du) <= V = (max_j hi_j - min_j lo_j)^2 / 4`` (Popoviciu);
* ``0 >= ddu_j >= -dr_j^2 / r_lo^2`` (``x^2 |L''(x)| = (x / 2)^2 / sinh^2(x / 2) <= 1``), so
  ``dds`` lies in ``[-B, V]`` with ``B = max_j dr_j^2 / r_lo^2``;
* ``S`` is increasing in every ``b_j``, ``r_j`` and ``z_j``, so on the segment ``f <= f_hi =
  f(max(theta_i, theta_k); U')`` (coordinatewise max).

Hence ``|f''| <= f (1 - f) (X + |1 - 2 f| Y)`` with ``X = max(B, V)``, ``Y = A^2``; with ``t =
|1 - 2 f|`` in ``[t_lo, 1]``, ``t_lo = max(0, 1 - 2 f_hi)``, this is ``h(t) = (1 - t^2)(X + t Y)
/ 4``, unimodal on ``[0, 1]`` with its peak at ``t* = (sqrt(X^2 + 3 Y^2) - X) / (3 Y)``; the
bound is ``h(max(t*, t_lo))``. The gradient term: ``|d f / d b_j| = sigma' pi_j`` and ``|d f /
d r_j| = sigma' pi_j phi_j``, so ``|grad f . eps_k| <= max_j (|eps_bj| + phi_hi,kj |eps_rj|) / 4``.
A client or centroid with a zero rate or a ``-inf`` bias (``L`` is singular there) makes its
cluster's bound ``inf``; the caller then keeps the first-order one.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from dro_opt.models.facility_cost.instance import FCPInstance
from dro_opt.models.facility_cost.objective import capture_probabilities

#: absolute slack per cluster for the floating-point evaluation of the bound itself
ROUNDING_SLACK = 1e-12


def _peak(X: np.ndarray, Y: np.ndarray, t_lo: np.ndarray) -> np.ndarray:
    """``max_{t in [t_lo, 1]} (1 - t^2)(X + t Y) / 4`` (module docstring)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = np.where(Y > 0, (np.sqrt(X * X + 3.0 * Y * Y) - X) / (3.0 * Y), 0.0)
    t = np.maximum(np.nan_to_num(t_star, nan=0.0), t_lo)
    return (1.0 - t * t) * (X + t * Y) / 4.0


def cluster_mean_bounds(
    full: FCPInstance,
    reduced: FCPInstance,
    labels: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """``e_k >= sup_z |fhat_k(z) - g_k(z)|`` for every representative ``k`` (module docstring);
    ``labels[i]`` = representative of client ``i``, ``upper`` = the box ``U'``."""
    K = reduced.num_clients
    q, k = full.q, np.asarray(labels)
    w = np.bincount(k, weights=q, minlength=K)
    db, dr = full.bias - reduced.bias[k], full.rate - reduced.rate[k]
    r_lo = np.minimum(full.rate, reduced.rate[k])
    r_hi = np.maximum(full.rate, reduced.rate[k])
    singular = ~np.isfinite(full.bias).all(axis=1) | ~np.isfinite(reduced.bias[k]).all(axis=1)
    singular |= (r_lo <= 0).any(axis=1)
    U = np.asarray(upper, dtype=float)[None, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        phi_lo, phi_hi = 1.0 / r_hi, U / -np.expm1(-r_lo * U)
        ends = np.stack([db + phi_lo * dr, db + phi_hi * dr])
        lo, hi = ends.min(axis=0), ends.max(axis=0)
        A = np.abs(ends).max(axis=(0, 2))
        V = (hi.max(axis=1) - lo.min(axis=1)) ** 2 / 4.0
        B = (dr * dr / (r_lo * r_lo)).max(axis=1)
        top = FCPInstance(q, np.maximum(full.bias, reduced.bias[k]), r_hi, full.upper)
        f_hi = capture_probabilities(top, np.asarray(upper, dtype=float))
        curvature = _peak(np.maximum(B, V), A * A, np.maximum(0.0, 1.0 - 2.0 * f_hi))
    curvature = np.where(singular, np.inf, curvature)
    mass = q > 0  # weightless clients carry no mass (and no singularity)
    remainder = np.bincount(k[mass], weights=q[mass] * curvature[mass] / 2.0, minlength=K)
    member = sp.csr_matrix((q[mass], (k[mass], np.flatnonzero(mass))), shape=(K, q.size))
    eps_b, eps_r = (
        member @ np.where(mass[:, None], db, 0.0),
        member @ np.where(mass[:, None], dr, 0.0),
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        phi_k = U / -np.expm1(-reduced.rate * U)
        gradient = (np.abs(eps_b) + phi_k * np.abs(eps_r)).max(axis=1) / 4.0
        e = (remainder + gradient) / w
    e = np.where(w > 0, np.nan_to_num(e, nan=np.inf), 0.0)
    return e + ROUNDING_SLACK


__all__ = ["ROUNDING_SLACK", "cluster_mean_bounds"]
