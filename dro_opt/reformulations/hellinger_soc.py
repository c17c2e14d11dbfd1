"""Hellinger distance: perspective of the conjugate -> rotated second-order cones.

Source: ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = (sqrt(t) - 1)^2 = t - 2 sqrt(t) + 1``
(paper 002 Table 1).

Conjugate (over ``dom phi = R_+``): for ``s < 1`` the maximiser of ``s t - t + 2 sqrt(t) - 1``
is ``sqrt(t) = 1 / (1 - s)``, so ``phi*(s) = 1 / (1 - s) - 1 = s / (1 - s)``; ``phi*(s) = +inf``
for ``s >= 1`` (``phi'_inf = 1``).

Perspective: ``lam phi*(s / lam) = lam s / (lam - s) = -lam + lam^2 / (lam - s)`` for
``s < lam``, hence::

    w_i >= lam phi*(s_i / lam)   <=>   lam^2 <= (lam - s_i)(w_i + lam),  lam - s_i >= 0,
                                 <=>   ((lam - s_i) / 2, w_i + lam, lam) rotated cone

(``x^2 <= 2 u v``, ``u, v >= 0``). Exact, equality attainable. At ``lam = 0`` the cone leaves
``s_i <= 0``, ``w_i >= 0``: the recession function ``sup_{t >= 0} s t`` of ``phi*``.
"""

from __future__ import annotations

from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(em: Emitter, s: Expr, lam: Expr, *, prefix: str = "hellinger") -> Expr:
    """``w`` with ``w_i >= lam s_i / (lam - s_i)``, ``s_i < lam`` (rotated SOCs).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0``.
    prefix
        Name prefix of the variable ``{prefix}_w`` and the cone block ``{prefix}_rsoc``.

    Returns
    -------
    Expr
        The ``(N,)`` variable ``w``.
    """
    n = em.size(s)
    lam_n = em.broadcast(lam, n)
    w = em.variable(join_name(prefix, "w"), n)
    em.rsoc(join_name(prefix, "rsoc"), (lam_n - s) * 0.5, w + lam_n, lam_n)
    return w


__all__ = ["conjugate_perspective"]
