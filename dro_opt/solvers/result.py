"""Solver-neutral :class:`Result` with a versioned JSON round-trip.

See docs/conventions.md, 'Result and certificate'.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dro_opt.certify import Certificate
from dro_opt.solvers.status import Status

SCHEMA_VERSION = 1


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|bound - objective| / max(1, |objective|)``; ``None`` if either is missing/non-finite."""
    if objective is None or bound is None:
        return None
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return abs(bound - objective) / max(1.0, abs(objective))


@dataclass
class Result:
    """What every solve returns.

    ``objective`` is the value of the model solved (the solver's incumbent, recomputed from the
    returned ``x`` where possible); ``bound`` is the solver's proven dual bound (``None`` when it
    proves none); ``gap`` = :func:`relative_gap`. ``solution`` maps variable-block names to arrays
    (``result["y"]``); ``duals`` maps constraint-block names to dual arrays where the solver gives
    them (sign convention: the conic dual ``y in K*`` of ``A x + s = b``, for the *minimisation*
    form). ``certificate`` is filled in by model layers for the ORIGINAL problem.
    """

    status: Status
    objective: float | None = None
    bound: float | None = None
    solver: str = ""
    solver_version: str | None = None
    sense: str = "min"
    x: np.ndarray | None = None
    solution: dict[str, np.ndarray] = field(default_factory=dict)
    duals: dict[str, np.ndarray] = field(default_factory=dict)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    nodes: int | None = None
    message: str = ""
    certificate: Certificate | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.solution[name]
        except KeyError:
            raise KeyError(
                f"no variable block {name!r} in the solution; blocks: {sorted(self.solution)}"
            ) from None

    # ------------------------------------------------------------------- JSON
    def to_dict(self, include_solution: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "status": self.status.value,
            "objective": _num(self.objective),
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "solver": self.solver,
            "solver_version": self.solver_version,
            "sense": self.sense,
            "build_seconds": float(self.build_seconds),
            "solve_seconds": float(self.solve_seconds),
            "nodes": self.nodes,
            "message": self.message,
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
            "extra": _jsonable(self.extra),
        }
        if include_solution:
            d["solution"] = {k: np.asarray(v).tolist() for k, v in self.solution.items()}
            d["duals"] = {k: np.asarray(v).tolist() for k, v in self.duals.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        version = d.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"result JSON has schema_version {version!r}; this dro_opt reads {SCHEMA_VERSION}"
            )
        cert = d.get("certificate")
        return cls(
            status=Status.parse(d["status"]),
            objective=d.get("objective"),
            bound=d.get("bound"),
            solver=d.get("solver", ""),
            solver_version=d.get("solver_version"),
            sense=d.get("sense", "min"),
            solution={k: np.asarray(v, dtype=float) for k, v in d.get("solution", {}).items()},
            duals={k: np.asarray(v, dtype=float) for k, v in d.get("duals", {}).items()},
            build_seconds=float(d.get("build_seconds", 0.0)),
            solve_seconds=float(d.get("solve_seconds", 0.0)),
            nodes=d.get("nodes"),
            message=d.get("message", ""),
            certificate=None if cert is None else Certificate.from_dict(cert),
            extra=d.get("extra", {}),
        )

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(**kw), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Result:
        return cls.from_dict(json.loads(text))

    def summary(self) -> str:
        gap = self.gap
        parts = [
            f"status: {self.status.value}",
            f"objective: {_fmt(self.objective)}",
            f"bound: {_fmt(self.bound)}",
            f"gap: {'n/a' if gap is None else f'{gap:.3e}'}",
            f"solver: {self.solver} {self.solver_version or ''}".rstrip(),
            f"build_seconds: {self.build_seconds:.3f}",
            f"solve_seconds: {self.solve_seconds:.3f}",
        ]
        if self.message:
            parts.append(f"message: {self.message}")
        return "\n".join(parts)


def write_json_atomic(path: str | Path, payload: dict[str, Any]) -> None:
    """Write JSON to ``path`` atomically (temp file in the same directory + rename)."""
    from dro_opt.io.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.10g}"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
