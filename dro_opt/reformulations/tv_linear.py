"""Total variation: perspective of the conjugate -> linear inequalities.

Source: ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = |t - 1|`` (paper 002 Table 1; note paper
001 uses ``|t - 1| / 2``).

Conjugate (over ``dom phi = R_+``): ``s t - |t - 1|`` is piecewise linear in ``t`` with
breakpoint ``t = 1``; for ``s <= 1`` its maximum is at ``t = 0`` (value ``-1``) or ``t = 1``
(value ``s``), so ``phi*(s) = max(s, -1)``; ``phi*(s) = +inf`` for ``s > 1`` (``phi'_inf = 1``).

Perspective: ``lam phi*(s / lam) = max(s, -lam)`` on ``s <= lam``::

    w_i >= s_i,   w_i >= -lam,   s_i <= lam.

Exact and linear; at ``lam = 0`` it gives ``s_i <= 0``, ``w_i >= 0`` (the recession function).
"""

from __future__ import annotations

from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(em: Emitter, s: Expr, lam: Expr, *, prefix: str = "tv") -> Expr:
    """``w`` with ``w_i >= max(s_i, -lam)`` and ``s_i <= lam`` (linear rows).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0``.
    prefix
        Name prefix of the variable ``{prefix}_w`` and the blocks ``{prefix}_ge_s``,
        ``{prefix}_ge_lam``, ``{prefix}_dom``.

    Returns
    -------
    Expr
        The ``(N,)`` variable ``w``.
    """
    n = em.size(s)
    lam_n = em.broadcast(lam, n)
    w = em.variable(join_name(prefix, "w"), n)
    em.nonneg(join_name(prefix, "ge_s"), w - s)
    em.nonneg(join_name(prefix, "ge_lam"), w + lam_n)
    em.nonneg(join_name(prefix, "dom"), lam_n - s)
    return w


__all__ = ["conjugate_perspective"]
