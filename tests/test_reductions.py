"""Clustering / stratified-sampling reductions and their rigorous error bounds (paper 003 Sec 4)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, logsumexp

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.bruteforce import brute_force, open_to_z
from dro_opt.models.facility_location.hm14 import read_hm14
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import evaluate
from dro_opt.models.facility_location.reduce import (
    clip_slack,
    pair_bounds,
    reduce_by_clustering,
    reduce_by_stratified_sampling,
)
from dro_opt.reductions.clustering import weighted_kmeans
from dro_opt.reductions.coupling_bounds import check_coupling, summarize_coupling, uniform_errors
from dro_opt.reductions.stratified import stratified_sample

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RHOS = [0.0, 5.0, 50.0, 500.0]


def _instance(seed: int, N: int = 40, D: int = 7) -> MCFLPInstance:
    rng = np.random.default_rng(seed)
    pts = rng.random((N, 2)) * 10
    sites = rng.random((D, 2)) * 10
    dist = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    a = 1.0 - rng.uniform(0.3, 2.0) * dist
    a[rng.random((N, D)) < 0.05] = -np.inf
    return MCFLPInstance(q=rng.integers(1, 4, N).astype(float), a=a)


def _reductions(inst: MCFLPInstance, seed: int) -> list:
    N = inst.num_customers
    return [
        reduce_by_clustering(inst, max(2, N // 6), seed=seed),
        reduce_by_stratified_sampling(inst, max(2, N // 10), 2, seed=seed),
    ]


# --- per-pair bound -----------------------------------------------------------------------


def test_pair_bound_dominates_exact_sup_over_all_open_sets() -> None:
    rng = np.random.default_rng(1)
    D, P = 7, 2000
    A = rng.normal(0, 4, (P, D)) + rng.choice([0.0, -20.0, 5.0], (P, D))
    B = A + rng.normal(0, 1, (P, D)) * rng.exponential(2, (P, 1))
    B[rng.random((P, D)) < 0.1] = -np.inf
    rows = np.arange(P)
    d = pair_bounds(A, B, rows, rows)
    lip = pair_bounds(A, B, rows, rows, method="lipschitz")
    sup = np.zeros(P)
    for size in range(1, D + 1):
        for S in itertools.combinations(range(D), size):
            cols = list(S)
            diff = expit(logsumexp(A[:, cols], axis=1)) - expit(logsumexp(B[:, cols], axis=1))
            sup = np.maximum(sup, np.abs(diff))
    assert np.all(sup <= d + 1e-12)
    assert np.all(d <= lip + 1e-15)
    assert d.mean() < 0.8 * lip.mean()  # the refinement matters
    # the simple Lipschitz form of docs/facility_location.md, exactly
    delta = np.abs(np.clip(A, -40, 40) - np.clip(B, -40, 40)).max(axis=1)
    np.testing.assert_allclose(lip, np.minimum(1, delta / 4 + 2 * clip_slack(D)))


# --- F vs G for random decisions ----------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_uniform_error_holds_for_random_decisions(seed: int) -> None:
    inst = _instance(seed)
    rng = np.random.default_rng(seed + 1)
    D = inst.num_locations
    Z = np.zeros((25, D))
    for z in Z:
        z[rng.choice(D, rng.integers(0, 4), replace=False)] = 1.0
    for red in _reductions(inst, seed):
        assert red.instance.n == pytest.approx(inst.n, rel=1e-12)
        for objective in ("erm", "variance", "chi2"):
            for rho in RHOS:
                upper, lower = red.errors(objective, rho)
                line = red.error_bound(objective, rho)
                assert line.rigorous and line.value == upper
                for z in Z:
                    F = evaluate(inst.a, inst.q, z, objective, rho)
                    G = evaluate(red.instance.a, red.instance.q, z, objective, rho)
                    slack = 1e-9 * max(1.0, abs(F))
                    assert F <= G + upper + slack, (red.method, objective, rho, F, G, upper)
                    assert G <= F + lower + slack, (red.method, objective, rho, F, G, lower)
                    if objective == "erm" or rho == 0:
                        assert abs(F - G) <= upper + slack


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("objective", ["erm", "variance", "chi2"])
def test_brute_force_optimum_inside_certificate(seed: int, objective: str) -> None:
    inst = _instance(seed, N=36, D=7)
    r, rho = 3, 20.0
    full = brute_force(inst, r, objective, rho)
    for red in _reductions(inst, seed):
        reduced = brute_force(red.instance, r, objective, rho)
        upper = reduced.value + red.error_bound(objective, rho).value
        assert full.value <= upper + 1e-9
        # the reduced optimum, re-evaluated on the full data, is feasible: a valid lower side
        z_hat = open_to_z(reduced.open, inst.num_locations)
        lower = evaluate(inst.a, inst.q, z_hat, objective, rho)
        assert lower <= full.value + 1e-9
        prior = red.a_priori_bound(objective, rho)
        assert prior.value is not None and full.value - lower <= prior.value + 1e-9


def test_clustering_with_one_cluster_per_customer_is_exact() -> None:
    inst = _instance(3, N=20)
    red = reduce_by_clustering(inst, 20)
    assert red.radius == pytest.approx(0.0, abs=1e-9)
    assert red.error_bound("chi2", 50.0).value < 1e-12
    z = np.array([1.0, 0, 1, 0, 0, 1, 0])
    assert evaluate(red.instance.a, red.instance.q, z, "chi2", 50.0) == pytest.approx(
        evaluate(inst.a, inst.q, z, "chi2", 50.0), abs=1e-6
    )


# --- structure of the reductions ----------------------------------------------------------


def test_clustering_structure() -> None:
    inst = _instance(4, N=50)
    red = reduce_by_clustering(inst, 8, seed=3)
    K = red.instance.num_customers
    assert K <= 8 and red.method == "kmeans"
    pi = red.coupling.toarray()
    np.testing.assert_allclose(pi.sum(axis=1), inst.q)
    np.testing.assert_allclose(pi.sum(axis=0), red.instance.q)
    assert ((pi > 0).sum(axis=1) == 1).all()  # each customer to exactly its centre
    # representatives are the weighted centroids of their members' clipped log-odds
    cent = (pi.T @ np.clip(inst.a, -40, 40)) / red.instance.q[:, None]
    np.testing.assert_allclose(red.instance.a, cent, atol=1e-9)
    again = reduce_by_clustering(inst, 8, seed=3)
    np.testing.assert_array_equal(again.instance.a, red.instance.a)
    X = np.clip(inst.a, -10, 10)
    expected_radius = np.abs(X - np.clip(cent, -10, 10)[red.labels]).max()
    assert red.radius == pytest.approx(expected_radius)


def test_stratified_structure() -> None:
    inst = _instance(5, N=60)
    red = reduce_by_stratified_sampling(inst, 6, 3, seed=11)
    assert red.method == "stratified" and red.representatives is not None
    reps = red.representatives
    assert len(set(reps.tolist())) == reps.size  # without replacement
    np.testing.assert_array_equal(red.instance.a, inst.a[reps])
    labels = red.labels
    for s in np.unique(labels):
        members = np.flatnonzero(labels == s)
        drawn = reps[labels[reps] == s]
        assert drawn.size == min(3, members.size)
        # stratum mass kept: Q_s q_k / sum_drawn q
        w = red.instance.q[labels[reps] == s]
        np.testing.assert_allclose(w, inst.q[members].sum() * inst.q[drawn] / inst.q[drawn].sum())
    pi = red.coupling.toarray()
    np.testing.assert_allclose(pi.sum(axis=1), inst.q)
    np.testing.assert_allclose(pi.sum(axis=0), red.instance.q)
    other = reduce_by_stratified_sampling(inst, 6, 3, seed=12)
    assert not np.array_equal(other.representatives, reps)


def test_stratified_sample_unit_weights_and_complete_strata() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    q = np.ones(7)
    s = stratified_sample(labels, q, 2, seed=0)
    by_stratum = {int(k): s.weights[s.strata == k] for k in np.unique(s.strata)}
    np.testing.assert_allclose(by_stratum[0], [2.0, 2.0])  # N_s / S_s = 4 / 2
    np.testing.assert_allclose(by_stratum[1], [1.0, 1.0])
    np.testing.assert_allclose(by_stratum[2], [1.0])
    pi = s.coupling.toarray()
    # complete strata (1 and 2) are coupled by the identity
    for i in (4, 5, 6):
        k = int(np.flatnonzero(s.indices == i)[0])
        assert pi[i, k] == 1.0 and pi[i].sum() == 1.0
    # incomplete stratum 0: product coupling q_i w_k / Q_s = 1 * 2 / 4
    np.testing.assert_allclose(pi[:4][:, s.strata == 0], 0.5)


def test_weighted_kmeans_weights_equal_duplicates() -> None:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (30, 2)), rng.normal(5, 0.3, (30, 2))])
    w = rng.integers(1, 4, 60).astype(float)
    km = weighted_kmeans(X, w, 2, seed=1)
    dup = weighted_kmeans(np.repeat(X, w.astype(int), axis=0), np.ones(int(w.sum())), 2, seed=1)
    got = km.centres[np.argsort(km.centres[:, 0])]
    ref = dup.centres[np.argsort(dup.centres[:, 0])]
    np.testing.assert_allclose(got, ref, atol=1e-12)
    # labels are nearest centres; centres are weighted means
    near = np.argmin(((X[:, None] - km.centres[None]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(near, km.labels)
    for k in range(2):
        m = km.labels == k
        np.testing.assert_allclose(km.centres[k], (w[m] @ X[m]) / w[m].sum())
    with pytest.raises(ParameterError):
        weighted_kmeans(X, w, 0)
    with pytest.raises(ParameterError):
        weighted_kmeans(X, -w, 2)


def test_coupling_bounds_hand_example() -> None:
    # two full samples (weights 1, 3) onto one representative (weight 4)
    q, w = np.array([1.0, 3.0]), np.array([4.0])
    pi = check_coupling(sp.csr_matrix(np.array([[1.0], [3.0]])), q, w)
    d = np.array([0.2, 0.1])
    s = summarize_coupling(pi, q, w, d)
    assert s.mean_d == pytest.approx((0.2 + 0.3) / 4)
    assert s.rms_d == pytest.approx(np.sqrt((0.04 + 0.03) / 4))
    assert s.rev_l2 == pytest.approx(0.125)  # e_1 = (0.2 + 0.3) / 4
    assert s.fwd_l2 == pytest.approx(np.sqrt((0.04 + 3 * 0.01) / 4))
    assert uniform_errors(s, "erm", 7.0) == pytest.approx((0.5, 0.5))
    up, lo = uniform_errors(s, "chi2", 2.0)
    assert up == pytest.approx(4 * np.sqrt(2.0) * 0.125)
    assert lo == pytest.approx(4 * np.sqrt(2.0) * s.fwd_l2)
    up, lo = uniform_errors(s, "variance", 2.0)
    assert up == lo == pytest.approx(4 * (s.mean_d + s.rms_d))
    with pytest.raises(ValueError, match="rows"):
        check_coupling(sp.csr_matrix(np.array([[1.0], [2.0]])), q, w)
    with pytest.raises(ValueError, match="columns"):
        check_coupling(sp.csr_matrix(np.array([[1.0], [3.0]])), q, np.array([3.0]))
    with pytest.raises(ParameterError, match="rho"):
        uniform_errors(s, "chi2", -1.0)


def test_bad_arguments() -> None:
    inst = _instance(0, N=10)
    with pytest.raises(ParameterError, match="clusters"):
        reduce_by_clustering(inst, 0)
    with pytest.raises(ParameterError, match="clusters"):
        reduce_by_clustering(inst, 11)
    with pytest.raises(ParameterError, match="per_stratum"):
        reduce_by_stratified_sampling(inst, 3, 0)
    red = reduce_by_clustering(inst, 3)
    with pytest.raises(ParameterError, match="objective"):
        red.error_bound("cvar", 1.0)


@pytest.mark.skipif(not DATA.exists(), reason="../shared/data not present")
def test_hm14_extreme_scale_reduction_is_valid() -> None:
    """alpha = 0.2, beta = 10: utilities over 70 orders of magnitude; bound still holds."""
    inst = read_hm14(DATA / "hm14" / "HM14_800_25.data", 0.2, 10.0)
    red = reduce_by_clustering(inst, 60, seed=0)
    rng = np.random.default_rng(0)
    upper, lower = red.errors("chi2", 1e3)
    assert 0 < upper < inst.n
    for _ in range(20):
        z = np.zeros(25)
        z[rng.choice(25, 4, replace=False)] = 1.0
        F = evaluate(inst.a, inst.q, z, "chi2", 1e3)
        G = evaluate(red.instance.a, red.instance.q, z, "chi2", 1e3)
        assert F <= G + upper + 1e-9 and G <= F + lower + 1e-9


def test_weighted_kmeans_zero_weights_and_few_distinct_points() -> None:
    """Zero-weight points never hold a cluster on their own, fewer
    distinct weighted points than k give fewer clusters (no warning), every label is the
    nearest returned centre and every centre the weighted mean of its points."""
    import warnings

    X = np.array([[0.0, 0.0]] * 3 + [[5.0, 5.0]] * 3 + [[100.0, 100.0], [-50.0, 3.0]])
    q = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 1.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km = weighted_kmeans(X, q, 4, seed=0)
    assert km.centres.shape[0] == 2 and (km.weights > 0).all()
    np.testing.assert_allclose(np.sort(km.weights), [4.0, 5.0])
    near = np.argmin(((X[:, None] - km.centres[None]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(near, km.labels)
    for c in range(2):
        m = km.labels == c
        np.testing.assert_allclose(km.centres[c], (q[m] @ X[m]) / q[m].sum())
    expected = float(q @ ((X - km.centres[km.labels]) ** 2).sum(axis=1))
    assert km.inertia == pytest.approx(expected) and km.iterations >= 1


def _toy_value(x: np.ndarray, w: np.ndarray, z: float, rho: float) -> float:
    """Toy model f_i(z) = sin(x_i z): mean - sqrt(2 rho Var / n) (mean units), by hand."""
    f, n = np.sin(x * z), w.sum()
    mean = w @ f / n
    return float(mean - np.sqrt(2.0 * rho * (w @ (f - mean) ** 2 / n) / n))


@pytest.mark.parametrize("how", [{"clusters": 6}, {"strata": 4, "per_stratum": 2}])
@pytest.mark.parametrize("rho", [0.0, 20.0])
def test_reduce_and_certify_line_holds_on_a_grid(how: dict, rho: float) -> None:
    """The shared glue (dro_opt/reductions/representatives.py) on a toy model whose pair bound
    is the Lipschitz one, ``|sin(x_i z) - sin(x_k z)| <= |x_i - x_k| max|z|``: the line bounds
    ``|F_full(z) - F_reduced(z)|`` on a fine grid of z (independent evaluation)."""
    from dro_opt.reductions.representatives import choose_representatives, reduce_and_certify

    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 2.0, 60)
    q = rng.uniform(0.5, 2.0, 60)
    q[:3] = 0.0  # zero-weight samples carry no mass
    zmax = 1.5

    def bounds(red: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.abs(x[rows] - red[cols]) * zmax

    objective = "erm" if rho == 0 else "variance"
    common = {"clusters": None, "strata": None, "per_stratum": None, "seed": 1, **how}
    red, lines, info = reduce_and_certify(
        x[:, None], q, objective, rho, from_centres=lambda c, w: c[:, 0],
        from_sample=lambda i, w: x[i], pair_bounds=bounds, samples="toys", pair_note="sine",
        **common,
    )  # fmt: skip
    reps = choose_representatives(x[:, None], q, **how, seed=1)
    assert np.allclose(reps.weights.sum(), q.sum()) and info["representatives"] == red.size
    assert (reps.coupling.data > 0).all() and reps.rows.size == reps.coupling.nnz
    assert not np.isin(reps.rows, [0, 1, 2]).any()
    (line,) = lines
    assert line.rigorous and 0 < line.value < 1
    for z in np.linspace(0.0, zmax, 61):
        diff = _toy_value(x, q, z, rho) - _toy_value(red, reps.weights, z, rho)
        assert abs(diff) <= line.value + 1e-12
