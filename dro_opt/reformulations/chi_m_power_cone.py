"""Chi-divergence of order m > 1: perspective of the conjugate -> power cones.

Source: ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = |t - 1|^m`` on ``t >= 0``, ``m > 1``
(paper 002 Table 1).

Conjugate. Write ``phi(t) = g(t - 1)`` with ``g = h + delta`` where ``h(u) = |u|^m`` and
``delta`` the indicator of ``u >= -1`` (the constraint ``t >= 0``). Then
``phi*(s) = s + g*(s)``; ``h*(y) = c |y|^{m'}`` with ``m' = m / (m - 1)``,
``c = (m - 1) m^{-m'}``, and ``delta*(y) = -y`` for ``y <= 0`` (``+inf`` otherwise). Both are
finite on the interior of their domains, so the conjugate of the sum is the exact infimal
convolution (Rockafellar 1970, Thm 16.4)::

    phi*(s) = s + min_{sigma <= 0}  c |s - sigma|^{m'} - sigma.

For ``s >= -m`` the minimum is at ``sigma = 0`` (``phi*(s) = s + (m - 1)(|s| / m)^{m'}``), for
``s < -m`` at ``sigma = s + m`` (``phi*(s) = -1``, the value ``t = 0`` gives).

Perspective, with ``sigma`` scaled by ``lam`` (``sigma_lam = lam sigma <= 0``) and
``x = s - sigma_lam``::

    lam phi*(s / lam) = min_{sigma_lam <= 0}  s + c |x|^{m'} / lam^{m' - 1} - sigma_lam,

and ``v >= |x|^{m'} lam^{1 - m'}``  <=>  ``|x| <= v^{1/m'} lam^{1 - 1/m'}``, one 3-d power cone
``(v, lam, x)`` with ``alpha = 1 / m'`` per atom::

    w_i = s_i + c v_i - sigma_i,   v_i^{1/m'} lam^{1 - 1/m'} >= |s_i - sigma_i|,   sigma_i <= 0.

Exact, equality attainable. At ``lam = 0`` the cone forces ``sigma_i = s_i <= 0`` and ``w_i = c
v_i >= 0``: the recession function ``sup_{t >= 0} s t`` of ``phi*``.
"""

from __future__ import annotations

import math

from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(
    em: Emitter, s: Expr, lam: Expr, *, prefix: str = "chi_m", m: float
) -> Expr:
    """``w`` with ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = |t - 1|^m`` (power cones).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0``.
    prefix
        Name prefix of the variables ``{prefix}_v``, ``{prefix}_sigma`` and the cone block
        ``{prefix}_pow``.
    m
        The order ``m > 1``.

    Returns
    -------
    Expr
        The ``(N,)`` expression ``s + c v - sigma``.
    """
    m = float(m)
    if not (math.isfinite(m) and m > 1.0):
        raise ParameterError(f"chi-m divergence needs a finite order m > 1, got m = {m!r}")
    mp = m / (m - 1.0)
    c = (m - 1.0) * m ** (-mp)
    n = em.size(s)
    lam_n = em.broadcast(lam, n)
    v = em.variable(join_name(prefix, "v"), n, lb=0.0)
    sigma = em.variable(join_name(prefix, "sigma"), n, ub=0.0)
    em.pow(join_name(prefix, "pow"), v, lam_n, s - sigma, 1.0 / mp)
    return s + v * c - sigma


__all__ = ["conjugate_perspective"]
