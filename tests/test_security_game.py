"""Security game (dro_opt.models.security_game) against independent oracles.

* exact objective and Jacobian against direct formulas / finite differences / cvxpy (chi2);
* the MISOCP optimum against enumeration of every feasible PWLA grid point;
* the certificate ``[lower, upper]`` against a fine grid of the continuous problem polished by a
  local optimiser (M = 3 targets), for erm, variance and chi2, with and without a reduction.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from dro_opt.certify import Certificate
from dro_opt.errors import InstanceError, ParameterError
from dro_opt.models.security_game import (
    SSGInstance,
    defender_values,
    evaluate,
    generate_ssg,
    read_instance,
    values_and_jacobian,
    write_instance,
)
from dro_opt.models.security_game.misocp import build_ssg_misocp, pwla_line_for
from dro_opt.models.security_game.reduce import pair_bounds
from dro_opt.models.security_game.solve import solve_ssg


@pytest.fixture(scope="module")
def game() -> SSGInstance:
    return generate_ssg(3, 5, seed=3)


def _direct_f(inst: SSGInstance, z: np.ndarray) -> np.ndarray:
    """f_n(z) straight from the contract's formula (no max-shift)."""
    Ua = z * inst.attacker_penalty + (1 - z) * inst.attacker_reward
    Ud = z * inst.defender_reward + (1 - z) * inst.defender_penalty
    e = np.exp(inst.lam * Ua)
    return (e * Ud).sum(axis=1) / e.sum(axis=1)


def _chi2_cvxpy(f: np.ndarray, q: np.ndarray, rho: float) -> float:
    import cvxpy as cp

    n = q.sum()
    p = q / n
    P = cp.Variable(f.size, nonneg=True)
    cons = [cp.sum(P) == 1, cp.sum(cp.multiply(p, cp.square(P / p - 1))) / 2 <= rho / n]
    prob = cp.Problem(cp.Minimize(P @ f), cons)
    prob.solve(solver="CLARABEL")
    return float(prob.value)


def test_generator_reproducible_and_json_roundtrip(tmp_path) -> None:
    a, b, c = generate_ssg(4, 6, seed=5), generate_ssg(4, 6, seed=5), generate_ssg(4, 6, seed=6)
    np.testing.assert_array_equal(a.defender_reward, b.defender_reward)
    np.testing.assert_array_equal(a.attacker_penalty, b.attacker_penalty)
    assert not np.array_equal(a.defender_reward, c.defender_reward)
    assert (a.defender_reward > 0).all() and (a.defender_penalty < 0).all()
    assert (a.attacker_reward > 0).all() and (a.attacker_penalty < 0).all()
    assert a.meta["low"] == 5.0 and a.meta["high"] == 8.0 and a.budget == 1.0
    path = tmp_path / "g.json"
    write_instance(a, path)
    r = read_instance(path)
    for key in ("defender_reward", "defender_penalty", "attacker_reward", "attacker_penalty"):
        np.testing.assert_array_equal(getattr(r, key), getattr(a, key))
    assert (r.budget, r.lam) == (a.budget, a.lam)


def test_values_jacobian_and_objectives(game: SSGInstance) -> None:
    rng = np.random.default_rng(0)
    z = rng.uniform(0, 1, 3)
    np.testing.assert_allclose(defender_values(game, z), _direct_f(game, z), rtol=1e-12)
    f, J = values_and_jacobian(game, z)
    h = 1e-6
    fd = np.column_stack(
        [(_direct_f(game, z + h * e) - _direct_f(game, z - h * e)) / (2 * h) for e in np.eye(3)]
    )
    np.testing.assert_allclose(J, fd, rtol=1e-5, atol=1e-7)
    n = game.n
    assert evaluate(game, z, "erm") == pytest.approx(f.mean())
    vr = f.mean() - math.sqrt(2 * 3.0 * f.var() / n)
    assert evaluate(game, z, "variance", 3.0) == pytest.approx(vr)
    assert evaluate(game, z, "chi2", 3.0) == pytest.approx(
        _chi2_cvxpy(f, game.weights, 3.0), abs=1e-6
    )


_ORACLE: dict[tuple[int, str, float, int], float] = {}


def _fine_oracle(inst: SSGInstance, objective: str, rho: float, steps: int = 40) -> float:
    """Max over a fine grid of {z in [0,1]^3, sum z <= R}, polished by SLSQP from the 3 best
    (cached per instance object)."""
    key = (id(inst), objective, rho, steps)
    if key not in _ORACLE:
        _ORACLE[key] = _compute_oracle(inst, objective, rho, steps)
    return _ORACLE[key]


def _compute_oracle(inst: SSGInstance, objective: str, rho: float, steps: int) -> float:
    t = np.linspace(0.0, 1.0, steps + 1)
    Z = np.array([z for z in itertools.product(t, t, t) if sum(z) <= inst.budget + 1e-12])
    vals = np.array([evaluate(inst, z, objective, rho) for z in Z])
    best = float(vals.max())
    cons = [{"type": "ineq", "fun": lambda z: inst.budget - z.sum()}]
    for i in np.argsort(vals)[-3:]:
        res = minimize(
            lambda z: -evaluate(inst, np.clip(z, 0, 1), objective, rho),
            Z[i],
            method="SLSQP",
            bounds=[(0, 1)] * 3,
            constraints=cons,
        )
        z = np.clip(res.x, 0, 1)
        if z.sum() <= inst.budget + 1e-9:
            best = max(best, evaluate(inst, z, objective, rho))
    return best


def _contains(cert: Certificate, oracle: float) -> None:
    """``lower <= OPT <= upper`` with OPT >= max(oracle, lower) (the oracle is a fine grid +
    SLSQP, a lower estimate of OPT; the polished decision may beat it by a hair)."""
    assert cert.lower <= oracle + 1e-6 * max(1.0, abs(oracle))
    assert max(oracle, cert.lower) <= cert.upper + 1e-9


@pytest.mark.parametrize(
    ("objective", "mode"),
    [
        ("erm", "restriction"),
        ("variance", "curvature"),
        ("chi2", "curvature"),
        ("chi2", "restriction"),
    ],
)
def test_certificate_contains_the_continuous_optimum(
    game: SSGInstance, objective: str, mode: str
) -> None:
    """The grid-restriction model (ERM in 'curvature' mode has its error inside the model and
    is tested in test_erm_error_inside_the_model)."""
    rho, K = 2.0, 4
    res = solve_ssg(game, objective, rho, pieces=K, gap=1e-6, pwla_mode=mode)
    cert = res.certificate
    assert res.bound is not None and cert.upper == res.bound
    z = res.solution["z"]
    assert z.sum() <= game.budget + 1e-9 and (z >= 0).all() and (z <= 1).all()
    assert res.objective == pytest.approx(evaluate(game, z, objective, rho), abs=1e-12)
    oracle = _fine_oracle(game, objective, rho)
    _contains(cert, oracle)
    names = [ln.name for ln in cert.lines]
    assert names == ["solver_bound", "pwla"] and all(ln.rigorous for ln in cert.lines)
    # the MISOCP is exactly the problem restricted to the K-grid: compare with enumeration
    pts = np.arange(K + 1) / K
    grid = [np.array(z) for z in itertools.product(pts, pts, pts) if sum(z) <= game.budget + 1e-12]
    grid_opt = max(evaluate(game, g, objective, rho) for g in grid)
    assert res.extra["grid_objective"] == pytest.approx(grid_opt, abs=1e-6)
    assert cert.lines[0].value >= grid_opt - 1e-6
    # the polished coverage is never worse than the grid decision, and is exact
    assert res.objective >= res.extra["grid_objective"] - 1e-12
    assert res.objective >= oracle - 1e-3 * abs(oracle)  # polish reaches the continuous optimum


def test_pwla_line_shrinks_with_pieces(game: SSGInstance) -> None:
    lines = [pwla_line_for(game, K, "variance", 2.0).value for K in (4, 8, 16, 32, 64)]
    # non-increasing (coarse K: capped by the width of the feasible utility range), then falling
    assert all(b <= a for a, b in itertools.pairwise(lines)), lines
    assert all(b < a for a, b in itertools.pairwise(lines[1:])), lines
    assert lines[-1] < 0.25 * lines[1]


def test_model_is_shifted_internally_only(game: SSGInstance) -> None:
    model = build_ssg_misocp(game, "erm", 0.0, 2)
    assert model.shift == pytest.approx(
        -min(game.defender_penalty.min(), game.defender_reward.min())
    )
    assert model.pwla.ratio_bounds[0].min() >= -1e-12  # shifted utilities are non-negative


def test_reduction_pair_bounds_and_certificate() -> None:
    inst = generate_ssg(3, 12, seed=4)
    red = solve_ssg(inst, "erm", 0.0, pieces=4, clusters=3, gap=1e-6)
    assert [ln.name for ln in red.certificate.lines] == ["solver_bound", "pwla", "reduction"]
    assert red.extra["reduction"]["representatives"] == 3
    oracle = _fine_oracle(inst, "erm", 0.0, steps=30)
    _contains(red.certificate, oracle)
    # per-pair bounds against random coverages (sup over z sampled)
    from dro_opt.models.security_game.reduce import payoff_features  # noqa: F401

    other = generate_ssg(3, 12, seed=9)
    rows = np.arange(12)
    d = pair_bounds(inst, other, rows, rows)
    rng = np.random.default_rng(1)
    for _ in range(300):
        z = rng.uniform(0, 1, 3)
        assert (np.abs(defender_values(inst, z) - defender_values(other, z)) <= d + 1e-12).all()


def test_baselines_report_exact_value_and_no_bound(game: SSGInstance) -> None:
    for method in ("pga", "tt-gad"):
        res = solve_ssg(game, "variance", 2.0, method=method, restarts=3)
        assert res.bound is None and res.certificate.upper is None
        assert res.objective == pytest.approx(evaluate(game, res.solution["z"], "variance", 2.0))


def test_bad_input() -> None:
    g = generate_ssg(3, 4, seed=0)
    base = {
        k: getattr(g, k)
        for k in ("defender_reward", "defender_penalty", "attacker_reward", "attacker_penalty")
    }
    with pytest.raises(InstanceError, match="budget"):
        SSGInstance(-0.5, 0.2, **base)
    with pytest.raises(InstanceError, match="budget"):
        SSGInstance(3.5, 0.2, **base)
    with pytest.raises(InstanceError, match="lambda"):
        SSGInstance(1, -0.1, **base)
    bad = dict(base, defender_reward=base["defender_reward"][:, :2])
    with pytest.raises(InstanceError, match="same N x M shape"):
        SSGInstance(1, 0.2, **bad)
    nan = dict(base, attacker_reward=np.where(np.eye(4, 3) > 0, np.nan, base["attacker_reward"]))
    with pytest.raises(InstanceError, match="NaN"):
        SSGInstance(1, 0.2, **nan)
    with pytest.raises(InstanceError, match="weights"):
        SSGInstance(1, 0.2, **base, weights=[1, 2])
    for pieces in (0, -2, 1.5, "many"):
        with pytest.raises(ParameterError, match="pieces"):
            solve_ssg(g, "erm", 0.0, pieces=pieces)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="rho"):
        solve_ssg(g, "variance", -1.0)
    with pytest.raises(ParameterError, match="objective"):
        solve_ssg(g, "kl", 1.0)


def test_hessian_bound_and_second_order_line(game: SSGInstance) -> None:
    from dro_opt.models.security_game.curvature import erm_curvature_line, hessian_bounds

    H = hessian_bounds(game)
    rng = np.random.default_rng(2)
    h = 1e-4
    worst = np.zeros(game.num_types)
    for _ in range(40):
        z = rng.uniform(0, 1, 3)
        cols = [
            (values_and_jacobian(game, z + h * e)[1] - values_and_jacobian(game, z - h * e)[1])
            / (2 * h)
            for e in np.eye(3)
        ]
        hess = np.stack(cols, axis=2)  # (N, M, M)
        worst = np.maximum(
            worst, np.abs(np.linalg.eigvalsh(0.5 * (hess + hess.transpose(0, 2, 1)))).max(axis=1)
        )
    assert (worst <= H).all() and (worst > 0.02 * H).all()
    assert erm_curvature_line(game, 16) is not None
    odd = SSGInstance(0.5, game.lam, game.defender_reward, game.defender_penalty,
                      game.attacker_reward, game.attacker_penalty)  # fmt: skip
    assert erm_curvature_line(odd, 3) is None  # R K = 1.5 is not an integer


@pytest.mark.parametrize("objective", ["erm", "variance", "chi2"])
def test_averaged_line_certificate_contains_the_optimum(game: SSGInstance, objective: str) -> None:
    rho = 0.0 if objective == "erm" else 2.0
    K = 16 if objective == "erm" else 8
    res = solve_ssg(game, objective, rho, pieces=K, gap=1e-3, pwla_mode="restriction")
    line = res.certificate.lines[1]
    assert "averaged over grid corners" in line.note
    oracle = _fine_oracle(game, objective, rho)
    _contains(res.certificate, oracle)
    coarse = solve_ssg(game, objective, rho, pieces=4, gap=1e-3, pwla_mode="restriction")
    assert res.certificate.gap < 0.8 * coarse.certificate.gap


def test_feasible_utility_range_contains_every_feasible_value(game: SSGInstance) -> None:
    from dro_opt.models.security_game.objective import utility_range
    from dro_opt.models.security_game.value_range import feasible_utility_range

    lo, hi = feasible_utility_range(game)
    lo0, hi0 = utility_range(game)
    assert (lo0 <= lo).all() and (hi <= hi0).all()
    assert (hi < hi0 - 1.0).all()  # the budget caps the coverage: a real gain here
    rng = np.random.default_rng(5)
    Z = rng.dirichlet(np.ones(4), size=4000)[:, :3] * game.budget
    Z = np.vstack([Z, np.zeros(3), np.eye(3) * game.budget])  # the vertices of the feasible set
    F = np.array([defender_values(game, z) for z in Z])
    assert (lo <= F.min(axis=0)).all() and (F.max(axis=0) <= hi).all()
    assert (hi - F.max(axis=0)).max() < 0.1 and (F.min(axis=0) - lo).max() < 0.1


def test_cell_curvature_bounds_against_finite_differences(game: SSGInstance) -> None:
    """The separable Hessian and gradient bounds of cell_curvature hold at random points of
    random cells (inside the feasible set) for random directions."""
    from dro_opt.models.security_game.cell_curvature import cell_curvature

    K = 5
    cc = cell_curvature(game, K)
    qmax = cc.h_max / cc.h_min.min(axis=2).sum(axis=1)[:, None, None]  # >= q_j on every cell
    rng = np.random.default_rng(3)
    h, checked = 1e-4, 0
    while checked < 60:
        cell = rng.integers(0, K, 3)
        z = (cell + rng.uniform(0.05, 0.95, 3)) / K
        if z.sum() > game.budget:
            continue
        checked += 1
        J = values_and_jacobian(game, z)[1]
        cols = [(values_and_jacobian(game, z + h * e)[1] - values_and_jacobian(game, z - h * e)[1])
                / (2 * h) for e in np.eye(3)]  # fmt: skip
        hess = np.stack(cols, axis=2)
        d = rng.normal(size=3)
        quad = np.einsum("nij,i,j->n", hess, d, d)
        j = np.arange(3)
        q = qmax[:, j, cell]
        assert (-quad <= (q * cc.beta[:, j, cell] * d**2).sum(axis=1) + 1e-6).all()
        assert (np.abs(quad) <= (q * cc.gamma[:, j, cell] * d**2).sum(axis=1) + 1e-6).all()
        assert (np.abs(J).sum(axis=1) / (2 * K) <= cc.gradient_spread() + 1e-9).all()


def test_erm_error_inside_the_model(game: SSGInstance) -> None:
    """pwla_mode='curvature', ERM: the MISOCP's own bound bounds the continuous optimum (no
    line), equals the enumeration of the offset grid, beats the restriction certificate and
    shrinks like 1/K^2."""
    from dro_opt.models.security_game.cell_curvature import cell_curvature

    oracle = _fine_oracle(game, "erm", 0.0)
    gaps = []
    for K in (6, 12):
        res = solve_ssg(game, "erm", 0.0, pieces=K, gap=1e-7, pwla_mode="curvature")
        cert = res.certificate
        assert cert.lines[1].value == 0.0 and "inside the model" in cert.lines[1].note
        _contains(cert, oracle)
        model = build_ssg_misocp(game, "erm", 0.0, K)
        assert model.error_in_model
        G = model.pwla  # enumerate max_c E_p (N + Gamma) / D over the feasible grid
        from dro_opt.models.security_game.misocp import ssg_pieces

        data = ssg_pieces(game, K)
        offsets = cell_curvature(game, K).offsets()
        idx = np.array([k for k in itertools.product(range(K + 1), repeat=3) if sum(k) <= K])
        j = np.arange(3)
        num = (data.G + offsets)[:, j, idx].sum(axis=2)
        den = data.H[:, j, idx].sum(axis=2)
        enum = float(((num / den).mean(axis=0)).max()) - data.shift
        assert cert.upper == pytest.approx(enum, abs=1e-5)
        assert G.grid.pieces == K
        old = solve_ssg(game, "erm", 0.0, pieces=K, gap=1e-7, pwla_mode="restriction")
        assert cert.upper < old.certificate.upper
        gaps.append(cert.upper - oracle)
    assert gaps[1] < 0.35 * gaps[0], gaps  # second order: ~1/4 when K doubles


def test_local_refinement_certificate(game: SSGInstance) -> None:
    """pwla_mode='adaptive' (ERM): max(bound outside the refined box, bound inside it) contains
    the continuous optimum and is tighter than the single grid; both sub-models agree with
    enumeration of their grid points (exclusion row / sub-box)."""
    from dro_opt.models.security_game.cell_curvature import cell_curvature
    from dro_opt.models.security_game.misocp import ssg_pieces
    from dro_opt.models.security_game.refine import refine_erm
    from dro_opt.models.security_game.solve import SCIP_OPTIONS
    from dro_opt.solvers.base import SolveOptions
    from dro_opt.solvers.registry import solve

    oracle = _fine_oracle(game, "erm", 0.0)
    K = 12  # one refinement round here (K = 8 takes three)
    single = solve_ssg(game, "erm", 0.0, pieces=K, gap=1e-7, pwla_mode="curvature")
    res = solve_ssg(game, "erm", 0.0, pieces=K, gap=1e-7)  # default: adaptive
    _contains(res.certificate, oracle)
    assert [e.get("part") for e in res.extra["solves"]][:3] == [None, "inside", "outside"]
    assert res.certificate.upper < single.certificate.upper - 0.05
    assert res.certificate.gap < 0.01  # the ERM target of the task, reached at K = 12

    def enumerate_bound(pieces: int, box=None, exclude=None) -> float:
        data = ssg_pieces(game, pieces, None, box)
        off = cell_curvature(game, pieces, box).offsets()
        idx = np.array(list(itertools.product(range(pieces + 1), repeat=3)))
        j = np.arange(3)
        z = data.grid.points[j, idx]
        keep = z.sum(axis=1) <= game.budget + 1e-9
        if exclude is not None:
            inside = ((idx > exclude[0]) & (idx < exclude[1])).all(axis=1)
            keep &= ~inside
        idx = idx[keep]
        ratio = (data.G + off)[:, j, idx].sum(axis=2) / data.H[:, j, idx].sum(axis=2)
        return float(ratio.mean(axis=0).max()) - data.shift

    seen = []

    def run(model):
        out = solve(model.problem, "scip", SolveOptions(gap=1e-9, extra=dict(SCIP_OPTIONS)))
        seen.append((model, out))
        return out

    center = np.asarray(single.extra["grid_decision"])
    ref = refine_erm(game, K, center, run, rounds=1)
    assert ref is not None and len(seen) == 2
    (in_model, in_res), (out_model, out_res) = seen
    a = np.clip(np.rint(center * K).astype(int) - 2, 0, K - 4)
    assert out_res.bound - out_model.shift == pytest.approx(
        enumerate_bound(K, exclude=(a, a + 4)), abs=1e-5
    )
    assert in_res.bound - in_model.shift == pytest.approx(
        enumerate_bound(16, box=(a / K, (a + 4) / K)), abs=1e-5
    )
    assert ref.upper == pytest.approx(max(b["bound"] for b in ref.solves), abs=1e-12)


def test_ball_dual_lemma_and_repair() -> None:
    """dual_bound's Lemma: the master's P attains Phi(y) for one point (VR over the signed ball,
    chi-square over the non-negative one), lies in the ball after the repair, and bounds Phi
    from above at every other utility vector (weak duality)."""
    from dro_opt.models.security_game.dual_bound import ball_weights, repair
    from dro_opt.models.security_game.objective import objective_from_values

    rng = np.random.default_rng(7)
    q = rng.uniform(0.5, 2.0, 9)
    n = q.sum()
    p = q / n
    for rho in (0.5, 5.0, 200.0):
        for objective, signed in (("variance", True), ("chi2", False)):
            y = rng.normal(size=9)
            P = ball_weights(y, q, rho, signed)
            assert P.sum() == pytest.approx(1.0, abs=1e-12)
            assert ((P - p) ** 2 / p).sum() <= 2 * rho / n
            assert signed or (P >= 0).all()
            phi = objective_from_values(y, q, objective, rho)
            assert P @ y == pytest.approx(phi, abs=1e-6 * max(1.0, abs(phi)))
            Y = rng.normal(size=(50, 9))
            assert all(objective_from_values(v, q, objective, rho) <= P @ v + 1e-12 for v in Y)
    far = repair(p + 10.0 * rng.normal(size=9), p, 0.3, signed=False)  # outside: shrunk in
    assert (far >= 0).all() and ((far - p) ** 2 / p).sum() <= 0.09


def test_signed_curvature_offsets_bracket_f(game: SSGInstance) -> None:
    """cell_curvature's ERM theorem and its Corollary: for z in a cell whose corners are all
    feasible, with the product corner weights w (mean z), sum_c w_c fdown(c) <= f(z) <=
    sum_c w_c fup(c) for every type; the bracket is second order (K = 5 -> 10: ~1/4)."""
    from dro_opt.models.security_game.cell_curvature import cell_curvature
    from dro_opt.models.security_game.misocp import ssg_pieces

    rng = np.random.default_rng(11)
    corners = np.array(list(itertools.product((0, 1), repeat=3)))
    j = np.arange(3)
    width = {}
    for K in (5, 10):
        cc = cell_curvature(game, K)
        up, down = cc.offsets(), cc.offsets(convex=True)
        data = ssg_pieces(game, K)
        checked, widest = 0, 0.0
        while checked < 150:
            cell = rng.integers(0, K, 3)
            if (cell + 1).sum() > game.budget * K:
                continue
            x = rng.uniform(0.0, 1.0, 3)
            w = np.prod(np.where(corners == 1, x, 1 - x), axis=1)
            idx = cell + corners
            num, den = data.G[:, j, idx].sum(axis=2), data.H[:, j, idx].sum(axis=2)
            f_up = ((num + up[:, j, idx].sum(axis=2)) / den) @ w - data.shift
            f_down = ((num - down[:, j, idx].sum(axis=2)) / den) @ w - data.shift
            f = defender_values(game, (cell + x) / K)
            assert (f_down <= f + 1e-9).all() and (f <= f_up + 1e-9).all()
            widest = max(widest, float((f_up - f_down).max()))
            checked += 1
        width[K] = widest
    assert width[10] < 0.4 * width[5], width


@pytest.mark.parametrize("objective", ["variance", "chi2"])
def test_ball_dual_model_bound(game: SSGInstance, objective: str) -> None:
    """The P-weighted model of dual_bound: its proven bound equals the enumeration of
    max_c P'fmod(c) over the feasible grid (signed offsets by the sign of P_n) and is >= the
    continuous optimum of the VR / chi-square game (fine-grid oracle)."""
    from dro_opt.models.security_game.cell_curvature import cell_curvature
    from dro_opt.models.security_game.dual_bound import ball_weights
    from dro_opt.models.security_game.misocp import ssg_pieces
    from dro_opt.models.security_game.solve import SCIP_OPTIONS
    from dro_opt.solvers.base import SolveOptions
    from dro_opt.solvers.registry import solve

    rho, K = 2.0, 6
    signed = objective == "variance"
    P = ball_weights(defender_values(game, np.full(3, 1 / 3)), game.weights, rho, signed)
    assert (P < 0).any() == signed  # the VR worst case here has a negative weight
    model = build_ssg_misocp(game, "erm", 0.0, K, "curvature", dual_weights=P)
    res = solve(model.problem, "scip", SolveOptions(gap=1e-9, extra=dict(SCIP_OPTIONS)))
    bound = res.bound - model.shift
    cc = cell_curvature(game, K)
    off = np.where((P < 0)[:, None, None], -cc.offsets(convex=True), cc.offsets())
    data = ssg_pieces(game, K)
    idx = np.array([k for k in itertools.product(range(K + 1), repeat=3) if sum(k) <= K])
    j = np.arange(3)
    fmod = (data.G + off)[:, j, idx].sum(axis=2) / data.H[:, j, idx].sum(axis=2) - data.shift
    assert bound == pytest.approx(float((P @ fmod).max()), abs=1e-5)
    assert bound >= _fine_oracle(game, objective, rho) - 1e-9


def test_ball_dual_certificate_is_tight(game: SSGInstance) -> None:
    """solve_ssg (default adaptive) for VR at K = 12: the ball dual proves the upper (its line
    is in the model), the interval contains the continuous optimum and the gap is < 0.01 (the
    grid restriction's first-order line alone leaves more than 0.5 here)."""
    rho = 2.0
    res = solve_ssg(game, "variance", rho, pieces=12, gap=1e-6)
    cert = res.certificate
    assert "P'f(z)" in cert.lines[0].note and cert.lines[1].value == 0.0
    _contains(cert, _fine_oracle(game, "variance", rho))
    assert cert.gap < 0.01
    assert [e.get("part") for e in res.extra["solves"]][1] == "dual"
    restricted = pwla_line_for(game, 12, "variance", rho, "restriction").value
    assert restricted > 0.5


def test_polish_runs_inside_the_time_limit() -> None:
    """The solves stop POLISH_RESERVE early, so a MISOCP cut by the time limit still gets its
    decision polished (before, the polish was skipped once the limit was reached)."""
    import time

    from dro_opt.models.security_game.generator import generate_ssg
    from dro_opt.models.security_game.solve import solve_ssg

    inst = generate_ssg(3, 12, seed=0)
    t0 = time.perf_counter()
    res = solve_ssg(inst, "variance", 1e3, pieces=8, time_limit=1.0)
    assert time.perf_counter() - t0 < 1.0 + 2.5  # the budget (plus the model build's slack)
    assert res.status.value == "time_limit"
    assert res.extra["polished"] and res.objective > res.extra["grid_objective"]
