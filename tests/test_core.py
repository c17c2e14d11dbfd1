"""Core pieces: the conic builder/problem, Result JSON round-trip, Certificate, registry."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp

from dro_opt.certify import Certificate, CertificateLine
from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.conic.cones import ConeRun
from dro_opt.errors import (
    CapabilityError,
    InvalidModelError,
    SolverUnavailableError,
    UnknownSolverError,
)
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.solvers import (
    Backend,
    Result,
    SolveOptions,
    Status,
    default_solver,
    get_backend,
    register_backend,
    relative_gap,
    solve,
    solvers_supporting,
)
from dro_opt.solvers.base import required_features
from dro_opt.solvers.catalogue import unregister_backend
from dro_opt.solvers.result import SCHEMA_VERSION, write_json_atomic

# ------------------------------------------------------------------------------ builder


def test_builder_rows_mean_what_they_say() -> None:
    bld = ConicBuilder("min", name="t")
    x = bld.add_variables("x", (2, 2), lb=0, ub=4)
    bld.add_le("le", [(x, [[1, 1, 0, 0]])], 3)
    bld.add_ge("ge", [(x, [[0, 0, 1, 0]])], 1)
    bld.add_eq("eq", [(x, [[0, 0, 0, 1]])], 2)
    bld.set_objective([(x, [1, 2, 3, 4])], constant=5)
    bld.add_objective([(x, [1, 0, 0, 0])], constant=1)
    p = bld.build()
    assert p.n == 4 and p.m == 3 and p.c0 == 6.0
    np.testing.assert_allclose(p.c, [2, 2, 3, 4])
    assert [(r.kind, r.count) for r in p.cones] == [("nonneg", 2), ("zero", 1)]
    assert p.var_blocks["x"].shape == (2, 2)
    assert set(p.con_blocks) == {"le", "ge", "eq"}
    good = np.array([1.0, 2.0, 1.5, 2.0])
    assert p.max_violation(good) == 0.0
    assert p.max_violation(np.array([2.0, 2.0, 1.5, 2.0])) == pytest.approx(1.0)  # le by 1
    assert p.max_violation(np.array([1.0, 2.0, 0.5, 2.0])) == pytest.approx(0.5)  # ge by .5
    assert p.max_violation(np.array([1.0, 2.0, 1.5, 2.25])) == pytest.approx(0.25)  # eq
    assert p.max_violation(np.array([1.0, 2.0, 1.5, 5.0])) == pytest.approx(3.0)  # eq + ub
    sol = p.split_solution(good)
    np.testing.assert_allclose(sol["x"], [[1.0, 2.0], [1.5, 2.0]])
    assert p.objective_value(good) == pytest.approx(2 + 4 + 4.5 + 8 + 6)


def test_builder_errors() -> None:
    bld = ConicBuilder("min")
    x = bld.add_variables("x", 3)
    with pytest.raises(InvalidModelError, match="already exists"):
        bld.add_variables("x", 2)
    with pytest.raises(InvalidModelError, match="columns"):
        bld.add_le("r", [(x, np.ones((1, 2)))], 1)
    with pytest.raises(InvalidModelError, match="dims"):
        bld.add_constraints("c", "soc", [(x, np.eye(3))])
    with pytest.raises(InvalidModelError, match="do not split"):
        bld.add_constraints("c", "soc", [(x, np.eye(3))], dims=2)
    with pytest.raises(InvalidModelError, match="multiple of 3"):
        bld.add_constraints("e", "exp", [(x, np.eye(3)[:2])])
    with pytest.raises(InvalidModelError, match="power cone parameter"):
        bld.add_constraints("p", "pow", [(x, np.eye(3))], param=1.5)
    with pytest.raises(InvalidModelError, match="sense"):
        ConicBuilder("maximise")
    with pytest.raises(InvalidModelError, match="vtype"):
        bld.add_variables("y", 2, vtype="boolean")


def test_binary_bounds_are_clipped() -> None:
    bld = ConicBuilder("max")
    bld.add_variables("z", 3, lb=-2, ub=5, vtype="binary")
    p = bld.build()
    np.testing.assert_array_equal(p.lb, 0)
    np.testing.assert_array_equal(p.ub, 1)
    assert p.is_mixed_integer and p.needs() == {"integer"}


def _problem(**over: object) -> ConicProblem:
    base = dict(
        c=[1.0, 0.0],
        A=sp.csr_matrix(np.array([[1.0, 1.0]])),
        b=[1.0],
        cones=[ConeRun("nonneg", 1, 1)],
        lb=[0.0, 0.0],
        ub=[1.0, 1.0],
        vtype=[0, 0],
    )
    base.update(over)
    return ConicProblem(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"c": [np.nan, 0.0]}, "objective has 1 non-finite"),
        ({"b": [np.inf]}, "right-hand side"),
        ({"A": sp.csr_matrix(np.array([[np.nan, 1.0]]))}, "NaN/inf"),
        ({"lb": [2.0, 0.0]}, "lower bound 2.0 > upper bound"),
        ({"lb": [np.nan, 0.0]}, "NaN"),
        ({"cones": [ConeRun("nonneg", 1, 2)]}, "cones cover 2 rows"),
        ({"vtype": [0, 7]}, "vtype entries"),
        ({"vtype": [2, 0], "ub": [3.0, 1.0]}, "binary variables"),
        ({"cones": [ConeRun("blob", 1, 1)]}, "unknown cone kind"),
        ({"sense": "up"}, "sense"),
    ],
)
def test_problem_validation(over: dict, match: str) -> None:
    with pytest.raises(InvalidModelError, match=match):
        _problem(**over)


def test_cone_membership_of_every_kind() -> None:
    """``max_violation`` on single cones: inside points give 0, outside points the excess."""

    def one(kind: str, dim: int, s: list[float], param: float | None = None) -> float:
        p = ConicProblem(
            c=np.zeros(1),
            A=sp.csr_matrix((dim, 1)),
            b=s,
            cones=[ConeRun(kind, dim, 1, param)],
            lb=[-np.inf],
            ub=[np.inf],
            vtype=[0],
        )
        return p.max_violation(np.zeros(1))

    assert one("soc", 3, [5, 3, 4]) == pytest.approx(0.0)
    assert one("soc", 3, [4, 3, 4]) == pytest.approx(1.0)
    assert one("rsoc", 3, [2, 1, 2]) == pytest.approx(0.0)  # 2*2*1 = 4 = 2^2
    assert one("rsoc", 3, [1, 1, 2]) > 0.1
    assert one("rsoc", 3, [-1, -1, 0]) > 0.5
    assert one("exp", 3, [1, 1, math.e]) == pytest.approx(0.0, abs=1e-12)
    assert one("exp", 3, [1, 1, 2]) == pytest.approx(math.e - 2)
    assert one("exp", 3, [-3, 0, 0]) == 0.0  # closure: y = 0, x <= 0, z >= 0
    assert one("exp", 3, [0.5, 0, 1]) == pytest.approx(0.5)  # y = 0 needs x <= 0
    assert one("pow", 3, [4, 1, 2], 0.5) == pytest.approx(0.0)
    assert one("pow", 3, [4, 1, -2.5], 0.5) == pytest.approx(0.5)
    assert one("zero", 1, [0.25]) == pytest.approx(0.25)


def test_needs_and_class_of_reference_models() -> None:
    expected = {
        "lp": ("LP", set()),
        "milp": ("MILP", {"integer"}),
        "socp": ("SOCP", {"soc"}),
        "rsocp": ("SOCP", {"rsoc"}),
        "misocp": ("MISOCP", {"soc", "integer", "mi_soc"}),
        "exp": ("CONIC(exp/pow)", {"exp"}),
        "miexp": ("MICONIC(exp/pow)", {"exp", "integer", "mi_exp"}),
    }
    for name, (cls, feats) in expected.items():
        p = REFERENCE_MODELS[name].build()
        assert p.problem_class() == cls
        assert required_features(p) == feats


def test_problem_copy_is_independent() -> None:
    p = REFERENCE_MODELS["lp"].build()
    q = p.copy()
    q.lb[:] = 1.0
    q.A.data[:] = 0.0
    assert (p.lb == 0).all() and (p.A.data != 0).all()


# ----------------------------------------------------------------------- result + JSON


def _result() -> Result:
    cert = Certificate.for_sense(
        "max", 10.0, 10.5, [CertificateLine("pwla", 0.25, True, "Theorem 2")]
    )
    return Result(
        status=Status.TIME_LIMIT,
        objective=10.0,
        bound=10.5,
        solver="scip",
        solver_version="SCIP 10.0.2",
        sense="max",
        x=np.array([1.0, 0.0]),
        solution={"z": np.array([[1.0, 0.0]])},
        duals={"rows": np.array([0.5])},
        build_seconds=0.1,
        solve_seconds=2.0,
        nodes=17,
        message="time limit",
        certificate=cert,
        extra={"native_status": "timelimit", "arr": np.arange(2), "nan": float("nan")},
    )


def test_result_json_round_trip(tmp_path: object) -> None:
    res = _result()
    text = res.to_json()
    d = json.loads(text)
    assert d["schema_version"] == SCHEMA_VERSION and d["status"] == "time_limit"
    assert d["gap"] == pytest.approx(0.05)
    assert d["extra"]["nan"] is None and d["extra"]["arr"] == [0, 1]
    back = Result.from_json(text)
    assert back.status is Status.TIME_LIMIT
    assert (back.objective, back.bound, back.nodes) == (10.0, 10.5, 17)
    assert back.solver_version == "SCIP 10.0.2" and back.sense == "max"
    np.testing.assert_allclose(back["z"], [[1.0, 0.0]])
    np.testing.assert_allclose(back.duals["rows"], [0.5])
    assert back.certificate is not None
    assert back.certificate.upper == pytest.approx(10.75)
    assert [ln.name for ln in back.certificate.lines] == ["solver_bound", "pwla"]
    assert back.to_dict() == res.to_dict() | {"extra": back.to_dict()["extra"]}
    path = tmp_path / "res.json"  # type: ignore[operator]
    write_json_atomic(path, res.to_dict())
    assert Result.from_json(path.read_text()).gap == pytest.approx(res.gap)


def test_result_json_rejects_other_schema_and_non_finite_values() -> None:
    d = _result().to_dict()
    d["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match="schema_version"):
        Result.from_dict(d)
    res = Result(status=Status.OPTIMAL, objective=float("inf"), bound=float("nan"))
    d = res.to_dict()
    assert d["objective"] is None and d["bound"] is None and d["gap"] is None
    json.dumps(d, allow_nan=False)


def test_result_getitem_names_blocks() -> None:
    with pytest.raises(KeyError, match="blocks: \\['z'\\]"):
        _result()["y"]


def test_relative_gap_and_status() -> None:
    assert relative_gap(10.0, 10.5) == pytest.approx(0.05)
    assert relative_gap(0.5, 0.6) == pytest.approx(0.1)  # max(1, |obj|) = 1
    assert relative_gap(None, 1.0) is None and relative_gap(1.0, math.inf) is None
    assert Status.parse("Optimal") is Status.OPTIMAL
    assert Status.parse("something else") is Status.UNKNOWN
    assert Status.TIME_LIMIT.has_solution and not Status.INFEASIBLE.has_solution
    assert Status.INFEASIBLE.is_proven and not Status.TIME_LIMIT.is_proven


# --------------------------------------------------------------------------- certificate


def test_certificate_sandwich_both_senses() -> None:
    errs = [CertificateLine("clustering", 0.5), CertificateLine("pwla", 0.25)]
    cmax = Certificate.for_sense("max", 100.0, 101.0, errs)
    assert (cmax.lower, cmax.upper) == (100.0, 101.75)
    assert cmax.gap == pytest.approx(1.75 / 100.0)
    assert cmax.contains(101.0) and not cmax.contains(102.0) and not cmax.contains(99.0)
    cmin = Certificate.for_sense("min", 100.0, 99.0, errs)
    assert (cmin.lower, cmin.upper) == (98.25, 100.0)
    assert cmin.gap == pytest.approx(1.75 / 100.0)
    back = Certificate.from_dict(json.loads(json.dumps(cmin.to_dict())))
    assert (back.lower, back.upper, back.sense) == (98.25, 100.0, "min")


def test_certificate_not_rigorous_has_no_gap() -> None:
    weak = [CertificateLine("sampling", 0.1, rigorous=False, note="high probability only")]
    c = Certificate.for_sense("max", 5.0, 6.0, weak)
    assert c.upper is None and c.gap is None and not c.rigorous
    assert "NOT rigorous" in c.describe()
    assert Certificate.for_sense("max", 5.0, None).gap is None


# ------------------------------------------------------------------------------ registry

DEFAULTS = {
    "lp": "highs",
    "milp": "highs",
    "socp": "clarabel",
    "rsocp": "clarabel",
    "misocp": "scip",
    "exp": "clarabel",
    "miexp": "scip",
    "infeasible": "highs",
    "unbounded": "highs",
}


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_default_solver_choice(name: str) -> None:
    p = REFERENCE_MODELS[name].build()
    assert default_solver(p) == DEFAULTS[name]
    assert DEFAULTS[name] in solvers_supporting(p)


def test_default_solve_uses_default_choice() -> None:
    res = solve(REFERENCE_MODELS["misocp"].build())
    assert res.solver == "scip" and res.status is Status.OPTIMAL


def test_registry_errors() -> None:
    with pytest.raises(UnknownSolverError) as err:
        get_backend("cbc")
    for name in ("scip", "highs", "clarabel", "gurobi", "mosek", "cplex", "xpress"):
        assert name in str(err.value)
    assert get_backend(" SCIP ") is get_backend("scip")
    p = REFERENCE_MODELS["misocp"].build()
    assert "highs" not in solvers_supporting(p) and "clarabel" not in solvers_supporting(p)
    with pytest.raises(CapabilityError, match="lacks integer, mi_soc"):
        solve(p, "clarabel")


class _Missing(Backend):
    name = "missing_solver_for_test"
    module = "no_such_module_xyz"
    features = frozenset()

    def _solve(self, problem: ConicProblem, options: SolveOptions) -> Result:
        raise AssertionError("never reached")


def test_uninstalled_backend_is_refused() -> None:
    register_backend(_Missing())
    try:
        with pytest.raises(SolverUnavailableError, match="pip install no_such_module_xyz"):
            solve(REFERENCE_MODELS["lp"].build(), "missing_solver_for_test")
        assert "missing_solver_for_test" not in solvers_supporting(REFERENCE_MODELS["lp"].build())
    finally:
        unregister_backend("missing_solver_for_test")
