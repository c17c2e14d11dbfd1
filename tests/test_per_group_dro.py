"""Per-Group DRO (paper 001): the exact conic lower level, Algorithm 1, Prop. 1, Algorithm 2.

* reductions: eps = 0 with a phi-ball holding the whole simplex (TV radius 2) is GroupDRO; one
  group is the pooled Wasserstein DRO classifier of the modelling layer (for the hinge that one
  is the independent max-affine dual of Mohajerin Esfahani & Kuhn);
* against an independent cvxpy model of the KL case (exponential-cone dual written here) and a
  brute-force grid over the group weights at the fitted point;
* Prop. 1's bound holds (and is not trivially loose);
* Algorithm 1 run to convergence on the linear hinge model agrees with the exact model; the
  budget projection against cvxpy; the MLP gradients against finite differences;
* eq. (9) for loss-and-gradient models (PGD inner sup) equals the closed form of the exact
  linear model on the hinge; the MLP evaluation of Algorithm 2 is that estimate after Alg. 1;
* Algorithm 2: trials logged, the best is their minimum, process pool and Dask give the
  serial values; bad input.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import approx_fprime
from sklearn.utils.estimator_checks import parametrize_with_checks

from dro_opt.ambiguity import phi_divergence
from dro_opt.errors import ParameterError
from dro_opt.models.classification import DROLinearSVC, DROLogisticRegression
from dro_opt.models.group_dro import GroupDROClassifier
from dro_opt.models.iterative_best_response import (
    iterative_best_response,
    project_displacements,
    robust_validation_estimate,
)
from dro_opt.models.numpy_models import MLP, LinearModel
from dro_opt.models.per_group_dro import PerGroupDROClassifier, robust_validation_loss
from dro_opt.models.radius_search import (
    differentiable_evaluation,
    linear_evaluation,
    search_radii,
)

TIGHT = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}


def instance(seed: int, n: int = 120, d: int = 2, G: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    g = rng.integers(0, G, n)
    y = X @ np.r_[1.0, -1.0, np.zeros(d - 2)] + 0.5 * g * X[:, 1] + 0.3 * rng.normal(size=n) > 0
    return X, y.astype(int), g


def exact_objective(loss, phi, rho, eps, alpha, X, y, g, w, b) -> float:
    ypm = np.where(y == 1, 1.0, -1.0)
    m = ypm * (X @ w + b)
    per = np.maximum(1 - m, 0) if loss == "hinge" else np.logaddexp(0, -m)
    counts = np.bincount(g)
    robust = np.bincount(g, weights=per) / counts + np.asarray(eps) * np.linalg.norm(w)
    wc = phi_divergence(phi, rho).worst_case_distribution(robust, counts / counts.sum())
    return wc.dual_value + 0.5 * alpha * w @ w


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_reduces_to_group_dro(loss) -> None:
    X, y, g = instance(0)
    per = PerGroupDROClassifier(loss, phi="tv", rho=2.0, eps=0.0, alpha=0.2).fit(X, y, groups=g)
    gdro = GroupDROClassifier(loss, alpha=0.2).fit(X, y, groups=g)
    assert abs(per.robust_objective_ - gdro.robust_objective_) < 1e-6
    np.testing.assert_allclose(per.coef_, gdro.coef_, atol=1e-4)


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_one_group_is_pooled_wasserstein_dro(loss) -> None:
    X, y, _ = instance(1)
    per = PerGroupDROClassifier(loss, phi="kl", rho=0.5, eps=0.3, alpha=0.1).fit(X, y)
    cls = DROLinearSVC if loss == "hinge" else DROLogisticRegression
    pooled = cls("wasserstein", radius=0.3, alpha=0.1).fit(X, y)
    assert abs(per.robust_objective_ - pooled.robust_objective_) < 1e-6
    np.testing.assert_allclose(per.coef_, pooled.coef_, atol=1e-4)
    assert per.group_weights_.tolist() == [1.0]


@pytest.mark.parametrize("loss", ["logistic", "hinge"])
def test_against_independent_kl_model(loss) -> None:
    """sup_{KL(p||p_hat) <= rho} p'L = inf_{lam > 0} lam rho + lam log sum p_hat exp(L / lam)."""
    X, y, g = instance(2)
    eps, rho, a = np.array([0.1, 0.0, 0.3]), 0.2, 0.1
    est = PerGroupDROClassifier(loss, phi="kl", rho=rho, eps=eps, alpha=a).fit(X, y, groups=g)
    ypm = np.where(y == 1, 1.0, -1.0)
    w, b, lam, t = cp.Variable(2), cp.Variable(), cp.Variable(nonneg=True), cp.Variable()
    u = cp.Variable(3)
    m = (ypm[:, None] * X) @ w + ypm * b
    per = cp.pos(1 - m) if loss == "hinge" else cp.logistic(-m)
    L = cp.hstack([cp.sum(per[np.flatnonzero(g == k)]) / np.sum(g == k) for k in range(3)])
    L = L + eps * cp.norm(w, 2)
    p_hat = np.bincount(g) / g.size
    z = cp.Variable(3)  # epigraph of the convex group losses (ExpCone takes affine args)
    cons = [z >= L, cp.ExpCone(z - t, lam * np.ones(3), u), p_hat @ u <= lam]
    prob = cp.Problem(cp.Minimize(lam * rho + t + a / 2 * cp.sum_squares(w)), cons)
    prob.solve(solver=cp.CLARABEL, **TIGHT)
    assert abs(prob.value - est.robust_objective_) < 1e-6
    assert est.lower_bound_ <= prob.value + 1e-8 <= est.robust_objective_ + 2e-8
    assert est.status_ == "optimal"
    # brute force over the group weights at the fitted point (2-d simplex grid)
    s = np.linspace(0, 1, 401)
    P = np.array([(a1, a2, 1 - a1 - a2) for a1 in s for a2 in s if a1 + a2 <= 1 + 1e-12])
    P = np.clip(P, 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(P > 0, P * np.log(P / p_hat), 0.0).sum(1)
    best = (P[kl <= rho] @ est.group_robust_losses_).max()
    assert best <= est.robust_loss_ + 1e-9 and est.robust_loss_ - best < 2e-3


@pytest.mark.parametrize("phi", ["kl", "chi2", "tv"])
def test_prop1_bound(phi) -> None:
    X, y, g = instance(3)
    est = PerGroupDROClassifier("logistic", phi=phi, rho=0.3, eps=[0.2, 0.0, 0.5], alpha=0.1)
    est.fit(X, y, groups=g)
    robust = est.group_weights_ @ est.group_robust_losses_
    assert abs(robust - est.robust_loss_) < 1e-12
    assert est.robust_loss_ <= est.prop1_bound_
    nominal = est.group_proportions_ @ est.group_losses_
    assert est.robust_loss_ > nominal  # the robust loss is really above the nominal one
    # the bound as written in paper 001 eq. (3), recomputed here
    Lg, p = est.group_losses_, est.group_weights_
    rhs = nominal + np.linalg.norm(p) * np.sqrt(np.sum((Lg - nominal) ** 2))
    rhs += np.linalg.norm(est.coef_) * p @ est.eps_
    assert abs(rhs - est.prop1_bound_) < 1e-12


def test_algorithm1_agrees_with_exact_model_on_linear_hinge() -> None:
    X, y, g = instance(0, n=150)
    kw = {"phi": "kl", "rho": 0.2, "eps": [0.1, 0.0, 0.3]}
    est = PerGroupDROClassifier("hinge", alpha=0.5, **kw).fit(X, y, groups=g)
    ypm = np.where(y == 1, 1.0, -1.0)
    res = iterative_best_response(
        LinearModel(2, "hinge"), np.zeros(3), X, ypm, g, alpha=0.5, epochs=300, **kw
    )
    w, b = res.theta[:2], res.theta[2]
    exact = exact_objective("hinge", "kl", 0.2, kw["eps"], 0.5, X, y, g, w, b)
    # Algorithm 1's point is feasible: never below the optimum; converged to it
    assert exact >= est.robust_objective_ - 1e-7
    assert exact - est.robust_objective_ < 1e-4
    np.testing.assert_allclose(res.theta, [*est.coef_[0], est.intercept_[0]], atol=5e-3)
    # its PGD inner maximum reaches the closed form E + eps ||w|| (hinge, module docstring)
    m = ypm * (X @ w + b)
    closed = np.bincount(g, weights=np.maximum(1 - m, 0)) / np.bincount(g)
    closed = closed + np.asarray(kw["eps"]) * np.linalg.norm(w)
    np.testing.assert_allclose(res.group_robust_losses, closed, atol=1e-9)
    assert abs(res.objective - exact) < 1e-6


def test_budget_projection_against_cvxpy() -> None:
    rng = np.random.default_rng(0)
    D = rng.normal(size=(9, 2))
    codes = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    budget = np.array([0.5, 10.0, 0.0])
    P = project_displacements(D, codes, budget)
    Z = cp.Variable((9, 2))
    cons = [cp.sum(cp.norm(Z[codes == k], 2, axis=1)) <= budget[k] for k in range(3)]
    cp.Problem(cp.Minimize(cp.sum_squares(Z - D)), cons).solve(solver=cp.CLARABEL, **TIGHT)
    np.testing.assert_allclose(P, Z.value, atol=1e-6)
    np.testing.assert_array_equal(P[3:7], D[3:7])  # inside the ball: unchanged
    assert not P[7:].any()  # budget 0


def test_mlp_gradients_and_algorithm1() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    ypm = np.sign(rng.normal(size=7))
    wts = rng.random(7)
    mlp = MLP(3, (5, 4), seed=1)
    th = mlp.init() + 0.1 * rng.normal(size=mlp.init().size)
    num = approx_fprime(th, lambda t: wts @ mlp.losses(t, X, ypm), 1e-7)
    np.testing.assert_allclose(mlp.grad_theta(th, X, ypm, wts), num, atol=1e-6)
    gx = mlp.grad_x(th, X, ypm)
    for i in range(7):
        f = lambda x, i=i: mlp.losses(th, x[None], ypm[i : i + 1])[0]  # noqa: E731
        np.testing.assert_allclose(gx[i], approx_fprime(X[i], f, 1e-7), atol=1e-6)
    Xg, yg, g = instance(4, n=90)
    model = MLP(2, (8,), seed=0)
    res = iterative_best_response(
        model, model.init(), Xg, np.where(yg == 1, 1.0, -1.0), g, rho=0.1, eps=0.1, epochs=60
    )
    assert res.history[-1] < res.history[0]
    assert res.group_weights.shape == (3,) and abs(res.group_weights.sum() - 1) < 1e-9


def test_radius_search_serial_pool_and_dask() -> None:
    Xt, yt, gt = instance(5, n=90, G=2)
    Xv, yv, gv = instance(6, n=60, G=2)
    ev = linear_evaluation((Xt, yt, gt), (Xv, yv, gv), "logistic", "kl", 0.1)
    kw = {"init": "grid", "grid_levels": 2, "n_iter": 2, "seed": 0}
    box = ((0.0, 1.0), [(0.0, 0.5), (0.0, 0.5)])
    serial = search_radii(ev, *box, **kw)
    assert len(serial.trials) == 10 and [t.phase for t in serial.trials].count("init") == 8
    assert serial.value == min(t.value for t in serial.trials)
    assert all(np.isfinite(t.value) and not t.message for t in serial.trials)  # rho = 0 too
    # every logged value is eq. (9) of the fit with those radii
    t = serial.trials[-1]
    est = PerGroupDROClassifier("logistic", "kl", t.rho, np.array(t.eps), 0.1).fit(
        Xt, yt, groups=gt
    )
    assert abs(robust_validation_loss(est, Xv, yv, gv) - t.value) < 1e-9
    pool = search_radii(ev, *box, **{**kw, "n_iter": 0}, n_jobs=2)
    by_pt = {(t.rho, t.eps): t.value for t in serial.trials}
    for t in pool.trials:
        assert abs(by_pt[(t.rho, t.eps)] - t.value) < 1e-7
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, dashboard_address=None) as client:
        dask = search_radii(ev, *box, **{**kw, "n_iter": 0}, client=client)
    for t in dask.trials:
        assert abs(by_pt[(t.rho, t.eps)] - t.value) < 1e-7


def test_radius_search_progress_only_when_verbose(capsys) -> None:
    Xt, yt, gt = instance(5, n=60, G=2)
    ev = linear_evaluation((Xt, yt, gt), (Xt, yt, gt), "hinge", "tv", 0.1)
    search_radii(ev, (0, 1), [(0, 0.2), (0, 0.2)], init=2, n_iter=1)
    assert capsys.readouterr().out == ""
    search_radii(ev, (0, 1), [(0, 0.2), (0, 0.2)], init=2, n_iter=1, verbose=True)
    out = capsys.readouterr().out
    assert out.count("radius search") == 3 and "3/3 [gp-ei]" in out


def test_bad_input() -> None:
    X, y, g = instance(0)
    with pytest.raises(ParameterError, match="rho"):
        PerGroupDROClassifier(rho=-0.1).fit(X, y, groups=g)
    with pytest.raises(ParameterError, match="eps"):
        PerGroupDROClassifier(eps=[0.1, -0.2, 0.0]).fit(X, y, groups=g)
    with pytest.raises(ParameterError, match="no samples"):
        PerGroupDROClassifier(eps=[0.1, 0.2, 0.0, 0.3]).fit(X, y, groups=g)
    with pytest.raises(ParameterError, match="one group label per row"):
        PerGroupDROClassifier().fit(X, y, groups=g[:10])
    gg = g.copy()
    gg[y == 0] = 0
    with pytest.raises(ParameterError, match="one class only"):
        PerGroupDROClassifier().fit(X, y, groups=gg)
    one_class = np.where(y == 1, g, g + 3)  # every group one class: allowed when asked
    est = PerGroupDROClassifier(eps=0.1, single_class_groups=True).fit(X, y, groups=one_class)
    assert est.group_weights_.size == 6
    with pytest.raises(ParameterError, match="Lipschitz"):
        PerGroupDROClassifier("squared").fit(X, y, groups=g)
    with pytest.raises(ParameterError, match="bounds"):
        search_radii(lambda r, e: 0.0, (1.0, 0.0), [(0, 1)])
    with pytest.raises(ParameterError, match="inside the bounds"):
        search_radii(lambda r, e: 0.0, (0.0, 1.0), [(0, 1)], init=[[0.5, 2.0]])
    given = search_radii(lambda r, e: r + e[0], (0.0, 1.0), [(0, 1)], init=[[0.5, 0.1]], n_iter=0)
    assert [(t.rho, t.eps) for t in given.trials] == [(0.5, (0.1,))] and given.value == 0.6
    with pytest.raises(ParameterError, match="no samples"):
        iterative_best_response(LinearModel(2), np.zeros(3), X, np.ones(120), g * 2)


@parametrize_with_checks([PerGroupDROClassifier(), PerGroupDROClassifier("hinge", eps=0.1)])
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_robust_validation_estimate_and_mlp_evaluation() -> None:
    Xt, yt, gt = instance(7, n=120)
    Xv, yv, gv = instance(8, n=90)
    vpm = np.where(yv == 1, 1.0, -1.0)
    eps = np.array([0.1, 0.3, 0.0])
    est = PerGroupDROClassifier("hinge", "kl", 0.2, eps, 0.1).fit(Xt, yt, groups=gt)
    theta = np.r_[est.coef_[0], est.intercept_[0]]
    value = robust_validation_estimate(
        LinearModel(2), theta, Xv, vpm, gv, phi="kl", rho=0.2, eps=eps
    )
    # hinge: the PGD inner sup reaches the closed form L_g + eps_g ||w|| of the exact model
    assert abs(value - robust_validation_loss(est, Xv, yv, gv)) < 1e-6
    mlp = MLP(2, (6,), seed=0)
    train = (Xt, np.where(yt == 1, 1.0, -1.0), gt)
    kw = {"epochs": 30, "pgd_steps": 5}
    ev = differentiable_evaluation(mlp, train, (Xv, vpm, gv), "kl", 0.01, **kw)
    res = iterative_best_response(mlp, mlp.init(), *train, rho=0.2, eps=eps, alpha=0.01, **kw)
    direct = robust_validation_estimate(mlp, res.theta, Xv, vpm, gv, rho=0.2, eps=eps)
    assert ev(0.2, eps) == direct
    nominal = robust_validation_estimate(mlp, res.theta, Xv, vpm, gv, rho=0.0, eps=0.0)
    assert abs(nominal - mlp.losses(res.theta, Xv, vpm).mean()) < 1e-12
    assert direct > nominal  # positive radii on validation only raise the value
    with pytest.raises(ParameterError, match="rho"):
        robust_validation_estimate(mlp, res.theta, Xv, vpm, gv, rho=-1.0)


def test_table2_mlp_benchmark_reduced() -> None:
    """``benchmarks/group_dro_reproduction.py --model mlp`` at 2 evaluations (smoke + logic)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "group_dro_reproduction.py"
    spec = importlib.util.spec_from_file_location("group_dro_reproduction", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    train, val, test = bench.splits(0)
    models, search = bench.fit_all_mlp(train, val, evaluations=2, jobs=1)
    assert len(search.trials) == 2 and search.trials[0].eps == (0.0, 0.0, 0.0, 0.0)
    assert search.value == min(t.value for t in search.trials)
    assert set(models) == set(bench.PAPER)
    text = bench.table(models, test)
    assert len(text.splitlines()) == 1 + len(bench.PAPER)
    acc = bench.group_accuracies(models["ERM"], test)
    assert acc.min() > 0.6  # the MLP trained by Algorithm 1 learns the nominal boundary
