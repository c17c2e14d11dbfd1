"""Kullback-Leibler: perspective of the conjugate -> exponential cones.

Source: ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = t log t - t + 1`` (paper 002 Table 1).

Conjugate (over ``dom phi = R_+``; paper 002 Cor. 5.6): the maximiser of ``s t - phi(t)`` is
``t = e^s``, so ``phi*(s) = e^s - 1``.

Perspective: ``lam phi*(s / lam) = lam exp(s / lam) - lam``, hence::

    w_i >= lam phi*(s_i / lam)   <=>   lam exp(s_i / lam) <= w_i + lam
                                 <=>   (s_i, lam, w_i + lam) in K_exp

with ``K_exp = cl{(x, y, z) : y exp(x / y) <= z, y > 0}``. The closure at ``lam = 0`` is
``s_i <= 0, w_i >= 0``, i.e. the recession function ``sup_{t >= 0} s t`` of ``phi*`` -- the
correct closure of the perspective. Exact, one exponential cone per atom, equality attainable.
"""

from __future__ import annotations

from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(em: Emitter, s: Expr, lam: Expr, *, prefix: str = "kl") -> Expr:
    """``w`` with ``w_i >= lam (exp(s_i / lam) - 1)`` (one exponential cone per entry).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0`` (broadcast to ``N``).
    prefix
        Name prefix of the variable ``{prefix}_w`` and the cone block ``{prefix}_exp``.

    Returns
    -------
    Expr
        The ``(N,)`` variable ``w``.
    """
    n = em.size(s)
    lam_n = em.broadcast(lam, n)
    w = em.variable(join_name(prefix, "w"), n)
    em.exp(join_name(prefix, "exp"), s, lam_n, w + lam_n)
    return w


__all__ = ["conjugate_perspective"]
