"""The directly written Clarabel programs of the dense classifier fits
(:mod:`dro_opt.models.classifier_conic`) against the cvxpy route of
:mod:`dro_opt.models.classification` (``dro_opt.solve`` with its re-evaluation of the worst case
through the modelling layer), on small random data.

* the same optimum (and coefficients, where the minimiser is unique) as the cvxpy route
  (forced by emptying ``DIRECT_MODELS``) for every model written directly, with ridge,
  ``norm_penalty``, without intercept, and the sup / l1 Wasserstein costs;
* the Wasserstein closed form ``mean hinge + r ||w||_q`` at the fitted decision equals the
  layer's worst case that re-solves the transport program (Mohajerin Esfahani & Kuhn 2018,
  Thm 4.2 / 6.3);
* the certificate: ``lower_bound_ <= optimum <= robust_objective_`` with the optimum of the
  independent route, the worst-case weights feasible and attaining the value;
* margin screening (forced on a small instance) gives the optimum of the full program, also
  from a deliberately bad first guess, and its lower bound stays below the optimum;
* a Clarabel failure falls back to the cvxpy route.
"""

from __future__ import annotations

import numpy as np
import pytest

import dro_opt.models.classifier_conic as cc
import dro_opt.models.classifier_direct as direct
import dro_opt.models.classifier_screening as screening
from dro_opt.models.classification import DROLinearSVC, DROLogisticRegression

CLASSES = {"hinge": DROLinearSVC, "logistic": DROLogisticRegression}


def data(seed: int = 0, n: int = 40, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 3.0 * rng.normal(size=n) > 0, 1.0, -1.0)
    return X, y


def _cvxpy_route(monkeypatch, cls, X, y, **params):
    with monkeypatch.context() as mp:
        mp.setattr("dro_opt.models.classification.DIRECT_MODELS", frozenset())
        return cls(**params).fit(X, y)


def _spy(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = direct.fit_direct

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr("dro_opt.models.classification.fit_direct", counting)
    return calls


CASES = [
    ("hinge", "chi2", {"radius": 0.2}),
    ("hinge", "kl", {"radius": 0.1, "alpha": 0.1}),
    ("hinge", "wasserstein", {"radius": 0.05}),
    ("hinge", "wasserstein", {"radius": 0.05, "transport_norm": np.inf, "alpha": 0.1}),
    ("hinge", "wasserstein", {"radius": 0.05, "transport_norm": 1, "norm_penalty": 0.01}),
    ("hinge", "erm", {"alpha": 0.1, "fit_intercept": False}),
    ("logistic", "kl", {"radius": 0.1}),
    ("logistic", "chi2", {"radius": 0.1, "norm_penalty": 0.02}),
    ("logistic", "wasserstein", {"radius": 0.1}),
    ("logistic", "erm", {"alpha": 0.05}),
]


@pytest.mark.parametrize(("loss", "amb", "params"), CASES)
def test_direct_equals_the_cvxpy_route(monkeypatch, loss, amb, params) -> None:
    X, y = data(1)
    calls = _spy(monkeypatch)
    ours = CLASSES[loss](amb, **params).fit(X, y)
    assert calls, "the direct route was not taken"
    ref = _cvxpy_route(monkeypatch, CLASSES[loss], X, y, ambiguity=amb, **params)
    assert ours.status_ == "optimal" and ref.status_ == "optimal"
    assert ours.robust_objective_ == pytest.approx(ref.robust_objective_, rel=1e-6, abs=1e-8)
    if params.get("alpha", 0) > 0 or loss == "logistic":  # a unique minimiser
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=2e-4)
    # each certified interval contains the other route's certified value (same optimum)
    tol = 1e-6 * max(1.0, abs(ref.robust_objective_))
    assert ours.lower_bound_ - tol <= ref.robust_objective_
    assert ref.lower_bound_ - tol <= ours.robust_objective_
    assert ours.gap_ <= 1e-5


@pytest.mark.parametrize("p", [2, np.inf])
def test_wasserstein_closed_form_equals_the_transport_re_solve(p) -> None:
    """At the direct fit's decision the closed form (the fit's certified value minus the
    ridge) equals the modelling layer's worst case of the max-affine hinge, which solves the
    primal transport program over the signed samples."""
    from dro_opt.ambiguity import wasserstein
    from dro_opt.dro.losses import PiecewiseAffineLoss

    X, y = data(2, n=25, d=4)
    r, alpha = 0.08, 0.1
    clf = DROLinearSVC("wasserstein", radius=r, alpha=alpha, transport_norm=p).fit(X, y)
    w, b = clf.coef_[0], clf.intercept_[0]
    loss = PiecewiseAffineLoss(y[:, None] * X, [(-w, 1 - y * b), (np.zeros(4), 0.0)])
    wc = wasserstein(r, p).worst_case_distribution(loss)
    closed = clf.robust_objective_ - alpha / 2 * float(w @ w)
    assert wc.value == pytest.approx(closed, rel=1e-6, abs=1e-8)
    assert wc.value <= wc.dual_value + 1e-9


@pytest.mark.parametrize(("loss", "amb"), [("hinge", "chi2"), ("logistic", "kl")])
def test_worst_case_weights_are_feasible_and_attain_the_value(loss, amb) -> None:
    from dro_opt.ambiguity import divergence

    X, y = data(3)
    r = 0.15
    clf = CLASSES[loss](amb, radius=r).fit(X, y)
    P = clf.worst_case_weights_
    n = X.shape[0]
    assert P.shape == (n,) and np.all(P >= 0) and P.sum() == pytest.approx(1.0, abs=1e-12)
    assert divergence(amb).divergence_value(P, np.full(n, 1.0 / n)) <= r * (1 + 1e-9)
    m = y * (X @ clf.coef_[0] + clf.intercept_[0])
    losses = cc.sample_losses(loss, m)
    assert float(P @ losses) == pytest.approx(clf.robust_objective_, rel=1e-6)


def _screening_on(monkeypatch, keep: int = 15) -> None:
    monkeypatch.setattr(screening, "SCREEN_MIN_SAMPLES", 50)
    monkeypatch.setattr(screening, "SCREEN_KEEP", keep)
    monkeypatch.setattr(screening, "SCREEN_GROUPS", 4)


@pytest.mark.parametrize(
    "params",
    [{"radius": 0.05}, {"radius": 0.02, "alpha": 0.05, "transport_norm": np.inf}],
)
def test_screening_gives_the_full_optimum(monkeypatch, params) -> None:
    X, y = data(4, n=300, d=5)
    full = DROLinearSVC("wasserstein", **params).fit(X, y)
    _screening_on(monkeypatch)
    solves: list[int] = []
    original = screening.solve_rows

    def counting(opts, Xs, ys, consts, n_total):
        solves.append(Xs.shape[0])
        return original(opts, Xs, ys, consts, n_total)

    monkeypatch.setattr(screening, "solve_rows", counting)
    scr = DROLinearSVC("wasserstein", **params).fit(X, y)
    assert max(solves) < 300, "screening solved the full program"
    assert scr.status_ == "optimal"
    assert scr.robust_objective_ == pytest.approx(full.robust_objective_, rel=1e-7)
    assert scr.lower_bound_ <= full.robust_objective_ + 1e-6  # solver tolerance
    np.testing.assert_allclose(scr.coef_, full.coef_, atol=1e-4)


def test_screening_from_a_bad_guess_still_certifies_the_optimum(monkeypatch) -> None:
    """The first guess only changes the number of rounds: from w = -w_true the split is wrong
    for most samples, the rounds (or the full-program fallback) still end at the optimum."""
    X, y = data(5, n=300, d=5)
    full = DROLinearSVC("wasserstein", radius=0.05).fit(X, y)
    _screening_on(monkeypatch, keep=10)
    monkeypatch.setattr(screening, "guess", lambda opts, X, ypm: (-full.coef_[0], 0.0))
    scr = DROLinearSVC("wasserstein", radius=0.05).fit(X, y)
    assert scr.status_ == "optimal"
    assert scr.robust_objective_ == pytest.approx(full.robust_objective_, rel=1e-7)
    assert scr.lower_bound_ <= full.robust_objective_ + 1e-6  # solver tolerance


def test_clarabel_failure_falls_back_to_the_cvxpy_route(monkeypatch) -> None:
    X, y = data(6)
    ref = DROLinearSVC("chi2", radius=0.1).fit(X, y)
    monkeypatch.setattr("dro_opt.models.classification.fit_direct", lambda *a, **k: None)
    clf = DROLinearSVC("chi2", radius=0.1).fit(X, y)
    assert clf.status_ == "optimal"
    assert clf.robust_objective_ == pytest.approx(ref.robust_objective_, rel=1e-6)


@pytest.mark.parametrize(
    ("loss", "amb"), [("hinge", "chi2"), ("logistic", "kl"), ("logistic", "erm")]
)
def test_separable_data_without_regulariser_are_certified_at_zero(monkeypatch, loss, amb) -> None:
    """n <= 2 (d + 1) separable points: the LP separator (scaled) has every loss ~0, so the
    certified interval is [0, ~1e-10]; the cvxpy route's value is inside it to its tolerance."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(12, 8))
    y = np.where(X @ rng.normal(size=8) > 0, 1.0, -1.0)
    clf = CLASSES[loss](amb, radius=0.1).fit(X, y)
    assert clf.lower_bound_ == 0.0 and clf.status_ == "optimal"
    assert 0.0 <= clf.robust_objective_ <= 1e-9
    margins = y * (X @ clf.coef_[0] + clf.intercept_[0])
    assert margins.min() >= (1.0 - 1e-9 if loss == "hinge" else 22.9)
    ref = _cvxpy_route(monkeypatch, CLASSES[loss], X, y, ambiguity=amb, radius=0.1)
    assert -1e-9 <= ref.robust_objective_ <= 1e-5


def test_non_separable_data_take_the_conic_program(monkeypatch) -> None:
    X, y = data(8, n=14, d=6)  # n <= 2 (d + 1), but one point twice with both labels:
    X[1], y[1] = X[0], -y[0]  # not separable
    clf = DROLogisticRegression("kl", radius=0.1).fit(X, y)
    ref = _cvxpy_route(monkeypatch, DROLogisticRegression, X, y, ambiguity="kl", radius=0.1)
    assert clf.robust_objective_ > 0.1
    assert clf.robust_objective_ == pytest.approx(ref.robust_objective_, rel=1e-6)


@pytest.mark.parametrize("params", [{"radius": 0.1}, {"radius": 0.3, "alpha": 0.05}])
def test_chi2_screening_gives_the_full_optimum(monkeypatch, params) -> None:
    """Hinge chi-square with screening forced on a small instance (both phases: the candidate
    rounds and the under-estimator's bound): the full program's optimum, certified."""
    X, y = data(9, n=300, d=5)
    full = DROLinearSVC("chi2", **params).fit(X, y)
    monkeypatch.setattr(screening, "CHI2_SCREEN_MIN_SAMPLES", 50)
    monkeypatch.setattr(screening, "CHI2_KEEP", 40)
    phases: list[str] = []
    for name in ("_solve_chi2_candidate", "_solve_chi2_reduced", "solve_rows"):
        original = getattr(screening, name)

        def counting(*args, _name=name, _original=original):
            phases.append(_name)
            return _original(*args)

        monkeypatch.setattr(screening, name, counting)
    scr = DROLinearSVC("chi2", **params).fit(X, y)
    # both screening phases ran; the bound's acceptance (exact value within CHI2_BOUND_GAP =
    # 1e-7 of its dual) took the full program once in a full CI run (session 7, not
    # reproducible alone: Clarabel's last iterations); the fallback must give the same optimum
    assert "_solve_chi2_candidate" in phases and "_solve_chi2_reduced" in phases
    assert phases.index("_solve_chi2_reduced") > phases.index("_solve_chi2_candidate")
    assert "solve_rows" not in phases[: phases.index("_solve_chi2_reduced")]
    assert scr.status_ == "optimal"
    assert scr.robust_objective_ == pytest.approx(full.robust_objective_, rel=1e-7)
    assert scr.lower_bound_ <= full.robust_objective_ + 1e-6  # solver tolerance
    assert full.lower_bound_ <= scr.robust_objective_ + 1e-6
