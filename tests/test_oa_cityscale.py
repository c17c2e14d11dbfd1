"""City-scale OA arithmetic: row-scaled units against log space, aggregated rows against the
per-customer rows, validity on every feasible set, and a small city-like instance against
enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp

from dro_opt.algorithms.greedy import SetObjective, greedy, local_search
from dro_opt.algorithms.oa_core import OAOracle
from dro_opt.algorithms.scaled_scores import scaled_scores
from dro_opt.algorithms.submodular_cuts import SubmodularCuts
from dro_opt.algorithms.submodular_oa import solve_oa
from dro_opt.instances.nyc_synthetic import generate_nyc_synthetic
from dro_opt.models.facility_location.bruteforce import brute_force
from dro_opt.solvers.status import Status


def _extreme(seed: int, N: int = 40, D: int = 6) -> np.ndarray:
    """Log-odds over hundreds of orders of magnitude: rows far above 0 and far below -700,
    a row without any reachable location, unreachable entries."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 3.0, (N, D)) + rng.choice([-900.0, -300.0, -20.0, 0.0, 30.0, 650.0], (N, 1))
    a[rng.random((N, D)) < 0.15] = -np.inf
    a[0] = -np.inf
    a[1, 0] = 800.0  # above the cap A_MAX = 700
    return a


def _f(a: np.ndarray, T) -> np.ndarray:
    T = list(T)
    return expit(logsumexp(a[:, T], axis=1)) if T else np.zeros(a.shape[0])


@pytest.mark.parametrize("seed", range(2))
def test_scaled_values_and_gains_match_log_space(seed: int) -> None:
    a = _extreme(seed)
    sc = scaled_scores(a)
    assert np.all(sc.v <= np.exp(700.0)) and np.all(np.isfinite(sc.b))
    cuts = SubmodularCuts(a, budget=2)
    D = a.shape[1]
    for S in [(), (0,), (1, 3), (0, 2, 5)]:
        mask = np.isin(np.arange(D), S)
        f = sc.probabilities(sc.scores(mask))
        assert np.allclose(f, _f(a, S), rtol=1e-13, atol=1e-300)
        gains = cuts.gains(mask)
        for j in set(range(D)) - set(S):
            exact = _f(a, (*S, j)) - _f(a, S)
            # exact differences lose digits near f = 1: compare with their own rounding error
            assert np.allclose(gains[:, j], exact, rtol=1e-12, atol=4e-16)


@pytest.mark.parametrize("seed", range(2))
def test_cuts_in_scaled_units_valid_on_every_feasible_set(seed: int) -> None:
    a = _extreme(seed)
    r = 2
    cuts = SubmodularCuts(a, budget=r)
    D = a.shape[1]
    sets = [T for k in range(r + 1) for T in itertools.combinations(range(D), k)]
    truth = {T: _f(a, T) for T in sets}
    rng = np.random.default_rng(seed)
    z = np.clip(rng.uniform(-0.3, 1.0, D), 0.0, 1.0)
    blocks = [cuts.submodular_cut(np.isin(np.arange(D), S))[0] for S in sets]
    blocks += [cuts.gradient_cut(z), cuts.nested_best_cut(z)]
    for block in blocks:
        for T in sets:
            value = block.value(np.isin(np.arange(D), T).astype(float))
            assert np.all(value >= truth[T] - 1e-15)


@pytest.mark.parametrize("seed", range(2))
def test_aggregated_rows_equal_the_sums_of_customer_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    N, D, r = 300, 9, 3
    a = rng.normal(-1.0, 1.5, (N, D)) + rng.normal(0.0, 15.0, (N, 1))
    a[rng.random((N, D)) < 0.1] = -np.inf
    q = rng.integers(1, 5, N).astype(float)
    oracle = OAOracle(a, q, r, "erm", 0.0, "groups")
    W = oracle.G.tocsc()
    cuts = oracle.cuts
    mask = np.isin(np.arange(D), [1, 4, 7])
    block = cuts.cut_from_scores(cuts.scores(mask), np.broadcast_to(mask, (N, D)), None, fold=False)
    gc, gz = cuts.set_sums(mask, W, chunk=64)
    assert np.allclose(gc, W @ block.const, rtol=1e-12, atol=1e-15)
    assert np.allclose(gz, W @ block.coef, rtol=1e-12, atol=1e-15)
    z = np.zeros(D)
    z[[0, 2, 4, 5, 8]] = [0.9, 0.4, 0.7, 0.2, 0.8]
    ch = cuts.nested_choice(z)
    assert ch.use_gradient.any() and (~ch.use_gradient).any()  # both kinds are patched in
    const, coef = np.empty(N), np.empty((N, D))
    const[:], coef[:] = cuts._coefficient_rows(ch, np.arange(N), fold=False)
    gc, gz = cuts.nested_sums(ch, W, chunk=50)
    assert np.allclose(gc, W @ const, rtol=1e-12, atol=1e-15)
    assert np.allclose(gz, W @ coef, rtol=1e-12, atol=1e-15)
    P = sp.csc_matrix(q[None, :] / q.sum())
    gc1, gz1 = cuts.nested_sums(ch, P)
    assert np.allclose(gc1[0], P @ const) and np.allclose(gz1[0], P @ coef)


def test_greedy_and_swaps_in_scaled_units_match_log_space_choices() -> None:
    inst = generate_nyc_synthetic(3, customers=2000, locations=14)
    obj = SetObjective(inst.a, inst.q)
    sets = greedy(obj, 4)
    for prev, cur in zip([np.zeros(14, bool), *sets[:-1]], sets, strict=True):
        added = np.flatnonzero(cur & ~prev)[0]
        values = [obj.value(prev | (np.arange(14) == j)) if not prev[j] else -1 for j in range(14)]
        assert obj.value(cur) == pytest.approx(max(values), rel=1e-13)
        assert values[added] == pytest.approx(max(values), rel=1e-13)
    best, value, visited = local_search(obj, sets[-1])
    assert value == pytest.approx(obj.value(best), rel=1e-15) and best.sum() == 4
    assert all(obj.value(u) < obj.value(w) for u, w in itertools.pairwise(visited))


@pytest.mark.parametrize(("seed", "r"), [(0, 3), (5, 4)])
def test_small_city_like_instance_matches_enumeration(seed: int, r: int) -> None:
    inst = generate_nyc_synthetic(seed, customers=3000, locations=13)
    bf = brute_force(inst, r, "erm")
    res = solve_oa(inst, r, "erm", gap=1e-8)
    assert res.status is Status.OPTIMAL
    assert res.value == pytest.approx(bf.value, rel=1e-10)
    assert res.bound >= bf.value * (1 - 1e-12)


def test_drop_tables_equal_their_definition() -> None:
    """Every entry of :meth:`SubmodularCuts._drop_tables` is the score of the ``m + 1`` best
    locations of the row without position ``p`` (column ``m``: the ``m`` best), computed here
    from a full row sort, for every ``m``, with ties, for all rows and for row blocks or row
    index sets (the callers' form), bit for bit the same entries."""
    rng = np.random.default_rng(7)
    D = 9
    a = np.round(rng.normal(-1.0, 1.5, (40, D)), 1)  # ties
    cuts = SubmodularCuts(a, 4)
    cuts._ensure_top(D)
    top = -np.sort(-cuts.v, axis=1)
    tables = {m: cuts._drop_tables(m).copy() for m in range(1, D)}
    for m, table in tables.items():
        expected = np.empty_like(table)
        for p in range(m + 1):
            expected[:, p] = np.delete(top[:, : m + 1], p, axis=1).sum(axis=1)
        np.testing.assert_allclose(table, expected, rtol=1e-14, atol=0)
        assert np.array_equal(cuts._drop_tables(m, slice(5, 17)), table[5:17])
        rows = np.array([30, 2, 2, 11])
        assert np.array_equal(cuts._drop_tables(m, rows), table[rows])


@pytest.mark.parametrize("budget", [1, 2])
def test_drop_coefficients_equal_the_gain_at_the_m_best_others(budget: int) -> None:
    """``c_ij(m)`` is the gain of ``j`` at the ``m`` best other locations of row ``i``
    (:meth:`SubmodularCuts.drop_columns`), also for ``m`` beyond the 2r best kept per row (the
    table widens on demand) and with tied utilities; the nested choice after a widening reads
    the widened ranks."""
    rng = np.random.default_rng(budget)
    D = 8
    a = np.round(rng.normal(-1.0, 1.0, (25, D)))  # integers: many ties
    a[3] = -np.inf
    cuts = SubmodularCuts(a, budget)
    for m in [0, 1, 2 * budget - 1, 2 * budget, D - 1]:
        c = cuts.drop_columns(m, np.arange(D))
        for j in range(D):
            others = np.delete(a, j, axis=1)
            best = np.argsort(-others, axis=1, kind="stable")[:, :m]
            expected = np.array(
                [_f(others[i : i + 1], best[i])[0] for i in range(a.shape[0])]
            )  # f at the m best others ...
            with_j = np.array(
                [
                    _f(np.c_[others[i : i + 1], a[i : i + 1, j]], [*best[i], D - 1])[0]
                    for i in range(a.shape[0])
                ]
            )  # ... and with j added
            assert np.allclose(c[:, j], with_j - expected, rtol=1e-12, atol=1e-15)
    z = np.zeros(D)
    z[:3] = [0.9, 0.6, 0.3]
    ch = cuts.nested_choice(z)
    const, coef = cuts.nested_coefficients(ch).const, cuts.nested_coefficients(ch).coef
    for T in itertools.chain.from_iterable(
        itertools.combinations(range(D), k) for k in range(budget + 1)
    ):
        x = np.zeros(D)
        x[list(T)] = 1.0
        assert np.all(_f(a, T) <= const + coef @ x + 1e-13)


def test_drop_coefficients_from_row_block_tables_equal_the_cached_ones(monkeypatch) -> None:
    """Beyond ``DROP_CACHE_CUSTOMERS`` every call builds the table of its own rows: the drop
    coefficients (all rows, a row block, a row index set) and a whole nested cut round must
    be bit for bit those of the cached tables."""
    import dro_opt.algorithms.submodular_cuts as sc

    rng = np.random.default_rng(3)
    a = np.round(rng.normal(-1.0, 1.5, (300, 12)), 1)
    z = np.zeros(12)
    z[[1, 4, 7, 9]] = [0.9, 0.7, 0.4, 0.2]
    cols, rows = np.array([1, 4, 7]), np.array([5, 250, 250, 17])

    def everything() -> list[np.ndarray]:
        cuts = SubmodularCuts(a, 3)
        out = [cuts.drop_columns(m, cols) for m in (1, 3, 5)]
        out += [cuts.drop_columns(4, cols, slice(40, 90)), cuts.drop_columns(2, cols, rows)]
        block = cuts.nested_best_cut(z)
        return [*out, block.const, block.coef]

    cached = everything()
    monkeypatch.setattr(sc, "DROP_CACHE_CUSTOMERS", 0)
    for x, y in zip(everything(), cached, strict=True):
        assert np.array_equal(x, y)
