"""Model files (.mps/.lp/.cbf): exact data round trips, dialect semantics, SOC pattern
recognition, shipped example files, and bad input -> typed errors (issue #4 item 5).

Solver-level round trips (every reference model x format x solver, and the solvers' own readers)
live in tests/test_io_roundtrip.py.
"""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from dro_opt.conic import ConicBuilder, ConicProblem
from dro_opt.errors import InvalidModelError, ModelFileError, UnsupportedFormatError
from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.io.cbf import cbf_text, parse_cbf
from dro_opt.io.formats import FORMATS, can_hold, convert, read_model, write_model
from dro_opt.io.lp import parse_lp
from dro_opt.io.mps import parse_mps

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers
def _awkward_problem(seed: int = 0, integer: bool = True) -> ConicProblem:
    """Random model with non-representable decimals, every bound kind, SOC, RSOC, exp, pow.

    Every linear row has >= 2 non-zeros, so the CBF reader turns no row into a bound.
    """
    rng = np.random.default_rng(seed)
    bld = ConicBuilder("max", name="awkward")
    x = bld.add_variables(
        "x", 6, lb=[0, -np.inf, -1 / 3, 0, -2.5, -np.inf], ub=[np.inf, np.inf, 7 / 3, 0, 0, 1e-7]
    )
    z = bld.add_variables(
        "z", 3, lb=[0, -3, 2], ub=[1, 4, 2], vtype="integer" if integer else "continuous"
    )
    b = bld.add_variables("b", 2, vtype="binary" if integer else "continuous", lb=0, ub=1)
    M = lambda r, c: rng.normal(size=(r, c)) * np.exp(rng.normal(size=(r, c)) * 5)  # noqa: E731
    bld.add_eq("eq", [(x, M(2, 6)), (z, M(2, 3))], rng.normal(size=2) / 7)
    bld.add_le("le", [(x, M(3, 6)), (b, M(3, 2))], rng.normal(size=3) * 1e-9)
    bld.add_constraints("soc", "soc", [(x, M(8, 6)), (z, M(8, 3))], rng.normal(size=8), dims=[5, 3])
    bld.add_constraints("rsoc", "rsoc", [(x, M(4, 6))], rng.normal(size=4), dims=4)
    bld.add_constraints("exp", "exp", [(x, M(6, 6))], rng.normal(size=6))
    bld.add_constraints("pow", "pow", [(x, M(3, 6))], rng.normal(size=3), param=0.3)
    bld.add_constraints("pow2", "pow", [(x, M(3, 6))], rng.normal(size=3), param=2 / 3)
    bld.set_objective([(x, rng.normal(size=6) / 3), (z, [1.1, 0, -2.2])], constant=math.pi)
    return bld.build()


def _same(p: ConicProblem, q: ConicProblem) -> None:
    """Bit-exact equality of the mathematical data of two canonical problems.

    CBF knows no binaries: an integer in [0, 1] is read back as binary (the same set).
    """
    int01 = (p.vtype == 1) & (p.lb == 0) & (p.ub == 1)
    p = p.copy()
    p.vtype[int01] = 2
    assert p.sense == q.sense
    assert p.c0 == q.c0
    np.testing.assert_array_equal(p.c, q.c)
    np.testing.assert_array_equal(p.b, q.b)
    np.testing.assert_array_equal(p.lb, q.lb)
    np.testing.assert_array_equal(p.ub, q.ub)
    np.testing.assert_array_equal(p.vtype, q.vtype)
    assert (p.A != q.A).nnz == 0
    assert p.cones == q.cones


def _write_read(p: ConicProblem, tmp_path: Path, suffix: str) -> ConicProblem:
    path = tmp_path / f"model{suffix}"
    write_model(p, path)
    return read_model(path)


# ------------------------------------------------------------------- exact round trips
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cbf_round_trip_is_bit_exact(tmp_path: Path, seed: int) -> None:
    p = _awkward_problem(seed)
    _same(p, _write_read(p, tmp_path, ".cbf"))


def test_cbf_gzip_round_trip(tmp_path: Path) -> None:
    p = _awkward_problem(3)
    q = _write_read(p, tmp_path, ".cbf.gz")
    _same(p, q)
    with gzip.open(tmp_path / "model.cbf.gz", "rt") as fh:
        assert "VER\n3\n" in fh.read()


def test_cbf_exp_cone_order_is_reversed() -> None:
    """Our (x, y, z): y exp(x/y) <= z is CBF EXP (x1, x2, x3) = (z, y, x)."""
    text = cbf_text(REFERENCE_MODELS["exp"].build())
    rows = text.split("\nACOORD\n")[1].split("\n\n")[0].splitlines()[1:]
    entries = {tuple(map(float, r.split())) for r in rows}
    # first cone: canonical rows (x_1, 1, z_1) -> CBF row 0 holds z_1 (column 2), row 2 holds x_1
    assert (0.0, 2.0, 1.0) in entries and (2.0, 0.0, 1.0) in entries


def _linear_problem(seed: int) -> ConicProblem:
    rng = np.random.default_rng(seed)
    bld = ConicBuilder("max", name="lin")
    x = bld.add_variables(
        "x", 5, lb=[0, -np.inf, -1 / 3, 0, -2.5], ub=[np.inf, np.inf, 7 / 3, 0, -0.1]
    )
    z = bld.add_variables("z", 3, lb=[0, -3, 2], ub=[7, np.inf, 2], vtype="integer")
    b = bld.add_variables("b", 2, vtype="binary")
    bld.add_le(
        "le",
        [(x, rng.normal(size=(3, 5)) / 3), (z, rng.normal(size=(3, 3)))],
        rng.normal(size=3) / 7,
    )
    bld.add_le("empty", [(x, np.zeros((1, 5)))], 0.1)  # a row with no entries
    bld.add_eq("eq", [(b, rng.normal(size=(2, 2)) * 1e-13)], [1e13, -1 / 3])
    bld.set_objective([(x, rng.normal(size=5) / 3), (b, [1.0, -1.0])], constant=-math.e)
    return bld.build()


@pytest.mark.parametrize("suffix", [".mps", ".lp", ".mps.gz", ".lp.gz"])
def test_linear_round_trip_is_bit_exact(tmp_path: Path, suffix: str) -> None:
    p = _linear_problem(4)
    q = _write_read(p, tmp_path, suffix)
    # the reader orders rows zero-cone first, then the nonneg rows (as written)
    perm = np.r_[4:6, 0:4]
    assert q.sense == p.sense and q.c0 == p.c0
    if suffix.startswith(".mps"):  # MPS keeps the column order, LP orders by first appearance
        order = np.arange(p.n)
        assert list(q.var_blocks) == ["x", "z", "b"]
    else:
        names = [f"x_{k}" for k in range(5)] + [f"z_{k}" for k in range(3)] + ["b_0", "b_1"]
        assert q.n == p.n
        order = np.array([names.index(nm) for nm in _lp_column_names(tmp_path / f"model{suffix}")])
    np.testing.assert_array_equal(p.c[order], q.c)
    np.testing.assert_array_equal(p.lb[order], q.lb)
    np.testing.assert_array_equal(p.ub[order], q.ub)
    np.testing.assert_array_equal(p.vtype[order], q.vtype)
    np.testing.assert_array_equal(p.b[perm], q.b)
    assert (p.A[perm][:, order] != q.A).nnz == 0


def _lp_column_names(path: Path) -> list[str]:
    from dro_opt.io._text import read_text
    from dro_opt.io.lp import _Parser

    parser = _Parser(read_text(path), str(path))
    parser.model()
    return [nm for nm in parser.cols if nm != "obj_constant"]


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_cone_rows_round_trip_through_slacks(tmp_path: Path, suffix: str) -> None:
    """Read-back model = original with slacks s = b - A x: its cone rows reproduce s exactly."""
    full = _awkward_problem(5, integer=False)
    keep = [r for r in full.cones if r.kind in ("zero", "nonneg", "soc", "rsoc")]
    rows = np.r_[0 : sum(r.rows for r in keep)]  # exp/pow rows come last in _awkward_problem
    p = ConicProblem(
        full.c,
        full.A[rows],
        full.b[rows],
        keep,
        full.lb,
        full.ub,
        full.vtype,
        full.sense,
        full.c0,
        full.var_blocks,
    )
    q = _write_read(p, tmp_path, suffix)
    x = np.random.default_rng(0).normal(size=p.n)
    s = p.b - p.A @ x
    nz = p.cones[0].rows + p.cones[1].rows  # zero + nonneg rows of p
    cone_s = s[nz:]
    if suffix == ".lp":
        names = _lp_column_names(tmp_path / "model.lp")
        orig = [f"x_{k}" for k in range(6)] + [f"z_{k}" for k in range(3)] + ["b_0", "b_1"]
        slack = {f"slack_{k}": nz_k for k, nz_k in enumerate(cone_s)}
        xq = np.array([x[orig.index(nm)] if nm in orig else slack[nm] for nm in names])
    else:
        xq = np.r_[x, cone_s]
    sq = q.b - q.A @ xq
    qk = [r.kind for r in q.cones]
    nzero = q.cones[qk.index("zero")].rows
    np.testing.assert_allclose(sq[:nzero][-cone_s.size :], 0.0, atol=1e-9 * np.abs(p.A).max())
    got_cones = sq[q.m - cone_s.size :]
    np.testing.assert_allclose(got_cones, cone_s, rtol=1e-15, atol=0)
    assert [(r.kind, r.dim) for r in q.cones if r.kind in ("soc", "rsoc")] == [
        ("soc", 5),
        ("soc", 3),
        ("rsoc", 4),
    ]


# ----------------------------------------------------------------------- MPS dialect
_DIALECT_MPS = """\
* hand-written: every bound type, RANGES on E/L/G rows, OBJSENSE on one line, objective RHS
NAME dialect
OBJSENSE MAXIMIZE
ROWS
 N  cost
 N  unused
 E  e1
 L  l1
 G  g1
 E  e2
COLUMNS
    MARKER  'MARKER'  'INTORG'
    k  cost  1  e1  1
    m  cost  3  l1  1
    MARKER  'MARKER'  'INTEND'
    x  cost  2  l1  1
    x  g1  1   e2  1
    y  cost  -1  unused  5
    y  l1  1
    w  e2  1  cost  0.5
    v  cost  1  g1  -1
    u  cost  1
RHS
    RHS  cost  -10  e1  2
    RHS  l1  4  g1  1
    RHS  e2  3
RANGES
    RNG  e1  -1.5  l1  2
    RNG  g1  3  e2  4
BOUNDS
 UP BND  k  9
 MI BND  x
 UP BND  x  5
 UP BND  y  -1
 LO BND  w  -2
 PL BND  w
 FX BND  v  0.25
 BV BND  u
ENDATA
"""


def test_mps_dialect_semantics() -> None:
    q = parse_mps(_DIALECT_MPS, "dialect.mps")
    assert q.sense == "max" and q.c0 == 10.0
    names = ["k", "m", "x", "y", "w", "v", "u"]
    np.testing.assert_array_equal(q.c, [1, 3, 2, -1, 0.5, 1, 1])
    # UP < 0 alone -> lb = -inf; a marker integer in no bound line (m) is binary
    np.testing.assert_array_equal(q.lb, [0, 0, -np.inf, -np.inf, -2, 0.25, 0])
    np.testing.assert_array_equal(q.ub, [9, 1, 5, -1, np.inf, 0.25, 1])
    np.testing.assert_array_equal(q.vtype, [1, 2, 0, 0, 0, 0, 2])
    assert list(q.var_blocks) == ["x"] and q.n == len(names)
    # rows: e1 in [0.5, 2] (E, R<0), l1 in [2, 4], g1 in [1, 4], e2 in [3, 7] (E, R>0)
    A = q.A.toarray()
    lo_hi = {}
    for i in range(q.m):
        key = tuple(np.sign(A[i]) * (A[i] != 0))
        lo_hi.setdefault(key, []).append(q.b[i])
    assert sorted(lo_hi[(1, 0, 0, 0, 0, 0, 0)]) == [2.0]  # k <= 2
    assert sorted(lo_hi[(-1, 0, 0, 0, 0, 0, 0)]) == [-0.5]  # k >= 0.5
    assert q.m == 8 and q.cones[0].kind == "nonneg"


def test_mps_objsense_on_next_line_and_objname() -> None:
    text = _DIALECT_MPS.replace("OBJSENSE MAXIMIZE", "OBJSENSE\n    MAX\nOBJNAME\n    unused")
    q = parse_mps(text, "x.mps")
    assert q.sense == "max"
    np.testing.assert_array_equal(q.c, [0, 0, 0, 5, 0, 0, 0])
    assert q.c0 == 0.0


def test_mps_duplicate_qcmatrix_entries_are_summed_like_scip() -> None:
    """SCIP writes each off-diagonal pair twice with half weight; the sum is x'Qx."""
    text = """NAME t
ROWS
 N obj
 L q
COLUMNS
    t obj 1
    x obj 0
RHS
    RHS q -1
BOUNDS
 FR BND x
QCMATRIX q
    x x 0.5
    x x 0.5
    t t -1
ENDATA
"""
    q = parse_mps(text, "t.mps")
    # x^2 - t^2 <= -1, t >= 0  ->  t >= sqrt(x^2 + 1): SOC (t, x, 1)
    assert [(r.kind, r.dim) for r in q.cones] == [("soc", 3)]
    np.testing.assert_array_equal(q.b, [0, 0, 1])


# ------------------------------------------------------------- quadratic recognition
def _lp(body: str, bounds: str = "", sense: str = "Minimize", obj: str = "t") -> str:
    return f"{sense}\n obj: {obj}\nSubject To\n{body}\nBounds\n{bounds}\nEnd\n"


def _solve_clarabel(q: ConicProblem) -> float:
    from dro_opt.solvers.registry import solve

    r = solve(q, "clarabel")
    assert r.status.name == "OPTIMAL", r.message
    return float(r.objective)


@pytest.mark.parametrize(
    ("body", "bounds", "kinds", "optimum", "sense"),
    [
        # t >= ||(x - 1, y - 2)||  with x, y free -> t >= 0 attained at (1, 2)... shifted:
        (
            " c: [ x ^2 + y ^2 - t ^2 ] <= 0\n d: x + y >= 3",
            " x free\n y free",
            [("soc", 3)],
            3 / math.sqrt(2),
            "Minimize",
        ),
        (
            " c: [ t ^2 - x ^2 - y ^2 ] >= 0\n d: x + y >= 3",
            " x free\n y free",
            [("soc", 3)],
            3 / math.sqrt(2),
            "Minimize",
        ),
        (" c: [ 9 t ^2 - 4 x ^2 ] >= 0\n d: x >= 3", " x free", [("soc", 2)], 2.0, "Minimize"),
        (" c: [ x ^2 - t ^2 ] <= -16\n d: x >= 3", " x free", [("soc", 3)], 5.0, "Minimize"),
        # 2 t u >= x^2 with u = 1/2 (fixed) -> t >= x^2, x >= 3 -> 9
        (
            " c: [ x ^2 - 2 t * u ] <= 0\n d: x >= 3",
            " x free\n u = 0.5",
            [("rsoc", 3)],
            9.0,
            "Minimize",
        ),
        (
            " c: [ x ^2 - u * t - t * u ] <= 0\n d: x >= 3",
            " x free\n u = 0.5",
            [("rsoc", 3)],
            9.0,
            "Minimize",
        ),
        # x^2 + y^2 <= 2 - t  (pattern 3), max t with x + y >= 2 -> x = y = 1, t = 0
        (
            " c: [ x ^2 + y ^2 ] + t <= 2\n d: x + y >= 2",
            " x free\n y free\n t free",
            [("rsoc", 4)],
            0.0,
            "Maximize",
        ),
        # ball (pattern 3 without linear part): max t with t <= x, x^2 + y^2 <= 4 -> 2
        (
            " c: [ x ^2 + y ^2 ] <= 4\n d: t - x <= 0",
            " x free\n y free",
            [("rsoc", 4)],
            2.0,
            "Maximize",
        ),
    ],
)
def test_lp_quadratic_rows_become_cones(body, bounds, kinds, optimum, sense) -> None:
    q = parse_lp(_lp(body, bounds, sense), "q.lp")
    assert [(r.kind, r.dim) for r in q.cones if r.kind in ("soc", "rsoc")] == kinds
    assert _solve_clarabel(q) == pytest.approx(optimum, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize(
    ("body", "bounds", "match"),
    [
        (" c: [ x * y ] <= 1", "", "not a second-order-cone form"),
        (" c: [ x ^2 + x * y + y ^2 ] <= 1", "", "not a second-order-cone form"),
        (" c: [ x ^2 - t ^2 ] <= 0", " t free", "lower bound"),
        (" c: [ x ^2 - 2 u * v ] <= 0", " u free", "lower bound"),
        (" c: [ x ^2 + y ^2 ] = 1", "", "equality"),
        (" c: [ x ^2 - t ^2 ] <= 1", "", "not a second-order-cone form"),
        (" c: [ x ^2 - t ^2 ] + y <= 0", "", "not a second-order-cone form"),
    ],
)
def test_lp_nonconic_quadratics_are_refused(body, bounds, match) -> None:
    with pytest.raises(UnsupportedFormatError, match=match):
        parse_lp(_lp(body, bounds), "q.lp")


def test_lp_quadratic_objective_is_refused() -> None:
    with pytest.raises(UnsupportedFormatError, match="quadratic objective"):
        parse_lp(_lp(" c: x >= 1", obj="[ x ^2 ] / 2"), "q.lp")


def test_lp_dialect_forms() -> None:
    text = """\\ comment
Maximize
 obj: 2 x + 3 y + z + 4.5
Subject To
 r1: -1 <= x - y <= 2
 3 >= x + y
 r3: x + 2 >= 1
Bounds
 -infinity <= z <= -1
 y <= 1e30
 y >= -inf
 x <= 10
General
 x
End
"""
    q = parse_lp(text, "d.lp")
    assert q.sense == "max" and q.c0 == 4.5
    np.testing.assert_array_equal(q.lb, [0, -np.inf, -np.inf])
    np.testing.assert_array_equal(q.ub, [10, np.inf, -1])
    np.testing.assert_array_equal(q.vtype, [1, 0, 0])
    assert q.m == 4  # ranged row -> two rows, r3: x >= -1
    from dro_opt.solvers.registry import solve

    r = solve(q, "highs")
    assert r.status.name == "OPTIMAL"
    # max 2x + 3y over x + y <= 3, y - x <= 1 (x integer): (1, 2) -> 8; z -> -1; + 4.5
    assert r.objective == pytest.approx(11.5, rel=1e-9)


def test_lp_constant_column_is_folded() -> None:
    text = "Minimize\n x + 2 Constant\nSubject To\n c: x >= 1\nBounds\n Constant = 1\nEnd\n"
    q = parse_lp(text, "g.lp")
    assert q.n == 1 and q.c0 == 2.0


# ------------------------------------------------------------------------- CBF reader
def test_cbf_cones_on_variables_and_lminus_rows() -> None:
    """VAR-section cones become rows s = x; L- rows and F rows are handled."""
    text = """# min t s.t. (t, x, y) in Q, x + y >= 2 written as -x - y + 2 in L-
VER
3
OBJSENSE
MIN
VAR
3 1
Q 3
CON
2 2
L- 1
F 1
OBJACOORD
1
0 1
ACOORD
4
0 1 -1
0 2 -1
1 0 5
1 1 5
BCOORD
1
0 2
"""
    q = parse_cbf(text, "v.cbf")
    assert [(r.kind, r.dim) for r in q.cones] == [("nonneg", 1), ("soc", 3)]
    assert _solve_clarabel(q) == pytest.approx(math.sqrt(2), rel=1e-7)


def test_cbf_power_cone_with_unnormalised_weights() -> None:
    """@0:POW with weights (3, 7) is x^0.3 y^0.7 >= |z|; max z s.t. x + y <= 2."""
    text = """VER
3
POWCONES
1 2
2
3
7
OBJSENSE
MAX
VAR
3 1
@0:POW 3
CON
1 1
L+ 1
OBJACOORD
1
2 1
ACOORD
2
0 0 -1
0 1 -1
BCOORD
1
0 2
"""
    q = parse_cbf(text, "p.cbf")
    assert q.cones[-1].kind == "pow" and q.cones[-1].param == pytest.approx(0.3, abs=1e-16)
    expected = (2 * 0.3) ** 0.3 * (2 * 0.7) ** 0.7
    assert _solve_clarabel(q) == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------ shipped model files
def test_shipped_model_files_are_up_to_date(tmp_path: Path) -> None:
    script = REPO / "instances" / "make_reference_files.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    shipped = sorted(p.name for p in (REPO / "instances" / "models").iterdir())
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert shipped == fresh and len(fresh) >= 20
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (REPO / "instances" / "models" / name).read_bytes()


def test_shipped_model_files_are_installed_package_data() -> None:
    from importlib.resources import files

    root = files("dro_opt.instances") / "models"
    assert (root / "misocp.mps").is_file() and (root / "miexp.cbf").is_file()


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("suffix", [".mps", ".lp", ".cbf"])
def test_missing_file(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        read_model(tmp_path / f"nope{suffix}")


@pytest.mark.parametrize("suffix", [".mps", ".lp", ".cbf"])
@pytest.mark.parametrize("content", ["", "\n\n   \n", "* only a comment\n"])
def test_empty_file(tmp_path: Path, suffix: str, content: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_text(content.replace("*", {"mps": "*", "lp": "\\", "cbf": "#"}[suffix[1:]]))
    with pytest.raises(ModelFileError):
        read_model(path)


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "d.mps").mkdir()
    with pytest.raises(ModelFileError, match="directory"):
        read_model(tmp_path / "d.mps")


@pytest.mark.parametrize("suffix", [".mps", ".lp", ".cbf"])
@pytest.mark.parametrize("frac", [0.3, 0.6, 0.9])
def test_truncated_files(tmp_path: Path, suffix: str, frac: float) -> None:
    full = tmp_path / f"full{suffix}"
    write_model(REFERENCE_MODELS["misocp"].build(), full)
    text = full.read_text()
    cut = tmp_path / f"cut{suffix}"
    cut.write_text(text[: int(len(text) * frac)])
    with pytest.raises((ModelFileError, UnsupportedFormatError)):
        read_model(cut)


def test_truncated_cbf_names_the_section_and_line(tmp_path: Path) -> None:
    full = cbf_text(REFERENCE_MODELS["misocp"].build())
    cut = full[: full.index("\nACOORD") + len("\nACOORD\n10\n0 0 1\n1 1 1\n")]
    with pytest.raises(ModelFileError, match=r"ACOORD announces 10 .*truncated"):
        parse_cbf(cut, "cut.cbf")


def test_truncated_mps_and_lp_messages() -> None:
    from dro_opt.io.lp_write import lp_text
    from dro_opt.io.mps_write import mps_text

    p = REFERENCE_MODELS["milp"].build()
    with pytest.raises(ModelFileError, match="without ENDATA"):
        parse_mps(mps_text(p).replace("ENDATA\n", ""), "m.mps")
    with pytest.raises(ModelFileError, match="without 'End'"):
        parse_lp(lp_text(p).replace("End\n", ""), "m.lp")


def test_unknown_sections() -> None:
    from dro_opt.io.mps_write import mps_text

    mps = mps_text(REFERENCE_MODELS["lp"].build()).replace("BOUNDS", "FOOBAR")
    with pytest.raises(ModelFileError, match=r"line \d+: unknown MPS section 'FOOBAR'"):
        parse_mps(mps, "u.mps")
    cbf = cbf_text(REFERENCE_MODELS["lp"].build()).replace("OBJACOORD", "OBJXCOORD")
    with pytest.raises(ModelFileError, match=r"line \d+: unknown CBF keyword 'OBJXCOORD'"):
        parse_cbf(cbf, "u.cbf")
    with pytest.raises(ModelFileError, match="expected <=, >= or ="):
        parse_lp("Minimize\n obj: x\nSubject To\n c: x + y\nFooBar\n x\nEnd\n", "u.lp")


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("ACOORD\n10\n", "ACOORD\n9\n", "unknown CBF keyword .*wrong count"),
        ("ACOORD\n10\n", "ACOORD\n11\n", "needs 3 field|announces"),
        ("CON\n8 3\n", "CON\n9 3\n", "cover 8 entries but the header announces 9"),
        ("VAR\n4 2\n", "VAR\n4 3\n", "field|announces"),
        ("INT\n3\n", "INT\n4\n", "'CON' is not an integer"),
        ("0 0 1\n", "0 7 1\n", "variable index 7 out of range"),
        ("0 0 1\n", "0 0 nan\n", "not finite"),
        ("0 0 1\n", "0 0 inf\n", "not finite"),
        ("0 0 1\n", "0 0 one\n", "not a number"),
        ("VER\n3\n", "VER\n9\n", "version 9"),
        ("Q 4\n", "Q* 4\n", "unknown cone"),
        ("Q 4\n", "EXP* 4\n", "dual exponential"),
        ("Q 4\n", "PSD 4\n", "unknown cone"),
        ("OBJSENSE\nMIN\n", "OBJSENSE\nLOWEST\n", "MIN or MAX"),
        ("OBJSENSE\nMIN\n", "PSDVAR\n1\n2\n", "semidefinite"),
    ],
)
def test_malformed_cbf(old: str, new: str, match: str) -> None:
    text = cbf_text(REFERENCE_MODELS["misocp"].build())
    assert old in text
    with pytest.raises((ModelFileError, UnsupportedFormatError), match=match):
        parse_cbf(text.replace(old, new, 1), "bad.cbf")


def test_cbf_unsupported_power_cone_shapes() -> None:
    base = "VER\n3\nPOWCONES\n1 3\n3\n1\n1\n1\nOBJSENSE\nMIN\nVAR\n3 1\n@0:POW 3\n"
    with pytest.raises(UnsupportedFormatError, match="two"):
        parse_cbf(base, "p.cbf")
    four = "VER\n3\nPOWCONES\n1 2\n2\n1\n1\nOBJSENSE\nMIN\nVAR\n4 1\n@0:POW 4\n"
    with pytest.raises(ModelFileError, match="3-dimensional"):
        parse_cbf(four, "p.cbf")


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("x_0  rows_0  6", "x_0  rows_0  nan", "not finite"),
        ("x_0  rows_0  6", "x_0  rows_0  inf", "not finite"),
        ("x_0  rows_0  6", "x_0  rows_0  six", "not a number"),
        ("x_0  rows_0  6", "x_0  nosuchrow  6", "unknown row 'nosuchrow'"),
        ("x_0  rows_0  6", "x_0  rows_0  6  rows_1", "fields"),
        (" UP BND       x_0  10", " UP BND       x_9  10", "unknown column 'x_9'"),
        (" UP BND       x_0  10", " XX BND       x_0  10", "unknown bound type"),
        (" UP BND       x_0  10", " SC BND       x_0  10", "semi-continuous"),
        (" L  rows_0", " Q  rows_0", "row type"),
        ("RHS\n", "QUADOBJ\n    x_0 x_0 1\nRHS\n", "quadratic objective"),
        ("OBJSENSE\n    MAX", "OBJSENSE\n    UP", "MIN or MAX"),
    ],
)
def test_malformed_mps(old: str, new: str, match: str) -> None:
    from dro_opt.io.mps_write import mps_text

    text = mps_text(REFERENCE_MODELS["milp"].build())
    assert old in text
    with pytest.raises((ModelFileError, UnsupportedFormatError), match=match):
        parse_mps(text.replace(old, new, 1), "bad.mps")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Minimize\n obj: 1e400 x\nSubject To\n c: x >= 1\nEnd\n", "non-finite"),
        ("Minimize\n obj: x\nSubject To\n c: 1e999 x >= 1\nEnd\n", "non-finite"),
        ("Minimize\n obj: x\nSubject To\n c: x >= \nEnd\n", "expected a number"),
        ("Minimize\n obj: x\nSubject To\n c: x >= 1 § 2\nEnd\n", "cannot read"),
        ("Minimize\n obj: x\nSubject To\n c: b = 1 -> x >= 1\nEnd\n", "indicator"),
        ("Minimize\n obj: x\nSubject To\n c: x >= 1\nSOS\n s1: S1:: x:1\nEnd\n", "SOS"),
        ("Subject To\n c: x >= 1\nEnd\n", "starts with 'Minimize'"),
        ("Minimize\n obj: x\nSubject To\n c: [ x ^3 ] <= 1\nEnd\n", "squares"),
    ],
)
def test_malformed_lp(text: str, match: str) -> None:
    with pytest.raises((ModelFileError, UnsupportedFormatError), match=match):
        parse_lp(text, "bad.lp")


def test_unknown_suffix(tmp_path: Path) -> None:
    p = REFERENCE_MODELS["lp"].build()
    with pytest.raises(UnsupportedFormatError, match=r"unknown model-file suffix '\.txt'"):
        write_model(p, tmp_path / "m.txt")
    (tmp_path / "m.nl").write_text("x")
    with pytest.raises(UnsupportedFormatError, match=r"\.mps, \.lp, \.cbf"):
        read_model(tmp_path / "m.nl")
    assert not (tmp_path / "m.txt").exists()


@pytest.mark.parametrize("name", ["exp", "miexp"])
@pytest.mark.parametrize("suffix", [".mps", ".lp", ".mps.gz"])
def test_exp_cone_to_mps_lp_is_refused_and_nothing_written(
    tmp_path: Path, name: str, suffix: str
) -> None:
    p = REFERENCE_MODELS[name].build()
    assert not can_hold(p, suffix[:4].rstrip("."))
    target = tmp_path / f"m{suffix}"
    with pytest.raises(UnsupportedFormatError, match=r"(?i)exp cones.*use \.cbf"):
        write_model(p, target)
    assert list(tmp_path.iterdir()) == []
    target.write_text("keep me")  # an existing file is left untouched
    with pytest.raises(UnsupportedFormatError):
        write_model(p, target)
    assert target.read_text() == "keep me"
    assert [f.name for f in tmp_path.iterdir()] == [target.name]


def test_nan_model_is_refused_before_writing(tmp_path: Path) -> None:
    p = REFERENCE_MODELS["lp"].build()
    p.A.data[0] = np.nan
    with pytest.raises(InvalidModelError, match="NaN"):
        write_model(p, tmp_path / "m.cbf")
    p = REFERENCE_MODELS["lp"].build()
    p.c[0] = np.inf
    with pytest.raises(InvalidModelError, match="non-finite"):
        write_model(p, tmp_path / "m.mps")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    import dro_opt.io._write as writer

    target = tmp_path / "m.mps"
    target.write_text("old")

    def boom(path, text, compress):
        path.write_text(text[:10])
        raise OSError("disk full")

    monkeypatch.setattr(writer, "write_text", boom)
    with pytest.raises(OSError, match="disk full"):
        write_model(REFERENCE_MODELS["lp"].build(), target)
    assert target.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["m.mps"]


def test_formats_table_and_convert(tmp_path: Path) -> None:
    assert set(FORMATS) == {".mps", ".lp", ".cbf"}
    assert {"exp", "pow"} <= FORMATS[".cbf"].cones
    assert "exp" not in FORMATS[".mps"].cones and "exp" not in FORMATS[".lp"].cones
    src = tmp_path / "a.cbf"
    write_model(REFERENCE_MODELS["misocp"].build(), src)
    q = convert(src, tmp_path / "b.mps")
    r = convert(tmp_path / "b.mps", tmp_path / "c.lp")
    assert q.problem_class() == r.problem_class() == "MISOCP"
    with pytest.raises(UnsupportedFormatError):
        convert(REPO / "instances" / "models" / "exp.cbf", tmp_path / "d.lp")
    assert not (tmp_path / "d.lp").exists()


def test_rsoc_degenerate_cones_become_linear_rows(tmp_path: Path) -> None:
    """SOC(1) (s0 >= 0) and RSOC(2) (s0, s1 >= 0) need no quadratic row."""
    bld = ConicBuilder("min")
    x = bld.add_variables("x", 3)
    bld.add_constraints("s1", "soc", [(x, sp.identity(3))], [-1, -2, -3], dims=1)
    bld.add_constraints("r2", "rsoc", [(x, sp.eye(3, format="csr")[:2])], [0, 0], dims=2)
    bld.set_objective([(x, [1, 1, 1])])
    p = bld.build()
    for suffix in (".mps", ".lp"):
        q = _write_read(p, tmp_path, suffix)
        assert q.cone_kinds() == {"nonneg"} and q.n == 3
        assert _solve_clarabel(q) == pytest.approx(6.0, rel=1e-7)


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os
    import stat

    path = write_model(REFERENCE_MODELS["lp"].build(), tmp_path / "m.lp")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    os.chmod(path, 0o640)  # an existing file keeps its mode
    write_model(REFERENCE_MODELS["lp"].build(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_cbf_exp_and_rotated_cones_in_var_and_con() -> None:
    """EXP on variables (x1 >= x2 exp(x3/x2), CBF order), L- variable domain, QR rows.

    min x1 + u  s.t. (x1, x2, x3) in EXP, x2 = 1, x3 = 1, w in L- (w <= 0),
    (u, 1/2, w + 2) in QR  (u >= (w + 2)^2)  ->  x1 = e, w = -2, u = 0: optimum e.
    """
    text = """VER
3
OBJSENSE
MIN
VAR
5 3
EXP 3
L- 1
F 1
CON
5 2
L= 2
QR 3
OBJACOORD
2
0 1
4 1
ACOORD
4
0 1 1
1 2 1
2 4 1
4 3 1
BCOORD
4
0 -1
1 -1
3 0.5
4 2
"""
    q = parse_cbf(text, "e.cbf")
    np.testing.assert_array_equal(q.lb[:3], [-np.inf, 1, 1])  # x2 = x3 = 1 became bounds
    assert q.ub[3] == 0 and q.lb[3] == -np.inf
    assert [(r.kind, r.dim) for r in q.cones] == [("rsoc", 3), ("exp", 3)]
    assert _solve_clarabel(q) == pytest.approx(math.e, rel=1e-6)
