"""Which backends exist: names -> backend classes, loaded on first use.

Adding a solver is one backend file plus one line in :data:`BACKEND_CLASSES`. Extra backends
(test doubles, site-specific solvers) join with :func:`register_backend`. Nothing here imports a
solver package; backend modules are imported by name only when a backend is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dro_opt.conic.problem import ConicProblem
from dro_opt.errors import UnknownSolverError
from dro_opt.solvers.features import required_features

if TYPE_CHECKING:
    from dro_opt.solvers.base import Backend

BACKEND_CLASSES = {
    "scip": "dro_opt.solvers.scip_backend:ScipBackend",
    "highs": "dro_opt.solvers.highs_backend:HighsBackend",
    "clarabel": "dro_opt.solvers.clarabel_backend:ClarabelBackend",
    "gurobi": "dro_opt.solvers.gurobi_backend:GurobiBackend",
    "mosek": "dro_opt.solvers.mosek_backend:MosekBackend",
    "cplex": "dro_opt.solvers.cplex_backend:CplexBackend",
    "xpress": "dro_opt.solvers.xpress_backend:XpressBackend",
}
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
