"""J-divergence: perspective of the conjugate -> two exponential cones per atom.

Source: ``w_i >= lam phi_J*(s_i / lam)`` for ``phi_J(t) = (t - 1) log t`` (paper 002 Table 1).

``phi_J = phi_KL + phi_Burg`` with ``phi_KL(t) = t log t - t + 1`` and
``phi_Burg(t) = -log t + t - 1``. Both are finite on ``(0, inf)``, so the conjugate of the sum is
the (exact, attained) infimal convolution of the conjugates (Rockafellar 1970, Thm 16.4)::

    phi_J*(s) = min_{s1 + s2 = s}  (e^{s1} - 1) + (-log(1 - s2))

(no closed form: the maximiser of ``s t - phi_J(t)`` solves ``log t + 1 - 1/t = s``). The
perspective of an infimal convolution is the infimal convolution of the perspectives::

    lam phi_J*(s / lam) = min_{s1 + s2 = s}  lam phi_KL*(s1 / lam) + lam phi_Burg*(s2 / lam),

so with a free ``s1`` and ``s2 = s - s1`` the KL rule (:mod:`kl_exp_cone`,
``(s1, lam, w1 + lam) in K_exp``) and the Burg rule (:mod:`burg_exp_cone`,
``(-w2, lam, lam - s2) in K_exp``) give ``w = w1 + w2``. At ``lam = 0`` both closures give
``s1, s2 <= 0`` and ``w1, w2 >= 0``: the recession function ``sup_{t >= 0} s t``. Exact.
"""

from __future__ import annotations

from dro_opt.reformulations import burg_exp_cone, kl_exp_cone
from dro_opt.reformulations.emitter import Emitter, Expr, join_name


def conjugate_perspective(em: Emitter, s: Expr, lam: Expr, *, prefix: str = "j") -> Expr:
    """``w`` with ``w_i >= lam phi_J*(s_i / lam)`` (two exponential cones per entry).

    Parameters
    ----------
    em
        The emitter.
    s
        ``(N,)`` expression.
    lam
        Scalar expression ``>= 0``.
    prefix
        Name prefix: the split variable ``{prefix}_s1`` and the blocks of the KL and Burg rules
        under ``{prefix}_kl`` and ``{prefix}_burg``.

    Returns
    -------
    Expr
        The ``(N,)`` expression ``w1 + w2``.
    """
    n = em.size(s)
    s1 = em.variable(join_name(prefix, "s1"), n)
    w1 = kl_exp_cone.conjugate_perspective(em, s1, lam, prefix=join_name(prefix, "kl"))
    w2 = burg_exp_cone.conjugate_perspective(em, s - s1, lam, prefix=join_name(prefix, "burg"))
    return w1 + w2


__all__ = ["conjugate_perspective"]
