"""Primal and dual bound over time during a MIP solve: ``[(seconds, primal, dual), ...]``.

The recorder and the solver hooks belong to the solver layer: a backend that declares
``trajectory_callback`` attaches its hook when ``SolveOptions.trajectory`` is set, and one with a
``log_parser`` names the function here that reads its log.

``primal`` is the incumbent's objective and ``dual`` the proven bound, both in the sense of the
problem handed to the backend (for maximisation ``primal <= OPT <= dual``); ``None`` where the
solver has none yet. Sources, best first:

* solver callbacks / event handlers, attached by a backend when ``SolveOptions.trajectory`` is
  true, which then sets ``Result.extra["trajectory"]``: :func:`attach_scip` (SCIP event handler
  on BESTSOLFOUND, DUALBOUNDIMPROVED, NODESOLVED, FIRSTLPSOLVED), :func:`attach_highs` (highspy
  >= 1.7 callbacks ``cbMipImprovingSolution`` and ``cbMipInterrupt``), :func:`gurobi_callback`
  (``MIP``/``MIPSOL`` callbacks), :func:`attach_cplex` (legacy ``MIPInfoCallback``),
  :func:`attach_xpress` (``addIntsolCallback``/``addNodeLPSolvedCallback``);
* the solver's log when the backend has no hook (``Backend.log_parser``): :func:`scip_log`,
  :func:`highs_log`, :func:`gurobi_log`, :func:`cplex_log`, :func:`xpress_log` (CPLEX prints no
  time per node line; its periodic ``Elapsed time`` lines are carried forward, so its times are
  coarse);
* otherwise only the final point ``(solve_seconds, objective, bound)``.

Points are recorded only when a bound changes, so a long solve stays small.

Live listeners (:func:`live`): while a listener is registered, every backend with a hook records
even without ``SolveOptions.trajectory`` (``Result.extra`` then gets no trajectory) and every kept
point is also handed to the listener as it is found -- the live progress line of ``dro-opt``
(:mod:`dro_opt.progress_line`) is fed this way.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

Point = tuple[float, float | None, float | None]

# Values at or beyond these are a solver's "infinity" (SCIP 1e20, Gurobi 1e100, CPLEX 1e75).
_INF = 1e19


#: Called with every point kept by any recorder (:func:`live`).
_LIVE: list[Callable[[float, float | None, float | None], None]] = []


@contextmanager
def live(listener: Callable[[float, float | None, float | None], None]) -> Iterator[None]:
    """Hand ``listener(seconds, primal, dual)`` every point a recorder keeps while the block runs
    (module docstring). It runs inside the solver's callback: it must be quick and not raise."""
    _LIVE.append(listener)
    try:
        yield
    finally:
        _LIVE.remove(listener)


def listening() -> bool:
    """True while a live listener is registered (backends then attach their hooks)."""
    return bool(_LIVE)


def _clean(v: Any) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) and abs(v) < _INF else None


class TrajectoryRecorder:
    """Collects ``(seconds, primal, dual)`` points, keeping only changes.

    Parameters
    ----------
    transform : maps a solver-side objective value to the problem's objective (e.g. ``-v + c0``
        when a backend hands a maximisation to the solver as a minimisation).
    clock : seconds since the start of the solve when a callback gives no time of its own.
    max_points : above this, every other interior point is dropped (first/last are kept).
    """

    def __init__(
        self,
        transform: Callable[[float], float] | None = None,
        max_points: int = 5000,
    ) -> None:
        self.transform = transform or (lambda v: v)
        self.max_points = max_points
        self.points: list[Point] = []
        self._t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def add(self, seconds: float | None, primal: Any, dual: Any) -> None:
        """Record a point (solver-side values); ignored when neither bound changed."""
        p, d = _clean(primal), _clean(dual)
        p = None if p is None else float(self.transform(p))
        d = None if d is None else float(self.transform(d))
        t = self.elapsed() if seconds is None else float(seconds)
        if self.points:
            _, lp, ld = self.points[-1]
            if lp == p and ld == d:
                return
            t = max(t, self.points[-1][0])
        if p is None and d is None:
            return
        self.points.append((t, p, d))
        for listener in tuple(_LIVE):
            listener(t, p, d)
        if len(self.points) > self.max_points:
            self.points = [*self.points[:1], *self.points[1:-1:2], self.points[-1]]

    def as_list(self) -> list[list[float | None]]:
        return [[t, p, d] for t, p, d in self.points]


class BoundSink(Protocol):
    """What the ``attach_*`` hooks feed: a :class:`TrajectoryRecorder` or any object with this
    ``add`` (e.g. the OA master's dual-bound reporter)."""

    def add(self, seconds: float | None, primal: Any, dual: Any) -> None: ...


# ------------------------------------------------------------------ SCIP
def attach_scip(model: Any, recorder: BoundSink) -> Any:
    """Include an event handler in the pyscipopt ``model`` that feeds ``recorder``.

    SCIP's ``getPrimalbound``/``getDualbound`` are in the sense the model was given to SCIP; pass
    a ``transform`` to the recorder if the backend changed it. Returns the handler.
    """
    import pyscipopt as ps

    events = [
        ps.SCIP_EVENTTYPE.BESTSOLFOUND,
        ps.SCIP_EVENTTYPE.NODESOLVED,
        ps.SCIP_EVENTTYPE.FIRSTLPSOLVED,
    ]
    if hasattr(ps.SCIP_EVENTTYPE, "DUALBOUNDIMPROVED"):
        events.append(ps.SCIP_EVENTTYPE.DUALBOUNDIMPROVED)

    class _Handler(ps.Eventhdlr):  # type: ignore[misc, name-defined]
        def eventinit(self) -> None:
            for ev in events:
                self.model.catchEvent(ev, self)

        def eventexit(self) -> None:
            for ev in events:
                self.model.dropEvent(ev, self)

        def eventexec(self, event: Any) -> None:
            m = self.model
            recorder.add(m.getSolvingTime(), m.getPrimalbound(), m.getDualbound())

    handler = _Handler()
    model.includeEventhdlr(handler, "dro_opt_trajectory", "records primal/dual bound over time")
    return handler


# ------------------------------------------------------------------ HiGHS
def attach_highs(highs: Any, recorder: TrajectoryRecorder) -> None:
    """Subscribe to highspy's MIP callbacks (improving solution + the frequent interrupt check).

    ``mip_primal_bound``/``mip_dual_bound`` are in the model's own sense (checked on a maximisation
    knapsack: primal 861 <= dual 865.9 during the search).
    """

    def _on_event(event: Any) -> None:
        out = event.data_out
        recorder.add(out.running_time, out.mip_primal_bound, out.mip_dual_bound)

    highs.cbMipImprovingSolution.subscribe(_on_event)
    highs.cbMipInterrupt.subscribe(_on_event)


# ------------------------------------------------------------------ Gurobi
def gurobi_callback(recorder: TrajectoryRecorder) -> Callable[[Any, int], None]:
    """A callback for ``model.optimize(cb)``: records at ``MIP`` and ``MIPSOL``."""
    from gurobipy import GRB

    cb = GRB.Callback

    def _callback(model: Any, where: int) -> None:
        if where == cb.MIP:
            recorder.add(
                model.cbGet(cb.RUNTIME), model.cbGet(cb.MIP_OBJBST), model.cbGet(cb.MIP_OBJBND)
            )
        elif where == cb.MIPSOL:
            recorder.add(
                model.cbGet(cb.RUNTIME),
                model.cbGet(cb.MIPSOL_OBJBST),
                model.cbGet(cb.MIPSOL_OBJBND),
            )

    return _callback


# ------------------------------------------------------------------ CPLEX
def attach_cplex(cpx: Any, recorder: TrajectoryRecorder) -> Any:
    """Register a legacy ``MIPInfoCallback`` on the ``cplex.Cplex`` object ``cpx``."""
    from cplex.callbacks import MIPInfoCallback

    class _Info(MIPInfoCallback):  # type: ignore[misc]
        def __call__(self) -> None:
            inc = self.get_incumbent_objective_value() if self.has_incumbent() else None
            recorder.add(
                self.get_time() - self.get_start_time(), inc, self.get_best_objective_value()
            )

    return cpx.register_callback(_Info)


# ------------------------------------------------------------------ Xpress
def attach_xpress(prob: Any, recorder: TrajectoryRecorder) -> None:
    """Add integer-solution and node-LP callbacks to the ``xpress.problem`` ``prob``.

    Xpress' ``time`` attribute has whole-second resolution, so the recorder's own clock is used.
    """

    def _cb(p: Any, data: Any) -> None:
        attrs = p.attributes
        recorder.add(None, attrs.mipobjval, attrs.bestbound)

    prob.addIntsolCallback(_cb, None, 0)
    prob.addNodeLPSolvedCallback(_cb, None, 0)


# ------------------------------------------------------------------ logs
def _num(tok: str) -> float | None:
    tok = tok.strip().rstrip("%")
    if tok in ("", "-", "--", "---", "inf", "-inf", "Large"):
        return None
    try:
        return float(tok)
    except ValueError:
        return None


def scip_log(text: str) -> list[Point]:
    out: list[Point] = []
    cols: dict[str, int] = {}
    for line in text.splitlines():
        if "|" not in line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if parts[0].endswith("time") or parts[0] == "time":
            cols = {name: i for i, name in enumerate(parts)}
            continue
        if not cols or "dualbound" not in cols or "primalbound" not in cols:
            continue
        m = re.search(r"([\d.]+)(s|m|h)$", parts[0])
        if m is None or len(parts) <= max(cols["dualbound"], cols["primalbound"]):
            continue
        t = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
        out.append((t, _num(parts[cols["primalbound"]]), _num(parts[cols["dualbound"]])))
    return out


_HIGHS_LINE = re.compile(
    r"^\s*\S?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+(\S+)\s+.*?([\d.]+)s\s*$"
)


def highs_log(text: str) -> list[Point]:
    out: list[Point] = []
    for line in text.splitlines():
        m = _HIGHS_LINE.match(line)
        if m:
            out.append((float(m.group(4)), _num(m.group(2)), _num(m.group(1))))
    return out


_GUROBI_LINE = re.compile(r"^\s*[A-Z*]?\s*\d+\+?\s+\d+\s.*\s(\d+)s\s*$")


def gurobi_log(text: str) -> list[Point]:
    out: list[Point] = []
    for line in text.splitlines():
        if not _GUROBI_LINE.match(line):
            continue
        toks = line.split()
        if len(toks) < 6:
            continue
        out.append((float(toks[-1].rstrip("s")), _num(toks[-5]), _num(toks[-4])))
    return out


def _positional(header: str, names: tuple[str, ...]) -> list[int] | None:
    """Right ends of the named (right-aligned) header columns."""
    ends = []
    for name in names:
        i = header.find(name)
        if i < 0:
            return None
        ends.append(i + len(name))
    return ends


def _token_ending_near(line: str, end: int, slack: int = 2) -> str:
    for m in re.finditer(r"\S+", line):
        if abs(m.end() - end) <= slack:
            return m.group(0)
    return ""


def cplex_log(text: str) -> list[Point]:
    out: list[Point] = []
    ends: list[int] | None = None
    now = 0.0
    for line in text.splitlines():
        m = re.search(r"(?:Elapsed time =|after)\s+([\d.]+) sec", line)
        if m:
            now = max(now, float(m.group(1)))
        if "Best Integer" in line and "Best Bound" in line:
            ends = _positional(line, ("Best Integer", "Best Bound"))
            continue
        if ends and re.match(r"^\s*[*A-Za-z]?\s+\d+\+?\s+\d+", line):
            # "Cuts: 6" / "MIRcuts: 3" stand in the Best Bound column while cuts are added
            line = re.sub(r"\w+:\s+\d+", lambda m: " " * len(m.group(0)), line)
            out.append(
                (
                    now,
                    _num(_token_ending_near(line, ends[0])),
                    _num(_token_ending_near(line, ends[1])),
                )
            )
    return out


def xpress_log(text: str) -> list[Point]:
    out: list[Point] = []
    ends: list[int] | None = None
    for line in text.splitlines():
        if "BestSoln" in line and "BestBound" in line and "Time" in line:
            ends = _positional(line, ("BestSoln", "BestBound", "Time"))
            continue
        m = re.search(r"Solution found:\s+(\S+)\s+Time:\s+([\d.]+)", line)
        if m:
            out.append((float(m.group(2)), _num(m.group(1)), out[-1][2] if out else None))
            continue
        if ends and line.strip() and not line.startswith(" ***"):
            t = _num(_token_ending_near(line, ends[2], 1))
            p, d = _num(_token_ending_near(line, ends[0])), _num(_token_ending_near(line, ends[1]))
            first = line.split()[0]
            if t is not None and (p is not None or d is not None):
                if first.isdigit() or (len(first) == 1 and first.isalpha()):
                    out.append((t, p, d))
    return out
