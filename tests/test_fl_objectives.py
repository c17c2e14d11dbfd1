"""Exact MC-FLP objectives: chi-square worst case vs an independent primal solve."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from dro_opt.models.facility_location.objectives import (
    capture_probabilities,
    chi2_value,
    chi2_worst_case,
    evaluate,
    evaluate_many,
    variance_value,
)


def _primal_chi2(p: np.ndarray, f: np.ndarray, radius: float) -> float:
    """min_P P'f over {P >= 0, sum P = 1, sum p phi(P/p) <= radius} by Clarabel (independent)."""
    P = cp.Variable(p.size, nonneg=True)
    cons = [cp.sum(P) == 1, cp.sum(cp.multiply(1 / p, cp.square(P - p))) / 2 <= radius]
    prob = cp.Problem(cp.Minimize(f @ P), cons)
    prob.solve(solver="CLARABEL")
    return float(prob.value)


@pytest.mark.parametrize("seed", range(8))
def test_chi2_worst_case_matches_primal_solve(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    p = rng.random(n) + 0.05
    p /= p.sum()
    f = rng.random(n) ** 2
    radius = float(10 ** rng.uniform(-2, 0.5))
    value, P = chi2_worst_case(p, f, radius)
    assert value == pytest.approx(_primal_chi2(p, f, radius), rel=1e-6, abs=1e-8)
    # P* is feasible for the ball and attains the dual value: a primal-dual certificate
    assert P.min() >= 0 and P.sum() == pytest.approx(1.0, abs=1e-12)
    assert (p * (P / p - 1) ** 2 / 2).sum() <= radius * (1 + 1e-9) + 1e-12
    assert P @ f == pytest.approx(value, abs=1e-12)


def test_chi2_primal_dual_gap_tiny_on_many_random_cases() -> None:
    rng = np.random.default_rng(42)
    for _ in range(500):
        n = int(rng.integers(1, 80))
        p = rng.random(n) + 1e-3
        p /= p.sum()
        f = rng.random(n) ** rng.uniform(1, 6)
        if rng.random() < 0.3:
            f = np.round(f, 1)  # ties
        radius = float(10 ** rng.uniform(-4, 3))
        value, P = chi2_worst_case(p, f, radius)
        assert value <= f @ p + 1e-12  # the worst case is never better than the nominal
        assert value >= f.min() - 1e-12
        # P is a distribution of the ball, so value <= Phi(f) <= P'f brackets the worst case;
        # on rows with values near 1e-9 and large radii the bracket is up to ~1e-8 wide (the
        # closed form's P summed to 1 - 3e-8 there before chi2_ball_point repaired it)
        assert P.min() >= 0 and P.sum() == pytest.approx(1.0, abs=1e-12)
        assert value <= P @ f + 1e-12
        assert P @ f - value <= 2e-8
        assert (p * (P / p - 1) ** 2 / 2).sum() <= radius * (1 + 1e-7) + 1e-12


def test_large_radius_gives_minimum() -> None:
    p = np.array([0.5, 0.3, 0.2])
    f = np.array([0.4, 0.1, 0.9])
    # the point mass on index 1 has divergence (1 - p1) / (2 p1) = 7/6
    value, P = chi2_worst_case(p, f, 7 / 6 + 1e-9)
    assert value == pytest.approx(0.1, abs=1e-9)
    np.testing.assert_allclose(P, [0, 1, 0], atol=1e-6)


def test_rho_zero_gives_erm_for_all_objectives() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(-1, 2, size=(30, 6))
    q = rng.integers(1, 9, size=30).astype(float)
    z = np.array([1, 0, 1, 0, 0, 1.0])
    erm = evaluate(a, q, z, "erm")
    assert evaluate(a, q, z, "variance", 0.0) == pytest.approx(erm)
    assert evaluate(a, q, z, "chi2", 0.0) == pytest.approx(erm)
    f = 1 / (1 + 1 / (np.exp(a) @ z))
    assert erm == pytest.approx(q @ f, rel=1e-12)


def test_chi2_dominates_variance_and_equals_it_for_small_rho() -> None:
    rng = np.random.default_rng(5)
    q = rng.integers(1, 5, size=200).astype(float)
    f = 0.3 + 0.4 * rng.random(200)
    n = q.sum()
    for rho in (0.1, 1.0, 10.0, 100.0, 1e4):
        chi = chi2_value(q, f, rho)
        vr = float(variance_value(q, f, rho))
        assert chi >= vr - 1e-9 * n
        # Duchi & Namkoong: equal while the worst-case P stays non-negative
        _, P = chi2_worst_case(q / n, f, rho / n)
        if P.min() > 1e-12:
            assert chi == pytest.approx(vr, rel=1e-9)


def test_extreme_log_odds_do_not_overflow() -> None:
    a = np.array([[800.0, -900.0], [-1e4, -2e4], [0.0, np.log(3.0)]])
    f = capture_probabilities(a, np.array([1.0, 1.0]))
    assert np.all(np.isfinite(f))
    np.testing.assert_allclose(f, [1.0, 0.0, 4 / 5], atol=1e-15)
    many = evaluate_many(a, np.ones(3), np.array([[1, 0], [0, 1], [1, 1]]), "chi2", 1.0)
    assert np.all(np.isfinite(many))


def test_chi2_worst_case_on_near_zero_rows_is_a_ball_point_and_brackets_phi() -> None:
    """Rows of many near-zero values and a large radius, where the closed form's candidate search
    can miss the optimal threshold (sums of P* of 0.79-1.05 were measured before the repair):
    the returned P must still be a distribution of the ball, so that ``value <= Phi(f) <= P'f``
    with ``value`` the dual at the chosen threshold. Checked against an independent lower bound
    of ``Phi``: the dual maximised by Brent search and a grid (a primal solve by Clarabel is only
    accurate to ~1e-9 here, the size of these values)."""
    from test_oa_chi2_master import _dual_maximum

    from dro_opt.algorithms.capture_objectives import chi2_upper_value

    rng = np.random.default_rng(5)
    N = 300
    for _ in range(12):
        p = rng.random(N) + 0.05
        p /= p.sum()
        f = rng.random(N) ** 6 * rng.random()
        f[: N // 2] *= 1e-9
        radius = float(rng.choice([2.0, 12.5, 100.0]))
        value, P = chi2_worst_case(p, f, radius)
        assert P.min() >= 0 and P.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p * (P / p - 1) ** 2 / 2).sum() <= radius * (1 + 1e-10)
        upper = chi2_upper_value(p, f, radius)
        assert upper == pytest.approx(P @ f, rel=1e-15, abs=0)
        lower = max(value, _dual_maximum(p, f, radius))
        assert lower <= upper + 1e-15
        assert upper - lower <= 2e-8


@pytest.mark.parametrize("radius", [1e-5, 4e-4, 4e-3, 0.05, 0.6])
def test_chi2_worst_case_partial_sort_matches_the_full_sort(radius: float, monkeypatch) -> None:
    """City-size rows (N > 4096) sort only the largest values whose mass exceeds
    ``1 - 1 / c^2`` (``capture_objectives._partial_order``): the value and the distribution
    must equal those of the full sort, and bracket ``Phi`` with an independent dual maximum
    (Brent search); integer weights, ties and a large radius (full-sort fallback) included."""
    from test_oa_chi2_master import _dual_maximum

    import dro_opt.algorithms.capture_objectives as co

    rng = np.random.default_rng(int(radius * 1e6))
    N = 20_000
    q = rng.integers(1, 60, N).astype(float)
    p = q / q.sum()
    f = rng.beta(2.0, 5.0, N)
    f[rng.random(N) < 0.2] = 0.25  # a block of ties
    order, start = co._partial_order(p, f, float(np.sqrt(1 + 2 * radius)))
    assert np.array_equal(np.sort(order), np.arange(N))
    assert np.all(np.diff(f[order[start:]]) >= 0)
    assert (start > 0) == (radius < 0.5)  # the partial path runs, except for the large radius
    if start:
        assert f[order[:start]].max() <= f[order[start]]
        assert p[order[:start]].sum() < 1 / (1 + 2 * radius)
    value, P = chi2_worst_case(p, f, radius)
    monkeypatch.setattr(co, "_partial_order", lambda p, f, c: (np.argsort(f, kind="stable"), 0))
    value_full, P_full = chi2_worst_case(p, f, radius)
    assert value == pytest.approx(value_full, rel=1e-13, abs=1e-15)
    assert np.abs(P - P_full).sum() <= 1e-10
    assert P.min() >= 0 and P.sum() == pytest.approx(1.0, abs=1e-12)
    assert (p * (P / p - 1) ** 2 / 2).sum() <= radius * (1 + 1e-10)
    lower = max(value, _dual_maximum(p, f, radius))
    assert value >= lower - 1e-12 and P @ f >= lower - 1e-15
    assert P @ f - value <= 1e-12
