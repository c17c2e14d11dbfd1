"""Import a DCP cvxpy problem into the canonical conic form through cvxpy's own canonicalisation.

cvxpy is the front door for users who write their own convex loss (docs/conventions.md,
'Canonical conic form'): its DCP
rules turn ``cp.exp``, ``cp.log_sum_exp``, ``cp.kl_div``, ``cp.rel_entr``, ``cp.norm``,
``cp.geo_mean``, ``cp.power`` ... into cones. This module runs exactly that reduction chain
(``FlipObjective -> Dcp2Cone -> CvxAttr2Constr -> EliminateZeroSized -> ConeMatrixStuffing``,
assembled by ``Problem.get_problem_data``) against a *target* that declares every cone dro_opt
holds (zero, nonneg, SOC, exponential, 3-d power) and integer support. cvxpy's own solver
interfaces cannot pass on the combinations they do not declare -- e.g. cvxpy 1.9 refuses a
binary + exponential-cone problem with ``solver=cp.SCIP`` ("The solver SCIP cannot solve this
problem") -- while the imported :class:`~dro_opt.conic.problem.ConicProblem` goes to SCIP through
dro_opt with a proven bound.

Layout of cvxpy's conic data (``ConicSolver.apply`` / ``format_constraints``, the SCS
convention that ``scs_conif.py`` and ``clarabel_conif.py`` consume):

* ``A x + s = b``, ``s in K`` with rows ordered zero, nonneg, SOC (one cone per entry of
  ``dims.soc``, each ``(t, X)`` contiguous), PSD, exponential (``dims.exp`` cones, rows
  interleaved ``(x, y, z)`` with ``y exp(x / y) <= z`` -- ``EXP_CONE_ORDER = [0, 1, 2]``, the same
  order as :data:`~dro_opt.conic.cones.EXP`), 3-d power cones (``dims.p3d`` holds one ``alpha``
  per cone, ``x^alpha y^(1-alpha) >= |z|``, as :data:`~dro_opt.conic.cones.POW`).
* objective ``c'x + d`` of the *minimisation* form (``FlipObjective`` negates a maximisation).
* columns: all variables of the canonicalised problem, each stored column-major (order "F")
  from ``var_id_to_col[var.id]``; auxiliary epigraph variables of ``Dcp2Cone`` interleave with
  the user's. Variable-bound attributes (``nonneg=True``, ``bounds=[l, u]``, ...) arrive as
  ``lower_bounds`` / ``upper_bounds`` because the target declares bounded variables; boolean
  and integer columns as ``x.boolean_idx`` / ``x.integer_idx``.

The import permutes columns so that every user variable becomes one named
:class:`~dro_opt.conic.problem.VarBlock` in C order with its original shape (so
``result[var.name()]`` has ``var.shape``), followed by one block ``_cvxpy_aux`` of cvxpy's
auxiliary variables. :func:`assign_solution` writes a :class:`~dro_opt.solvers.result.Result`
back onto the cvxpy variables (and ``problem.status`` / ``problem.value``) with cvxpy's own
``Problem.unpack``.

Unsupported (each an :class:`~dro_opt.errors.InvalidModelError` naming the fix): non-DCP problems,
parameters without a value, PSD cones (semidefinite constraints or PSD/NSD/symmetric variables),
and variable attributes that cvxpy replaces by a smaller variable (``diag``, ``sparsity``,
``symmetric``).
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any, Protocol

import cvxpy as cp
import cvxpy.settings as cps
import numpy as np
import scipy.sparse as sp
from cvxpy.constraints import SOC as CvxSOC
from cvxpy.constraints import ExpCone, NonNeg, PowCone3D, Zero
from cvxpy.error import DCPError, SolverError
from cvxpy.problems.problem_form import ProblemForm
from cvxpy.reductions.solution import Solution
from cvxpy.reductions.solvers.conic_solvers.conic_solver import ConicSolver
from cvxpy.reductions.solvers.solver import expand_cones

from dro_opt.conic.cones import EXP, NONNEG, POW, SOC, ZERO, ConeRun
from dro_opt.conic.problem import (
    BINARY,
    CONTINUOUS,
    INTEGER,
    MAX,
    MIN,
    ConBlock,
    ConicProblem,
    VarBlock,
)
from dro_opt.errors import InvalidModelError


class SolvedModel(Protocol):
    """What :func:`assign_solution` reads from a solve (a :class:`dro_opt.solvers.Result`;
    typed structurally so that the conic layer imports nothing from the solver layer above it):
    ``status`` with ``.value`` (the status name) and ``.has_solution``."""

    status: Any
    objective: float | None
    solution: dict[str, np.ndarray]
    message: str


AUX_BLOCK = "_cvxpy_aux"
TARGET_NAME = "DRO_OPT_CONIC_IMPORT"
_SUPPORTED = [Zero, NonNeg, CvxSOC, ExpCone, PowCone3D]
_REDUCED_ATTRIBUTES = ("diag", "sparsity", "symmetric", "PSD", "NSD", "hermitian")


class _ImportTarget(ConicSolver):
    """A cvxpy "custom solver" that only collects the conic data (never solves).

    Declaring zero, nonneg, SOC, exp and 3-d power cones -- also for mixed-integer problems --
    makes cvxpy canonicalise to exactly those cones; ``BOUNDED_VARIABLES`` keeps variable bounds
    as bounds instead of rows.
    """

    MIP_CAPABLE = True
    BOUNDED_VARIABLES = True
    SUPPORTED_CONSTRAINTS = _SUPPORTED
    MI_SUPPORTED_CONSTRAINTS = _SUPPORTED
    EXP_CONE_ORDER = [0, 1, 2]  # noqa: RUF012  (cvxpy's class-attribute protocol)

    def name(self) -> str:
        return TARGET_NAME

    def import_solver(self) -> None:
        """Nothing to import: this target never solves."""

    def solve_via_data(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the dro_opt import target only collects conic data")

    def cite(self, data: Any) -> str:
        return ""

    def apply(self, problem: Any) -> tuple[dict, dict]:
        data, inv = super().apply(problem)
        prog = data[cps.PARAM_PROB]
        data["var_id_to_col"] = dict(prog.var_id_to_col)
        data[cps.OFFSET] = float(np.asarray(inv[cps.OFFSET], dtype=float).sum())
        data[cps.BOOL_IDX] = np.array([int(t[0]) for t in prog.x.boolean_idx], dtype=np.int64)
        data[cps.INT_IDX] = np.array([int(t[0]) for t in prog.x.integer_idx], dtype=np.int64)
        return data, inv


def cvxpy_block_names(problem: cp.Problem) -> dict[int, str]:
    """Block name for each variable of ``problem`` (``{var.id: name}``).

    The name is ``var.name()``; a name used by several distinct variables gets the suffix
    ``#<id>`` on all of them so blocks stay unique (``result[var.name()]`` then needs the
    suffixed name -- give variables distinct names to avoid it).
    """
    variables = problem.variables()
    counts: dict[str, int] = {}
    for v in variables:
        counts[v.name()] = counts.get(v.name(), 0) + 1
    names = {}
    for v in variables:
        nm = v.name()
        names[v.id] = nm if counts[nm] == 1 and nm != AUX_BLOCK else f"{nm}#{v.id}"
    return names


def from_cvxpy(problem: cp.Problem, *, name: str = "cvxpy") -> ConicProblem:
    """Canonical conic form of a DCP cvxpy ``problem`` (see the module docstring).

    Parameters
    ----------
    problem
        A ``cvxpy.Problem`` satisfying the DCP rules; variables may be boolean or integer;
        parameters must have values (they are substituted as constants).
    name
        Name of the returned model.

    Returns
    -------
    ConicProblem
        ``min`` or ``max`` (the cvxpy objective's sense) of ``c'x + c0`` with the same optimal
        value as ``problem``; one variable block per cvxpy variable (:func:`cvxpy_block_names`,
        original shape), then the block ``_cvxpy_aux``.

    Raises
    ------
    InvalidModelError
        For problems outside what the canonical form holds (see the module docstring).
    """
    if not isinstance(problem, cp.Problem):
        raise InvalidModelError(f"from_cvxpy needs a cvxpy.Problem, got {type(problem).__name__}")
    _check_importable(problem)
    # cvxpy's canonicalisers copy current values into new auxiliary variables and validate them
    # against the (possibly wrong, see _assemble) inferred bounds: import with no values set.
    saved = [(v, v.value) for v in problem.variables()]
    for v, _ in saved:
        v.value = None
    try:
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            # cvxpy's bound inference takes log(0); its choice of canonicalisation backend is
            # announced as a UserWarning the user cannot act on: the library stays quiet.
            warnings.filterwarnings("ignore", message=".*support CPP backend", category=UserWarning)
            data, _, _ = problem.get_problem_data(solver=_ImportTarget(), ignore_dpp=True)
    except DCPError as exc:  # pragma: no cover - caught by _check_importable already
        raise InvalidModelError(f"cvxpy problem is not DCP: {exc}") from exc
    except SolverError as exc:
        raise InvalidModelError(
            f"cvxpy could not canonicalise the problem to zero/nonneg/SOC/exp/power cones: {exc}"
        ) from exc
    finally:
        for v, val in saved:
            v.value = val
    return _assemble(problem, data, name)


def assign_solution(problem: cp.Problem, result: SolvedModel) -> None:
    """Write ``result`` (of ``from_cvxpy(problem)`` solved by a dro_opt backend) onto ``problem``.

    Sets every ``var.value`` (integer and boolean variables rounded to the nearest integer),
    ``problem.status`` (cvxpy's names: ``optimal``; ``user_limit`` for a solution without proof
    of optimality; ``infeasible``, ``unbounded``, ``infeasible_or_unbounded``) and
    ``problem.value`` through cvxpy's ``Problem.unpack``.

    Raises
    ------
    InvalidModelError
        If ``result`` has neither a solution nor a proven infeasible/unbounded status, or lacks
        a block of ``problem``.
    """
    status = result.status
    is_max = isinstance(problem.objective, cp.Maximize)
    proven = {
        "infeasible": cps.INFEASIBLE,
        "unbounded": cps.UNBOUNDED,
        "infeasible_or_unbounded": cps.INFEASIBLE_OR_UNBOUNDED,
    }
    if status.value in proven:
        cvx_status = proven[status.value]
        worst = -np.inf if is_max else np.inf
        value = {cps.INFEASIBLE: worst, cps.UNBOUNDED: -worst}.get(cvx_status, np.nan)
        problem.unpack(Solution(cvx_status, value, {}, {}, {}))
        return
    if not status.has_solution or not result.solution:
        raise InvalidModelError(
            f"result has no solution to assign (status {status.value}: {result.message or '-'})"
        )
    names = cvxpy_block_names(problem)
    primal = {}
    for var in problem.variables():
        blk = names[var.id]
        if blk not in result.solution:
            raise InvalidModelError(
                f"result has no block {blk!r}; was it solved from from_cvxpy(problem) of this "
                f"very problem? blocks: {sorted(result.solution)}"
            )
        val = np.asarray(result.solution[blk], dtype=float).reshape(var.shape)
        if var.attributes["boolean"] or var.attributes["integer"]:
            val = np.round(val)
        primal[var.id] = val
    cvx_status = cps.OPTIMAL if status.value == "optimal" else cps.USER_LIMIT
    problem.unpack(Solution(cvx_status, result.objective, primal, {}, {}))


# --------------------------------------------------------------------------- internals
def _check_importable(problem: cp.Problem) -> None:
    if not problem.variables():
        raise InvalidModelError("the cvxpy problem has no variables; nothing to import")
    missing = [p.name() for p in problem.parameters() if p.value is None]
    if missing:
        raise InvalidModelError(
            f"cvxpy parameters without a value: {', '.join(missing)}; set param.value first"
        )
    if not problem.is_dcp():
        hint = " (it is DGP: log-log convex programs are not imported)" if problem.is_dgp() else ""
        raise InvalidModelError(
            "the cvxpy problem does not follow the DCP rules" + hint + "; rewrite it so that "
            "problem.is_dcp() is True (see https://www.cvxpy.org/tutorial/dcp/)"
        )
    for var in problem.variables():
        bad = [a for a in _REDUCED_ATTRIBUTES if var.attributes.get(a)]
        if bad:
            raise InvalidModelError(
                f"variable {var.name()!r} has attribute(s) {', '.join(bad)}, which need PSD "
                "cones or a reduced variable; declare a plain Variable and state the structure "
                "as constraints (PSD constraints are not supported)"
            )
    # cvxpy's own rule (Solver.can_solve): exact conversions (NonPos -> NonNeg, PowConeND ->
    # PowCone3D) and the approximations the user asked for by name (RelEntrConeQuad, ...) apply.
    cones, _, _ = expand_cones(ProblemForm(problem).cones().copy(), frozenset(_SUPPORTED))
    unsupported = cones - set(_SUPPORTED)
    if unsupported:
        names = ", ".join(sorted(c.__name__ for c in unsupported))
        raise InvalidModelError(
            f"the cvxpy problem needs cone(s) {names}; dro_opt holds zero, nonneg, SOC, "
            "exponential and power cones only (semidefinite constraints are not supported)"
        )


def _assemble(problem: cp.Problem, data: dict, name: str) -> ConicProblem:
    """Permute cvxpy's columns into named blocks and translate the cone dimensions."""
    A = sp.csc_matrix(data[cps.A], dtype=float)
    n = A.shape[1]
    id2col = data["var_id_to_col"]
    names = cvxpy_block_names(problem)
    perm_parts: list[np.ndarray] = []
    blocks: dict[str, VarBlock] = {}
    start = 0
    for var in problem.variables():
        size = int(var.size)
        if var.id not in id2col:
            if size == 0:
                blocks[names[var.id]] = VarBlock(names[var.id], start, 0, tuple(var.shape))
                continue
            raise InvalidModelError(  # pragma: no cover - cvxpy keeps every non-empty variable
                f"cvxpy dropped variable {var.name()!r} during canonicalisation"
            )
        off = int(id2col[var.id])
        # cvxpy stores a variable column-major; the block stores it in C order.
        cols = off + np.arange(size, dtype=np.int64).reshape(var.shape, order="F").ravel()
        perm_parts.append(cols)
        blocks[names[var.id]] = VarBlock(names[var.id], start, size, tuple(var.shape))
        start += size
    used = np.zeros(n, dtype=bool)
    for cols in perm_parts:
        used[cols] = True
    aux = np.flatnonzero(~used)
    perm_parts.append(aux)
    blocks[AUX_BLOCK] = VarBlock(AUX_BLOCK, start, aux.size, (aux.size,))
    perm = np.concatenate(perm_parts)

    lb = _bounds(data.get(cps.LOWER_BOUNDS), n, -np.inf)
    ub = _bounds(data.get(cps.UPPER_BOUNDS), n, np.inf)
    # cvxpy (1.9.3) gives its auxiliary epigraph variables bounds inferred from the expressions
    # when the target declares bounded variables, and that inference is wrong for e.g.
    # multiply(sign_vector, X @ w) with w free: it returned [0, 0] (0 * inf -> nan -> 0), which
    # fixed hinge epigraphs and made a hinge-loss fit "optimal" at w = 0 with value 1.0 (true
    # optimum 0.0). Auxiliary bounds are implied by the rows by construction, so dropping them
    # keeps the model exact; only the user's own variable bounds (attributes) are kept.
    lb[aux] = -np.inf
    ub[aux] = np.inf
    vtype = np.full(n, CONTINUOUS, dtype=np.int8)
    vtype[data[cps.INT_IDX]] = INTEGER
    bools = data[cps.BOOL_IDX]
    vtype[bools] = BINARY
    lb[bools] = np.maximum(lb[bools], 0.0)
    ub[bools] = np.minimum(ub[bools], 1.0)

    c = np.asarray(data[cps.C], dtype=float).ravel()
    offset = float(data[cps.OFFSET])
    sense = MAX if isinstance(problem.objective, cp.Maximize) else MIN
    if sense == MAX:  # FlipObjective minimised -f; restore max f = -(c'x + d)
        c, offset = -c, -offset

    cones, con_blocks = _cones(data[ConicSolver.DIMS])
    return ConicProblem(
        c=c[perm],
        A=A[:, perm].tocsr(),
        b=np.asarray(data[cps.B], dtype=float).ravel(),
        cones=cones,
        lb=lb[perm],
        ub=ub[perm],
        vtype=vtype[perm],
        sense=sense,
        c0=offset,
        var_blocks=blocks,
        con_blocks=con_blocks,
        name=name,
    )


def _bounds(arr: Any, n: int, default: float) -> np.ndarray:
    if arr is None:
        return np.full(n, default)
    return np.asarray(arr, dtype=float).ravel().copy()


def _cones(dims: Any) -> tuple[list[ConeRun], dict[str, ConBlock]]:
    """Cone runs and one constraint block per cone kind from cvxpy's ``ConeDims``."""
    if dims.psd or getattr(dims, "pnd", None):
        raise InvalidModelError(  # pragma: no cover - excluded by the declared cones
            f"cvxpy emitted cones dro_opt does not hold: psd={dims.psd}, pnd={dims.pnd}"
        )
    runs: list[ConeRun] = []
    blocks: dict[str, ConBlock] = {}
    row = 0

    def add(kind: str, new: list[ConeRun]) -> None:
        nonlocal row
        rows = sum(r.rows for r in new)
        if rows:
            runs.extend(new)
            blocks[kind] = ConBlock(kind, row, rows, kind)
            row += rows

    add(ZERO, [ConeRun(ZERO, 1, int(dims.zero))])
    add(NONNEG, [ConeRun(NONNEG, 1, int(dims.nonneg))])
    add(SOC, [ConeRun(SOC, int(d), int(k)) for d, k in _group(np.asarray(dims.soc, dtype=int))])
    add(EXP, [ConeRun(EXP, 3, int(dims.exp))])
    p3 = np.asarray(dims.p3d, dtype=float)
    add(POW, [ConeRun(POW, 3, int(k), float(a)) for a, k in _group(p3)])
    return runs, blocks


def _group(values: np.ndarray) -> list[tuple[Any, int]]:
    """Run-length encoding ``[(value, count), ...]`` of a 1-d array (vectorised)."""
    if values.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    counts = np.diff(np.r_[starts, values.size])
    return list(zip(values[starts].tolist(), counts.tolist(), strict=True))


class _CallableModule(types.ModuleType):
    """``dro_opt.conic.from_cvxpy`` names both this module and its function.

    After ``import dro_opt.conic.from_cvxpy`` the package attribute is the module; making the
    module callable keeps ``dro_opt.conic.from_cvxpy(problem)`` working in either import order.
    """

    def __call__(self, problem: cp.Problem, **kwargs: Any) -> ConicProblem:
        return from_cvxpy(problem, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["AUX_BLOCK", "assign_solution", "cvxpy_block_names", "from_cvxpy"]
