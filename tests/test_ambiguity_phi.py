"""Phi-divergence and CVaR ambiguity sets (paper 002 Table 1, Def. 3.2, Lemma 3.4, Prop. 3.6,
Remark 3.7): conjugates, primal == dual worst cases, feasibility, the extra atom, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dro_opt.ambiguity.base import ReweightingSet
from dro_opt.ambiguity.cvar import CVaRSet, cvar
from dro_opt.ambiguity.divergences import DIVERGENCE_NAMES, divergence
from dro_opt.ambiguity.phi_divergence import PhiDivergenceSet, phi_divergence
from dro_opt.errors import ParameterError

CASES = [(name, {}) for name in DIVERGENCE_NAMES if name not in ("chi-m", "cressie-read")] + [
    ("chi-m", {"m": 1.5}),
    ("chi-m", {"m": 3.0}),
    ("cressie-read", {"theta": -1.0}),
    ("cressie-read", {"theta": 0.5}),
    ("cressie-read", {"theta": 2.0}),
]
IDS = [n + "".join(f"-{k}{v:g}" for k, v in kw.items()) for n, kw in CASES]
FINITE = [c for c in CASES if divergence(c[0], **c[1]).phi_inf < math.inf]
FINITE_IDS = [i for i, c in zip(IDS, CASES, strict=True) if c in FINITE]
INFINITE = [c for c in CASES if c not in FINITE]
INFINITE_IDS = [i for i, c in zip(IDS, CASES, strict=True) if c in INFINITE]
EXPECTED = {  # (phi(0), phi'_inf), paper 002 Table 1 and its companion values
    "kl": (1, math.inf),
    "burg": (math.inf, 1),
    "j": (math.inf, math.inf),
    "chi2-distance": (math.inf, 1),
    "modified-chi2": (1, math.inf),
    "chi2": (0.5, math.inf),
    "hellinger": (1, 1),
    "tv": (1, 1),
    "chi-m-m1.5": (1, math.inf),
    "chi-m-m3": (1, math.inf),
    "cressie-read-theta-1": (math.inf, 0.5),
    "cressie-read-theta0.5": (2, 2),
    "cressie-read-theta2": (0.5, math.inf),
}


def rel_close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check_worst_case(s, wc, l, p, sup_loss=None):
    """Feasible P attaining value, and value == dual_value (relative 1e-6)."""
    P = wc.probabilities
    la = l if sup_loss is None else np.append(l, sup_loss)
    pa = p if sup_loss is None else np.append(p, 0.0)
    assert P.shape == la.shape
    assert (P >= 0).all() and abs(P.sum() - 1) <= 1e-12
    assert P @ la == pytest.approx(wc.value, abs=1e-13, rel=1e-13)
    if isinstance(s, PhiDivergenceSet):
        assert s.divergence.divergence_value(P, pa) <= s.radius * (1 + 1e-9) + 1e-12
    else:
        assert (P[: p.size] <= p / s.alpha * (1 + 1e-12)).all()
    assert wc.dual_value >= wc.value - 1e-9 * max(1.0, abs(wc.value))
    assert rel_close(wc.value, wc.dual_value), (wc.value, wc.dual_value)


# --------------------------------------------------------------------------- catalog
@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_conjugate_matches_brute_force(name, kw):
    d = divergence(name, **kw)
    t = np.concatenate([[0.0], np.logspace(-9, 9, 200001)])
    s = np.linspace(-8.0, min(d.phi_inf - 0.05, 4.0), 25)
    brute = np.max(s[:, None] * t[None, :] - d.phi(t)[None, :], axis=1)
    assert np.allclose(d.conjugate(s), brute, rtol=1e-7, atol=1e-7)
    if d.phi_inf < math.inf:
        assert np.isinf(d.conjugate(d.phi_inf + np.array([0.01, 1.0, 10.0]))).all()
    assert d.conjugate(0.0) == pytest.approx(0.0, abs=1e-14)  # phi >= 0 = phi(1)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_phi0_phi_inf_and_psi(name, kw):
    d = divergence(name, **kw)
    phi0, phi_inf = EXPECTED[IDS[CASES.index((name, kw))]]
    assert (d.phi0, d.phi_inf) == (phi0, phi_inf)
    assert d.phi(1.0) == 0.0 and d.phi(0.0) == d.phi0 and d.phi(-1.0) == math.inf
    assert d.derivative(1.0) == pytest.approx(0.0, abs=1e-14) or name == "tv"
    small, big = float(d.phi(1e-14)), float(d.phi(1e12)) / 1e12
    assert (small > 10) if math.isinf(phi0) else small == pytest.approx(phi0, abs=1e-6)
    assert (big > 20) if math.isinf(phi_inf) else big == pytest.approx(phi_inf, abs=1e-4)
    t = np.array([0.1, 0.7, 1.0, 2.5, 9.0])
    assert np.allclose(d.psi(t), t * d.phi(1 / t)) and d.psi(0.0) == d.phi_inf


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_conjugate_argmax_attains_the_conjugate(name, kw):
    d = divergence(name, **kw)
    s = np.linspace(-6.0, min(d.phi_inf - 0.05, 3.0), 31)
    t = d.conjugate_argmax(s)
    assert (t >= 0).all() and np.allclose(s * t - d.phi(t), d.conjugate(s), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "dual"),
    [
        ("kl", "burg"),
        ("burg", "kl"),
        ("j", "j"),
        ("chi2-distance", "modified-chi2"),
        ("modified-chi2", "chi2-distance"),
        ("hellinger", "hellinger"),
        ("tv", "tv"),
    ],
)
def test_csiszar_duals_of_table_1(name, dual):
    t = np.linspace(0.05, 6.0, 50)
    assert np.allclose(divergence(name).psi(t), divergence(dual).phi(t))


def test_divergence_value_conventions():
    p = np.array([0.5, 0.5, 0.0])
    P = np.array([0.25, 0.5, 0.25])
    tv, kl = divergence("tv"), divergence("kl")
    assert tv.divergence_value(P, p) == pytest.approx(0.25 + 0.25)  # 0.5 |0.5-1| + 1 * 0.25
    assert kl.divergence_value(P, p) == math.inf  # phi'_inf = inf: not absolutely continuous
    assert kl.divergence_value([0.5, 0.5, 0.0], p) == 0.0  # 0 * phi(0/0) = 0
    assert divergence("chi-m", m=2).describe() == "chi-m(m=2)"


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(range(len(CASES))),
    st.floats(0.0, 50.0),
    st.floats(-20.0, 20.0),
)
def test_fenchel_young(i, t, s):
    d = divergence(CASES[i][0], **CASES[i][1])
    assert float(d.phi(t)) + float(d.conjugate(s)) >= s * t - 1e-9 * (1 + abs(s * t))


# --------------------------------------------------------------------------- worst cases
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "random"])
@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_primal_equals_dual(name, kw, uniform):
    rng = np.random.default_rng(7)
    for n, radius in [(12, 0.05), (30, 0.8)]:
        l = rng.normal(size=n) * 3 + 1
        p = None if uniform else rng.dirichlet(np.ones(n))
        s = phi_divergence(name, radius, **kw)
        wc = s.worst_case_distribution(l, p)
        check_worst_case(s, wc, l, np.full(n, 1 / n) if uniform else p)
        assert wc.value > (l.mean() if uniform else p @ l)
        assert wc.multipliers["lambda"] > 0 and math.isfinite(wc.multipliers["eta"])
        value, P = s.worst_case(l, p)
        assert value == wc.value and np.array_equal(P, wc.probabilities)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_tiny_radius_and_skewed_weights(name, kw):
    """Conic residuals are not small relative to r = 1e-7; the result must still be tight."""
    rng = np.random.default_rng(8)
    l, p = rng.normal(size=25) * 50 + 400, rng.dirichlet(np.full(25, 0.3))
    s = phi_divergence(name, 1e-7, **kw)
    wc = s.worst_case_distribution(l, p, sup_loss=l.max() + 10)
    check_worst_case(s, wc, l, p, sup_loss=l.max() + 10)
    assert abs(wc.gap) <= 1e-8 * (wc.value - p @ l) + 1e-14 * abs(wc.value) * l.size


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_large_radius_and_radius_zero(name, kw):
    rng = np.random.default_rng(3)
    l, p = rng.normal(size=15), rng.dirichlet(np.ones(15))
    big = phi_divergence(name, 50.0, **kw)
    wc = big.worst_case_distribution(l, p)
    check_worst_case(big, wc, l, p)
    star = np.zeros(15)
    star[np.argmax(l)] = 1.0
    if big.divergence.divergence_value(star, p) <= 50.0:  # e.g. KL: log(1 / p_max)
        assert wc.value == pytest.approx(l.max(), rel=1e-14)
    else:  # phi(0) = inf: every atom keeps some mass
        assert (wc.probabilities > 0).all() and wc.value > p @ l
    zero = phi_divergence(name, 0.0, **kw)
    for sup in (None, l.max() + 2):
        wc = zero.worst_case_distribution(l, p, sup_loss=sup)
        assert np.allclose(wc.probabilities[:15], p, rtol=1e-14, atol=0) and wc.extra_mass == 0.0
        assert wc.value == pytest.approx(p @ l, rel=1e-14)
        assert wc.dual_value == pytest.approx(wc.value, rel=1e-14)


@pytest.mark.parametrize(("name", "kw"), CASES, ids=IDS)
def test_degenerate_inputs(name, kw):
    s = phi_divergence(name, 0.3, **kw)
    wc = s.worst_case_distribution([2.5])  # one atom
    assert (wc.value, wc.dual_value) == (2.5, 2.5) and np.array_equal(wc.probabilities, [1.0])
    wc = s.worst_case_distribution(np.full(6, -1.0))  # all losses equal
    assert wc.value == pytest.approx(-1.0, rel=1e-14) and wc.dual_value == -1.0
    assert np.allclose(wc.probabilities, 1 / 6)
    # an atom with nominal mass 0 and the largest loss (paper 002 Lemma 3.4)
    l, p = np.array([0.0, 1.0, 30.0, 2.0]), np.array([0.3, 0.3, 0.0, 0.4])
    wc = s.worst_case_distribution(l, p)
    check_worst_case(s, wc, l, p)
    if s.divergence.phi_inf < math.inf:  # 30 is far above eta0 + lam0 phi'_inf (Prop. 3.6)
        assert wc.probabilities[2] > 1e-3
    else:
        assert wc.probabilities[2] == 0.0


def test_remark_3_7_all_mass_on_argmax_without_sup_loss():
    l = np.array([0.0, 1.0, 4.0, 4.0, 2.0])
    p = np.array([0.1, 0.2, 0.3, 0.1, 0.3])
    # KL: the cheapest P on argmax l is p conditioned on it, divergence log(1 / 0.4)
    wc = phi_divergence("kl", math.log(1 / 0.4) + 1e-9).worst_case_distribution(l, p)
    assert wc.value == pytest.approx(4.0, rel=1e-14)
    assert wc.dual_value == pytest.approx(4.0, rel=1e-14)
    assert np.allclose(wc.probabilities, [0, 0, 0.75, 0.25, 0])
    wc = phi_divergence("tv", 2.0).worst_case_distribution(l, p)
    assert wc.value == pytest.approx(4.0, rel=1e-14) and wc.dual_value == 4.0


# --------------------------------------------------------------------------- Prop. 3.6
@pytest.mark.parametrize(("name", "kw"), FINITE, ids=FINITE_IDS)
def test_extra_atom_gets_mass_exactly_when_prop_3_6_says(name, kw):
    rng = np.random.default_rng(11)
    l, p = rng.normal(size=10), rng.dirichlet(np.ones(10))
    s = phi_divergence(name, 0.2, **kw)
    base = s.worst_case_distribution(l, p)
    lam0, eta0 = base.multipliers["lambda"], base.multipliers["eta"]
    threshold = eta0 + lam0 * s.divergence.phi_inf
    assert threshold >= l.max() - 1e-9
    below = [l.max(), max(l.max(), threshold - 0.2)]
    for sup in [*below, threshold + 0.2, threshold + 2.0]:
        wc = s.worst_case_distribution(l, p, sup_loss=sup)
        check_worst_case(s, wc, l, p, sup_loss=sup)
        assert wc.extra_mass == wc.probabilities[-1]
        if sup in below:
            assert wc.extra_mass < 1e-7
            assert rel_close(wc.value, base.value, 1e-7)
        else:
            assert wc.extra_mass > 1e-3 and wc.value > base.value + 1e-4


@pytest.mark.parametrize(("name", "kw"), FINITE, ids=FINITE_IDS)
def test_remark_3_7_radius_beyond_phi0_plus_phi_inf(name, kw):
    d = divergence(name, **kw)
    l = np.random.default_rng(5).normal(size=8)
    if math.isfinite(d.phi0):
        s = phi_divergence(name, d.phi0 + d.phi_inf + 0.01, **kw)
        wc = s.worst_case_distribution(l, sup_loss=l.max() + 1.5)
        assert wc.value == wc.dual_value == l.max() + 1.5
        assert wc.extra_mass == 1.0 and np.array_equal(wc.probabilities[:-1], np.zeros(8))
    else:  # phi(0) = inf: the nominal atoms always keep mass
        s = phi_divergence(name, 5.0, **kw)
        wc = s.worst_case_distribution(l, sup_loss=l.max() + 1.5)
        check_worst_case(s, wc, l, np.full(8, 1 / 8), sup_loss=l.max() + 1.5)
        assert 0 < wc.extra_mass < 1 and (wc.probabilities[:-1] > 0).all()


@pytest.mark.parametrize(("name", "kw"), INFINITE, ids=INFINITE_IDS)
def test_no_extra_mass_when_phi_inf_is_infinite(name, kw):
    rng = np.random.default_rng(2)
    l = rng.normal(size=9)
    s = phi_divergence(name, 0.4, **kw)
    base = s.worst_case_distribution(l)
    wc = s.worst_case_distribution(l, sup_loss=l.max() + 100.0)
    assert wc.probabilities.size == 10 and wc.probabilities[-1] == 0 and wc.extra_mass == 0
    assert wc.value == base.value and wc.dual_value == pytest.approx(base.dual_value, rel=1e-9)


# --------------------------------------------------------------------------- CVaR
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.37, 1.0])
def test_cvar(alpha):
    rng = np.random.default_rng(4)
    l, p = rng.normal(size=40), rng.dirichlet(np.ones(40))
    s = cvar(alpha)
    assert isinstance(s, CVaRSet) and isinstance(s, ReweightingSet) and s.alpha == alpha
    wc = s.worst_case_distribution(l, p)
    check_worst_case(s, wc, l, p)
    tail = np.sort(rng.normal(size=20))
    assert cvar(0.25).worst_case(tail)[0] == pytest.approx(tail[-5:].mean(), rel=1e-14)
    if alpha == 1.0:
        assert wc.value == pytest.approx(p @ l, rel=1e-14)
    wc = s.worst_case_distribution(l, p, sup_loss=l.max() + 1)
    assert wc.probabilities.size == 41 and wc.probabilities[-1] == 0 and wc.extra_mass == 0


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=8),
    st.floats(0.01, 1.0),
    st.floats(0.0, 2.5),
)
def test_closed_forms_property(losses, alpha, radius):
    l = np.array(losses)
    s = cvar(alpha)
    check_worst_case(s, s.worst_case_distribution(l), l, np.full(l.size, 1 / l.size))
    tv = phi_divergence("tv", radius)
    check_worst_case(tv, tv.worst_case_distribution(l), l, np.full(l.size, 1 / l.size))


# --------------------------------------------------------------------------- API and errors
def test_attributes_and_names():
    s = phi_divergence("Chi_M", 0.5, m=3)
    assert isinstance(s, PhiDivergenceSet) and isinstance(s, ReweightingSet)
    assert (s.name, s.radius, s.params) == ("chi-m", 0.5, {"m": 3.0})
    assert s.divergence.name == "chi-m" and s.divergence.params == {"m": 3.0}
    assert phi_divergence("cressie-read", 1, theta=0.5).params == {"theta": 0.5}
    assert phi_divergence("KL", 1).params == {} and "kl" in repr(phi_divergence("kl", 1))


def test_affine_invariance():
    rng = np.random.default_rng(9)
    l, s = rng.normal(size=20), phi_divergence("kl", 0.3)
    a = s.worst_case_distribution(l)
    b = s.worst_case_distribution(1e3 * l - 7e3)
    assert rel_close(b.value, 1e3 * a.value - 7e3, 1e-8)
    assert rel_close(b.dual_value, 1e3 * a.dual_value - 7e3, 1e-8)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: phi_divergence("kl", -0.1), "radius"),
        (lambda: phi_divergence("kl", float("nan")), "radius"),
        (lambda: phi_divergence("kullback", 0.1), "valid names: kl, burg"),
        (lambda: phi_divergence("chi-m", 0.1), "needs the parameter m="),
        (lambda: phi_divergence("chi-m", 0.1, m=1), "m > 1"),
        (lambda: phi_divergence("chi-m", 0.1, m="x"), "finite number"),
        (lambda: phi_divergence("cressie-read", 0.1), "needs the parameter theta="),
        (lambda: phi_divergence("cressie-read", 0.1, theta=0), "use 'burg'"),
        (lambda: phi_divergence("cressie-read", 0.1, theta=1.0), "use 'kl'"),
        (lambda: phi_divergence("kl", 0.1, m=2), "no parameters; remove m"),
        (lambda: cvar(0.0), r"\(0, 1\]"),
        (lambda: cvar(1.5), r"\(0, 1\]"),
        (lambda: cvar(float("nan")), r"\(0, 1\]"),
    ],
)
def test_parameter_errors(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


@pytest.mark.parametrize("s", [phi_divergence("hellinger", 0.1), cvar(0.2)], ids=["phi", "cvar"])
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, np.nan],), "finite"),
        (([1.0, np.inf],), "finite"),
        (([1.0, 2.0], [-0.5, 1.5]), "non-negative"),
        (([1.0, 2.0], [0.5, 0.6]), "sum to 1"),
        (([1.0, 2.0], [1.0]), "one per sample"),
        (([1.0, 2.0], None, 1.5), "below max"),
        (([1.0, 2.0], None, np.nan), "sup_loss must be a finite"),
    ],
)
def test_input_errors(s, args, match):
    with pytest.raises(ParameterError, match=match):
        s.worst_case_distribution(*args)


# --------------------------------------------------------------- regression: subnormal radii
@pytest.mark.parametrize("radius", [2.2250738585e-313, 1e-300, 1e-200])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("kl", {}),
        ("burg", {}),
        ("j", {}),
        ("chi2-distance", {}),
        ("modified-chi2", {}),
        ("chi2", {}),
        ("hellinger", {}),
        ("chi-m", {"m": 3.0}),
        ("tv", {}),
        ("cressie-read", {"theta": 0.5}),
        ("cressie-read", {"theta": 2.0}),
        ("cressie-read", {"theta": -1.0}),
    ],
)
def test_tiny_radius_keeps_a_valid_bracket(name: str, params: dict, radius: float) -> None:
    """Found by hypothesis: for a subnormal radius the dual's lam range overflowed, and the
    chi-square conjugates lost everything to cancellation at large lam (a "dual bound" of 1e-25
    below the primal 0.5). The bracket must stay valid and tight."""
    l = np.array([0.0, 1.0, 3.0])
    wc = phi_divergence(name, radius, **params).worst_case_distribution(l)
    assert wc.value <= wc.dual_value + 1e-12
    assert rel_close(wc.value, wc.dual_value, 1e-9)
    assert rel_close(wc.value, l.mean(), 1e-9)
