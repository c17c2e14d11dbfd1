"""Cone kinds of the canonical conic form and their run-length encoded list.

Conventions (rows ``s`` of ``A x + s = b`` restricted to one cone):

* ``zero``    s = 0
* ``nonneg``  s >= 0
* ``soc``     s_0 >= ||s_{1:}||_2                       (Lorentz cone, dim >= 1)
* ``rsoc``    2 s_0 s_1 >= ||s_{2:}||^2, s_0, s_1 >= 0  (rotated, as CBF ``QR`` and MOSEK)
* ``exp``     s = (x, y, z):  y * exp(x / y) <= z, y > 0  (closure)  -- the SCS/Clarabel/cvxpy
  order.  CBF's ``EXP`` cone (x1 >= x2 exp(x3 / x2)) is the same set with the order reversed,
  (x1, x2, x3) = (z, y, x); the CBF reader/writer permutes.
* ``pow``     s = (x, y, z):  x^a * y^(1-a) >= |z|, x, y >= 0, with parameter ``a`` in (0, 1).

Cones are stored as runs (kind, dim, count, param): a builder adding 10^5 equal SOCs stores one
run, so nothing loops per cone until a backend needs a per-cone object.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

ZERO = "zero"
NONNEG = "nonneg"
SOC = "soc"
RSOC = "rsoc"
EXP = "exp"
POW = "pow"

CONE_KINDS = (ZERO, NONNEG, SOC, RSOC, EXP, POW)
LINEAR_KINDS = frozenset({ZERO, NONNEG})


@dataclass(frozen=True)
class ConeRun:
    """``count`` consecutive cones of the same kind and dimension (and parameter)."""

    kind: str
    dim: int
    count: int = 1
    param: float | None = None

    @property
    def rows(self) -> int:
        return self.dim * self.count

    def split(self) -> Iterator[ConeRun]:
        """Yield single-cone runs (for backends that take one object per cone)."""
        for _ in range(self.count):
            yield ConeRun(self.kind, self.dim, 1, self.param)


def validate_run(run: ConeRun) -> None:
    """Raise :class:`InvalidModelError` for an impossible cone run."""
    from dro_opt.errors import InvalidModelError

    if run.kind not in CONE_KINDS:
        raise InvalidModelError(f"unknown cone kind {run.kind!r}; use one of {CONE_KINDS}")
    if run.count < 0 or run.dim < 1:
        raise InvalidModelError(f"cone {run.kind} needs dim >= 1 and count >= 0, got {run}")
    if run.kind == RSOC and run.dim < 2:
        raise InvalidModelError("a rotated SOC needs dim >= 2")
    if run.kind in (EXP, POW) and run.dim != 3:
        raise InvalidModelError(f"{run.kind} cones have dimension 3, got {run.dim}")
    if run.kind == POW and not (run.param is not None and 0.0 < run.param < 1.0):
        raise InvalidModelError(f"power cone parameter must lie in (0, 1), got {run.param}")


def merge_runs(runs: list[ConeRun]) -> list[ConeRun]:
    """Merge adjacent runs of identical (kind, dim, param); zero-count runs are dropped."""
    out: list[ConeRun] = []
    for r in runs:
        if r.count == 0:
            continue
        if out and (out[-1].kind, out[-1].dim, out[-1].param) == (r.kind, r.dim, r.param):
            last = out.pop()
            r = ConeRun(r.kind, r.dim, last.count + r.count, r.param)
        out.append(r)
    return out


def run_offsets(runs: list[ConeRun]) -> np.ndarray:
    """Row offset of each run (length len(runs) + 1)."""
    return np.concatenate([[0], np.cumsum([r.rows for r in runs], dtype=np.int64)]).astype(np.int64)
