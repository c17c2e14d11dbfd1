"""Common interface and input checks of the ambiguity sets (``dro_opt.ambiguity``).

An ambiguity set describes what the adversary may do with the nominal (empirical) distribution
``p = (p_1, ..., p_N)`` on the sample atoms ``xi_1, ..., xi_N``:

* sets that *reweight* the atoms (phi-divergence balls, CVaR) compute, for a fixed loss vector
  ``l`` (one loss per atom), ``sup { E_P[l] : P in the set }`` by ``worst_case(losses, weights)``;
* sets that *move* the atoms (type-1 Wasserstein, joint OT-phi of paper 002 Def. 5.1) compute it
  for a loss given with its samples (:class:`dro_opt.dro.PiecewiseAffineLoss` at fixed
  decisions) and return moved atoms with their probabilities.

Every set computes the worst case two independent ways -- the primal (a distribution that attains
it) and the dual value -- and reports both in a :class:`WorstCase`; tests require them to agree.
Radii are used as written (no 1/N), as in paper 002 eq. (1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dro_opt.errors import NumericalError, ParameterError

# The radius / weights checks are shared with the reformulations (dro_opt.validate), which must
# not import the ambiguity sets (and cvxpy) to use them; re-exported here.
from dro_opt.validate import WEIGHT_SUM_TOL, check_radius, check_weights  # noqa: F401


@dataclass
class WorstCase:
    """The worst case of one ambiguity set for fixed losses.

    Attributes
    ----------
    value : the primal value ``E_P[l]`` of the returned distribution (a feasible ``P``, so
        ``value <= sup``).
    dual_value : the value of a feasible dual point (so ``sup <= dual_value``); the pair is a
        proven bracket of the worst-case expectation.
    probabilities : (M,) the worst-case probabilities (sum to one). For reweighting sets ``M = N``
        (``N + 1`` when an extra atom at the loss's supremum was allowed, its mass last).
    atoms : (M, d) the worst-case atoms for sets that move the samples, else ``None``.
    extra_mass : mass put on the extra atom (generalized phi-divergences, paper 002 Prop. 3.6),
        ``0.0`` when none was allowed or none is needed.
    attained : False when the supremum is only approached (e.g. type-1 Wasserstein with an
        unbounded support moving vanishing mass infinitely far); ``value`` then is within the
        reported tolerance of it.
    multipliers : named dual variables (e.g. ``{"lambda": ..., "eta": ...}``).
    """

    value: float
    dual_value: float
    probabilities: np.ndarray
    atoms: np.ndarray | None = None
    extra_mass: float = 0.0
    attained: bool = True
    multipliers: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """``dual_value - value`` (non-negative up to solver tolerance)."""
        return float(self.dual_value - self.value)


class AmbiguitySet(ABC):
    """Base class: a set of distributions around the nominal one.

    Subclasses store their parameters as public attributes (``radius`` for balls, ``alpha`` for
    CVaR, ...) that the rewrite rules of :mod:`dro_opt.reformulations` read.
    """

    #: True for sets that move the atoms (Wasserstein, OT-phi); False for reweighting sets.
    moves_samples: bool = False

    @abstractmethod
    def describe(self) -> str:
        """One line naming the set and its parameters (used in certificates and errors)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


class ReweightingSet(AmbiguitySet):
    """A set of distributions on the given atoms: ``worst_case(losses, weights) -> (value, P)``."""

    @abstractmethod
    def worst_case_distribution(self, losses: Any, weights: Any = None, **kwargs: Any) -> WorstCase:
        """Primal and dual worst case for a loss vector (see :class:`WorstCase`)."""

    def worst_case(
        self, losses: Any, weights: Any = None, **kwargs: Any
    ) -> tuple[float, np.ndarray]:
        """``(value, P)``: ``value = sup { E_P[losses] : P in the set }`` and the ``P`` attaining
        it (a numpy vector summing to one). ``weights`` are the nominal probabilities (uniform
        when omitted)."""
        wc = self.worst_case_distribution(losses, weights, **kwargs)
        return wc.value, wc.probabilities


# --------------------------------------------------------------------------- input checks
def check_losses(losses: Any) -> np.ndarray:
    """A non-empty 1-d array of finite losses, else :class:`ParameterError`."""
    try:
        arr = np.asarray(losses, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(
            f"losses must be a 1-d array of finite numbers, got {type(losses).__name__}"
        ) from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(f"losses must be a non-empty 1-d array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ParameterError(
            f"losses must be finite; losses[{bad}] = {arr[bad]} (remove or cap that sample)"
        )
    return arr


#: Relative slack by which a primal value may exceed its dual bound (floating-point rounding).
BRACKET_TOL = 1e-9


def check_bracket(value: float, dual_value: float, what: str) -> None:
    """Raise :class:`NumericalError` unless ``value <= dual_value`` up to :data:`BRACKET_TOL`.

    A feasible distribution's value above a feasible dual point's value is impossible in exact
    arithmetic: one of the two computations lost accuracy, and no bracket may be reported.
    """
    if not (value <= dual_value + BRACKET_TOL * max(1.0, abs(value), abs(dual_value))):
        raise NumericalError(
            f"{what}: the worst-case value of a feasible distribution ({value:.17g}) exceeds the "
            f"dual bound ({dual_value:.17g}); the computation lost accuracy (rescale the losses)"
        )
