"""Typed errors a user can cause. Each message names the problem and the fix.

The CLI turns any :class:`DroOptError` into one line on stderr and a non-zero exit code
(:attr:`DroOptError.exit_code`); nothing a user can cause should surface as a traceback.
"""

from __future__ import annotations


class DroOptError(Exception):
    """Base class of every error dro_opt raises on purpose."""

    exit_code: int = 2


class InvalidModelError(DroOptError, ValueError):
    """The model is malformed: NaN/inf coefficients, bad cone sizes, inconsistent bounds."""


class ModelFileError(DroOptError, ValueError):
    """A model file (.mps/.lp/.cbf) is missing, truncated or malformed."""


class UnsupportedFormatError(DroOptError, ValueError):
    """A file format cannot hold the model (e.g. an exponential cone in .mps/.lp)."""


class UnknownSolverError(DroOptError, KeyError):
    """A solver name that dro_opt does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown solver"


class SolverUnavailableError(DroOptError, RuntimeError):
    """A known solver whose Python package is not installed."""


class CapabilityError(DroOptError, ValueError):
    """The chosen solver lacks a capability the model needs (never dropped silently)."""


class InstanceError(DroOptError, ValueError):
    """An application instance (e.g. an HM14 .data file) is malformed or inconsistent."""


class ParameterError(DroOptError, ValueError):
    """A model parameter is out of range (rho < 0, budget > D, NaN, ...)."""


class LossError(InvalidModelError):
    """A loss does not have the form an ambiguity set needs (not DCP-convex in the decisions,
    not a maximum of functions affine in the uncertain vector, wrong shape)."""


class NumericalError(DroOptError, RuntimeError):
    """A computation could not be carried out to the accuracy a certificate needs (a solver
    failing on every retry, a primal value above its own dual bound). Never silently ignored."""

    exit_code: int = 3
