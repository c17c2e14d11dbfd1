"""Chi-square distance: perspective of the conjugate -> rotated second-order cones.

Source: ``w_i >= lam phi*(s_i / lam)`` for ``phi(t) = (t - 1)^2 / t = t - 2 + 1 / t``
(paper 002 Table 1).

Conjugate (over ``dom phi = R_+``): for ``s < 1`` the maximiser of ``s t - t + 2 - 1/t`` is
``t = 1 / sqrt(1 - s)``, so ``phi*(s) = 2 - 2 sqrt(1 - s)``; at ``s = 1`` the supremum ``2`` is
approached as ``t -> inf``, and ``phi*(s) = +inf`` for ``s > 1`` (``phi'_inf = 1``).

Perspective: ``lam phi*(s / lam) = 2 lam - 2 sqrt(lam (lam - s))`` for ``s <= lam``. With
``g_i`` the geometric mean::

    w_i = 2 lam - 2 g_i,     g_i^2 <= lam (lam - s_i) = 2 (lam / 2) (lam - s_i),

one rotated cone ``(lam / 2, lam - s_i, g_i)`` per atom (it also enforces ``s_i <= lam``).
Minimising ``w_i`` maximises ``g_i = sqrt(lam (lam - s_i))``: exact, equality attainable. At
``lam = 0`` the cone forces ``g_i = 0``, ``s_i <= 0``, ``w_i = 0``: the recession function
``sup_{t >= 0} s t`` of ``phi*``.
"""

from __future__ import annotations

from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(
    em: Emitter, s: Expr, lam: Expr, *, prefix: str = "chi2_distance"
) -> Expr:
    """``w`` with ``w_i >= 2 lam - 2 sqrt(lam (lam - s_i))``, ``s_i <= lam`` (rotated SOCs).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0``.
    prefix
        Name prefix of the variable ``{prefix}_g`` and the cone block ``{prefix}_rsoc``.

    Returns
    -------
    Expr
        The ``(N,)`` expression ``2 lam - 2 g``.
    """
    n = em.size(s)
    lam_n = em.broadcast(lam, n)
    g = em.variable(join_name(prefix, "g"), n)
    em.rsoc(join_name(prefix, "rsoc"), lam_n * 0.5, lam_n - s, g)
    return lam_n * 2.0 - g * 2.0


__all__ = ["conjugate_perspective"]
