"""HM14 reader, brute-force oracle, .npz/JSON formats and generators (MC-FLP instances)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from dro_opt.errors import InstanceError, ParameterError
from dro_opt.models.facility_location.bruteforce import brute_force, open_to_z
from dro_opt.models.facility_location.hm14 import read_hm14
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import evaluate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REFERENCE = DATA / "hm14_reference.csv"
needs_data = pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/data not present")


def _reference_rows() -> list[dict[str, str]]:
    with REFERENCE.open() as fh:
        return list(csv.DictReader(fh))


_CACHE: dict[tuple[str, float, float], MCFLPInstance] = {}


def _instance(name: str, alpha: float, beta: float) -> MCFLPInstance:
    key = (name, alpha, beta)
    if key not in _CACHE:
        _CACHE[key] = read_hm14(DATA / "hm14" / f"{name}.data", alpha, beta)
    return _CACHE[key]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.data"
    path.write_text(text)
    return path


GOOD = "3 2 1\n1 2 3\n-1 -2 -3\n-0.5 -1 -4\n-2 -0.1 -1\n"


# --- reader: values -------------------------------------------------------------------------


def test_read_small_file_matches_hand_computation(tmp_path: Path) -> None:
    inst = read_hm14(_write(tmp_path, GOOD), alpha=0.5, beta=2.0)
    assert inst.q.tolist() == [1.0, 2.0, 3.0]
    # a_nd = beta * (-c_nd) - alpha * beta * (-k_n)   (one competitor: logsumexp = the value)
    expected = np.array([[-1.0, -4.0], [-2.0, -0.2], [-8.0, -2.0]]) - np.array(
        [[-1.0], [-2.0], [-3.0]]
    )
    np.testing.assert_allclose(inst.a, expected)
    z = np.array([1.0, 1.0])
    V = np.exp(2.0 * np.array([[-0.5, -2], [-1, -0.1], [-4, -1]]))
    W = np.exp(0.5 * 2.0 * np.array([-1.0, -2, -3]))
    direct = float(np.sum(inst.q * V.sum(1) / (W + V.sum(1))))
    assert evaluate(inst.a, inst.q, z, "erm") == pytest.approx(direct, rel=1e-12)
    assert inst.name == "x" and inst.meta["alpha"] == 0.5 and inst.meta["beta"] == 2.0


def test_several_competitors_use_logsumexp(tmp_path: Path) -> None:
    text = "2 1 2\n1 1\n-1 -3\n-2 -1\n-1 -1\n"
    inst = read_hm14(_write(tmp_path, text), alpha=1.0, beta=1.0)
    W = np.exp([-1.0, -3.0]) + np.exp([-2.0, -1.0])
    np.testing.assert_allclose(inst.a[:, 0], -1.0 - np.log(W))


def test_blank_lines_are_ignored(tmp_path: Path) -> None:
    inst = read_hm14(_write(tmp_path, "\n" + GOOD.replace("\n", "\n\n") + "\n  \n"), 1.0, 1.0)
    assert inst.a.shape == (3, 2)


# --- reader: rejections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("3 2\n1 2 3\n", "N D E"),
        ("3 2 x\n", "E must be a positive integer"),
        ("3 2 0\n1 2 3\n-1 -2 -3\n-1 -1 -1\n", "competitor"),
        ("3 2 1.5\n", "positive integer"),
        ("3 2 1\n1 2 3\n-1 -2 -3\n-0.5 -1 -4\n", "truncated"),
        ("3 2 1\n1 2\n-1 -2 -3\n-0.5 -1 -4\n-2 -0.1 -1\n", "customer weights.*2 values"),
        ("3 2 1\n1 2 3\n-1 -2 -3 -4\n-0.5 -1 -4\n-2 -0.1 -1\n", "competitor row 1.*4 values"),
        ("3 2 1\n1 2 3\n-1 -2 -3\n-0.5 -1 -4\n-2 abc -1\n", "non-numeric token 'abc'"),
        ("3 2 1\n1 2 3\n-1 -2 -3\n-0.5 nan -4\n-2 -0.1 -1\n", "NaN and inf"),
        ("3 2 1\n1 2 3\n-1 -inf -3\n-0.5 -1 -4\n-2 -0.1 -1\n", "NaN and inf"),
        ("3 2 1\n1 -2 3\n-1 -2 -3\n-0.5 -1 -4\n-2 -0.1 -1\n", "negative"),
        ("3 2 1\n0 0 0\n-1 -2 -3\n-0.5 -1 -4\n-2 -0.1 -1\n", "all customer weights are zero"),
        (GOOD + "1 2 3\n", "after the declared blocks"),
        (GOOD + "3 2 1\n1 2 3\n-1 -2 -3\n-0.5 -1 -4\n-2 -0.1 -1\n", "after the declared"),
    ],
)
def test_malformed_files_are_rejected(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(InstanceError, match=match):
        read_hm14(_write(tmp_path, text), alpha=0.1, beta=1.0)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="no such instance file"):
        read_hm14(tmp_path / "nope.data", 0.1, 1.0)


@pytest.mark.parametrize(
    ("alpha", "beta"),
    [
        (0.0, 1.0),
        (-0.1, 1.0),
        (math.nan, 1.0),
        (0.1, 0.0),
        (0.1, math.inf),
        (0.1, math.nan),
        ("x", 1.0),
    ],
)
def test_bad_alpha_beta(tmp_path: Path, alpha: float, beta: float) -> None:
    with pytest.raises(ParameterError, match="must be a finite number > 0"):
        read_hm14(_write(tmp_path, GOOD), alpha=alpha, beta=beta)


# --- reader against the reference optima ----------------------------------------------------


@needs_data
def test_all_reference_rows_reevaluate() -> None:
    """Every one of the 216 rows (incl. alpha=0.2, beta=10) reproduces its objective."""
    rows = _reference_rows()
    assert len(rows) == 216
    worst = 0.0
    for r in rows:
        inst = _instance(r["instance"], float(r["alpha"]), float(r["beta"]))
        assert inst.num_customers == int(r["N"]) and inst.num_locations == int(r["D"])
        z = open_to_z([int(x) for x in r["open"].split()], inst.num_locations)
        assert z.sum() == int(r["budget"])
        value = evaluate(inst.a, inst.q, z, "erm")
        ref = float(r["objective"])
        worst = max(worst, abs(value - ref) / abs(ref))
    assert worst <= 1e-6


@needs_data
@pytest.mark.parametrize(
    ("alpha", "beta", "budget"), [(0.05, 1.0, 2), (0.1, 5.0, 3), (0.2, 10.0, 2), (0.2, 10.0, 3)]
)
def test_reference_rows_by_brute_force(alpha: float, beta: float, budget: int) -> None:
    row = next(
        r
        for r in _reference_rows()
        if r["instance"] == "HM14_800_25"
        and math.isclose(float(r["alpha"]), alpha)
        and math.isclose(float(r["beta"]), beta)
        and int(r["budget"]) == budget
    )
    assert row["status"] == "enumerated"
    res = brute_force(_instance("HM14_800_25", alpha, beta), budget)
    assert res.value == pytest.approx(float(row["objective"]), rel=1e-6)
    assert res.open == tuple(int(x) for x in row["open"].split())


# --- brute force ----------------------------------------------------------------------------


def _random_instance(rng: np.random.Generator, N: int = 30, D: int = 7) -> MCFLPInstance:
    return MCFLPInstance(q=rng.integers(1, 5, N).astype(float), a=rng.normal(-1.0, 2.0, (N, D)))


@pytest.mark.parametrize("objective", ["erm", "variance", "chi2"])
def test_brute_force_matches_naive_enumeration(objective: str) -> None:
    rng = np.random.default_rng(3)
    inst = _random_instance(rng)
    D, r, rho = inst.num_locations, 3, 20.0
    naive = []
    for mask in range(1 << D):
        z = np.array([(mask >> j) & 1 for j in range(D)], dtype=float)
        if z.sum() <= r:
            naive.append((evaluate(inst.a, inst.q, z, objective, rho), z))
    best_val = max(v for v, _ in naive)
    res = brute_force(inst, r, objective, rho, return_values=True)
    assert res.value == pytest.approx(best_val, rel=1e-12)
    assert evaluate(inst.a, inst.q, open_to_z(res.open, D), objective, rho) == res.value
    expected_count = (
        math.comb(D, r) if objective != "variance" else sum(math.comb(D, s) for s in range(r + 1))
    )
    assert res.values is not None and res.values.shape == (expected_count,)


def test_variance_enumerates_smaller_sets_when_better() -> None:
    # one location that reaches everybody equally (zero variance) and many that reach only a few:
    # with a large rho the best set opens fewer than r locations
    N, D = 40, 6
    a = np.full((N, D), -30.0)
    a[:, 0] = 0.0
    for j in range(1, D):
        a[j * 5 : j * 5 + 5, j] = 8.0
    inst = MCFLPInstance(q=np.ones(N), a=a)
    res = brute_force(inst, 4, "variance", rho=1e4)
    forced = brute_force(inst, 4, "variance", rho=1e4, exact_size=True)
    assert len(res.open) < 4 and res.value > forced.value


def test_brute_force_rejects_bad_arguments() -> None:
    inst = _random_instance(np.random.default_rng(0))
    with pytest.raises(ParameterError, match="budget"):
        brute_force(inst, 8)
    with pytest.raises(ParameterError, match="rho"):
        brute_force(inst, 2, "chi2", -1.0)
    with pytest.raises(ParameterError, match="objective"):
        brute_force(inst, 2, "cvar")
    with pytest.raises(ParameterError, match="max_sets"):
        brute_force(inst, 3, max_sets=10)
