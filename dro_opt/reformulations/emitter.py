"""Emitters: the one small interface every rewrite rule writes its cones through.

A rule (one file each in :mod:`dro_opt.reformulations`) is written once against an
:class:`Emitter` and lowers into either target:

* :class:`CvxpyEmitter` -- expressions are cvxpy expressions, constraints are cvxpy constraints
  (the modelling API :func:`dro_opt.dro.worst_case` returns them to the user);
* :class:`ConicEmitter` -- expressions are :class:`~dro_opt.conic.linexpr.LinExpr` over the
  blocks of a :class:`~dro_opt.conic.builder.ConicBuilder` and constraints are appended in bulk
  (application models such as the MC-FLP MISOCP build city-scale models this way without cvxpy's
  per-expression overhead).

This is the MathOptInterface-bridge idea: the rule states source -> target cones once; the
emitter decides how rows are stored. The algebra a rule may use is the intersection of what both
targets support: ``+``, ``-``, unary ``-``, multiplication by a Python scalar, and the emitter's
methods :meth:`~Emitter.mul` (elementwise by a constant vector), :meth:`~Emitter.matmul`,
:meth:`~Emitter.take`, :meth:`~Emitter.dot`, :meth:`~Emitter.broadcast`, :meth:`~Emitter.sum`.

Cone conventions (the canonical form's, :mod:`dro_opt.conic.cones`), all elementwise over
vectors of equal length:

* ``soc(t, x)``: one cone ``||x||_2 <= t`` (``t`` scalar);
* ``rsoc(u, v, x)``: ``x_i^2 <= 2 u_i v_i``, ``u_i, v_i >= 0``;
* ``exp(x, y, z)``: ``y_i exp(x_i / y_i) <= z_i`` (closure at ``y_i = 0``);
* ``pow(x, y, z, alpha)``: ``x_i^alpha y_i^(1 - alpha) >= |z_i|``, ``x_i, y_i >= 0``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from dro_opt.conic.builder import ConicBuilder
from dro_opt.conic.linexpr import LinExpr

Expr = Any  # a cvxpy Expression or a LinExpr, depending on the emitter


def join_name(prefix: str, stem: str) -> str:
    """Block name ``prefix_stem`` (just ``stem`` for an empty prefix) of a rule's variables."""
    return f"{prefix}_{stem}" if prefix else stem


class Emitter(Protocol):
    """What a rewrite rule may call (see the module docstring)."""

    def variable(
        self, name: str, size: int, *, lb: Any = None, ub: Any = None, vtype: str = "continuous"
    ) -> Expr: ...

    def nonneg(self, name: str, expr: Expr) -> None: ...

    def zero(self, name: str, expr: Expr) -> None: ...

    def soc(self, name: str, t: Expr, x: Expr) -> None: ...

    def rsoc(self, name: str, u: Expr, v: Expr, x: Expr) -> None: ...

    def exp(self, name: str, x: Expr, y: Expr, z: Expr) -> None: ...

    def pow(self, name: str, x: Expr, y: Expr, z: Expr, alpha: float) -> None: ...

    def mul(self, coef: Any, expr: Expr) -> Expr: ...

    def matmul(self, matrix: Any, expr: Expr) -> Expr: ...

    def take(self, expr: Expr, index: Any) -> Expr: ...

    def dot(self, weights: Any, expr: Expr) -> Expr: ...

    def sum(self, expr: Expr) -> Expr: ...

    def broadcast(self, expr: Expr, size: int) -> Expr: ...

    def size(self, expr: Expr) -> int: ...


# ============================================================================ cvxpy
class CvxpyEmitter:
    """Rules emit cvxpy variables and constraints; :attr:`constraints` collects them."""

    def __init__(self) -> None:
        import cvxpy as cp

        self._cp = cp
        self.constraints: list[Any] = []
        self.variables: dict[str, Any] = {}

    def variable(
        self, name: str, size: int, *, lb: Any = None, ub: Any = None, vtype: str = "continuous"
    ) -> Expr:
        cp = self._cp
        kwargs: dict[str, Any] = {"name": name}
        if vtype == "binary":
            kwargs["boolean"] = True
        elif vtype == "integer":
            kwargs["integer"] = True
        if lb is not None or ub is not None:
            lo = -np.inf if lb is None else lb
            hi = np.inf if ub is None else ub
            kwargs["bounds"] = [
                np.broadcast_to(np.asarray(lo, float), (size,)).copy(),
                np.broadcast_to(np.asarray(hi, float), (size,)).copy(),
            ]
        var = cp.Variable(size, **kwargs)
        self.variables[name] = var
        return var

    def nonneg(self, name: str, expr: Expr) -> None:
        self.constraints.append(expr >= 0)

    def zero(self, name: str, expr: Expr) -> None:
        self.constraints.append(expr == 0)

    def soc(self, name: str, t: Expr, x: Expr) -> None:
        cp = self._cp
        self.constraints.append(cp.SOC(cp.reshape(t, (), order="C"), x))

    def rsoc(self, name: str, u: Expr, v: Expr, x: Expr) -> None:
        # x^2 <= 2 u v  <=>  ||(sqrt(2) x, u - v)|| <= u + v
        cp = self._cp
        stacked = cp.vstack([math.sqrt(2.0) * x, u - v])
        self.constraints.append(cp.SOC(u + v, stacked, axis=0))

    def exp(self, name: str, x: Expr, y: Expr, z: Expr) -> None:
        self.constraints.append(self._cp.constraints.ExpCone(x, y, z))

    def pow(self, name: str, x: Expr, y: Expr, z: Expr, alpha: float) -> None:
        self.constraints.append(self._cp.constraints.PowCone3D(x, y, z, float(alpha)))

    def mul(self, coef: Any, expr: Expr) -> Expr:
        return self._cp.multiply(coef, expr)

    def matmul(self, matrix: Any, expr: Expr) -> Expr:
        return matrix @ expr

    def take(self, expr: Expr, index: Any) -> Expr:
        return expr[np.asarray(index, dtype=np.int64)]

    def dot(self, weights: Any, expr: Expr) -> Expr:
        return np.asarray(weights, dtype=float) @ expr

    def sum(self, expr: Expr) -> Expr:
        return self._cp.sum(expr)

    def broadcast(self, expr: Expr, size: int) -> Expr:
        cp = self._cp
        if not isinstance(expr, cp.Expression):
            return np.broadcast_to(np.asarray(expr, dtype=float).ravel(), (size,)).copy()
        if expr.size == size:
            return expr
        return cp.reshape(expr, (), order="C") * np.ones(size)

    def size(self, expr: Expr) -> int:
        return int(expr.size)


# ============================================================================ conic builder
class ConicEmitter:
    """Rules append blocks to a :class:`ConicBuilder` (bulk numpy/scipy.sparse)."""

    def __init__(self, builder: ConicBuilder) -> None:
        self.builder = builder

    def variable(
        self, name: str, size: int, *, lb: Any = None, ub: Any = None, vtype: str = "continuous"
    ) -> LinExpr:
        blk = self.builder.add_variables(
            name,
            int(size),
            lb=-np.inf if lb is None else lb,
            ub=np.inf if ub is None else ub,
            vtype=vtype,
        )
        return LinExpr.of_block(blk)

    def _add(self, name: str, cone: str, expr: LinExpr, **kw: Any) -> None:
        self.builder.add_constraints(name, cone, expr.builder_terms(), expr.const, **kw)

    def nonneg(self, name: str, expr: LinExpr) -> None:
        self._add(name, "nonneg", LinExpr.lift(expr))

    def zero(self, name: str, expr: LinExpr) -> None:
        self._add(name, "zero", LinExpr.lift(expr))

    def soc(self, name: str, t: LinExpr, x: LinExpr) -> None:
        stacked = LinExpr.vstack([LinExpr.lift(t), LinExpr.lift(x)])
        self._add(name, "soc", stacked, dims=stacked.rows)

    def rsoc(self, name: str, u: LinExpr, v: LinExpr, x: LinExpr) -> None:
        self._add(name, "rsoc", LinExpr.interleave([u, v, x]), dims=3)

    def exp(self, name: str, x: LinExpr, y: LinExpr, z: LinExpr) -> None:
        self._add(name, "exp", LinExpr.interleave([x, y, z]))

    def pow(self, name: str, x: LinExpr, y: LinExpr, z: LinExpr, alpha: float) -> None:
        self._add(name, "pow", LinExpr.interleave([x, y, z]), param=float(alpha))

    def mul(self, coef: Any, expr: LinExpr) -> LinExpr:
        return LinExpr.lift(expr).scale_rows(coef)

    def matmul(self, matrix: Any, expr: LinExpr) -> LinExpr:
        return LinExpr.lift(expr).left_multiply(sp.csr_matrix(matrix))

    def take(self, expr: LinExpr, index: Any) -> LinExpr:
        return LinExpr.lift(expr).take(np.asarray(index, dtype=np.int64))

    def dot(self, weights: Any, expr: LinExpr) -> LinExpr:
        w = np.asarray(weights, dtype=float).ravel()
        return LinExpr.lift(expr).left_multiply(sp.csr_matrix(w[None, :]))

    def sum(self, expr: LinExpr) -> LinExpr:
        e = LinExpr.lift(expr)
        return self.dot(np.ones(e.rows), e)

    def broadcast(self, expr: LinExpr, size: int) -> LinExpr:
        return LinExpr.lift(expr).broadcast(size)

    def size(self, expr: LinExpr) -> int:
        return LinExpr.lift(expr).rows

    def set_objective(self, expr: LinExpr) -> None:
        """Objective ``expr`` (a 1-row LinExpr) of the builder's sense."""
        e = LinExpr.lift(expr)
        if e.rows != 1:
            raise ValueError(f"objective must be a scalar expression, got {e.rows} rows")
        self.builder.set_objective(
            [(blk, mat.toarray().ravel()) for blk, mat in e.builder_terms()], float(e.const[0])
        )


__all__ = ["ConicEmitter", "CvxpyEmitter", "Emitter", "Expr", "join_name"]
