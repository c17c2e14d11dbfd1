"""The single canonical conic form every dro_opt model lowers to.

See docs/conventions.md, 'Canonical conic form'.

::

    minimise or maximise  c'x + c0
    subject to            A x + s = b,   s in K_1 x K_2 x ...   (see :mod:`dro_opt.conic.cones`)
                          l <= x <= u,   x_j integer for j in J (binary = integer in [0, 1])

This is the shape of the Conic Benchmark Format (CBF) and of what Clarabel/SCS/MOSEK consume.
Variable and constraint blocks keep names so solutions and duals map back (``result["y"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.cones import (
    EXP,
    LINEAR_KINDS,
    POW,
    RSOC,
    SOC,
    ConeRun,
    merge_runs,
    run_offsets,
    validate_run,
)
from dro_opt.errors import InvalidModelError

CONTINUOUS = 0
INTEGER = 1
BINARY = 2
VTYPE_NAMES = {CONTINUOUS: "continuous", INTEGER: "integer", BINARY: "binary"}
VTYPE_CODES = {v: k for k, v in VTYPE_NAMES.items()}

MIN = "min"
MAX = "max"


@dataclass(frozen=True)
class VarBlock:
    """A named, contiguous block of variables ``x[start:start+size]`` reshaped to ``shape``."""

    name: str
    start: int
    size: int
    shape: tuple[int, ...]

    @property
    def stop(self) -> int:
        return self.start + self.size

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)

    @property
    def indices(self) -> np.ndarray:
        return np.arange(self.start, self.stop)


@dataclass(frozen=True)
class ConBlock:
    """A named, contiguous block of constraint rows ``A[start:start+rows]`` in one cone kind."""

    name: str
    start: int
    rows: int
    kind: str

    @property
    def slice(self) -> slice:
        return slice(self.start, self.start + self.rows)


@dataclass
class ConicProblem:
    """Canonical conic problem; see the module docstring for the exact form."""

    c: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray
    cones: list[ConeRun]
    lb: np.ndarray
    ub: np.ndarray
    vtype: np.ndarray
    sense: str = MIN
    c0: float = 0.0
    var_blocks: dict[str, VarBlock] = field(default_factory=dict)
    con_blocks: dict[str, ConBlock] = field(default_factory=dict)
    name: str = "model"

    def __post_init__(self) -> None:
        self.c = np.asarray(self.c, dtype=float).ravel()
        self.b = np.asarray(self.b, dtype=float).ravel()
        self.A = sp.csr_matrix(self.A, dtype=float)
        self.lb = np.asarray(self.lb, dtype=float).ravel()
        self.ub = np.asarray(self.ub, dtype=float).ravel()
        self.vtype = np.asarray(self.vtype, dtype=np.int8).ravel()
        self.cones = merge_runs(list(self.cones))
        self.c0 = float(self.c0)
        if not self.var_blocks:
            self.var_blocks = {"x": VarBlock("x", 0, self.n, (self.n,))}
        self.validate()

    # ------------------------------------------------------------------ sizes
    @property
    def n(self) -> int:
        """Number of variables."""
        return int(self.c.shape[0])

    @property
    def m(self) -> int:
        """Number of conic rows."""
        return int(self.b.shape[0])

    @property
    def integer_mask(self) -> np.ndarray:
        return self.vtype != CONTINUOUS

    @property
    def is_mixed_integer(self) -> bool:
        return bool(self.integer_mask.any())

    def cone_kinds(self) -> set[str]:
        return {r.kind for r in self.cones if r.count > 0}

    def needs(self) -> frozenset[str]:
        """Features a solver must support: subset of {integer, soc, rsoc, exp, pow}."""
        feats = {k for k in self.cone_kinds() if k not in LINEAR_KINDS}
        if self.is_mixed_integer:
            feats.add("integer")
        return frozenset(feats)

    def problem_class(self) -> str:
        """Short class name used in messages: LP, MILP, SOCP, MISOCP, EXP, MIEXP, ..."""
        kinds = self.cone_kinds()
        prefix = "MI" if self.is_mixed_integer else ""
        if EXP in kinds or POW in kinds:
            return prefix + "CONIC(exp/pow)"
        if SOC in kinds or RSOC in kinds:
            return prefix + "SOCP"
        return "MILP" if self.is_mixed_integer else "LP"

    def row_offsets(self) -> np.ndarray:
        return run_offsets(self.cones)

    # ------------------------------------------------------------ evaluation
    def objective_value(self, x: np.ndarray) -> float:
        return float(self.c @ x + self.c0)

    def max_violation(self, x: np.ndarray) -> float:
        """Largest violation of bounds, integrality and cone membership at ``x`` (absolute)."""
        x = np.asarray(x, dtype=float)
        viol = [0.0]
        viol.append(float(np.max(self.lb - x, initial=0.0)))
        viol.append(float(np.max(x - self.ub, initial=0.0)))
        xi = x[self.integer_mask]
        if xi.size:
            viol.append(float(np.max(np.abs(xi - np.round(xi)))))
        s = self.b - self.A @ x
        off = 0
        for run in self.cones:
            block = s[off : off + run.rows].reshape(run.count, run.dim)
            off += run.rows
            viol.append(_cone_violation(run, block))
        return max(viol)

    def validate(self) -> None:
        """Raise :class:`InvalidModelError` on shape mismatches or non-finite data."""
        n, m = self.n, self.m
        if self.A.shape != (m, n):
            raise InvalidModelError(f"A has shape {self.A.shape}, expected ({m}, {n})")
        for label, arr in (("lower bounds", self.lb), ("upper bounds", self.ub)):
            if arr.shape[0] != n:
                raise InvalidModelError(f"{label} have length {arr.shape[0]}, expected {n}")
        if self.vtype.shape[0] != n:
            raise InvalidModelError(f"vtype has length {self.vtype.shape[0]}, expected {n}")
        if self.sense not in (MIN, MAX):
            raise InvalidModelError(f"sense must be 'min' or 'max', got {self.sense!r}")
        for label, arr in (("objective", self.c), ("right-hand side b", self.b)):
            bad = ~np.isfinite(arr)
            if bad.any():
                raise InvalidModelError(
                    f"{label} has {int(bad.sum())} non-finite entries (first at index "
                    f"{int(np.argmax(bad))}); replace NaN/inf by finite numbers"
                )
        if not np.isfinite(self.A.data).all():
            raise InvalidModelError(
                "constraint matrix A has NaN/inf coefficients; fix the data that built it"
            )
        if not np.isfinite(self.c0):
            raise InvalidModelError("objective constant is not finite")
        if np.isnan(self.lb).any() or np.isnan(self.ub).any():
            raise InvalidModelError("variable bounds contain NaN; use -inf/inf for free bounds")
        if (self.lb > self.ub).any():
            j = int(np.argmax(self.lb > self.ub))
            raise InvalidModelError(
                f"variable {j} has lower bound {self.lb[j]} > upper bound {self.ub[j]}"
            )
        if np.isin(self.vtype, [CONTINUOUS, INTEGER, BINARY], invert=True).any():
            raise InvalidModelError("vtype entries must be 0 (continuous), 1 (integer), 2 (binary)")
        binary = self.vtype == BINARY
        if binary.any() and ((self.lb[binary] < 0) | (self.ub[binary] > 1)).any():
            raise InvalidModelError("binary variables must have bounds inside [0, 1]")
        for run in self.cones:
            validate_run(run)
        total = sum(r.rows for r in self.cones)
        if total != m:
            raise InvalidModelError(f"cones cover {total} rows but A has {m} rows")

    # -------------------------------------------------------------- helpers
    def split_solution(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Map a flat solution vector to ``{block name: array of block shape}``."""
        return {
            name: np.asarray(x[blk.slice]).reshape(blk.shape)
            for name, blk in self.var_blocks.items()
        }

    def copy(self) -> ConicProblem:
        return ConicProblem(
            c=self.c.copy(),
            A=self.A.copy(),
            b=self.b.copy(),
            cones=list(self.cones),
            lb=self.lb.copy(),
            ub=self.ub.copy(),
            vtype=self.vtype.copy(),
            sense=self.sense,
            c0=self.c0,
            var_blocks=dict(self.var_blocks),
            con_blocks=dict(self.con_blocks),
            name=self.name,
        )

    def __repr__(self) -> str:
        return (
            f"ConicProblem({self.name!r}, {self.problem_class()}, sense={self.sense}, "
            f"n={self.n}, m={self.m}, nnz={self.A.nnz}, "
            f"cones={[(r.kind, r.dim, r.count) for r in self.cones]})"
        )


def _cone_violation(run: ConeRun, s: np.ndarray) -> float:
    """Absolute violation of ``count x dim`` slacks ``s`` for one cone run."""
    if s.size == 0:
        return 0.0
    if run.kind == "zero":
        return float(np.abs(s).max())
    if run.kind == "nonneg":
        return float(np.max(-s, initial=0.0))
    if run.kind == SOC:
        return float(np.max(np.linalg.norm(s[:, 1:], axis=1) - s[:, 0], initial=0.0))
    if run.kind == RSOC:
        u, v, w = s[:, 0], s[:, 1], s[:, 2:]
        # 2uv >= |w|^2 <=> ((u+v)/sqrt2, (u-v)/sqrt2, w) in SOC
        lhs = np.sqrt(((u - v) ** 2) / 2 + (w**2).sum(axis=1))
        return float(np.max(np.maximum(lhs - (u + v) / np.sqrt(2), np.maximum(-u, -v)), initial=0))
    if run.kind == EXP:
        x, y, z = s[:, 0], s[:, 1], s[:, 2]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            val = np.where(y > 0, y * np.exp(x / np.where(y > 0, y, 1.0)) - z, np.inf)
            # y == 0 branch of the closure: x <= 0, z >= 0
            closure = np.maximum(x, -z)
        v = np.where(y > 1e-12, val, np.maximum(closure, -y))
        return float(np.max(np.maximum(v, 0.0), initial=0.0))
    if run.kind == POW:
        a = float(run.param)
        x, y, z = s[:, 0], s[:, 1], s[:, 2]
        geo = np.power(np.maximum(x, 0), a) * np.power(np.maximum(y, 0), 1 - a)
        return float(np.max(np.maximum.reduce([np.abs(z) - geo, -x, -y]), initial=0.0))
    raise InvalidModelError(f"unknown cone kind {run.kind}")
