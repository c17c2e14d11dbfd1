"""HM14 reader, brute-force oracle, .npz/JSON formats and generators (MC-FLP instances)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from dro_opt.errors import InstanceError, ParameterError
from dro_opt.instances.hm14_generator import (
    generate_hm14,
    generate_hm14_data,
)
from dro_opt.instances.hm14_generator import (
    main as hm14_main,
)
from dro_opt.models.facility_location.bruteforce import brute_force, open_to_z
from dro_opt.models.facility_location.hm14 import read_hm14, read_hm14_arrays
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.io import (
    read_instance,
    read_json,
    read_npz,
    write_instance,
    write_json,
    write_npz,
)
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


# --- .npz / JSON formats and dispatch ------------------------------------------------------


def _with_minus_inf() -> MCFLPInstance:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(6, 4))
    a[2, 1] = -np.inf
    return MCFLPInstance(q=np.arange(1.0, 7.0), a=a, name="tiny", meta={"seed": 5})


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    inst = _with_minus_inf()
    path = write_instance(inst, tmp_path / f"x{suffix}")
    back = read_instance(path)
    np.testing.assert_array_equal(back.a, inst.a)
    np.testing.assert_array_equal(back.q, inst.q)
    assert back.name == "tiny" and back.meta["seed"] == 5
    assert not list(tmp_path.glob(".*")), "atomic writer left a temporary file"


def test_raw_utilities_in_npz_and_json(tmp_path: Path) -> None:
    V = np.array([[1.0, 0.0], [2.0, 3.0]])
    W = np.array([2.0, 0.5])
    np.savez(tmp_path / "raw.npz", q=np.array([1.0, 2.0]), V=V, W=W)
    inst = read_npz(tmp_path / "raw.npz")
    np.testing.assert_allclose(inst.a, [[np.log(0.5), -np.inf], [np.log(4.0), np.log(6.0)]])
    z = np.array([1.0, 1.0])
    direct = 1.0 * 1 / (2 + 1) + 2.0 * 5 / (0.5 + 5)
    assert evaluate(inst.a, inst.q, z, "erm") == pytest.approx(direct, rel=1e-12)
    doc = {"format": "dro_opt.mcflp", "version": 1, "q": [1, 2], "V": V.tolist(), "W": [2, 0.5]}
    (tmp_path / "raw.json").write_text(json.dumps(doc))
    np.testing.assert_array_equal(read_json(tmp_path / "raw.json").a, inst.a)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"a": np.zeros((2, 2))}, "missing the customer weights"),
        ({"q": np.ones(2)}, "exactly one utility encoding"),
        ({"q": np.ones(2), "a": np.zeros((2, 2)), "V": np.ones((2, 2))}, "exactly one"),
        ({"q": np.ones(2), "V": np.ones((2, 2))}, "both 'V'"),
        ({"q": np.ones(2), "V": -np.ones((2, 2)), "W": np.ones(2)}, ">= 0"),
        ({"q": np.ones(2), "V": np.ones((2, 2)), "W": np.zeros(2)}, "> 0"),
        ({"q": np.ones(3), "a": np.zeros((2, 2))}, "3 customer weights but 2"),
        ({"q": np.ones(2), "a": np.full((2, 2), np.nan)}, "NaN"),
        ({"q": -np.ones(2), "a": np.zeros((2, 2))}, "weights"),
        ({"q": np.ones(2), "a": np.zeros(2)}, "dimension"),
        ({"q": np.ones(2), "a": np.zeros((2, 2)), "extra": np.ones(1)}, "unknown arrays"),
    ],
)
def test_bad_npz_rejected(tmp_path: Path, arrays: dict, match: str) -> None:
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InstanceError, match=match):
        read_npz(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "not a readable JSON"),
        ('{"format": "other"}', "format"),
        ('{"format": "dro_opt.mcflp", "version": 9}', "unsupported version"),
        ('{"format": "dro_opt.mcflp", "version": 1, "q": [1], "a": [[0, 1], [2]]}', "lengths"),
        ('{"format": "dro_opt.mcflp", "version": 1, "q": [1], "a": [[NaN]]}', "NaN"),
        ('{"format": "dro_opt.mcflp", "version": 1, "q": ["x"], "a": [[1]]}', "numeric"),
    ],
)
def test_bad_json_rejected(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(InstanceError, match=match):
        read_json(tmp_path / "bad.json")


def test_read_instance_dispatch(tmp_path: Path) -> None:
    data = _write(tmp_path, GOOD)
    with pytest.raises(ParameterError, match="give alpha and beta"):
        read_instance(data)
    assert read_instance(data, alpha=0.1, beta=1.0).num_locations == 2
    npz = write_npz(_with_minus_inf(), tmp_path / "i.npz")
    with pytest.raises(ParameterError, match="drop them"):
        read_instance(npz, alpha=0.1, beta=1.0)
    with pytest.raises(InstanceError, match="unknown instance format"):
        read_instance(tmp_path / "x.csv")
    with pytest.raises(InstanceError, match="no such instance file"):
        read_instance(tmp_path / "missing.npz")
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InstanceError, match="not a readable"):
        read_instance(bad)
    write_json(_with_minus_inf(), tmp_path / "i.json")
    assert read_instance(tmp_path / "i.json").num_customers == 6


# --- HM14 generator and the shipped default -----------------------------------------------


def test_generator_is_seeded_and_round_trips(tmp_path: Path) -> None:
    d1 = generate_hm14_data(40, 8, 2, seed=7)
    d2 = generate_hm14_data(40, 8, 2, seed=7)
    d3 = generate_hm14_data(40, 8, 2, seed=8)
    np.testing.assert_array_equal(d1.neg_c, d2.neg_c)
    assert not np.array_equal(d1.neg_c, d3.neg_c)
    assert d1.neg_c.shape == (8, 40) and d1.neg_k.shape == (2, 40)
    # Euclidean distances of the drawn points, 5 significant digits
    exact = np.linalg.norm(d1.locations[:, None, :] - d1.customers[None, :, :], axis=2)
    np.testing.assert_allclose(-d1.neg_c, exact, rtol=6e-5)
    assert (d1.customers >= 0).all() and (d1.customers <= 30).all()
    out = tmp_path / "g.data"
    assert (
        hm14_main(
            [str(out), "--customers", "40", "--locations", "8", "--competitors", "2", "--seed", "7"]
        )
        == 0
    )
    _, neg_k, neg_c = read_hm14_arrays(out)
    np.testing.assert_array_equal(neg_c, d1.neg_c)
    np.testing.assert_array_equal(neg_k, d1.neg_k)
    inst = read_hm14(out, 0.2, 3.0)
    np.testing.assert_array_equal(inst.a, generate_hm14(40, 8, 2, 0.2, 3.0, seed=7).a)


def test_generator_rejects_bad_sizes() -> None:
    with pytest.raises(ParameterError, match="customers"):
        generate_hm14_data(0, 5)
    with pytest.raises(ParameterError, match="alpha"):
        generate_hm14(5, 5, 1, alpha=-1.0)


def test_shipped_default_instance() -> None:
    from importlib import resources

    path = Path(str(resources.files("dro_opt.instances") / "data" / "default_mcflp.data"))
    inst = read_hm14(path, 0.1, 1.0)
    assert (inst.num_customers, inst.num_locations) == (100, 25)
    np.testing.assert_array_equal(inst.a, generate_hm14(100, 25, 1, 0.1, 1.0, seed=2014).a)


# --- NYC-scale synthetic instance ----------------------------------------------------------


def test_nyc_synthetic_full_size_shape_and_seed(tmp_path: Path) -> None:
    from dro_opt.instances.nyc_synthetic import generate_nyc_synthetic, main

    inst = generate_nyc_synthetic(0)
    assert (inst.num_customers, inst.num_locations) == (82_341, 59)
    assert np.all(inst.q == np.round(inst.q)) and inst.q.min() >= 1
    assert np.isfinite(inst.a).all()
    small = generate_nyc_synthetic(3, customers=500)
    again = generate_nyc_synthetic(3, customers=500)
    other = generate_nyc_synthetic(4, customers=500)
    np.testing.assert_array_equal(small.a, again.a)
    assert not np.array_equal(small.a, other.a)
    assert main([str(tmp_path / "nyc.npz"), "--seed", "3", "--customers", "500"]) == 0
    back = read_instance(tmp_path / "nyc.npz")
    np.testing.assert_array_equal(back.a, small.a)
    np.testing.assert_array_equal(back.q, small.q)
    assert back.meta["generator"] == "nyc_synthetic"
    with pytest.raises(ParameterError, match="competitors"):
        generate_nyc_synthetic(0, customers=10, competitors=0)
