"""Cross-check runs on the same target: proven intervals must overlap.

Every finished run on a target proves an interval that must contain the true optimum ``OPT``:

* maximisation: ``objective <= OPT <= bound`` (a feasible decision's value, the solver's bound);
* minimisation: ``bound <= OPT <= objective``.

A missing end is infinite (no incumbent, or no proven bound); a run that claims ``optimal`` with no
separate bound (a continuous interior-point solver) proves ``OPT = objective`` within its tolerance.
Two runs whose intervals are disjoint cannot both be right -- one of the solvers or formulations is
wrong -- and both rows are flagged ``CONFLICT``. So are a run claiming ``infeasible`` while another
found a feasible point, and a run claiming ``unbounded`` while another proved a finite bound.

Intervals are compared with a tolerance ``rtol * max(1, |a|, |b|)`` (default ``1e-6``) so that
solver feasibility tolerances do not raise false alarms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

# Statuses whose objective is the value of a feasible point and whose bound is proven.
_WITH_INTERVAL = frozenset(
    {"optimal", "feasible", "time_limit", "iteration_limit", "node_limit", "interrupted"}
)
OK = "ok"
NOT_APPLICABLE = "n/a"
CONFLICT = "CONFLICT"


@dataclass(frozen=True)
class Conflict:
    """Two runs on ``target`` that cannot both be right."""

    target: str
    first: str
    second: str
    reason: str

    def __str__(self) -> str:
        return f"{self.target}: {self.first} vs {self.second}: {self.reason}"


def proven_interval(row: dict[str, Any]) -> tuple[float, float] | None:
    """``(lo, hi)`` containing the optimum according to ``row``, or ``None`` if it proves none."""
    status = row.get("status")
    if status not in _WITH_INTERVAL:
        return None
    obj, bnd = _finite(row.get("objective")), _finite(row.get("bound"))
    if bnd is None and status == "optimal" and obj is not None:
        bnd = obj
    if obj is None and bnd is None:
        return None
    if row.get("sense", "min") == "max":
        return (-math.inf if obj is None else obj, math.inf if bnd is None else bnd)
    return (-math.inf if bnd is None else bnd, math.inf if obj is None else obj)


def run_label(row: dict[str, Any]) -> str:
    """``solver/method#repeat`` (``solver#repeat`` for model files)."""
    method = row.get("method")
    name = row["solver"] if method in (None, "direct") else f"{row['solver']}/{method}"
    return f"{name}#{row.get('repeat', 1)}"


def find_conflicts(rows: list[dict[str, Any]], rtol: float = 1e-6) -> list[Conflict]:
    """Every pair of runs on the same target whose claims contradict each other."""
    by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_target[str(r["target"])].append(r)
    out: list[Conflict] = []
    for target, group in by_target.items():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                reason = _pair_conflict(a, b, rtol)
                if reason:
                    out.append(Conflict(target, run_label(a), run_label(b), reason))
    return out


def annotate(rows: list[dict[str, Any]], rtol: float = 1e-6) -> list[Conflict]:
    """Set each row's ``consistency``: ``ok``, ``n/a`` or ``CONFLICT: vs <runs>``; return pairs."""
    conflicts = find_conflicts(rows, rtol)
    partners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in conflicts:
        partners[(c.target, c.first)].append(c.second)
        partners[(c.target, c.second)].append(c.first)
    for r in rows:
        mine = partners.get((str(r["target"]), run_label(r)))
        if mine:
            r["consistency"] = f"{CONFLICT}: vs {', '.join(mine)}"
        elif proven_interval(r) is not None or r.get("status") in ("infeasible", "unbounded"):
            r["consistency"] = OK
        else:
            r["consistency"] = NOT_APPLICABLE
    return conflicts


def _pair_conflict(a: dict[str, Any], b: dict[str, Any], rtol: float) -> str | None:
    for x, y in ((a, b), (b, a)):
        if x.get("status") == "infeasible" and _finite(y.get("objective")) is not None:
            if y.get("status") in _WITH_INTERVAL:
                return f"{run_label(x)} claims infeasible, {run_label(y)} found a feasible point"
        if x.get("status") == "unbounded" and y.get("status") in _WITH_INTERVAL:
            if _finite(y.get("bound")) is not None or y.get("status") == "optimal":
                return f"{run_label(x)} claims unbounded, {run_label(y)} proved a finite optimum"
    ia, ib = proven_interval(a), proven_interval(b)
    if ia is None or ib is None:
        return None
    lo = max(ia[0], ib[0])
    hi = min(ia[1], ib[1])
    scale = max(1.0, *(abs(v) for v in (*ia, *ib) if math.isfinite(v)))
    if lo > hi + rtol * scale:
        return f"proven intervals do not overlap: {_fmt(ia)} vs {_fmt(ib)}"
    return None


def _finite(v: Any) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt(iv: tuple[float, float]) -> str:
    return f"[{iv[0]:.10g}, {iv[1]:.10g}]"
