"""Sets that move the samples: type-1 Wasserstein and the joint OT-phi ball (paper 002 Def. 5.1).

Primal (a feasible distribution evaluated exactly) against dual (an exactly evaluated feasible
dual point), feasibility of the returned coupling recomputed here, closed forms, radius 0,
paper 002 Remark 5.7 limits, and the typed errors.
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp, rel_entr

from dro_opt.ambiguity.base import AmbiguitySet
from dro_opt.ambiguity.ot_phi import OTPhiSet, ot_phi
from dro_opt.ambiguity.wasserstein import WassersteinSet, wasserstein
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import LossError, ParameterError

NORMS = [1, 2, np.inf]
DUAL = {1: np.inf, 2: 2, np.inf: 1}


def random_loss(
    seed: int, n: int = 8, d: int = 2, k: int = 2, support=None, expr: bool = False
) -> PiecewiseAffineLoss:
    """Random ``max_k a_k' xi + b_k``; with ``expr`` the pieces are cvxpy expressions of a
    decision ``x`` that has a value (as after a solve)."""
    rng = np.random.default_rng(seed)
    xi = rng.normal(size=(n, d))
    pieces = [(rng.normal(size=d), rng.normal()) for _ in range(k)]
    if expr:
        x = cp.Variable(3)
        x.value = rng.normal(size=3)
        pieces = [
            (a + rng.normal(size=(d, 3)) @ (x - x.value), b + cp.sum(x) - x.value.sum())
            for a, b in pieces
        ]
    return PiecewiseAffineLoss(xi, pieces, support=support)


def tight_box(loss: PiecewiseAffineLoss, margin: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    return loss.samples.min(axis=0) - margin, loss.samples.max(axis=0) + margin


def dist(atoms: np.ndarray, origins: np.ndarray, xi: np.ndarray, norm: float, cost: str):
    r = np.linalg.norm(atoms - xi[origins], ord=norm, axis=1)
    return r**2 if cost == "squared" else r


def check_distribution(S, loss, wc, weights=None, box=None) -> None:
    """Feasibility of the returned coupling, recomputed from the atoms and their origins."""
    n = loss.num_samples
    p = np.full(n, 1 / n) if weights is None else np.asarray(weights, float)
    P, Z, o = wc.probabilities, wc.atoms, wc.origins
    assert P.shape == (Z.shape[0],) and Z.shape[1] == loss.dim and o.shape == P.shape
    assert (P >= 0).all() and abs(P.sum() - 1) <= 1e-12
    assert wc.value == pytest.approx(float(P @ loss.values(Z)), rel=1e-14, abs=1e-14)
    lo, hi = loss.support
    if box is not None:
        lo, hi = np.maximum(lo, box[0]), np.minimum(hi, box[1])
    assert (Z >= lo - 1e-12).all() and (Z <= hi + 1e-12).all()
    beta = wc.nominal_masses
    np.testing.assert_allclose(np.bincount(o, weights=beta, minlength=n), p, atol=1e-12)
    transport = float(P @ dist(Z, o, loss.samples, S.norm, S.cost))
    if isinstance(S, OTPhiSet):
        kl = float(np.sum(rel_entr(P, beta) - P + beta))
        total = S.theta1 * transport + S.theta2 * kl
    else:
        np.testing.assert_allclose(beta, P)
        total = transport
    assert total <= S.radius * (1 + 1e-8) + 1e-15
    assert total == pytest.approx(wc.discrepancy, rel=1e-9, abs=1e-12)


def check_bracket(wc, tol: float = 1e-6) -> None:
    scale = max(1.0, abs(wc.value))
    assert wc.value <= wc.dual_value + 1e-9 * scale
    assert wc.dual_value - wc.value <= tol * scale


def make_set(kind: str, radius: float, norm, cost: str, support=None, theta1: float = 2.0):
    if kind == "wasserstein":
        return wasserstein(radius, norm, support=support, cost=cost)
    return ot_phi(radius, theta1, "kl", norm, support=support, cost=cost)


# --------------------------------------------------------------------------- primal == dual
@pytest.mark.parametrize("kind", ["wasserstein", "ot_phi"])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("cost", ["norm", "squared"])
@pytest.mark.parametrize("where", ["none", "set_box", "loss_half", "both"])
def test_primal_equals_dual_and_distribution_feasible(kind, norm, cost, where) -> None:
    seed = 7 * NORMS.index(norm) + 3 * (cost == "squared") + len(where)
    loss = random_loss(seed, n=8, d=2, k=3, expr=seed % 2 == 1)
    lo, hi = tight_box(loss)
    box = None
    if where == "set_box":
        box = (lo, hi)
    elif where == "loss_half":
        loss = PiecewiseAffineLoss(loss.samples, loss.pieces, support=(-np.inf, hi))
    elif where == "both":  # intersection of the loss's lower and the set's upper bounds
        loss = PiecewiseAffineLoss(loss.samples, loss.pieces, support=(lo, np.inf))
        box = (-np.inf, hi)
    S = make_set(kind, 0.4, norm, cost, support=box, theta1=1.5)
    wc = S.worst_case_distribution(loss)
    check_bracket(wc)
    check_distribution(S, loss, wc, box=box)
    value, atoms, probs = S.worst_case(loss)
    assert value == pytest.approx(wc.value, rel=1e-6)
    assert value == pytest.approx(float(probs @ loss.values(atoms)), rel=1e-14)
    assert wc.value >= float(loss.values().mean()) - 1e-9  # the nominal is in the ball


def test_binding_box_lowers_the_worst_case() -> None:
    loss = random_loss(3, n=10, d=3, k=2)
    box = tight_box(loss, margin=0.05)
    for kind in ("wasserstein", "ot_phi"):
        free = make_set(kind, 1.0, 2, "norm").worst_case_distribution(loss)
        boxed = make_set(kind, 1.0, 2, "norm", support=box).worst_case_distribution(loss)
        check_bracket(boxed)
        assert boxed.value < free.value - 1e-3


def test_cvxpy_pieces_match_constant_pieces() -> None:
    rng = np.random.default_rng(11)
    n, d = 6, 3
    xi = rng.normal(size=(n, d))
    x = cp.Variable(d)
    x.value = rng.normal(size=d)
    M = rng.normal(size=(d, d))
    pieces = [(M @ x + 1.0, cp.sum(x) - 0.5), (-x, 0.3), (np.zeros(d), x[0])]
    loss = PiecewiseAffineLoss(xi, pieces)
    A, b = loss.numeric_pieces()
    const = PiecewiseAffineLoss(xi, list(zip(A, b, strict=True)))
    for S in (wasserstein(0.2, 1), ot_phi(0.2, 3.0, norm="inf", cost="squared")):
        v1, v2 = S.worst_case(loss)[0], S.worst_case(const)[0]
        assert v1 == pytest.approx(v2, rel=1e-6)


# --------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("norm", NORMS)
def test_wasserstein_closed_form_unbounded(norm) -> None:
    loss = random_loss(20 + NORMS.index(norm), n=12, d=3, k=3)
    A, _ = loss.numeric_pieces()
    L = np.linalg.norm(A, ord=DUAL[norm], axis=1).max()
    S = wasserstein(0.3, norm)
    wc = S.worst_case_distribution(loss)
    closed = 0.3 * L + loss.values().mean()
    assert wc.value == pytest.approx(closed, rel=1e-7)
    assert wc.dual_value == pytest.approx(closed, rel=1e-7)
    assert wc.multipliers["lambda"] == pytest.approx(L, rel=1e-6)
    check_distribution(S, loss, wc)


def test_wasserstein_not_attained_unbounded() -> None:
    # the steep piece is active at no sample: vanishing mass must move infinitely far
    rng = np.random.default_rng(5)
    xi = rng.normal(size=(7, 2))
    loss = PiecewiseAffineLoss(xi, [(np.array([3.0, 0.0]), -50.0), (np.array([1.0, 0.5]), 0.0)])
    for norm in NORMS:
        S = wasserstein(0.5, norm)
        wc = S.worst_case_distribution(loss)
        closed = 0.5 * 3.0 + loss.values().mean()
        assert not wc.attained
        assert wc.value == pytest.approx(closed, rel=1e-8)
        assert wc.value <= closed + 1e-9
        check_distribution(S, loss, wc)
        o = ot_phi(0.5, 1.2, norm=norm).worst_case_distribution(loss)
        check_bracket(o)
    # one sample where the steep piece is active: attained (by moving that sample)
    loss2 = PiecewiseAffineLoss(
        xi,
        [(np.array([3.0, 0.0]), -3 * xi[0, 0] + xi[0] @ [1, 0.5]), (np.array([1.0, 0.5]), 0.0)],
    )
    wc2 = wasserstein(0.5, 2).worst_case_distribution(loss2)
    assert wc2.attained
    assert wc2.value == pytest.approx(0.5 * 3.0 + loss2.values().mean(), rel=1e-8)


@pytest.mark.parametrize("norm", NORMS)
def test_wasserstein_attained_iff_a_steepest_piece_is_active(norm) -> None:
    # norm cost, unbounded support: the sup is attained iff some sample has an active piece of
    # maximal dual norm (else the gain eps * L needs vanishing mass moved infinitely far)
    seen = set()
    for seed in range(6):
        loss = random_loss(100 + seed, n=4, d=2, k=3)
        A, b = loss.numeric_pieces()
        c = loss.samples @ A.T + b
        steep = np.linalg.norm(A, ord=DUAL[norm], axis=1)
        active = c.argmax(axis=1)
        expect = bool((steep[active] >= steep.max() * (1 - 1e-9)).any())
        S = wasserstein(0.3, norm)
        wc = S.worst_case_distribution(loss)
        assert wc.attained == expect
        seen.add(expect)
        check_bracket(wc, tol=1e-8)
        check_distribution(S, loss, wc)
    assert seen == {True, False}


@pytest.mark.parametrize("norm", NORMS)
def test_squared_cost_closed_forms_unbounded(norm) -> None:
    loss = random_loss(40 + NORMS.index(norm), n=10, d=2, k=2)
    A, b = loss.numeric_pieces()
    c = loss.samples @ A.T + b
    an2 = np.linalg.norm(A, ord=DUAL[norm], axis=1) ** 2
    r = 0.25

    def w_dual(lam: float) -> float:
        return lam * r + float(np.mean(np.max(c + an2 / (4 * lam), axis=1)))

    w = minimize_scalar(
        lambda s: w_dual(math.exp(s)), bounds=(-15, 15), method="bounded", options={"xatol": 1e-12}
    ).fun
    assert wasserstein(r, norm, cost="squared").worst_case(loss)[0] == pytest.approx(w, rel=1e-6)

    th1 = 2.5
    th2 = th1 / (th1 - 1)

    def o_dual(lam: float) -> float:
        z = np.max(c + an2 / (4 * lam * th1), axis=1)
        return lam * r + lam * th2 * float(logsumexp(z / (lam * th2), b=np.full(len(z), 0.1)))

    o = minimize_scalar(
        lambda s: o_dual(math.exp(s)), bounds=(-15, 15), method="bounded", options={"xatol": 1e-12}
    ).fun
    wc = ot_phi(r, th1, norm=norm, cost="squared").worst_case_distribution(loss)
    assert wc.value == pytest.approx(o, rel=1e-6)
    assert wc.dual_value == pytest.approx(o, rel=1e-6)


def kl_dro(losses: np.ndarray, p: np.ndarray, r: float) -> float:
    """min_{lam > 0} lam r + lam log E_p exp(l / lam) (Hu & Hong 2013, Thm 1)."""
    f = lambda s: math.exp(s) * r + math.exp(s) * float(logsumexp(losses / math.exp(s), b=p))  # noqa: E731
    return minimize_scalar(f, bounds=(-12, 12), method="bounded", options={"xatol": 1e-12}).fun


def test_ot_phi_norm_cost_closed_form_unbounded() -> None:
    # l_{lam theta1} = l for lam theta1 >= L, else +inf (paper 002 Cor. 5.6)
    loss = random_loss(60, n=9, d=2, k=2)
    A, _ = loss.numeric_pieces()
    L = np.linalg.norm(A, axis=1).max()
    lv, p = loss.values(), np.full(9, 1 / 9)
    for th1, r in ((1.3, 0.5), (4.0, 0.05)):
        th2 = th1 / (th1 - 1)

        def f(lam: float, th1=th1, th2=th2, r=r) -> float:
            return lam * r + lam * th2 * float(logsumexp(lv / (lam * th2), b=p))

        lo = L / th1
        ref = minimize_scalar(
            f, bounds=(lo, lo + 1e3), method="bounded", options={"xatol": 1e-12}
        ).fun
        ref = min(ref, f(lo))
        wc = ot_phi(r, th1).worst_case_distribution(loss)
        assert wc.value == pytest.approx(ref, rel=1e-6)
        check_bracket(wc)


# --------------------------------------------------------------------------- limits
@pytest.mark.parametrize("kind", ["wasserstein", "ot_phi"])
def test_radius_zero_is_the_empirical_mean(kind) -> None:
    loss = random_loss(70, n=6, d=2, k=2)
    w = np.array([0.1, 0.2, 0.3, 0.0, 0.15, 0.25])
    S = make_set(kind, 0.0, 2, "norm")
    wc = S.worst_case_distribution(loss, w)
    assert wc.value == pytest.approx(float(w @ loss.values()), rel=1e-12)
    assert wc.dual_value == pytest.approx(wc.value, rel=1e-12)
    assert 3 not in wc.origins
    check_distribution(S, loss, wc, weights=w)
    tiny = make_set(kind, 1e-8, 2, "norm").worst_case(loss, w)[0]
    assert tiny == pytest.approx(wc.value, abs=1e-3)  # KL-type growth ~ sqrt(2 r Var)


@pytest.mark.parametrize("cost", ["norm", "squared"])
def test_remark_5_7_limits(cost) -> None:
    loss = random_loss(80, n=8, d=2, k=2)
    p, r = np.full(8, 1 / 8), 0.3
    kl = kl_dro(loss.values(), p, r)
    errs = [abs(ot_phi(r, th1, cost=cost).worst_case(loss)[0] - kl) for th1 in (1e2, 1e4, 1e6)]
    assert errs[2] <= 1e-4 * max(1.0, abs(kl))
    assert errs[0] > errs[2]
    w = wasserstein(r, 2, cost=cost).worst_case(loss)[0]
    near = ot_phi(r, 1 + 1e-6, cost=cost).worst_case_distribution(loss)
    check_bracket(near, tol=1e-5)
    assert near.value == pytest.approx(w, rel=1e-4)


def test_weights_are_used() -> None:
    loss = random_loss(90, n=5, d=2, k=2)
    w = np.array([0.5, 0.0, 0.2, 0.2, 0.1])
    A, _ = loss.numeric_pieces()
    S = wasserstein(0.2, 2)
    wc = S.worst_case_distribution(loss, w)
    assert wc.value == pytest.approx(0.2 * np.linalg.norm(A, axis=1).max() + w @ loss.values())
    check_distribution(S, loss, wc, weights=w)
    o = ot_phi(0.2, 2.0)
    wo = o.worst_case_distribution(loss, w)
    check_bracket(wo)
    check_distribution(o, loss, wo, weights=w)


# --------------------------------------------------------------------------- interface, errors
def test_attributes() -> None:
    S = wasserstein(0.5, "inf", support=(0, 1), cost="squared")
    assert isinstance(S, WassersteinSet) and isinstance(S, AmbiguitySet) and S.moves_samples
    assert (S.radius, S.norm, S.dual_norm, S.cost) == (0.5, np.inf, 1, "squared")
    assert all(isinstance(a, np.ndarray) for a in S.support)
    for n, q in ((1, np.inf), (2, 2), (np.inf, 1), (float("inf"), 1), ("inf", 1), (2.0, 2)):
        assert wasserstein(1, n).dual_norm == q
    assert wasserstein(1).support is None and wasserstein(1).norm == 2
    O = ot_phi(0.1, 4.0)
    assert isinstance(O, OTPhiSet) and not isinstance(O, WassersteinSet) and O.moves_samples
    assert (O.theta1, O.theta2, O.phi, O.norm, O.cost) == (4.0, 4 / 3, "kl", 2, "norm")
    assert "theta1=4" in O.describe() and "Wasserstein" in repr(S)


@pytest.mark.parametrize(
    "build",
    [
        lambda: wasserstein(-1.0),
        lambda: wasserstein(float("nan")),
        lambda: wasserstein(math.inf),
        lambda: wasserstein("a"),
        lambda: wasserstein(1, 3),
        lambda: wasserstein(1, 0),
        lambda: wasserstein(1, "l2"),
        lambda: wasserstein(1, True),
        lambda: wasserstein(1, cost="abs"),
        lambda: wasserstein(1, support=(1, 0)),
        lambda: wasserstein(1, support=(np.nan, 1)),
        lambda: wasserstein(1, support=5),
        lambda: ot_phi(-0.1, 2),
        lambda: ot_phi(1, 1.0),
        lambda: ot_phi(1, 0.5),
        lambda: ot_phi(1, float("nan")),
        lambda: ot_phi(1, math.inf),
        lambda: ot_phi(1, "x"),
        lambda: ot_phi(1, 2, phi="chi2"),
        lambda: ot_phi(1, 2, phi="foo"),
        lambda: ot_phi(1, 2, norm=4),
    ],
)
def test_parameter_errors(build) -> None:
    with pytest.raises(ParameterError):
        build()


def test_messages_and_input_errors() -> None:
    with pytest.raises(ParameterError, match="theta1"):
        ot_phi(1, 1)
    with pytest.raises(ParameterError, match="phi'_inf"):
        ot_phi(1, 2, phi="hellinger")
    with pytest.raises(ParameterError, match="norm"):
        wasserstein(1, 3)
    loss = random_loss(1, n=4, d=2, k=1)
    for S in (wasserstein(0.1), ot_phi(0.1, 2)):
        with pytest.raises(LossError, match="PiecewiseAffineLoss"):
            S.worst_case(np.ones(4))
        with pytest.raises(ParameterError, match="weights"):
            S.worst_case(loss, [0.5, 0.5])
        with pytest.raises(ParameterError, match="weights"):
            S.worst_case(loss, [0.5, 0.5, 0.5, -0.5])
        with pytest.raises(ParameterError, match="sum to 1"):
            S.worst_case(loss, [0.3, 0.3, 0.3, 0.3])
    with pytest.raises(ParameterError, match="dimension"):
        wasserstein(0.1, support=([0, 0, 0], [1, 1, 1])).worst_case(loss)
    with pytest.raises(ParameterError, match="outside"):
        wasserstein(0.1, support=(100, 101)).worst_case(loss)
    boxed = PiecewiseAffineLoss(loss.samples, loss.pieces, support=(-10, 10))
    with pytest.raises(ParameterError, match="does not meet"):
        ot_phi(0.1, 2, support=(20, 30)).worst_case(boxed)
    x = cp.Variable(2)
    unsolved = PiecewiseAffineLoss(loss.samples, [(x, 0.0)])
    with pytest.raises(LossError, match="no value"):
        wasserstein(0.1).worst_case(unsolved)
