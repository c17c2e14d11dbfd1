"""Small reference models with optima known in closed form, one per problem class.

They are the shared test harness of the foundation (issue #4): every backend that declares the
needed capability must reproduce ``optimum`` (objective within 1e-6 relative; for MIPs also
bound and gap), and every file format that can hold the model must round-trip to it. They also
serve as shipped example model files (``dro-opt`` writes them with ``convert``).

Each optimum is derived in the docstring of its builder.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from dro_opt.conic import ConicBuilder, ConicProblem


@dataclass(frozen=True)
class ReferenceModel:
    """A model builder with its known optimum (``None`` for infeasible/unbounded ones)."""

    name: str
    build: Callable[[], ConicProblem]
    optimum: float | None
    expected_status: str = "optimal"
    solution: dict[str, list[float]] | None = None


def lp() -> ConicProblem:
    """max x + y  s.t. x + 2y <= 4, 3x + y <= 6, x, y >= 0.

    Both rows are tight at the optimum: x = 8/5, y = 6/5, value 14/5.
    """
    bld = ConicBuilder("max", name="ref_lp")
    x = bld.add_variables("x", 2, lb=0)
    bld.add_le("rows", [(x, [[1, 2], [3, 1]])], [4, 6])
    bld.set_objective([(x, [1, 1])])
    return bld.build()


def milp() -> ConicProblem:
    """max 5x + 4y  s.t. 6x + 4y <= 24, x + 2y <= 6, x, y integer >= 0.

    LP optimum (3, 1.5) = 21; integer points: (4,0) = 20 is feasible (24 <= 24, 4 <= 6) and no
    integer point reaches 21 (5x + 4y = 21 needs (1, 4) or (5, -1), both infeasible), so 20.
    """
    bld = ConicBuilder("max", name="ref_milp")
    x = bld.add_variables("x", 2, lb=0, ub=10, vtype="integer")
    bld.add_le("rows", [(x, [[6, 4], [1, 2]])], [24, 6])
    bld.set_objective([(x, [5, 4])])
    return bld.build()


def socp() -> ConicProblem:
    """min t  s.t. ||y - (1, 2, 3)|| <= t, y >= 0, sum(y) <= 3.

    Euclidean projection of (1, 2, 3) onto {y >= 0, sum y <= 3} is (0, 1, 2) (shift by tau = 1),
    so the optimum is ||(1, 1, 1)|| = sqrt(3).
    """
    bld = ConicBuilder("min", name="ref_socp")
    t = bld.add_variables("t", 1)
    y = bld.add_variables("y", 3, lb=0)
    e_t = sp.coo_matrix(([1.0], ([0], [0])), shape=(4, 1))
    e_y = sp.vstack([sp.coo_matrix((1, 3)), sp.identity(3)])
    bld.add_constraints("dist", "soc", [(t, e_t), (y, e_y)], const=[0, -1, -2, -3], dims=4)
    bld.add_le("budget", [(y, np.ones((1, 3)))], 3)
    bld.set_objective([(t, [1.0])])
    return bld.build()


def rsocp() -> ConicProblem:
    """min u - x  s.t. 2 * u * 1 >= x^2 (rotated SOC with v fixed at 1).

    u >= x^2 / 2, so the problem is min x^2/2 - x, attained at x = 1 with value -1/2.
    """
    bld = ConicBuilder("min", name="ref_rsocp")
    u = bld.add_variables("u", 1)
    x = bld.add_variables("x", 1)
    bld.add_constraints(
        "rot", "rsoc", [(u, [[1], [0], [0]]), (x, [[0], [0], [1]])], const=[0, 1, 0], dims=3
    )
    bld.set_objective([(u, [1.0]), (x, [-1.0])])
    return bld.build()


def misocp() -> ConicProblem:
    """min t  s.t. ||z - (0.4, 1.6, 2.7)|| <= t, z integer in [0, 5]^3, sum(z) <= 4.

    Rounding gives (0, 2, 3) with sum 5 > 4. Among points with sum <= 4 the nearest is
    (0, 1, 3): squared distance 0.16 + 0.36 + 0.09 = 0.61 ((0, 2, 2) gives 0.81, (1, 1, 2) 1.21,
    any point with sum <= 3 at least 0.61 + ...). Optimum sqrt(0.61).
    """
    bld = ConicBuilder("min", name="ref_misocp")
    t = bld.add_variables("t", 1)
    z = bld.add_variables("z", 3, lb=0, ub=5, vtype="integer")
    e_t = sp.coo_matrix(([1.0], ([0], [0])), shape=(4, 1))
    e_z = sp.vstack([sp.coo_matrix((1, 3)), sp.identity(3)])
    bld.add_constraints("dist", "soc", [(t, e_t), (z, e_z)], const=[0, -0.4, -1.6, -2.7], dims=4)
    bld.add_le("budget", [(z, np.ones((1, 3)))], 4)
    bld.set_objective([(t, [1.0])])
    return bld.build()


def expcone() -> ConicProblem:
    """max x1 + x2  s.t. exp(x_i) <= z_i, z1 + z2 <= 3.

    By symmetry and concavity of log, z = (1.5, 1.5) and x_i = log 1.5: optimum 2 log 1.5.
    Cone rows (x_i, 1, z_i) in K_exp = {(x, y, z): y exp(x / y) <= z}.
    """
    bld = ConicBuilder("max", name="ref_exp")
    x = bld.add_variables("x", 2)
    z = bld.add_variables("z", 2)
    ex = sp.coo_matrix(([1.0, 1.0], ([0, 3], [0, 1])), shape=(6, 2))
    ez = sp.coo_matrix(([1.0, 1.0], ([2, 5], [0, 1])), shape=(6, 2))
    bld.add_constraints("exp", "exp", [(x, ex), (z, ez)], const=[0, 1, 0, 0, 1, 0])
    bld.add_le("budget", [(z, np.ones((1, 2)))], 3)
    bld.set_objective([(x, [1.0, 1.0])])
    return bld.build()


def miexp() -> ConicProblem:
    """min t1 + t2  s.t. exp(k) <= t1, exp(2.5 - k) <= t2, k integer in [0, 3].

    The continuous minimiser is k = 1.25; the convex function e^k + e^(2.5-k) is symmetric
    about 1.25, so k = 1 beats k = 2 (distance 0.25 vs 0.75): optimum e + e^1.5.
    """
    bld = ConicBuilder("min", name="ref_miexp")
    k = bld.add_variables("k", 1, lb=0, ub=3, vtype="integer")
    t = bld.add_variables("t", 2)
    ek = sp.coo_matrix(([1.0, -1.0], ([0, 3], [0, 0])), shape=(6, 1))
    et = sp.coo_matrix(([1.0, 1.0], ([2, 5], [0, 1])), shape=(6, 2))
    bld.add_constraints("exp", "exp", [(k, ek), (t, et)], const=[0, 1, 0, 2.5, 1, 0])
    bld.set_objective([(t, [1.0, 1.0])])
    return bld.build()


def infeasible_lp() -> ConicProblem:
    """x >= 2 and x <= 1: infeasible."""
    bld = ConicBuilder("min", name="ref_infeasible")
    x = bld.add_variables("x", 1)
    bld.add_ge("lo", [(x, [[1.0]])], 2)
    bld.add_le("hi", [(x, [[1.0]])], 1)
    bld.set_objective([(x, [1.0])])
    return bld.build()


def unbounded_lp() -> ConicProblem:
    """max x + y  s.t. x - y <= 1, x, y >= 0: unbounded along (1, 1)."""
    bld = ConicBuilder("max", name="ref_unbounded")
    x = bld.add_variables("x", 2, lb=0)
    bld.add_le("row", [(x, [[1, -1]])], 1)
    bld.set_objective([(x, [1, 1])])
    return bld.build()


REFERENCE_MODELS: dict[str, ReferenceModel] = {
    m.name: m
    for m in (
        ReferenceModel("lp", lp, 14 / 5, solution={"x": [1.6, 1.2]}),
        ReferenceModel("milp", milp, 20.0, solution={"x": [4, 0]}),
        ReferenceModel("socp", socp, math.sqrt(3), solution={"y": [0, 1, 2]}),
        ReferenceModel("rsocp", rsocp, -0.5, solution={"x": [1.0]}),
        ReferenceModel("misocp", misocp, math.sqrt(0.61), solution={"z": [0, 1, 3]}),
        ReferenceModel("exp", expcone, 2 * math.log(1.5)),
        ReferenceModel("miexp", miexp, math.e + math.exp(1.5), solution={"k": [1]}),
        ReferenceModel("infeasible", infeasible_lp, None, "infeasible"),
        ReferenceModel("unbounded", unbounded_lp, None, "unbounded"),
    )
}
