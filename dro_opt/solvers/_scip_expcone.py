"""Exact exponential cones with a variable ``y`` for SCIP: a cutting-plane constraint handler.

The closed exponential cone (docs/conventions.md, 'Canonical conic form'; SCS/Clarabel order)::

    K = cl{(x, y, z): y > 0, y exp(x / y) <= z}
      = {y > 0, y exp(x / y) <= z}  U  {(x, 0, z): x <= 0, z >= 0}

has no faithful SCIP expression when ``y`` can reach 0: ``y * exp(x / y)`` is undefined at
``y = 0``, SCIP's presolve simplifies ``0 * exp(x / 0)`` to ``0`` (dropping ``x <= 0``), and a node
with ``y`` fixed to 0 is declared infeasible. Both were observed with SCIP 10 (``max x`` with
``y = 0`` forced returned ``x = 5`` instead of 0; a binary on/off ``y`` returned -0.1 instead of
the optimum 0), and SCIP does not recognise the perspective ``y exp(x / y)`` as convex.

This handler instead enforces ``K`` exactly through its dual description ``K = K**``: for every
``r`` the vector ``(e^r, e^r (1 - r), -1)`` lies in ``-K*`` (it is the gradient of the convex,
positively homogeneous ``g = y exp(x / y) - z`` at any point with ``x / y = r``, and
``grad g(p)' p = g(p)``), so::

    e^r x + e^r (1 - r) y - z <= 0        for all r            (tangent cuts, valid on all of K)

and ``K`` is the intersection of these half-spaces with ``y >= 0, z >= 0`` (at ``y = 0`` the cuts
give ``x <= e^-r z`` for all ``r``, i.e. ``x <= 0``). A point with ``y > 0`` violating ``K`` is
cut off by the tangent at ``r = x / y`` (its violation equals ``g``); at ``y = 0`` and ``x > 0`` by
a cut with ``e^-r z < x``. SCIP's branch and bound then solves the problem as a convex MINLP by
outer approximation: its dual bound is the bound of a polyhedral relaxation of ``K`` (valid), and
every accepted solution passes :func:`exp_violation` within SCIP's feasibility tolerance.

Cut coefficients are scaled to ``max |coef| = 1`` with ``|r| <= 18`` so no coefficient falls under
SCIP's zero tolerance (1e-9); a cut that would need a larger ``|r|`` uses a wider range unscaled.
Constant-``y`` cones never come here: the SCIP backend writes them as the convex expression
``y0 exp(x / y0) <= z`` (``y0 > 0``) or the linear closure ``x <= 0`` (``y0 = 0``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pyscipopt import SCIP_RESULT, Conshdlr

R_SCALED = 18.0  # e^-18 ~ 1.5e-8 stays above SCIP's epsilon after scaling
R_WIDE = 40.0
ENFORCE_FACTOR = 0.1  # LP solutions are enforced to 0.1 x SCIP's feasibility tolerance
CUT_MIN = 2e-8  # minimal cut violation: twice the LP feasibility tolerance (1e-2 x 1e-6)


def exp_violation(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Violation of ``(x, y, z) in K_exp`` per cone (0 when inside).

    For ``y > 0`` the smaller of ``y exp(x / y) - z`` and ``x - y log(z / y)`` (the same
    constraint written in ``z`` and in ``x`` units; the second is the better scaled one near
    ``y = 0``); for ``y <= 0`` the closure ``max(x, -z)``; plus ``max(-y, -z)`` for the signs.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        pos = y > 0
        ys = np.where(pos, y, 1.0)
        g1 = np.where(pos, ys * np.exp(np.minimum(x / ys, 700.0)) - z, np.inf)
        g1 = np.where(pos & (x / ys > 700.0), np.inf, g1)
        g2 = np.where(
            pos & (z > 0), x - ys * (np.log(np.where(z > 0, z, 1.0)) - np.log(ys)), np.inf
        )
        main = np.where(pos, np.minimum(g1, g2), np.maximum(x, -z))
    return np.maximum(np.maximum(main, -y), np.maximum(-z, 0.0)).clip(min=0.0)


def tangent_cuts(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, r_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Most violated tangent cut per point: ``(coefs (k, 3), violation (k,))``.

    Candidates ``r``: ``x / y`` (tangent at the point's own ratio), ``log(z / y)`` and their
    midpoint for ``y > 0``; ``log(z / x) + 1`` (and ``r_max``) when ``y <= 0``. Each is clipped to
    ``[-r_max, r_max]``; ``r`` within 1e-6 of 1 is set to 1 (exact zero ``y`` coefficient). With
    ``r_max = R_SCALED`` the row is scaled to ``max |coef| = 1``; wider cuts are scaled so the
    smallest non-zero magnitude is 1. Violation is measured after scaling.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        pos = y > 0
        ys = np.where(pos, y, 1.0)
        r1 = np.where(pos, x / ys, r_max)
        r2 = np.where(pos & (z > 0), np.log(np.where(z > 0, z, 1.0) / ys), r1)
        r0 = np.where(
            (x > 0) & (z > 0),
            np.log(np.where(z > 0, z, 1.0) / np.where(x > 0, x, 1.0)) + 1.0,
            r_max,
        )
        cands = np.stack(
            [
                np.where(pos, r1, r0),
                np.where(pos, r2, r_max),
                np.where(pos, 0.5 * (r1 + r2), r0 + 1.0),
            ],
            axis=1,
        )
    cands = np.nan_to_num(cands, nan=0.0, posinf=r_max, neginf=-r_max).clip(-r_max, r_max)
    cands = np.where(np.abs(cands - 1.0) < 1e-6, 1.0, cands)
    er = np.exp(cands)
    coef = np.stack([er, er * (1.0 - cands), -np.ones_like(er)], axis=2)  # (k, 3 cands, 3)
    if r_max <= R_SCALED:
        scale = np.abs(coef).max(axis=2, keepdims=True)
    else:
        mags = np.where(coef != 0, np.abs(coef), np.inf)
        scale = mags.min(axis=2, keepdims=True)
    coef = coef / scale
    pts = np.stack([x, y, z], axis=1)[:, None, :]
    viol = (coef * pts).sum(axis=2)
    best = np.argmax(viol, axis=1)
    k = np.arange(x.size)
    return coef[k, best], viol[k, best]


class ExpConeHandler(Conshdlr):
    """SCIP constraint handler for batches of exponential cones ``(x_i, y_i, z_i) in K_exp``.

    Each constraint's ``data`` is a dict with lists ``"x"``, ``"y"``, ``"z"`` of SCIP variables
    (original variables in the original problem, transformed ones after :meth:`constrans`).
    Callback failures are recorded in :attr:`errors` (the backend reports them as an error
    result) and answered conservatively (``INFEASIBLE``), never silently as feasible.
    """

    def __init__(self) -> None:
        self.errors: list[str] = []

    # ---------------------------------------------------------------- helpers
    def _values(self, cons: Any, solution: Any) -> tuple[np.ndarray, ...]:
        """Values of the cones' ``x, y, z`` in ``solution`` (``None``: current LP/pseudo)."""
        d = cons.data
        get = self.model.getSolVal
        return tuple(
            np.fromiter((get(solution, v) for v in d[k]), float, len(d[k])) for k in ("x", "y", "z")
        )

    def _violated(self, constraints: list[Any], solution: Any) -> bool:
        tol = self.model.feastol()
        for cons in constraints:
            x, y, z = self._values(cons, solution)
            if x.size and exp_violation(x, y, z).max() > tol:
                return True
        return False

    def _separate(self, constraints: list[Any], enforce: bool) -> dict[str, Any]:
        """Add tangent cuts at the LP solution for cones violated by more than
        ``ENFORCE_FACTOR * feastol`` (``10x`` that when only separating).

        A cut is added only when it is violated by more than ``CUT_MIN`` (twice the LP
        feasibility tolerance set by the backend), so every added cut moves the LP; a cone whose
        best cut is weaker than that is accepted when within ``feastol`` (exactly what
        ``conscheck`` accepts, so enforcement and checking agree) and otherwise still cut.
        """
        feastol = self.model.feastol()
        tol = ENFORCE_FACTOR * feastol
        added = 0
        for cons in constraints:
            x, y, z = self._values(cons, None)
            if not x.size:
                continue
            measure = exp_violation(x, y, z)
            bad = np.flatnonzero(measure > (tol if enforce else 10 * tol))
            if not bad.size:
                continue
            coef, viol = tangent_cuts(x[bad], y[bad], z[bad], R_SCALED)
            weak = viol <= CUT_MIN
            if weak.any():
                wcoef, wviol = tangent_cuts(x[bad[weak]], y[bad[weak]], z[bad[weak]], R_WIDE)
                better = wviol > viol[weak]
                idx = np.flatnonzero(weak)[better]
                coef[idx], viol[idx] = wcoef[better], wviol[better]
            for i, k in enumerate(bad.tolist()):
                if viol[i] <= CUT_MIN:
                    if measure[k] <= feastol or not enforce:
                        continue
                    if self._local_closure(cons, k):
                        added += 1
                        continue
                    if viol[i] <= 0.0:
                        continue
                if self._add_row(cons, k, coef[i], local=False):
                    return {"result": SCIP_RESULT.CUTOFF}
                added += 1
        if added:
            return {"result": SCIP_RESULT.SEPARATED}
        if enforce:
            return {
                "result": SCIP_RESULT.INFEASIBLE
                if self._violated(constraints, None)
                else SCIP_RESULT.FEASIBLE
            }
        return {"result": SCIP_RESULT.DIDNOTFIND}

    def _local_closure(self, cons: Any, k: int) -> bool:
        """With ``y`` locally fixed at 0 the cone is ``x <= 0``: add that as a local row."""
        yv = cons.data["y"][k]
        if yv.getUbLocal() > self.model.feastol():
            return False
        self._add_row(cons, k, np.array([1.0, 0.0, 0.0]), local=True)
        return True

    def _add_row(self, cons: Any, k: int, coef: np.ndarray, local: bool) -> bool:
        d = cons.data
        row = self.model.createEmptyRowUnspec(
            name=f"expcut_{k}", lhs=None, rhs=0.0, local=local, modifiable=False, removable=True
        )
        self.model.cacheRowExtensions(row)
        for var, a in zip((d["x"][k], d["y"][k], d["z"][k]), coef, strict=True):
            if a != 0.0 and math.isfinite(a):
                self.model.addVarToRow(row, var, float(a))
        self.model.flushRowExtensions(row)
        infeasible = self.model.addCut(row, forcecut=True)
        self.model.releaseRow(row)
        return bool(infeasible)

    def _guard(self, where: str, exc: BaseException) -> dict[str, Any]:
        self.errors.append(f"exp-cone handler {where}: {type(exc).__name__}: {exc}")
        try:
            self.model.interruptSolve()
        except Exception:  # interruption is best effort
            pass
        return {"result": SCIP_RESULT.INFEASIBLE}

    # -------------------------------------------------------------- callbacks
    def constrans(self, sourceconstraint: Any) -> dict[str, Any]:
        try:
            src = sourceconstraint.data
            data = {k: [self.model.getTransformedVar(v) for v in src[k]] for k in ("x", "y", "z")}
            for k in ("x", "y", "z"):
                for v in data[k]:
                    self.model.markDoNotMultaggrVar(v)
            cons = self.model.createCons(
                self,
                sourceconstraint.name,
                initial=True,
                separate=True,
                enforce=True,
                check=True,
                propagate=False,
            )
            cons.data = data
            return {"targetcons": cons}
        except Exception as exc:
            self._guard("constrans", exc)
            return {}

    def consinitlp(self, constraints: list[Any]) -> dict[str, Any]:
        """Tangents at ``r = 0`` (``x + y <= z``) for every cone: a bounded first LP."""
        try:
            for cons in constraints:
                for k in range(len(cons.data["x"])):
                    self._add_row(cons, k, np.array([1.0, 1.0, -1.0]), local=False)
        except Exception as exc:
            self._guard("initlp", exc)
        return {}

    def conssepalp(self, constraints: list[Any], nusefulconss: int) -> dict[str, Any]:
        try:
            return self._separate(constraints, enforce=False)
        except Exception as exc:
            return self._guard("sepalp", exc)

    def consenfolp(
        self, constraints: list[Any], nusefulconss: int, solinfeasible: bool
    ) -> dict[str, Any]:
        try:
            return self._separate(constraints, enforce=True)
        except Exception as exc:
            return self._guard("enfolp", exc)

    def consenfops(
        self, constraints: list[Any], nusefulconss: int, solinfeasible: bool, objinfeasible: bool
    ) -> dict[str, Any]:
        try:
            return {
                "result": SCIP_RESULT.SOLVELP
                if self._violated(constraints, None)
                else SCIP_RESULT.FEASIBLE
            }
        except Exception as exc:
            return self._guard("enfops", exc)

    def consenforelax(
        self, solution: Any, constraints: list[Any], nusefulconss: int, solinfeasible: bool
    ) -> dict[str, Any]:
        try:
            return {
                "result": SCIP_RESULT.INFEASIBLE
                if self._violated(constraints, solution)
                else SCIP_RESULT.FEASIBLE
            }
        except Exception as exc:
            return self._guard("enforelax", exc)

    def conscheck(
        self,
        constraints: list[Any],
        solution: Any,
        checkintegrality: bool,
        checklprows: bool,
        printreason: bool,
        completely: bool,
    ) -> dict[str, Any]:
        try:
            return {
                "result": SCIP_RESULT.INFEASIBLE
                if self._violated(constraints, solution)
                else SCIP_RESULT.FEASIBLE
            }
        except Exception as exc:
            return self._guard("check", exc)

    def conslock(self, constraint: Any, locktype: int, nlockspos: int, nlocksneg: int) -> None:
        """``g = y exp(x/y) - z``: rounding ``x`` up or ``z`` down may violate; ``y`` both."""
        if constraint is None:
            return
        try:
            d = constraint.data
            both = nlockspos + nlocksneg
            for v in d["x"]:
                self.model.addVarLocksType(v, locktype, nlocksneg, nlockspos)
            for v in d["z"]:
                self.model.addVarLocksType(v, locktype, nlockspos, nlocksneg)
            for v in d["y"]:
                self.model.addVarLocksType(v, locktype, both, both)
        except Exception as exc:
            self._guard("lock", exc)
