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

import importlib
import importlib.metadata
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import CapabilityError, ParameterError, SolverUnavailableError
from dro_opt.solvers._licence import ModelSize, SizeLimit, licence_file, licence_result
from dro_opt.solvers.extract import Extracted, assemble_result
from dro_opt.solvers.features import (  # noqa: F401  (re-exported: the feature names)
    ALL_FEATURES,
    BOUND,
    DUALS,
    EXP,
    INTEGER,
    MI_EXP,
    MI_SOC,
    POW,
    RSOC,
    SOC,
    required_features,
)
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status
from dro_opt.solvers.trajectory import Point, TrajectoryRecorder, listening


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


@dataclass
class Run:
    """State of one solve, handed to every hook: the native model (``model``), anything a backend
    keeps beside it (``state``), the solver version and the trajectory recorder (or ``None``)."""

    problem: ConicProblem
    options: SolveOptions
    version: str | None = None
    model: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    recorder: TrajectoryRecorder | None = None
    notes: list[str] = field(default_factory=list)


class Backend:
    """One solver, as a template method with small hooks.

    :meth:`solve` checks capabilities, then :meth:`_solve` runs the same skeleton for every
    solver: :meth:`build` the native model, :meth:`set_options` (common options through
    ``option_names`` plus ``options.extra``, each via :meth:`set_parameter`), attach the
    trajectory recorder (:meth:`attach_trajectory`, when ``trajectory_callback``), time the build,
    :meth:`optimise`, re-solve once without presolve when the answer is "infeasible or unbounded"
    (:meth:`undecided` / :meth:`resolve_decided`, within the time left), :meth:`extract`, and
    :meth:`dispose` in every case. A native exception (``native_errors``) whose code
    (:meth:`error_code`) is a licence code becomes a ``LICENSE_LIMIT`` result whose message is
    derived from ``size_limit``; any other exception an ``ERROR`` result with a one-line message.
    Every result is assembled by one function (:func:`~dro_opt.solvers.extract.assemble_result`).

    The class attributes below are the declarations; a built-in backend makes them as one row of
    the table in :mod:`dro_opt.solvers.catalogue` (the class itself declares ``name``), so a new
    solver is one file with a subclass plus one catalogue row.
    """

    name: str = ""
    module: str = ""  # import name
    distribution: str = ""  # pip distribution name, for the version without importing
    display_name: str = ""  # e.g. "Gurobi", for messages
    features: frozenset[str] = frozenset()
    open_source: bool = True
    size_limit: SizeLimit | None = None  # the licence limit (solvers/_licence.py)
    license_limit: str | None = None  # in words; derived from size_limit unless set
    licence_env: tuple[str, ...] = ()  # environment variables naming a licence file
    licence_defaults: tuple[str, ...] = ()  # default licence file places
    native_errors: tuple[str, ...] = ()  # "module.ExceptionClass" of the solver's errors
    licence_error_codes: frozenset[int] = frozenset()
    # (common option, native parameter name) pairs; a common option may set several
    option_names: tuple[tuple[str, str], ...] = ()
    option_reference: str = "the solver's parameter reference"
    trajectory_callback: bool = False  # records bounds over time when options.trajectory
    log_parser: Callable[[str], list[Point]] | None = None  # reads bounds from its log

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A built-in backend (its ``name`` a row of :data:`~dro_opt.solvers.catalogue.TRAITS`
        naming this class) gets every declaration it does not make itself from that row."""
        super().__init_subclass__(**kwargs)
        from dro_opt.solvers import _licence, trajectory
        from dro_opt.solvers.catalogue import TRAITS

        traits = TRAITS.get(cls.__dict__.get("name", ""))
        if traits is not None and traits.class_path == f"{cls.__module__}:{cls.__qualname__}":
            values: dict[str, Any] = {
                "module": traits.module,
                "distribution": traits.module,
                "display_name": traits.display_name,
                "features": traits.features,
                "open_source": traits.open_source,
                "size_limit": traits.size_limit and getattr(_licence, traits.size_limit),
                "licence_env": traits.licence_env,
                "licence_defaults": traits.licence_defaults,
                "native_errors": traits.native_errors,
                "licence_error_codes": traits.licence_error_codes,
                "option_names": traits.option_names,
                "option_reference": traits.option_reference,
                "trajectory_callback": traits.trajectory_callback,
                "log_parser": traits.log_parser
                and staticmethod(getattr(trajectory, traits.log_parser)),
            }
            for key, value in values.items():
                if key not in cls.__dict__:
                    setattr(cls, key, value)
        if cls.size_limit is not None and "license_limit" not in cls.__dict__:
            cls.license_limit = cls.size_limit.availability_text()

    # ------------------------------------------------------------- metadata
    @property
    def label(self) -> str:
        return self.display_name or self.name

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
        """Installed?, version and licence situation, without importing the solver (a licence
        file is only looked for, never checked out)."""
        installed = self.is_installed()
        version = self.version() if installed else None
        if self.open_source:
            return Availability(installed, version, "none needed")
        if not installed:
            return Availability(False, None, "not installed", self.license_limit)
        found = licence_file(self.licence_env, self.licence_defaults)
        if found:
            lic = f"licence file {found} (not checked out; limits depend on it)"
            return Availability(True, version, lic, None)
        if self.size_limit is not None and not self.size_limit.counted:
            return Availability(True, version, f"missing: {self.license_limit}", self.license_limit)
        lic = self.license_limit if self.size_limit else f"size-limited: {self.license_limit}"
        return Availability(True, version, lic or "?", self.license_limit)

    def missing_features(self, problem: ConicProblem) -> frozenset[str]:
        return required_features(problem) - self.features

    def check(self, problem: ConicProblem, alternatives: list[str] | None = None) -> None:
        """Raise if this backend cannot take ``problem`` (not installed / capability).

        ``alternatives`` (installed solvers that can, from the registry) go into the message.
        """
        if not self.is_installed():
            raise SolverUnavailableError(
                f"solver {self.name!r} is not installed "
                f"(pip install {self.distribution or self.module})"
            )
        missing = self.missing_features(problem)
        if missing:
            alts = [s for s in alternatives or [] if s != self.name]
            raise CapabilityError(
                f"solver {self.name!r} cannot solve this {problem.problem_class()} model: it lacks "
                f"{', '.join(sorted(missing))}; use {' or '.join(alts) or 'another solver'}"
            )

    # ---------------------------------------------------------------- solve
    def solve(self, problem: ConicProblem, options: SolveOptions | None = None) -> Result:
        """Check capabilities, then run :meth:`_solve`.

        The time limit is cut to what is left of the command's budget (:func:`dro_opt.deadline.
        clip`; unchanged in library use), and a solver that stopped on Ctrl-C with its own handler
        (SCIP) records it for the command (:func:`dro_opt.interrupt.note_solver_interrupt`)."""
        from dro_opt import deadline, interrupt

        if self.missing_features(problem) or not self.is_installed():
            from dro_opt.solvers.catalogue import installed_supporting

            self.check(problem, installed_supporting(problem))
        options = options or SolveOptions()
        limit = deadline.clip(options.time_limit)
        if limit != options.time_limit:
            options = replace(options, time_limit=limit)
        result = self._solve(problem, options)
        if result.status is Status.INTERRUPTED:
            interrupt.note_solver_interrupt()
        return result

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        """The template (class docstring). Test doubles may override it whole."""
        run = Run(problem, options, version=self.version())
        t0 = time.perf_counter()
        build = 0.0
        stage = "building the model"
        try:
            self.build(run)
            self.set_options(run)
            if (options.trajectory or listening()) and self.trajectory_callback:
                run.recorder = TrajectoryRecorder()
                self.attach_trajectory(run)
            build = time.perf_counter() - t0
            stage = "solving"
            t1 = time.perf_counter()
            self.optimise(run)
            left = _time_left(options.time_limit, t1)
            if left != 0.0 and self.undecided(run):
                self.resolve_decided(run, left)
                run.notes.append("re-solved without presolve to tell infeasible from unbounded")
            solve = time.perf_counter() - t1
            out = self.extract(run)
        except ParameterError:
            raise
        except Exception as exc:  # a native failure becomes a Result, never a traceback
            return self._failure(run, exc, stage, build or time.perf_counter() - t0)
        finally:
            self.dispose(run)
        if run.notes:
            out.message = "; ".join([*run.notes, out.message] if out.message else run.notes)
        res = assemble_result(problem, out, solver=self.name, version=run.version)
        res.build_seconds, res.solve_seconds = build, solve
        if run.recorder is not None and options.trajectory:
            res.extra["trajectory"] = run.recorder.as_list()
        return res

    # ---------------------------------------------------------------- hooks
    def build(self, run: Run) -> None:
        """Create the native model for ``run.problem`` in ``run.model`` (in bulk)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither build nor _solve")

    def set_parameter(self, run: Run, name: str, value: Any) -> None:
        """Set one native parameter; raise (anything) when the solver rejects it."""
        raise KeyError(name)

    def default_parameters(self, run: Run) -> dict[str, Any]:
        """Native parameters this backend always sets (tolerances the results rely on)."""
        return {}

    def attach_trajectory(self, run: Run) -> None:
        """Feed ``run.recorder`` from the solver's callbacks (backends with
        ``trajectory_callback``)."""

    def optimise(self, run: Run) -> None:
        """Run the solver on ``run.model``."""
        raise NotImplementedError(f"{type(self).__name__} implements neither optimise nor _solve")

    def undecided(self, run: Run) -> bool:
        """True when the solver said "infeasible or unbounded" and a re-solve can tell."""
        return False

    def resolve_decided(self, run: Run, time_left: float | None) -> None:
        """Re-solve without presolve's dual reductions, within ``time_left`` seconds."""

    def extract(self, run: Run) -> Extracted:
        """Status, point, bound, duals ... of the finished solve."""
        raise NotImplementedError(f"{type(self).__name__} implements neither extract nor _solve")

    def error_code(self, run: Run, exc: BaseException) -> int | None:
        """The solver's error code of a native exception (``None`` if it has none)."""
        code = getattr(exc, "errno", None)
        try:
            return None if code is None else int(code)
        except (TypeError, ValueError):
            return None

    def model_size(self, run: Run) -> ModelSize:
        """The model's size as the solver counts it (for licence messages)."""
        return ModelSize.of_conic(run.problem)

    def dispose(self, run: Run) -> None:
        """Free the native model (called in every case)."""

    # --------------------------------------------------------- template parts
    def set_options(self, run: Run) -> None:
        """Common options (``option_names``), backend defaults, then ``options.extra``."""
        opts = run.options
        common = {"time_limit": opts.time_limit, "gap": opts.gap, "threads": opts.threads}
        kinds = {"time_limit": float, "gap": float, "threads": int}
        params: dict[str, Any] = {}
        for key, native in self.option_names:
            if common[key] is not None:
                params[native] = kinds[key](common[key])
        params.update(self.default_parameters(run))
        params.update(opts.extra)
        for key, value in params.items():
            try:
                self.set_parameter(run, str(key), value)
            except ParameterError:
                raise
            except Exception as err:
                raise ParameterError(
                    f"{self.label} rejected parameter {key}={value!r} ({one_line(err)}); see "
                    f"{self.option_reference} for valid names and values"
                ) from None

    def native_exception_types(self) -> tuple[type[BaseException], ...]:
        """The classes named in ``native_errors`` (imported only now, at solve time)."""
        out = []
        for spec in self.native_errors:
            mod, _, cls = spec.rpartition(".")
            out.append(getattr(importlib.import_module(mod), cls))
        return tuple(out)

    def is_licence_error(self, code: int | None) -> bool:
        return code is not None and code in self.licence_error_codes

    def _failure(self, run: Run, exc: BaseException, stage: str, build: float) -> Result:
        problem = run.problem
        code = None
        if isinstance(exc, self.native_exception_types()):
            code = self.error_code(run, exc)
        if self.size_limit is not None and self.is_licence_error(code):
            return licence_result(
                self.size_limit,
                self.model_size(run),
                problem,
                solver=self.name,
                version=run.version,
                code=code if code is not None else "?",
                native=one_line(exc, with_type=False),
                build_seconds=build,
            )
        where = f" (solver error {code})" if code is not None else ""
        return Result(
            status=Status.ERROR,
            solver=self.name,
            solver_version=run.version,
            sense=problem.sense,
            build_seconds=build,
            message=f"{self.name} failed while {stage}{where}: {one_line(exc)}",
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class QuadraticLoweringBackend(Backend):
    """A backend that loads the quadratic lowering of the model
    (:func:`~dro_opt.reformulations.soc_to_quadratic.lower_to_quadratic`, kept in
    ``run.state["form"]`` by its :meth:`build`): its licence counts that form's size."""

    def model_size(self, run: Run) -> ModelSize:
        from dro_opt.reformulations.soc_to_quadratic import lower_to_quadratic

        form = run.state.get("form") or lower_to_quadratic(run.problem)
        return ModelSize.of_quadratic(form)


def _time_left(limit: float | None, start: float) -> float | None:
    """Seconds left of ``limit`` since ``start`` (``None``: no limit; never negative)."""
    if limit is None:
        return None
    return max(0.0, float(limit) - (time.perf_counter() - start))


def one_line(exc: BaseException, with_type: bool = True) -> str:
    """A one-line description of an exception (type and its message on one line)."""
    text = " ".join(str(exc).split())
    if not with_type:
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
