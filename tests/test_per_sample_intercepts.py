"""Per-sample intercepts of :class:`~dro_opt.dro.losses.PiecewiseAffineLoss` (issue 12).

``loss_i(x, xi) = max_k a_k' xi + b_{k,i}``: the loss of an atom moved from sample ``i`` uses
that sample's intercepts (a classifier's hinge with the labels fixed while the features move).
Checked: the sets' primal distributions against their own duals (recomputed from the atoms and
their origins), the unbounded norm-cost closed forms (Mohajerin Esfahani & Kuhn 2018, Cor. of
Thm 4.2: ``eps max_k ||a_k||_q + E_p loss``; paper 002 Cor. 5.6 for the joint OT-KL), the rules
through ``worst_case`` + ``dro_opt.solve`` against the sets' primal values at constant pieces
and against a closed form written directly in cvxpy with decisions, and the shape errors.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp, rel_entr

import dro_opt
from dro_opt.ambiguity import ot_phi, wasserstein
from dro_opt.ambiguity.ot_phi import OTPhiSet
from dro_opt.dro import worst_case
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import LossError


def random_loss(seed: int, n: int = 7, d: int = 2, k: int = 3, support=None):
    """Random slopes, per-sample intercepts on all pieces but the last (a scalar one)."""
    rng = np.random.default_rng(seed)
    xi = rng.normal(size=(n, d))
    pieces = [(rng.normal(size=d), rng.normal(size=n)) for _ in range(k - 1)]
    pieces.append((rng.normal(size=d), float(rng.normal())))
    return PiecewiseAffineLoss(xi, pieces, support=support)


def test_shapes_values_and_errors() -> None:
    loss = random_loss(1)
    assert loss.per_sample
    A, b = loss.numeric_pieces()
    assert A.shape == (3, 2) and b.shape == (3, 7)
    assert np.all(b[2] == b[2, 0])  # the scalar piece repeated
    direct = (loss.samples @ A.T + b.T).max(axis=1)
    np.testing.assert_allclose(loss.values(), direct, rtol=1e-14)
    np.testing.assert_allclose(loss.expression().value, direct, rtol=1e-12)
    z, o = np.zeros((2, 2)), np.array([4, 1])
    np.testing.assert_allclose(loss.values(z, o), b[:, o].max(axis=0), rtol=1e-14)
    with pytest.raises(LossError, match="origin"):
        loss.values(np.zeros((3, 2)))
    with pytest.raises(LossError, match="one intercept per sample"):
        PiecewiseAffineLoss(loss.samples, [(np.ones(2), np.ones(5))])
    scalar = PiecewiseAffineLoss(loss.samples, [(np.ones(2), 0.5)])
    assert not scalar.per_sample and scalar.numeric_pieces()[1].shape == (1,)
    # equal per-sample intercepts are the scalar loss
    same = PiecewiseAffineLoss(loss.samples, [(np.ones(2), np.full(7, 0.5))])
    for S in (wasserstein(0.3, 2), ot_phi(0.3, 2.0)):
        assert S.worst_case(same)[0] == pytest.approx(S.worst_case(scalar)[0], rel=1e-7)


def _box(loss: PiecewiseAffineLoss) -> tuple[np.ndarray, np.ndarray]:
    return loss.samples.min(axis=0) - 0.2, loss.samples.max(axis=0) + 0.2


@pytest.mark.parametrize("kind", ["wasserstein", "ot_phi"])
@pytest.mark.parametrize("cost", ["norm", "squared"])
@pytest.mark.parametrize("norm", [1, 2])
@pytest.mark.parametrize("boxed", [False, True])
def test_primal_equals_dual(kind, cost, norm, boxed) -> None:
    loss = random_loss(10 + 4 * norm + 2 * boxed + (cost == "squared"))
    box = _box(loss) if boxed else None
    if kind == "wasserstein":
        S = wasserstein(0.4, norm, support=box, cost=cost)
    else:
        S = ot_phi(0.4, 1.5, "kl", norm, support=box, cost=cost)
    wc = S.worst_case_distribution(loss)
    scale = max(1.0, abs(wc.value))
    assert wc.value <= wc.dual_value + 1e-9 * scale
    assert wc.dual_value - wc.value <= 1e-6 * scale
    P, Z, o = wc.probabilities, wc.atoms, wc.origins
    assert abs(P.sum() - 1) <= 1e-12 and (P >= 0).all()
    assert wc.value == pytest.approx(float(P @ loss.values(Z, o)), rel=1e-13, abs=1e-13)
    r = np.linalg.norm(Z - loss.samples[o], ord=norm, axis=1)
    transport = float(P @ (r**2 if cost == "squared" else r))
    if isinstance(S, OTPhiSet):
        beta = wc.nominal_masses
        total = S.theta1 * transport + S.theta2 * float(np.sum(rel_entr(P, beta) - P + beta))
    else:
        total = transport
    assert total <= S.radius * (1 + 1e-8) + 1e-15
    assert wc.value >= float(loss.values().mean()) - 1e-9


def test_closed_forms_unbounded_norm_cost() -> None:
    loss = random_loss(30, n=9)
    A, _ = loss.numeric_pieces()
    L = float(np.linalg.norm(A, axis=1).max())
    lv, p = loss.values(), np.full(9, 1 / 9)
    assert wasserstein(0.25, 2).worst_case(loss)[0] == pytest.approx(0.25 * L + lv.mean(), rel=1e-7)
    th1, r = 1.5, 0.2
    th2 = th1 / (th1 - 1)

    def f(lam: float) -> float:
        return lam * r + lam * th2 * float(logsumexp(lv / (lam * th2), b=p))

    lo = L / th1  # l_{lam theta1} = l for lam theta1 >= L, else +inf (paper 002 Cor. 5.6)
    ref = minimize_scalar(f, bounds=(lo, lo + 1e3), method="bounded", options={"xatol": 1e-12})
    assert ot_phi(r, th1).worst_case(loss)[0] == pytest.approx(min(ref.fun, f(lo)), rel=1e-6)


@pytest.mark.parametrize("kind", ["wasserstein", "ot_phi"])
@pytest.mark.parametrize("cost", ["norm", "squared"])
def test_rule_matches_the_sets_primal_at_constant_pieces(kind, cost) -> None:
    loss = random_loss(40)
    box = _box(loss)
    if kind == "wasserstein":
        S = wasserstein(0.3, 2, support=box, cost=cost)
    else:
        S = ot_phi(0.3, 2.0, "kl", 2, support=box, cost=cost)
    t, cons = worst_case(loss, S)
    res = dro_opt.solve(cp.Problem(cp.Minimize(t), cons))
    primal = S.worst_case_distribution(loss).value
    assert res.objective == pytest.approx(primal, rel=1e-6, abs=1e-7)
    assert res.bound <= primal + 1e-6 * max(1.0, abs(primal))


def test_rule_with_decisions_matches_a_closed_form_in_cvxpy() -> None:
    """Wasserstein hinge with labels fixed, unbounded support, norm cost: the rule equals
    ``min eps ||w||_2 + mean_i max(1 - y_i (w' x_i + c), 0) + ||w||^2 / 2`` written directly."""
    rng = np.random.default_rng(50)
    n, d, eps = 20, 3, 0.1
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    w, c = cp.Variable(d), cp.Variable()
    loss = PiecewiseAffineLoss(y[:, None] * X, [(-w, 1 - y * c), (np.zeros(d), 0.0)])
    t, cons = worst_case(loss, wasserstein(eps, 2))
    res = dro_opt.solve(cp.Problem(cp.Minimize(t + 0.5 * cp.sum_squares(w)), cons))
    w2, c2 = cp.Variable(d), cp.Variable()
    hinge = cp.pos(1 - cp.multiply(y, X @ w2 + c2))
    obj = eps * cp.norm(w2, 2) + cp.sum(hinge) / n + 0.5 * cp.sum_squares(w2)
    ref = cp.Problem(cp.Minimize(obj))
    ref.solve(solver=cp.CLARABEL)
    assert res.objective == pytest.approx(ref.value, rel=1e-6, abs=1e-7)
    np.testing.assert_allclose(w.value, w2.value, atol=1e-4)
