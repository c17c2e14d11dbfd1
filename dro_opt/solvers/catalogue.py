"""Which backends exist and what each declares: one table, loaded on first use.

Every built-in backend is one row of :data:`BACKENDS` (its class, package, features, common
option names, trajectory feature and parameter reference) and, if it needs a licence, one row of
:data:`LICENCES` (its size limit in :mod:`dro_opt.solvers._licence`, its native error classes and
licence error codes, where its licence file is looked for). The backend class itself declares only
``name`` plus what is its own; :meth:`dro_opt.solvers.base.Backend.__init_subclass__` fills in the
rest from :data:`TRAITS`. Adding a solver is one backend file plus one row here. Extra backends
(test doubles, site-specific solvers) declare everything in their class and join with
:func:`register_backend`. Nothing here imports a solver package; backend modules are imported by
name only when a backend is asked for.

Columns: ``features`` are names from :mod:`dro_opt.solvers.features`; ``options`` pairs
``common=native`` (a common option may set several native parameters); ``trajectory`` is
``callback`` (bounds over time from the solver's callbacks with ``SolveOptions.trajectory``)
and/or the name of a log parser in :mod:`dro_opt.solvers.trajectory`; licence error codes are
integers or ranges ``a-b``; empty cells are ``-``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import UnknownSolverError
from dro_opt.solvers.features import ALL_FEATURES, required_features

if TYPE_CHECKING:
    from dro_opt.solvers.base import Backend

BACKENDS = """
name     | class (in dro_opt.solvers)        | import (pip)  | display name | features                                        | options (common=native)                                                                              | trajectory             | parameter reference
scip     | scip_backend:ScipBackend          | pyscipopt     | SCIP         | integer soc rsoc exp pow mi_soc mi_exp bound    | time_limit=limits/time gap=limits/gap gap=limits/absgap threads=lp/threads                           | callback scip_log      | https://www.scipopt.org/doc/html/PARAMETERS.php
highs    | highs_backend:HighsBackend        | highspy       | HiGHS        | integer duals bound                             | time_limit=time_limit gap=mip_rel_gap gap=mip_abs_gap threads=threads                                | callback highs_log     | https://ergo-code.github.io/HiGHS/stable/options/definitions/
clarabel | clarabel_backend:ClarabelBackend  | clarabel      | Clarabel     | soc rsoc exp pow duals                          | time_limit=time_limit threads=max_threads                                                            | -                      | https://clarabel.org/stable/api_settings/
gurobi   | gurobi_backend:GurobiBackend      | gurobipy      | Gurobi       | integer soc rsoc mi_soc duals bound             | time_limit=TimeLimit gap=MIPGap threads=Threads                                                      | callback gurobi_log    | the Gurobi parameter reference
mosek    | mosek_backend:MosekBackend        | mosek         | MOSEK        | all                                             | time_limit=MSK_DPAR_OPTIMIZER_MAX_TIME gap=MSK_DPAR_MIO_TOL_REL_GAP threads=MSK_IPAR_NUM_THREADS     | -                      | the MOSEK parameter reference (generic names such as 'MSK_DPAR_OPTIMIZER_MAX_TIME')
cplex    | cplex_backend:CplexBackend        | cplex         | CPLEX        | integer soc rsoc mi_soc duals bound             | time_limit=timelimit gap=mip.tolerances.mipgap threads=threads                                       | callback cplex_log     | the CPLEX parameter reference (dotted names: 'mip.tolerances.absmipgap')
xpress   | xpress_backend:XpressBackend      | xpress        | Xpress       | integer soc rsoc mi_soc duals bound             | time_limit=timelimit gap=miprelstop threads=threads                                                  | callback xpress_log    | the Xpress controls reference
"""  # noqa: E501

LICENCES = """
name     | size limit (in _licence) | native errors                | licence error codes | licence file variables | default licence files
gurobi   | GUROBI_LIMIT             | gurobipy.GurobiError         | 10009 10010         | GRB_LICENSE_FILE       | ~/gurobi.lic /opt/gurobi/gurobi.lic
mosek    | MOSEK_LIMIT              | mosek.Error                  | 1000-1030           | MOSEKLM_LICENSE_FILE   | ~/mosek/mosek.lic
cplex    | CPLEX_LIMIT              | cplex.exceptions.CplexError  | 1016                | -                      | -
xpress   | XPRESS_LIMIT             | xpress.SolverError           | 120                 | XPAUTH_PATH            | -
"""  # noqa: E501


@dataclass(frozen=True)
class BackendTraits:
    """One backend's declarations (a row of :data:`BACKENDS`, and of :data:`LICENCES`)."""

    name: str
    class_path: str  # "module:Class" of the backend class
    module: str  # import name (= pip distribution name for every built-in backend)
    display_name: str
    features: frozenset[str]
    option_names: tuple[tuple[str, str], ...]
    trajectory_callback: bool
    log_parser: str | None  # function name in dro_opt.solvers.trajectory
    option_reference: str
    open_source: bool = True
    size_limit: str | None = None  # name in dro_opt.solvers._licence
    native_errors: tuple[str, ...] = ()
    licence_error_codes: frozenset[int] = frozenset()
    licence_env: tuple[str, ...] = ()
    licence_defaults: tuple[str, ...] = ()


def _rows(table: str) -> list[list[str]]:
    lines = [line for line in table.strip().splitlines()[1:] if line.strip()]
    return [[cell.strip() for cell in line.split("|")] for line in lines]


def _words(cell: str) -> tuple[str, ...]:
    return () if cell == "-" else tuple(cell.split())


def _codes(cell: str) -> frozenset[int]:
    out: set[int] = set()
    for word in _words(cell):
        lo, _, hi = word.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(out)


def _parse() -> dict[str, BackendTraits]:
    licences = {row[0]: row[1:] for row in _rows(LICENCES)}
    out: dict[str, BackendTraits] = {}
    for name, cls, module, display, feats, opts, traj, ref in _rows(BACKENDS):
        features = frozenset(ALL_FEATURES) if feats == "all" else frozenset(_words(feats))
        unknown = features - set(ALL_FEATURES)
        if unknown:
            raise ValueError(f"backend catalogue: {name} declares unknown features {unknown}")
        trajectory = _words(traj)
        parsers = [w for w in trajectory if w != "callback"]
        licence: dict[str, object] = {}
        if name in licences:
            limit, errors, codes, env, files = licences[name]
            licence = {
                "open_source": False,
                "size_limit": limit,
                "native_errors": _words(errors),
                "licence_error_codes": _codes(codes),
                "licence_env": _words(env),
                "licence_defaults": _words(files),
            }
        out[name] = BackendTraits(
            name=name,
            class_path=f"dro_opt.solvers.{cls}",
            module=module,
            display_name=display,
            features=features,
            option_names=tuple(tuple(w.split("=", 1)) for w in _words(opts)),  # type: ignore[misc]
            trajectory_callback="callback" in trajectory,
            log_parser=parsers[0] if parsers else None,
            option_reference=ref,
            **licence,  # type: ignore[arg-type]
        )
    return out


TRAITS: dict[str, BackendTraits] = _parse()
BACKEND_CLASSES = {name: t.class_path for name, t in TRAITS.items()}
SOLVER_NAMES = tuple(BACKEND_CLASSES)
_CACHE: dict[str, Backend] = {}
_EXTRA: dict[str, Backend] = {}


def register_backend(backend: Backend) -> None:
    """Register an additional backend (e.g. a test double) under ``backend.name``."""
    _EXTRA[backend.name] = backend


def unregister_backend(name: str) -> None:
    """Remove a backend added by :func:`register_backend` (no-op if it is not registered)."""
    _EXTRA.pop(str(name).strip().lower(), None)


def get_backend(name: str) -> Backend:
    """The backend object for ``name`` (case-insensitive); raises UnknownSolverError."""
    key = str(name).strip().lower()
    if key in _EXTRA:
        return _EXTRA[key]
    if key not in BACKEND_CLASSES:
        raise UnknownSolverError(
            f"unknown solver {name!r}; choose one of: {', '.join(SOLVER_NAMES)}"
        )
    if key not in _CACHE:
        mod_name, cls_name = BACKEND_CLASSES[key].split(":")
        _CACHE[key] = getattr(importlib.import_module(mod_name), cls_name)()
    return _CACHE[key]


def all_backends() -> list[Backend]:
    """The built-in backends, then the registered extras."""
    return [get_backend(n) for n in SOLVER_NAMES] + list(_EXTRA.values())


def installed_supporting(problem: ConicProblem) -> list[str]:
    """Installed built-in solvers whose declared features cover the problem's needs."""
    needs = required_features(problem)
    return [
        b.name
        for b in all_backends()
        if b.name in SOLVER_NAMES and b.is_installed() and needs <= b.features
    ]
