"""Licence-limit helpers shared by the commercial backends (Gurobi, CPLEX, Xpress, MOSEK).

Commercial pip wheels come with size-limited or missing licences (docs/conventions.md,
'Solver facts'; measured on this
machine with the wheels' own licences):

* Gurobi 13 pip licence: at most 2000 variables and 2000 constraints (linear + quadratic); once any
  quadratic term is present at most 200 variables. Error 10010 "Model too large for size-limited
  license".
* CPLEX 22.1 Community Edition: at most 1000 variables and 1000 constraints (linear + quadratic).
  Error 1016 "Community Edition. Problem size limits exceeded".
* Xpress 9.9 community licence: rows + columns at most 5000; with a quadratic term rows + columns at
  most 200. Error 120 "Problem has too many rows and columns".
* MOSEK 11: no licence file, every optimisation fails with error 1008
  (MSK_RES_ERR_MISSING_LICENSE_FILE).

These limits are defined here once, as :class:`SizeLimit` values that each backend names in its
``size_limit`` class attribute; every text about a limit (availability, messages) is derived from
them. A backend never refuses a model from its size alone (a full licence may be installed): it
builds the model, lets the solver decide, and the template of
:class:`~dro_opt.solvers.base.Backend` turns the solver's own licence error code into a
:class:`~dro_opt.solvers.result.Result` with status ``LICENSE_LIMIT`` whose message names the limit,
the model's size as the solver counts it and an open alternative (:func:`licence_result`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dro_opt.conic.problem import ConicProblem
from dro_opt.reformulations.soc_to_quadratic import QuadraticForm
from dro_opt.solvers.result import Result
from dro_opt.solvers.status import Status

# ------------------------------------------------------------------------------------ limits


@dataclass(frozen=True)
class ModelSize:
    """Size of a model as the solver counts it (after lowering cones to its constraint types)."""

    variables: int
    constraints: int
    quadratic: bool  # any quadratic term present (the reduced limits apply)

    @classmethod
    def of_quadratic(cls, form: QuadraticForm) -> ModelSize:
        """What Gurobi, CPLEX and Xpress count for a model lowered to quadratic constraints."""
        nq = form.num_quadratic
        return cls(form.num_cols, form.num_rows + nq, nq > 0)

    @classmethod
    def of_conic(cls, problem: ConicProblem) -> ModelSize:
        return cls(problem.n, problem.m, False)

    def describe(self) -> str:
        kind = " with quadratic terms" if self.quadratic else ""
        return f"{self.variables} variables and {self.constraints} constraints{kind}"


@dataclass(frozen=True)
class SizeLimit:
    """A licence's size limit: the words used in messages and the numbers it checks.

    ``None`` means "no such limit". ``max_*_quadratic`` apply once any quadratic term is present.
    """

    solver: str  # display name, e.g. "Gurobi"
    licence: str  # e.g. "size-limited pip licence"
    words: str  # e.g. "2000 variables and 2000 constraints (200 variables with quadratic terms)"
    max_variables: int | None = None
    max_constraints: int | None = None
    max_rows_plus_cols: int | None = None
    max_variables_quadratic: int | None = None
    max_rows_plus_cols_quadratic: int | None = None

    def violations(self, size: ModelSize) -> list[str]:
        """Parts of ``size`` over this limit, in words (empty when the model fits)."""
        out: list[str] = []
        v, c = size.variables, size.constraints
        if self.max_variables is not None and v > self.max_variables:
            out.append(f"{v} variables")
        if self.max_constraints is not None and c > self.max_constraints:
            out.append(f"{c} constraints")
        if self.max_rows_plus_cols is not None and v + c > self.max_rows_plus_cols:
            out.append(f"{v + c} rows plus columns")
        if size.quadratic:
            if self.max_variables_quadratic is not None and v > self.max_variables_quadratic:
                out.append(f"{v} variables with quadratic terms")
            lim = self.max_rows_plus_cols_quadratic
            if lim is not None and v + c > lim:
                out.append(f"{v + c} rows plus columns with quadratic terms")
        return list(dict.fromkeys(out))

    def fits(self, size: ModelSize) -> bool:
        return not self.violations(size)

    @property
    def counted(self) -> bool:
        """True for a size limit, False for a licence needed whatever the size (MOSEK)."""
        return self.max_variables is not None or self.max_rows_plus_cols is not None

    def availability_text(self) -> str:
        """The licence situation in words, e.g. for ``dro-opt solvers``."""
        if self.counted:
            return f"{self.licence}: at most {self.words}"
        return f"needs {self.words}"


GUROBI_LIMIT = SizeLimit(
    "Gurobi",
    "size-limited pip licence",
    "2000 variables and 2000 constraints (200 variables with quadratic terms)",
    max_variables=2000,
    max_constraints=2000,
    max_variables_quadratic=200,
)
CPLEX_LIMIT = SizeLimit(
    "CPLEX",
    "Community Edition licence",
    "1000 variables and 1000 constraints",
    max_variables=1000,
    max_constraints=1000,
)
XPRESS_LIMIT = SizeLimit(
    "Xpress",
    "community licence",
    "5000 rows plus columns (200 with quadratic terms)",
    max_rows_plus_cols=5000,
    max_rows_plus_cols_quadratic=200,
)
MOSEK_LIMIT = SizeLimit(
    "MOSEK",
    "installation",
    "a licence file (MOSEKLM_LICENSE_FILE or ~/mosek/mosek.lic) for every optimisation; "
    "without one only file writing works",
)


def open_alternatives(problem: ConicProblem) -> list[str]:
    """Open solvers that take ``problem`` (docs/conventions.md, 'Solver facts'): SCIP always, HiGHS
    for LP/MILP,
    Clarabel for continuous conic models."""
    needs = problem.needs()
    if not needs - {"integer"}:
        return ["scip", "highs"] if "integer" in needs else ["highs", "scip"]
    if "integer" in needs:
        return ["scip"]
    return ["clarabel", "scip"]


def licence_message(
    limit: SizeLimit,
    size: ModelSize,
    problem: ConicProblem,
    native: str = "",
) -> str:
    """The user-facing message: the limit, the model's size, an open alternative, the fix.

    Example: "Gurobi's size-limited pip licence allows at most 2000 variables and 2000 constraints
    (200 variables with quadratic terms); this model has 2501 variables: use solver 'scip' or
    'highs', or install a full licence (solver error 10010: Model too large ...)".
    """
    over = limit.violations(size)
    has = ", ".join(over) if over else size.describe()
    alts = " or ".join(f"'{a}'" for a in open_alternatives(problem))
    if not limit.counted:
        head = f"{limit.solver} has no usable licence here: it needs {limit.words}"
        tail = f"use solver {alts}, or install a {limit.solver} licence"
        text = f"{head}; this model has {size.describe()}: {tail}"
    else:
        text = (
            f"{limit.solver}'s {limit.licence} allows at most {limit.words}; this model has "
            f"{has}: use solver {alts}, or install a full licence"
        )
    native = " ".join(str(native).split())
    return f"{text} (solver error {native})" if native else text


def licence_result(
    limit: SizeLimit,
    size: ModelSize,
    problem: ConicProblem,
    *,
    solver: str,
    version: str | None,
    code: int | str,
    native: str,
    build_seconds: float = 0.0,
) -> Result:
    """A ``LICENSE_LIMIT`` result carrying :func:`licence_message` and the native error."""
    return Result(
        status=Status.LICENSE_LIMIT,
        solver=solver,
        solver_version=version,
        sense=problem.sense,
        build_seconds=build_seconds,
        message=licence_message(limit, size, problem, f"{code}: {native}"),
        extra={"licence_error_code": code, "model_size": size.__dict__},
    )


def licence_file(env_vars: tuple[str, ...], defaults: tuple[str, ...]) -> str | None:
    """First licence file named by ``env_vars`` or found at ``defaults`` (no checkout: only a
    file-existence test, so availability never takes a licence)."""
    candidates: list[str] = []
    for var in env_vars:
        val = os.environ.get(var)
        if val:
            candidates.extend(p for p in val.split(os.pathsep) if p)
    candidates.extend(os.path.expanduser(d) for d in defaults)
    for cand in candidates:
        if "@" in cand:  # licence server address, e.g. 27007@host
            return cand
        if Path(cand).is_file():
            return cand
    return None
