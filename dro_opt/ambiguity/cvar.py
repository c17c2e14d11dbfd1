"""The CVaR ambiguity set ``{ P : 0 <= P_i <= p_i / alpha, sum_i P_i = 1 }``.

It is the phi-divergence ball (paper 002 Def. 3.2) of the indicator entropy function
``phi(t) = 0`` on ``[0, 1/alpha]``, ``+inf`` elsewhere, with any radius ``r >= 0``; its conjugate
is ``phi*(s) = max(s, 0) / alpha`` and ``phi'_inf = inf``, so the extra atom of paper 002
Prop. 3.6 never gets mass. The worst case is ``CVaR_alpha`` of the losses under ``p``:

* primal: fill the largest losses up to their caps ``p_i / alpha`` (sorting);
* dual (Rockafellar-Uryasev): ``inf_eta eta + (1/alpha) sum_i p_i (l_i - eta)_+``, piecewise
  linear and convex in ``eta``, so its minimum is attained at one of the losses; all are
  evaluated at once with suffix sums.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dro_opt.ambiguity.base import ReweightingSet, WorstCase, check_bracket
from dro_opt.ambiguity.phi_divergence import augment
from dro_opt.errors import ParameterError


def cvar_primal(alpha: float, l: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The greedy maximiser: ``P_i = min(p_i / alpha, 1 - sum of the caps of larger losses)``."""
    order = np.argsort(-l, kind="stable")
    cap = p[order] / alpha
    before = np.cumsum(cap) - cap
    P = np.zeros_like(p)
    P[order] = np.clip(1.0 - before, 0.0, cap)
    return P


def cvar_dual(alpha: float, l: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """``(value, eta)`` minimising ``eta + (1/alpha) sum_i p_i (l_i - eta)_+`` over the kinks
    ``eta = l_k`` (losses shifted by ``max l`` to limit cancellation)."""
    shift = float(l.max())
    order = np.argsort(l, kind="stable")
    ls, ps = l[order] - shift, p[order]
    tail_p = np.cumsum(ps[::-1])[::-1] - ps  # sum_{j > k} p_j
    tail_pl = np.cumsum((ps * ls)[::-1])[::-1] - ps * ls
    vals = ls + np.maximum(tail_pl - ls * tail_p, 0.0) / alpha
    k = int(np.argmin(vals))
    return float(vals[k] + shift), float(ls[k] + shift)


class CVaRSet(ReweightingSet):
    """``{ P : P_i <= p_i / alpha }``: the worst case is ``CVaR_alpha`` (see the module docstring).

    Attributes
    ----------
    alpha : the level in ``(0, 1]`` (``alpha = 1`` is the nominal mean).
    """

    def __init__(self, alpha: float) -> None:
        try:
            a = float(alpha)
        except (TypeError, ValueError):
            a = math.nan
        if not (math.isfinite(a) and 0.0 < a <= 1.0):
            raise ParameterError(
                f"CVaR alpha must be in (0, 1], got {alpha!r} (alpha = 0.1: mean of the worst 10%)"
            )
        self.alpha = a

    def describe(self) -> str:
        return f"CVaR alpha={self.alpha:g}"

    def worst_case_distribution(
        self, losses: Any, weights: Any = None, sup_loss: Any = None, **kwargs: Any
    ) -> WorstCase:
        """Primal (sorting) and dual (Rockafellar-Uryasev) ``CVaR_alpha`` of ``losses``.

        ``sup_loss`` (``>= max(losses)``) is accepted for symmetry with the phi-divergence sets;
        as ``phi'_inf = inf`` the extra atom gets no mass (paper 002 Prop. 3.6) and
        ``probabilities`` then has ``N + 1`` entries, the last ``0``.
        Multipliers: ``{"eta": VaR}`` (the optimal ``eta``).
        """
        if kwargs:
            raise ParameterError(f"unexpected argument(s) {', '.join(sorted(kwargs))}")
        la, _, p, extra = augment(losses, weights, sup_loss)
        l = la[: p.size]
        P = cvar_primal(self.alpha, l, p)
        dual, eta = cvar_dual(self.alpha, l, p)
        if extra:
            P = np.append(P, 0.0)
        check_bracket(float(P @ la), float(dual), self.describe())
        return WorstCase(
            value=float(P @ la),
            dual_value=dual,
            probabilities=P,
            extra_mass=0.0,
            multipliers={"eta": eta},
        )


def cvar(alpha: float) -> CVaRSet:
    """The CVaR set ``{ P : P_i <= p_i / alpha }`` with ``alpha`` in ``(0, 1]``."""
    return CVaRSet(alpha)
