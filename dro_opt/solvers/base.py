"""Backend interface: declared capabilities, availability without a licence, common options.

A backend is registered by name (``scip``, ``highs``, ``clarabel``, ``gurobi``, ``mosek``,
``cplex``, ``xpress``) in :mod:`dro_opt.solvers.registry`. It declares what it supports as a set of
features and checks availability with :func:`importlib.util.find_spec` (no heavy import, no licence
checkout). ``solve`` never raises for solver-side outcomes: time limits, numerical trouble and
licence limits come back as a :class:`~dro_opt.solvers.result.Result` with the matching status and
a message. It raises :class:`~dro_opt.errors.CapabilityError` before touching the solver when the
model needs a feature the backend lacks -- a constraint is never dropped silently.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import CapabilityError, SolverUnavailableError
from dro_opt.solvers.result import Result

# Feature names a model can need (ConicProblem.needs()) and a backend can declare.
INTEGER = "integer"
SOC = "soc"
RSOC = "rsoc"
EXP = "exp"
POW = "pow"
# Mixed-integer combined with a nonlinear cone: separate flags, since some solvers do SOC but not
# integer SOC, or exp but not integer exp.
MI_SOC = "mi_soc"
MI_EXP = "mi_exp"
DUALS = "duals"  # returns conic duals
BOUND = "bound"  # returns a proven dual bound for MIPs

ALL_FEATURES = (INTEGER, SOC, RSOC, EXP, POW, MI_SOC, MI_EXP, DUALS, BOUND)


@dataclass
class SolveOptions:
    """Options every backend honours. ``gap`` is the relative MIP gap tolerance.

    ``trajectory``: record the primal/dual bound over time as ``Result.extra["trajectory"]``
    (a list of ``[seconds, primal, dual]`` in the problem's sense) where the backend has a
    callback for it (see :mod:`dro_opt.compare.trajectory`); others ignore it. ``extra`` holds
    native solver parameters.
    """

    time_limit: float | None = None
    gap: float | None = 1e-6
    threads: int | None = None
    verbose: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    trajectory: bool = False


@dataclass(frozen=True)
class Availability:
    """Whether a backend can be used here; ``license`` describes its licence situation."""

    installed: bool
    version: str | None
    license: str  # "none needed", "size-limited: ...", "missing: ..."
    license_limit: str | None = None  # the size limit in words, if any


def required_features(problem: ConicProblem) -> frozenset[str]:
    """Features ``problem`` needs from a backend (adds mi_soc / mi_exp combinations)."""
    needs = set(problem.needs())
    if INTEGER in needs and needs & {SOC, RSOC}:
        needs.add(MI_SOC)
    if INTEGER in needs and needs & {EXP, POW}:
        needs.add(MI_EXP)
    return frozenset(needs)


class Backend(ABC):
    """One solver. Subclasses set ``name``, ``module`` (import name), ``features``."""

    name: str = ""
    module: str = ""
    distribution: str = ""  # pip distribution name, for the version without importing
    features: frozenset[str] = frozenset()
    open_source: bool = True
    license_limit: str | None = None  # e.g. "<= 2000 variables and constraints"

    # ------------------------------------------------------------- metadata
    def is_installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.distribution or self.module)
        except importlib.metadata.PackageNotFoundError:
            return None

    def availability(self) -> Availability:
        installed = self.is_installed()
        if self.open_source:
            lic = "none needed"
        elif not installed:
            lic = "not installed"
        else:
            lic = f"size-limited pip licence: {self.license_limit}" if self.license_limit else "?"
        return Availability(
            installed, self.version() if installed else None, lic, self.license_limit
        )

    def missing_features(self, problem: ConicProblem) -> frozenset[str]:
        return required_features(problem) - self.features

    def check(self, problem: ConicProblem) -> None:
        """Raise if this backend cannot take ``problem`` (not installed / capability)."""
        if not self.is_installed():
            raise SolverUnavailableError(
                f"solver {self.name!r} is not installed "
                f"(pip install {self.distribution or self.module}); "
                f"installed solvers: {', '.join(_installed_names())}"
            )
        missing = self.missing_features(problem)
        if missing:
            from dro_opt.solvers.registry import solvers_supporting

            alts = [s for s in solvers_supporting(problem) if s != self.name]
            raise CapabilityError(
                f"solver {self.name!r} cannot solve this {problem.problem_class()} model: it lacks "
                f"{', '.join(sorted(missing))}; use {' or '.join(alts) or 'another solver'}"
            )

    # ---------------------------------------------------------------- solve
    def solve(self, problem: ConicProblem, options: SolveOptions | None = None) -> Result:
        """Check capabilities, then hand over to :meth:`_solve`.

        The time limit is cut to what is left of the command's budget (:func:`dro_opt.deadline.
        clip`; unchanged in library use), and a solver that stopped on Ctrl-C with its own handler
        (SCIP) records it for the command (:func:`dro_opt.interrupt.note_solver_interrupt`)."""
        from dro_opt import deadline, interrupt
        from dro_opt.solvers.status import Status

        self.check(problem)
        options = options or SolveOptions()
        limit = deadline.clip(options.time_limit)
        if limit != options.time_limit:
            options = replace(options, time_limit=limit)
        result = self._solve(problem, options)
        if result.status is Status.INTERRUPTED:
            interrupt.note_solver_interrupt()
        return result

    @abstractmethod
    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        """Solve ``problem``; fill status, objective (in the problem's sense), bound, x."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def _installed_names() -> list[str]:
    from dro_opt.solvers.registry import all_backends

    return [b.name for b in all_backends() if b.is_installed()]
