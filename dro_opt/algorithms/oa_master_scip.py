"""Branch-and-cut master on SCIP: one solve, hypograph cuts added lazily by a constraint handler.

The master (:mod:`oa_core`) starts with the budget row, the structural rows and the initial cuts.
A constraint handler ``hypograph`` owns the implicit constraints "the hypograph variables lie on
or below the exact hypograph at the binary ``z``" (``theta <= G f(z)``, ``t <= F(z) / n``):

* ``conscheck``: a candidate solution is feasible iff it satisfies the exact hypograph at its
  (rounded) binary ``z`` up to ``CHECK_TOL``; every primal solution SCIP accepts therefore has
  master value at most ``F(z) + n * CHECK_TOL``;
* ``consenfolp`` (integral LP solutions): adds the violated cuts exact at ``S = z``
  (SEPARATED), which removes the point; ``F(S)`` also becomes an incumbent candidate;
* ``conssepalp`` (fractional LP solutions): per customer the tightest of the submodular cuts at
  the nested sets of the largest ``z_j`` and the gradient cut (:meth:`SubmodularCuts.
  nested_best_cut`), skipped at nodes whose LP value already closes the gap;
* ``consenfops``: asks SCIP to solve the LP;
* ``conslock``: ``z`` is down-locked (``f`` is non-decreasing in ``z``), ``t`` and the ERM
  ``theta`` up-locked, the chi-square ``theta`` locked both ways (it also bounds ``t`` from
  above), so presolve cannot make dual reductions that ignore the lazy constraints.

SCIP's dual bound on this master is an upper bound on ``max F`` because every row is a valid cut
(:mod:`oa_core`); the caller adds the allowance for LP tolerances
(:meth:`OAOracle.tolerance_allowance` and the pruning epsilon). SCIP's own cut separators and
primal heuristics are switched off: measured on HM14 N=800 (alpha=0.2, beta=1, r=10, D=25) they
took 1.4 s of a 1.5 s solve while our handler's cuts close the gap (0.26 s without them).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from pyscipopt import SCIP_PARAMSETTING, SCIP_RESULT, Conshdlr, Model

from dro_opt.algorithms.oa_core import CutRows, OAOracle
from dro_opt.solvers._quiet import quiet_fds

__all__ = ["solve_master_scip"]


class _Hypograph(Conshdlr):
    def __init__(
        self, oracle: OAOracle, cols: list, initial: CutRows, fractional: bool, gap: float
    ) -> None:
        self.oracle = oracle
        self.gap = gap
        self.cost = oracle.objective()
        self.cols = cols
        self.initial = initial
        self.fractional = fractional
        self.tcols: list | None = None
        self.rounds = 0
        self.frac_rounds = 0
        self.seconds = 0.0
        self.init_seconds = 0.0  # adding the initial rows to SCIP's LP (part of the build)

    # ------------------------------------------------------------------ helpers
    def _vars(self) -> list:
        if self.tcols is None:
            self.tcols = [self.model.getTransformedVar(v) for v in self.cols]
        return self.tcols

    def _point(self, sol=None) -> np.ndarray:
        m = self.model
        return np.array([m.getSolVal(sol, v) for v in self._vars()])

    def _add_rows(
        self, rows: CutRows, removable: bool = True, force: bool = True, pool: bool = True
    ) -> int:
        m = self.model
        tv = self._vars()
        A = rows.A
        for k in range(len(rows)):
            lo, hi = A.indptr[k], A.indptr[k + 1]
            row = m.createEmptyRowUnspec(
                name="oa", lhs=None, rhs=float(rows.b[k]), local=False, removable=removable
            )
            m.cacheRowExtensions(row)
            for c, v in zip(A.indices[lo:hi].tolist(), A.data[lo:hi].tolist(), strict=True):
                m.addVarToRow(row, tv[c], v)
            m.flushRowExtensions(row)
            m.addCut(row, forcecut=force)
            if pool:
                m.addPoolCut(row)
            m.releaseRow(row)
        return len(rows)

    def _mask(self, x: np.ndarray) -> np.ndarray:
        return x[: self.oracle.D] > 0.5

    def _integral(self, x: np.ndarray) -> bool:
        z = x[: self.oracle.D]
        return bool(np.all(np.abs(z - np.round(z)) <= 1e-6))

    # ------------------------------------------------------------------ callbacks
    def consinitlp(self, constraints):
        t0 = time.perf_counter()
        self._add_rows(self.initial, removable=False)
        self.init_seconds = time.perf_counter() - t0
        self.seconds += self.init_seconds
        return {}

    def conscheck(
        self, constraints, solution, checkintegrality, checklprows, printreason, completely
    ):
        t0 = time.perf_counter()
        x = self._point(solution)
        viol = self.oracle.violation(x, self._mask(x))
        self.seconds += time.perf_counter() - t0
        if viol:
            return {"result": SCIP_RESULT.INFEASIBLE}
        return {"result": SCIP_RESULT.FEASIBLE}

    def consenfolp(self, constraints, nusefulconss, solinfeasible):
        t0 = time.perf_counter()
        x = self._point()
        mask = self._mask(x)
        if not self.oracle.violation(x, mask):
            self.seconds += time.perf_counter() - t0
            return {"result": SCIP_RESULT.FEASIBLE}
        rows, _ = self.oracle.cuts_at_set(mask, x)
        if not len(rows):  # cannot happen with the tolerances used; stay safe: add all
            rows, _ = self.oracle.cuts_at_set(mask, x, eps=0.0)
        self.rounds += 1
        added = self._add_rows(rows)
        self.seconds += time.perf_counter() - t0
        return {"result": SCIP_RESULT.SEPARATED if added else SCIP_RESULT.INFEASIBLE}

    def consenfops(self, constraints, nusefulconss, solinfeasible, objinfeasible):
        t0 = time.perf_counter()
        x = self._point()
        viol = self.oracle.violation(x, self._mask(x))
        self.seconds += time.perf_counter() - t0
        if viol:
            return {"result": SCIP_RESULT.SOLVELP}
        return {"result": SCIP_RESULT.FEASIBLE}

    def conssepalp(self, constraints, nusefulconss):
        if not self.fractional:
            return {"result": SCIP_RESULT.DIDNOTRUN}
        t0 = time.perf_counter()
        x = self._point()
        best = self.oracle.best_value
        if self.cost @ x - best <= 0.5 * self.gap * max(1.0, abs(best)):
            self.seconds += time.perf_counter() - t0
            return {"result": SCIP_RESULT.DIDNOTRUN}  # this node's LP already closes the gap
        if self._integral(x):
            rows, _ = self.oracle.cuts_at_set(self._mask(x), x)
        else:
            rows = self.oracle.fractional_cuts(x)
        self.frac_rounds += 1
        added = self._add_rows(rows, force=False, pool=True)
        self.seconds += time.perf_counter() - t0
        return {"result": SCIP_RESULT.SEPARATED if added else SCIP_RESULT.DIDNOTFIND}

    def conslock(self, constraint, locktype, nlockspos, nlocksneg):
        o = self.oracle
        both = nlockspos + nlocksneg
        for j, v in enumerate(self.cols):
            if j < o.D:  # decreasing z can violate theta <= f(z)
                self.model.addVarLocksType(v, locktype, nlockspos, nlocksneg)
            elif o.t_col is not None and j != o.t_col:
                # chi-square: theta is bounded above by f(z) AND bounds t from above
                # (t <= P'theta): either direction can violate. Without the down-lock SCIP's
                # dual fixing set the zero-cost theta to 0 before the lazy rows existed and
                # "proved" the incumbent optimal at the root (HM14_100_25, alpha=0.2, beta=1,
                # r=4, rho=10: 0 LP iterations, 21 variables deleted by presolve).
                self.model.addVarLocksType(v, locktype, both, both)
            else:  # increasing theta (ERM) / t can violate
                self.model.addVarLocksType(v, locktype, nlocksneg, nlockspos)


class _DualBoundReport:
    """Sink for :func:`dro_opt.solvers.trajectory.attach_scip`: passes SCIP's dual bound (master
    objective units) to ``report`` whenever it changes; SCIP's "no bound yet" (1e20) is skipped."""

    def __init__(self, report: Callable[[float], None]) -> None:
        self.report = report
        self.last: float | None = None

    def add(self, seconds: float | None, primal: float | None, dual: float | None) -> None:
        if dual is not None and abs(dual) < 1e19 and dual != self.last:
            self.last = float(dual)
            self.report(self.last)


def solve_master_scip(
    oracle: OAOracle,
    initial: CutRows,
    *,
    fixed_zero: np.ndarray,
    fixed_one: np.ndarray,
    incumbent: np.ndarray | None,
    gap: float,
    time_limit: float | None,
    threads: int = 1,
    verbose: bool = False,
    fractional: bool = True,
    feastol: float = 1e-9,
    params: dict | None = None,
    report: Callable[[float], None] | None = None,
    cpu_clock: bool = False,
) -> dict:
    """Solve the OA master by branch-and-cut on SCIP (``time_limit`` in CPU seconds of the
    process if ``cpu_clock``, else wall-clock seconds). Returns a dict with the SCIP status,
    dual bound (master objective units), node count, handler statistics. ``report``, if given,
    is called with SCIP's dual bound whenever it changes during the solve (bound-over-time);
    the incumbent is the oracle's (``oracle.best_mask``, updated by the handler).
    ``build_seconds`` in the result is the time spent building the SCIP model (before
    ``optimize``) plus adding the initial rows to its LP."""
    t_build = time.perf_counter()
    m = Model("oa_master")
    if not verbose:
        m.hideOutput(quiet=True)
        m.setParam("display/verblevel", 0)
    m.setParam("parallel/maxnthreads", max(1, int(threads)))
    m.setParam("numerics/feastol", feastol)
    m.setParam("numerics/dualfeastol", 1e-9)
    m.setParam("limits/gap", max(gap * 0.5, 1e-9))
    m.setParam("misc/usesymmetry", 0)
    m.setPresolve(SCIP_PARAMSETTING.FAST)
    if time_limit is not None:
        m.setParam("limits/time", max(float(time_limit), 0.01))
        if cpu_clock:  # a slice of work, the same under any load
            m.setParam("timing/clocktype", 1)
    settings = {
        # our handler is the only separator that matters; SCIP's generic cuts and primal
        # heuristics cost more than they gain on this master (measured on HM14 N=800)
        "separating": "OFF",
        "heuristics": "OFF",
        # 8, not 30: the root LP stalls after about 8 rounds and strong branching closes it
        # (NYC synthetic ERM r=6: 6.4 s vs 14.3 s; 8 HM14 N=800 ERM rows, interleaved,
        # load ~12: median 1.26 s vs 1.62 s, no row slower beyond noise)
        "separating/maxroundsroot": 8,
        "separating/maxrounds": 3,
    }
    settings.update(params or {})
    for key, val in settings.items():
        if key == "separating":
            m.setSeparating(getattr(SCIP_PARAMSETTING, val))
        elif key == "heuristics":
            m.setHeuristics(getattr(SCIP_PARAMSETTING, val))
        else:
            m.setParam(key, val)
    lo, up = oracle.bounds()
    lo[: oracle.D] = np.where(fixed_one, 1.0, 0.0)
    up[: oracle.D] = np.where(fixed_zero, 0.0, 1.0)
    c = oracle.objective()
    cols = []
    for k in range(oracle.ncols):
        vt = "B" if k < oracle.D else "C"
        cols.append(
            m.addVar(name=f"x{k}", vtype=vt, lb=float(lo[k]), ub=float(up[k]), obj=float(c[k]))
        )
    m.setMaximize()
    m.addCons(sum(cols[j] for j in range(oracle.D)) <= oracle.budget)
    hdlr = _Hypograph(oracle, cols, initial, fractional, gap)
    m.includeConshdlr(
        hdlr,
        "hypograph",
        "hypograph of the capture objective (lazy OA cuts)",
        sepapriority=1,
        enfopriority=-1,
        chckpriority=-1,
        sepafreq=1,
        propfreq=-1,
        eagerfreq=-1,
        maxprerounds=0,
        needscons=True,
    )
    cons = m.createCons(
        hdlr, "hyp", initial=True, separate=True, enforce=True, check=True, propagate=False
    )
    m.addPyCons(cons)
    if incumbent is not None:
        x0 = oracle.point(np.asarray(incumbent, dtype=bool))
        sol = m.createSol()
        for k in range(oracle.ncols):
            m.setSolVal(sol, cols[k], float(x0[k]))
        m.addSol(sol)
    if report is not None:
        from dro_opt.solvers.trajectory import attach_scip

        attach_scip(m, _DualBoundReport(report))
    t0 = time.perf_counter()
    build_seconds = t0 - t_build
    with quiet_fds(not verbose):  # SoPlex's GMP tolerance warning bypasses hideOutput
        m.optimize()
    out = {
        "status": m.getStatus(),
        "dual_bound": m.getDualbound(),
        "primal_bound": m.getPrimalbound(),
        "nodes": m.getNNodes(),
        "seconds": time.perf_counter() - t0,
        "build_seconds": build_seconds + hdlr.init_seconds,
        "rounds": hdlr.rounds,
        "frac_rounds": hdlr.frac_rounds,
        "handler_seconds": hdlr.seconds,
    }
    best = m.getBestSol()
    if best is not None and m.getNSols() > 0:
        out["z"] = np.array([m.getSolVal(best, cols[j]) for j in range(oracle.D)]) > 0.5
    m.freeProb()
    return out
