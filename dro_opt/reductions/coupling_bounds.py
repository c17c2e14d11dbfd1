r"""Rigorous, decision-uniform error bounds for replacing weighted samples by representatives.

Setting (docs/facility_location.md, "Reduction error bounds"; paper 003 Sec. 4 for the idea). Full
data: samples ``i`` with weights ``q_i`` and rewards ``f_i(z) in [0, 1]``; reduced data:
representatives ``k`` with weights ``w_k`` and rewards ``g_k(z)``; both weight vectors sum to
``n``. A *coupling* ``pi`` (N x K, ``pi_ik >= 0``, rows summing to ``q``, columns to ``w``) pairs
them, and ``d_ik`` is any bound with ``|f_i(z) - g_k(z)| <= d_ik`` for every decision ``z``.
Write ``L(i|k) = pi_ik / w_k`` (reverse kernel) and ``K(k|i) = pi_ik / q_i`` (forward kernel),

    E_pi[d]   = sum_ik (pi_ik / n) d_ik,          rms_pi(d) = sqrt(sum_ik (pi_ik / n) d_ik^2),
    e_k       = sum_i L(i|k) d_ik,                ||e||_{2,w}  = sqrt(sum_k (w_k / n) e_k^2),
    e'_i      = sum_k K(k|i) d_ik,                ||e'||_{2,q} = sqrt(sum_i (q_i / n) e'_i^2).

With ``F`` the full and ``G`` the reduced objective (same ``n`` and ``rho``, all reported on the
``n * (...)`` scale of docs/conventions.md, 'Data, weights, p and n'), for EVERY decision ``z``:

* ERM: ``|F - G| <= n E_pi[d]``. (``F - G = sum_ik pi_ik (f_i - g_k)``.)
* Variance-regularised, ``n (E f - sqrt(2 rho Var f / n))``: ``|F - G| <= n (E_pi[d] +
  sqrt(2 rho / n) rms_pi(d))``. Put ``(I, K) ~ pi / n`` on one probability space: ``f_I`` has
  law ``p`` and ``g_K`` law ``w / n``. The means differ by at most ``E_pi[d]``; the standard
  deviation is the L2 norm of the centred variable, centring is a norm-1 projection, so
  ``|sd(f_I) - sd(g_K)| <= ||f_I - g_K||_2 <= rms_pi(d)``.
* Chi-square DRO, ``n min {E_P f : D_phi(P || p) <= rho / n}``, ``phi(t) = (t - 1)^2 / 2``:
  ``F <= G + n sqrt(1 + 2 rho / n) ||e||_{2,w}``. Proof: for ``Q`` in the reduced ball,
  ``P = L Q`` has ``L w = q`` so by the data-processing inequality ``P`` is in the full ball;
  hence ``Phi_full(f) <= sum_k Q_k fhat_k`` with ``fhat_k = sum_i L(i|k) f_i``, and
  ``|fhat_k - g_k| <= e_k``. Taking ``Q`` optimal for the reduced problem,
  ``Phi_full(f) <= Phi_red(g) + sum_k Q_k e_k`` and, by Cauchy-Schwarz with ``t_k = Q_k n / w_k``
  (``E_w t = 1``, ``E_w (t - 1)^2 <= 2 rho / n``), ``sum_k Q_k e_k <= sqrt(1 + 2 rho / n)
  ||e||_{2,w}``. Symmetrically (forward kernel) ``G <= F + n sqrt(1 + 2 rho / n) ||e'||_{2,q}``.

Consequences: ``OPT_full <= OPT_red + upper_error`` (a certificate line) and, for ``z_hat``
optimal on the reduced data, ``OPT_full - F(z_hat) <= upper_error + lower_error`` (the shape of
paper 003 Thm. 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.errors import ParameterError

__all__ = [
    "CouplingSummary",
    "check_coupling",
    "summarize_coupling",
    "uniform_errors",
]

OBJECTIVES = ("erm", "variance", "chi2")


@dataclass(frozen=True)
class CouplingSummary:
    """Aggregates of ``d`` under a coupling (module docstring); all on probability scale."""

    n: float
    mean_d: float  # E_pi[d]
    rms_d: float  # sqrt(E_pi[d^2])
    rev_l2: float  # ||e||_{2,w}
    fwd_l2: float  # ||e'||_{2,q}
    max_d: float  # max over coupled pairs (pi_ik > 0)


def check_coupling(
    coupling: sp.spmatrix, q: np.ndarray, w: np.ndarray, rtol: float = 1e-9
) -> sp.csr_matrix:
    """Validate ``pi >= 0`` with row sums ``q`` and column sums ``w``; return it as CSR.

    Raises
    ------
    ValueError
        shape, sign or marginal mismatch (an internal error: couplings are built in code).
    """
    pi = sp.csr_matrix(coupling, dtype=float)
    q = np.asarray(q, dtype=float)
    w = np.asarray(w, dtype=float)
    if pi.shape != (q.shape[0], w.shape[0]):
        raise ValueError(f"coupling shape {pi.shape} does not match ({q.shape[0]}, {w.shape[0]})")
    if pi.nnz and (pi.data < 0).any():
        raise ValueError("coupling has negative entries")
    scale = rtol * max(1.0, float(q.sum()))
    if np.abs(np.asarray(pi.sum(axis=1)).ravel() - q).max(initial=0.0) > scale:
        raise ValueError("coupling rows do not sum to the full weights q")
    if np.abs(np.asarray(pi.sum(axis=0)).ravel() - w).max(initial=0.0) > scale:
        raise ValueError("coupling columns do not sum to the reduced weights w")
    return pi


def summarize_coupling(
    coupling: sp.csr_matrix, q: np.ndarray, w: np.ndarray, d: np.ndarray
) -> CouplingSummary:
    """Aggregates of the per-pair bounds ``d`` (aligned with ``coupling.data``).

    ``coupling`` must be CSR with canonical format (as returned by :func:`check_coupling`).
    """
    pi = coupling
    q = np.asarray(q, dtype=float)
    w = np.asarray(w, dtype=float)
    d = np.asarray(d, dtype=float)
    if d.shape != pi.data.shape:
        raise ValueError("d must have one entry per stored coupling entry")
    n = float(q.sum())
    mass = pi.data / n
    weighted = sp.csr_matrix((pi.data * d, pi.indices, pi.indptr), shape=pi.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_rev = np.where(w > 0, np.asarray(weighted.sum(axis=0)).ravel() / w, 0.0)
        e_fwd = np.where(q > 0, np.asarray(weighted.sum(axis=1)).ravel() / q, 0.0)
    return CouplingSummary(
        n=n,
        mean_d=float(mass @ d),
        rms_d=math.sqrt(max(0.0, float(mass @ (d * d)))),
        rev_l2=math.sqrt(max(0.0, float((w / n) @ (e_rev * e_rev)))),
        fwd_l2=math.sqrt(max(0.0, float((q / n) @ (e_fwd * e_fwd)))),
        max_d=float(d[pi.data > 0].max(initial=0.0)),
    )


def uniform_errors(s: CouplingSummary, objective: str, rho: float) -> tuple[float, float]:
    """``(upper, lower)`` with ``F(z) <= G(z) + upper`` and ``G(z) <= F(z) + lower`` for all z.

    ``objective`` in {"erm", "variance", "chi2"}; ``rho >= 0`` (``rho = 0``: ERM for all).
    """
    if objective not in OBJECTIVES:
        raise ParameterError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho must be a finite number >= 0, got {rho}")
    n = s.n
    if objective == "erm" or rho == 0.0:
        err = n * s.mean_d
        return err, err
    if objective == "variance":
        err = n * (s.mean_d + math.sqrt(2.0 * rho / n) * s.rms_d)
        return err, err
    c = math.sqrt(1.0 + 2.0 * rho / n)
    return n * c * s.rev_l2, n * c * s.fwd_l2


def uniform_errors_from_max(
    n: float, max_d: float, objective: str, rho: float
) -> tuple[float, float]:
    """Same as :func:`uniform_errors` with every ``d_ik`` replaced by its maximum ``max_d``.

    This is the a-priori form (only the radius enters): all of ``E_pi[d]``, ``rms_pi(d)``,
    ``||e||_{2,w}`` and ``||e'||_{2,q}`` are at most ``max_d``.
    """
    s = CouplingSummary(n=n, mean_d=max_d, rms_d=max_d, rev_l2=max_d, fwd_l2=max_d, max_d=max_d)
    return uniform_errors(s, objective, rho)
