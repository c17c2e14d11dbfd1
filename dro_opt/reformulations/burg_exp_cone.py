"""Burg entropy: perspective of the conjugate -> exponential cones.

Source: ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = -log t + t - 1`` (paper 002 Table 1).

Conjugate (over ``dom phi = R_+``): for ``s < 1`` the maximiser of ``s t + log t - t + 1`` is
``t = 1 / (1 - s)``, so ``phi*(s) = -log(1 - s)``; ``phi*(s) = +inf`` for ``s >= 1``
(``phi'_inf = 1``).

Perspective: ``lam phi*(s / lam) = -lam log((lam - s) / lam)``, hence for ``lam > 0``::

    w_i >= -lam log((lam - s_i) / lam)   <=>   lam exp(-w_i / lam) <= lam - s_i
                                         <=>   (-w_i, lam, lam - s_i) in K_exp

with ``K_exp = cl{(x, y, z) : y exp(x / y) <= z, y > 0}``. The closure at ``lam = 0`` is
``w_i >= 0, s_i <= 0`` -- the recession function ``sup_{t >= 0} s t`` of ``phi*``. Exact, one
exponential cone per atom, equality attainable (the conjugate is the one of Ben-Tal et al.
2013, "Robust solutions of optimization problems affected by uncertain probabilities").
"""

from __future__ import annotations

from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(em: Emitter, s: Expr, lam: Expr, *, prefix: str = "burg") -> Expr:
    """``w`` with ``w_i >= -lam log(1 - s_i / lam)`` (one exponential cone per entry).

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
    em.exp(join_name(prefix, "exp"), -w, lam_n, lam_n - s)
    return w


__all__ = ["conjugate_perspective"]
