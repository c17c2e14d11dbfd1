"""Cressie-Read divergences: perspective of the conjugate -> power cones.

Source: ``w_i >= lam phi*(s_i / lam)`` for
``phi(t) = (1 - theta + theta t - t^theta) / (theta (1 - theta))``, ``theta not in {0, 1}``
(Cressie & Read 1984; ``theta = 2`` is ``(t - 1)^2 / 2``, ``theta = 1/2`` twice the squared
Hellinger distance, ``theta -> 0, 1`` give Burg and KL).

Conjugate (over ``dom phi = R_+``): ``phi'(t) = (1 - t^{theta - 1}) / (1 - theta)``, so the
maximiser of ``s t - phi(t)`` solves ``t^{theta - 1} = 1 - (1 - theta) s``, and with
``e = theta / (theta - 1)``::

    phi*(s) = ((1 - (1 - theta) s)_+^e - 1) / theta,

finite for ``s < 1 / (1 - theta) = phi'_inf`` when ``theta < 1`` (and at equality when
``theta < 0``), for all ``s`` when ``theta > 1`` (then ``t = 0`` is optimal for
``s <= -1 / (theta - 1)``, value ``-1 / theta``).

Perspective, with ``b = lam - (1 - theta) s``: ``lam phi*(s / lam) = (lam^{1 - e} b_+^e - lam)
/ theta``. Three cases, one 3-d power cone (``x^alpha y^{1 - alpha} >= |z|``) per atom:

* ``0 < theta < 1`` (``e < 0``): ``w = (v - lam) / theta`` with ``v >= lam^{1-e} b^e``
  ``<=>  lam <= v^{1 - theta} b^theta``: cone ``(v, b, lam)``, ``alpha = 1 - theta``
  (forces ``b >= 0``; ``b > 0`` when ``lam > 0``).
* ``theta > 1`` (``e > 1``): ``w = (v - lam) / theta`` with ``u >= b``, ``u >= 0`` and
  ``u <= v^{1/e} lam^{1 - 1/e}``: cone ``(v, lam, u)``, ``alpha = 1 / e``.
* ``theta < 0`` (``0 < e < 1``): ``w = (lam - g) / |theta|`` with ``g <= lam^{1 - e} b^e``:
  cone ``(lam, b, g)``, ``alpha = 1 - e`` (forces ``b >= 0``).

Each is exact with equality attainable; at ``lam = 0`` each leaves ``s_i <= 0``, ``w_i >= 0``
(the recession function ``sup_{t >= 0} s t`` of ``phi*``).
"""

from __future__ import annotations

import math

from dro_opt.errors import ParameterError
from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(
    em: Emitter, s: Expr, lam: Expr, *, prefix: str = "cressie_read", theta: float
) -> Expr:
    """``w`` with ``w_i >= lam phi*(s_i / lam)`` for the Cressie-Read ``phi`` (power cones).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0``.
    prefix
        Name prefix of the variables (``{prefix}_v``, ``{prefix}_u``, ``{prefix}_g``) and
        blocks (``{prefix}_pow``, ``{prefix}_u_ge_b``).
    theta
        The Cressie-Read parameter, finite, not 0 or 1.

    Returns
    -------
    Expr
        The ``(N,)`` expression ``w``.
    """
    th = float(theta)
    if not math.isfinite(th) or th in (0.0, 1.0):
        raise ParameterError(f"cressie-read needs a finite theta not in {{0, 1}}, got {theta!r}")
    e = th / (th - 1.0)
    n = em.size(s)
    lam_n = em.broadcast(lam, n)
    b = lam_n - s * (1.0 - th)
    if 0.0 < th < 1.0:
        v = em.variable(join_name(prefix, "v"), n, lb=0.0)
        em.pow(join_name(prefix, "pow"), v, b, lam_n, 1.0 - th)
        return (v - lam_n) * (1.0 / th)
    if th > 1.0:
        v = em.variable(join_name(prefix, "v"), n, lb=0.0)
        u = em.variable(join_name(prefix, "u"), n, lb=0.0)
        em.nonneg(join_name(prefix, "u_ge_b"), u - b)
        em.pow(join_name(prefix, "pow"), v, lam_n, u, 1.0 / e)
        return (v - lam_n) * (1.0 / th)
    g = em.variable(join_name(prefix, "g"), n)
    em.pow(join_name(prefix, "pow"), lam_n, b, g, 1.0 - e)
    return (lam_n - g) * (1.0 / abs(th))


__all__ = ["conjugate_perspective"]
