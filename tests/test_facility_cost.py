"""MC-FCP (paper 003 Sec. 3.2, App. I): derivation, exact objective and Jacobian, certified
intervals against a fine-grid + polish oracle on tiny instances, reductions, baselines, CLI."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.optimize import minimize

from dro_opt.algorithms.gradient_baselines import exact_objective
from dro_opt.cli import main
from dro_opt.errors import InstanceError, ParameterError
from dro_opt.models.facility_cost import (
    FCPInstance,
    capture_probabilities,
    evaluate,
    from_log_odds,
    solve_mc_fcp,
    values_and_jacobian,
    write_json,
)
from dro_opt.models.facility_cost.cluster_taylor import cluster_mean_bounds
from dro_opt.models.facility_cost.misocp import pwla_errors
from dro_opt.models.facility_cost.reduce import _features, pair_bounds, reduce_clients
from dro_opt.reductions.representatives import choose_representatives

BUDGET = 1.0


def tiny(N: int = 6, M: int = 2, seed: int = 0) -> FCPInstance:
    rng = np.random.default_rng(seed)
    a = rng.normal(-0.5, 0.8, size=(N, M))
    q = rng.integers(1, 4, size=N).astype(float)
    return from_log_odds(q, a, theta=0.3)


def batch_capture(inst: FCPInstance, Z: np.ndarray) -> np.ndarray:
    """(P, N) capture probabilities of many decisions, written independently of the package."""
    A = np.exp(inst.bias)[None] * np.expm1(inst.rate[None] * Z[:, None, :])
    S = A.sum(axis=2)
    return S / (1.0 + S)


def oracle(inst: FCPInstance, objective: str, rho: float) -> float:
    """Max over a fine grid of {z in [0,1]^2, z1 + z2 <= B} and the budget line, then polished
    by SLSQP from the best points: a (near-)global optimum of the continuous problem."""
    g = np.linspace(0.0, 1.0, 81)
    Z = np.array([(x, y) for x in g for y in g if x + y <= BUDGET + 1e-12])
    line = np.linspace(0.0, BUDGET, 801)
    Z = np.vstack([Z, np.column_stack([line, BUDGET - line])])
    F = batch_capture(inst, Z)
    vals = np.array([exact_objective(f, inst.q, objective, rho) for f in F])
    best = float(vals.max())
    for k in np.argsort(vals)[-3:]:
        res = minimize(
            lambda z: -exact_objective(batch_capture(inst, z[None])[0], inst.q, objective, rho),
            Z[k],
            method="SLSQP",
            bounds=[(0.0, 1.0)] * 2,
            constraints=[{"type": "ineq", "fun": lambda z: BUDGET - z.sum()}],
        )
        z = np.clip(res.x, 0.0, 1.0)
        if z.sum() <= BUDGET:
            best = max(
                best, exact_objective(batch_capture(inst, z[None])[0], inst.q, objective, rho)
            )
    return best


# ------------------------------------------------------------------------ model and data
def test_derivation_reproduces_utilities_and_means_no_facility_at_zero() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(-1.0, 1.5, size=(20, 4))
    a[3, 2] = -np.inf
    inst = from_log_odds(np.ones(20), a, upper=2.0, theta=0.5, margin=1.0)
    finite = np.isfinite(a)
    assert (inst.rate[finite] > 0).all() and inst.rate[3, 2] == 0.0
    assert np.allclose((inst.bias + inst.rate * 2.0)[finite], a[finite])
    assert np.array_equal(capture_probabilities(inst, np.zeros(4)), np.zeros(20))
    f1 = capture_probabilities(inst, np.full(4, 0.5))
    f2 = capture_probabilities(inst, np.full(4, 1.0))
    assert (f2 > f1).all() and (f1 > 0).all()


def test_jacobian_matches_finite_differences() -> None:
    inst = tiny(N=9, M=3, seed=2)
    z = np.array([0.2, 0.5, 0.1])
    f, J = values_and_jacobian(inst, z)
    assert np.allclose(f, capture_probabilities(inst, z))
    h = 1e-6
    for j in range(3):
        e = np.eye(3)[j] * h
        fd = (capture_probabilities(inst, z + e) - capture_probabilities(inst, z - e)) / (2 * h)
        assert np.allclose(J[:, j], fd, rtol=1e-5, atol=1e-10)


def test_bad_instances_and_parameters_raise_typed_errors() -> None:
    with pytest.raises(InstanceError):
        FCPInstance(np.ones(2), np.zeros((2, 2)), np.ones((2, 3)), np.ones(2))
    with pytest.raises(InstanceError):
        FCPInstance(np.ones(2), np.full((2, 2), np.nan), np.ones((2, 2)), np.ones(2))
    with pytest.raises(InstanceError):
        FCPInstance(np.ones(2), np.zeros((2, 2)), -np.ones((2, 2)), np.ones(2))
    inst = tiny()
    for kw in (dict(budget=-1.0), dict(budget=3.0), dict(pieces=0), dict(rho=-1.0)):
        args = dict(budget=BUDGET, pieces=4, rho=1.0)
        args.update(kw)
        with pytest.raises(ParameterError):
            solve_mc_fcp(inst, args.pop("budget"), "variance", **args)


# ------------------------------------------------------------------------ certificates
@pytest.mark.parametrize("method", ["secant", "pwla"])
@pytest.mark.parametrize(
    ("objective", "rho", "seed"), [("erm", 0.0, 0), ("variance", 3.0, 1), ("chi2", 3.0, 2)]
)
def test_certified_interval_contains_the_continuous_optimum(
    objective: str, rho: float, seed: int, method: str
) -> None:
    inst = tiny(seed=seed)
    res = solve_mc_fcp(inst, BUDGET, objective, rho, pieces=4, method=method)
    opt = oracle(inst, objective, rho)
    cert = res.certificate
    assert cert is not None and cert.upper is not None
    assert cert.lower <= opt + 1e-9 <= cert.upper + 1e-9
    z = res.solution["z"]
    assert z.sum() <= BUDGET + 1e-12 and (z >= 0).all()
    assert res.objective == pytest.approx(evaluate(inst, z, objective, rho), abs=1e-15)
    names = {line.name for line in cert.lines}
    assert "solver_bound" in names and (("pwla" in names) == (method == "pwla"))


def test_pwla_line_shrinks_with_pieces() -> None:
    inst = tiny(N=15, M=3, seed=4)
    errs = [pwla_errors(inst, BUDGET, K).mean() for K in (2, 4, 8, 16, 32)]
    assert all(b < a for a, b in itertools.pairwise(errs))


@pytest.mark.parametrize(("budget", "pieces"), [(1.0, 4), (1.5, 8)])
def test_budget_aware_pwla_errors_are_valid_and_tighter(budget: float, pieces: int) -> None:
    """eps_n >= |f_n(z) - f_n(round_down(z))| on sampled feasible z (many on the budget face),
    and never above the rule's bound."""
    inst = tiny(N=10, M=3, seed=11)
    eps = pwla_errors(inst, budget, pieces)
    rule = pwla_errors(inst, budget, pieces, budget_aware=False)
    assert (eps <= rule * (1 + 1e-12)).all() and (eps < rule).any()
    rng = np.random.default_rng(3)
    W = rng.dirichlet(np.ones(3), size=4000) * budget * rng.uniform(0.5, 1.0, size=(4000, 1))
    Z = np.minimum(W, 1.0)
    delta = 1.0 / pieces
    Zd = np.floor(Z / delta + 1e-12) * delta
    worst = np.abs(batch_capture(inst, Z) - batch_capture(inst, Zd)).max(axis=0)
    assert (worst <= eps + 1e-12).all()


def test_clustering_keeps_the_certificate_valid_and_re_evaluates_on_full_data() -> None:
    inst = tiny(N=30, seed=5)
    res = solve_mc_fcp(inst, BUDGET, "erm", 0.0, pieces=4, clusters=4)
    opt = oracle(inst, "erm", 0.0)
    cert = res.certificate
    assert cert.lower <= opt + 1e-9 <= cert.upper + 1e-9
    assert "reduction" in {line.name for line in cert.lines}
    assert res.objective == pytest.approx(evaluate(inst, res.solution["z"], "erm"), abs=1e-15)
    assert res.extra["reduction"]["representatives"] == 4


def test_stratified_sampling_keeps_the_certificate_valid() -> None:
    inst = tiny(N=24, seed=9)
    res = solve_mc_fcp(inst, BUDGET, "chi2", 4.0, pieces=4, strata=3, per_stratum=2, seed=1)
    cert = res.certificate
    assert res.extra["reduction"]["representatives"] == 6
    assert cert.lower <= oracle(inst, "chi2", 4.0) + 1e-9 <= cert.upper + 1e-9
    assert res.objective == pytest.approx(evaluate(inst, res.solution["z"], "chi2", 4.0))


def test_pair_bounds_dominate_sampled_differences() -> None:
    full, rep = tiny(N=12, M=3, seed=6), tiny(N=12, M=3, seed=7)
    rows, cols = np.arange(12), np.arange(12)[::-1]
    d = pair_bounds(full, rep, rows, cols, np.ones(3))
    rng = np.random.default_rng(0)
    Z = rng.uniform(0.0, 1.0, size=(2000, 3))
    diff = np.abs(batch_capture(full, Z)[:, rows] - batch_capture(rep, Z)[:, cols]).max(axis=0)
    assert (diff <= d + 1e-12).all() and (d < np.inf).all()


def _box_points(M: int, seed: int) -> np.ndarray:
    """A grid of the box [0, 1]^M, tiny investments and single-location ones."""
    g = np.linspace(0.0, 1.0, 9)
    grid = np.array(list(itertools.product(g, repeat=M)))
    rng = np.random.default_rng(seed)
    single = np.kron(np.eye(M), np.geomspace(1e-4, 1.0, 9)[:, None])
    return np.vstack([grid, 1e-3 * rng.uniform(size=(200, M)), single])


def _clustered(inst: FCPInstance, clusters: int) -> tuple[FCPInstance, np.ndarray, float]:
    red, (line,), _ = reduce_clients(inst, BUDGET, "erm", 0.0, clusters, None, None, 0)
    labels = choose_representatives(_features(inst), inst.q, clusters=clusters, seed=0).labels
    return red, labels, line.value


@pytest.mark.parametrize("shift", [0.0, 0.05])
def test_cluster_mean_bounds_hold_on_a_grid_and_beat_the_pair_bounds(shift: float) -> None:
    """models/facility_cost/cluster_taylor.py: ``|fhat_k(z) - g_k(z)| <= e_k`` for the mean
    capture of each cluster against its centroid, on a grid of the box (independent capture
    formula); ``shift`` moves the centroids off the mean, so the gradient term must carry it."""
    inst = tiny(N=60, M=3, seed=11)
    red, labels, _ = _clustered(inst, 6)
    red = FCPInstance(red.q, red.bias + shift, red.rate * (1 + shift), red.upper)
    e = cluster_mean_bounds(inst, red, labels, np.ones(3))
    Z = _box_points(3, seed=2)
    w = np.bincount(labels, weights=inst.q)
    member = (labels[None, :] == np.arange(red.num_clients)[:, None]) * inst.q / w[:, None]

    def error(z: np.ndarray) -> np.ndarray:
        return batch_capture(inst, z) @ member.T - batch_capture(red, z)

    errors = error(Z)
    worst = np.abs(errors).max(axis=0)
    for k, sign in itertools.product(range(red.num_clients), (1.0, -1.0)):  # local maxima
        start = Z[np.argmax(sign * errors[:, k])]
        res = minimize(
            lambda z, k=k, sign=sign: -sign * error(z[None])[0, k], start, bounds=[(0.0, 1.0)] * 3
        )
        worst[k] = max(worst[k], abs(error(np.clip(res.x, 0.0, 1.0)[None])[0, k]))
    assert (worst <= e).all()
    assert (worst / e).max() > 0.3  # not vacuous
    d = pair_bounds(inst, red, np.arange(inst.num_clients), labels, np.ones(3))
    first_order = np.bincount(labels, weights=inst.q * d) / w
    assert (e < first_order).all()


@pytest.mark.parametrize(("objective", "rho"), [("erm", 0.0), ("variance", 20.0), ("chi2", 4.0)])
def test_clustering_line_bounds_the_objective_gap_on_a_grid(objective: str, rho: float) -> None:
    """The clustering line (per-cluster bounds, dro_opt/reductions/representatives.py,
    ``representative_line``) bounds ``F_full(z) - F_reduced(z)`` on a grid of the box and is
    below the coupling line of the first-order pair bounds alone."""
    inst = tiny(N=60, M=3, seed=12)
    red, (line,), info = reduce_clients(inst, BUDGET, objective, rho, 6, None, None, 0)
    assert line.rigorous and 0 < line.value < info["coupling_bound"]
    Z = _box_points(3, seed=3)
    full, reduced = batch_capture(inst, Z), batch_capture(red, Z)
    diff = np.array(
        [
            exact_objective(f, inst.q, objective, rho) - exact_objective(g, red.q, objective, rho)
            for f, g in zip(full, reduced, strict=True)
        ]
    )
    assert diff.max() <= line.value
    assert diff.max() > 0.05 * line.value  # not vacuous


@pytest.mark.parametrize("method", ["pga", "tt-gad"])
def test_baselines_report_exact_values_and_no_bound(method: str) -> None:
    inst = tiny(seed=8)
    res = solve_mc_fcp(inst, BUDGET, "variance", 3.0, method=method, restarts=3)
    assert res.bound is None and res.certificate.upper is None
    z = res.solution["z"]
    assert res.objective == pytest.approx(evaluate(inst, z, "variance", 3.0), abs=1e-15)
    assert res.objective <= oracle(inst, "variance", 3.0) + 1e-9


# ----------------------------------------------------------------------------------- CLI
@dataclass
class Ran:
    returncode: int
    stderr: str


@pytest.fixture
def run_cli(capsys):
    """``dro-opt ARGS`` in-process (same entry point as the console script)."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = main(list(args))
        return Ran(code, capsys.readouterr().err)

    return run


def test_cli_solve_writes_the_contract_json(tmp_path, run_cli) -> None:
    inst_path = write_json(tiny(seed=0), tmp_path / "fcp.json")
    out = tmp_path / "out.json"
    cp = run_cli(
        "solve", "mc-fcp", str(inst_path), "--budget", "1", "--objective", "chi2", "--rho",
        "3", "--pieces", "4", "--json", str(out),
    )  # fmt: skip
    assert cp.returncode == 0, cp.stderr
    d = json.loads(out.read_text())
    for key in ("status", "objective", "bound", "gap", "investment", "certificate", "solver"):
        assert key in d
    assert {"method", "build_seconds", "solve_seconds"} <= set(d)
    assert set(d["certificate"]) >= {"lower", "upper", "gap", "lines"}
    assert d["objective"] == pytest.approx(
        evaluate(tiny(seed=0), np.array(d["investment"]), "chi2", 3.0)
    )
    assert d["certificate"]["lower"] <= d["bound"] and len(d["investment"]) == 2


def test_cli_generate_then_baseline(tmp_path, run_cli) -> None:
    path = tmp_path / "gen.json"
    cp = run_cli("generate", "mc-fcp", str(path), "--clients", "20", "--locations", "4")
    assert cp.returncode == 0, cp.stderr
    out = tmp_path / "pga.json"
    cp = run_cli(
        "solve", "mc-fcp", str(path), "--budget", "2", "--method", "pga", "--objective",
        "variance", "--rho", "5", "--restarts", "2", "--json", str(out),
    )  # fmt: skip
    assert cp.returncode == 0, cp.stderr
    d = json.loads(out.read_text())
    assert d["bound"] is None and d["method"] == "pga" and sum(d["investment"]) <= 2 + 1e-12


@pytest.mark.parametrize(
    "extra",
    [
        ["--budget", "-1"],
        ["--budget", "5"],
        ["--budget", "1", "--pieces", "0"],
        ["--budget", "1", "--rho", "-2", "--objective", "chi2"],
        ["--budget", "1", "--rho", "2"],
        ["--budget", "1", "--method", "pga", "--clusters", "3"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, run_cli, extra: list[str]) -> None:
    inst_path = write_json(tiny(seed=0), tmp_path / "fcp.json")
    out = tmp_path / "never.json"
    cp = run_cli("solve", "mc-fcp", str(inst_path), *extra, "--json", str(out))
    assert cp.returncode == 2
    assert len(cp.stderr.strip().splitlines()) == 1 and "error" in cp.stderr
    assert not out.exists()


def test_cli_bad_instance_files_exit_2(tmp_path, run_cli) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"weights": [1, 1], "bias": [[0, 0]], "rate": [[1, 1]], "upper": [1, 1]})
    )
    nan = tmp_path / "nan.json"
    nan.write_text('{"weights": [1], "bias": [[NaN, 0]], "rate": [[1, 1]], "upper": [1, 1]}')
    for path in (bad, nan, tmp_path / "missing.json"):
        cp = run_cli("solve", "mc-fcp", str(path), "--budget", "1")
        assert cp.returncode == 2 and len(cp.stderr.strip().splitlines()) == 1, cp.stderr
