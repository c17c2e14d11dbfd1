"""Input errors of the transport rules (``wasserstein_max_affine``, ``ot_kl_exp_cone``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from dro_opt.conic.builder import ConicBuilder
from dro_opt.dro.losses import PiecewiseAffineLoss
from dro_opt.errors import LossError, ParameterError
from dro_opt.reformulations.emitter import ConicEmitter, CvxpyEmitter
from dro_opt.reformulations.ot_kl_exp_cone import ot_kl_dual
from dro_opt.reformulations.wasserstein_max_affine import wasserstein_dual

SAMPLES = np.array([[0.0, 1.0], [1.0, -1.0], [0.5, 0.5]])


def _loss(support: Any = None) -> PiecewiseAffineLoss:
    x = cp.Variable(2)
    return PiecewiseAffineLoss(SAMPLES, [(x, 1.0), (-x, cp.sum(x))], support=support)


def _wass(em: Any, loss: Any, **kw: Any) -> Any:
    args = {"weights": None, "radius": 0.1, "norm": 2} | kw
    return wasserstein_dual(
        em, loss, args.pop("weights"), args.pop("radius"), args.pop("norm"), **args
    )


def _otkl(em: Any, loss: Any, **kw: Any) -> Any:
    args = {"weights": None, "radius": 0.1, "theta1": 2.0, "norm": 2} | kw
    pos = [args.pop(k) for k in ("weights", "radius", "theta1", "norm")]
    return ot_kl_dual(em, loss, *pos, **args)


RULES = pytest.mark.parametrize("rule", [_wass, _otkl], ids=["wasserstein", "ot_kl"])
Rule = Callable[..., Any]


@RULES
@pytest.mark.parametrize("bad", [SAMPLES, cp.Variable(3), None, "loss"])
def test_loss_must_be_piecewise_affine(rule: Rule, bad: Any) -> None:
    with pytest.raises(LossError, match="PiecewiseAffineLoss"):
        rule(CvxpyEmitter(), bad)


@RULES
@pytest.mark.parametrize("norm", [3, 0.5, 0, -1, "two", None, True, math.nan])
def test_bad_norm(rule: Rule, norm: Any) -> None:
    with pytest.raises(ParameterError, match="norm must be 1, 2 or inf"):
        rule(CvxpyEmitter(), _loss(), norm=norm)


@RULES
@pytest.mark.parametrize("norm", [1, 2.0, math.inf, "inf", np.inf])
def test_accepted_norms(rule: Rule, norm: Any) -> None:
    em = CvxpyEmitter()
    t = rule(em, _loss(), norm=norm)
    assert isinstance(t, cp.Expression) and t.size == 1 and t.is_affine()
    assert em.constraints


@RULES
@pytest.mark.parametrize("radius", [-0.1, math.inf, math.nan, "big", None])
def test_bad_radius(rule: Rule, radius: Any) -> None:
    with pytest.raises(ParameterError, match="radius must be a finite number >= 0"):
        rule(CvxpyEmitter(), _loss(), radius=radius)


@pytest.mark.parametrize("theta1", [1.0, 0.5, -2.0, math.inf, math.nan, "x", None, True])
def test_bad_theta1(theta1: Any) -> None:
    with pytest.raises(ParameterError, match="theta1 must be a finite number > 1"):
        _otkl(CvxpyEmitter(), _loss(), theta1=theta1)


@RULES
def test_bad_cost(rule: Rule) -> None:
    with pytest.raises(ParameterError, match="cost must be 'norm' or 'squared'"):
        rule(CvxpyEmitter(), _loss(), cost="cubic")


@RULES
@pytest.mark.parametrize(
    ("weights", "match"),
    [([0.5, 0.5], "one per sample"), ([0.5, 0.6, 0.1], "sum to 1"), ([1.2, -0.1, -0.1], "non")],
)
def test_bad_weights(rule: Rule, weights: Any, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        rule(CvxpyEmitter(), _loss(), weights=weights)


@RULES
def test_support_errors(rule: Rule) -> None:
    loss = _loss(support=(-2.0, 2.0))
    with pytest.raises(ParameterError, match="does not intersect"):
        rule(CvxpyEmitter(), loss, support=(3.0, 4.0))
    with pytest.raises(ParameterError, match="sample 1 lies outside the support box"):
        rule(CvxpyEmitter(), loss, support=([-1.0, 0.0], [1.0, 1.0]))
    with pytest.raises(ParameterError, match="lower <= upper"):
        rule(CvxpyEmitter(), loss, support=(1.0, -1.0))
    with pytest.raises(ParameterError, match="support must be a box"):
        rule(CvxpyEmitter(), loss, support=(0.0, 1.0, 2.0))


@RULES
def test_cvxpy_emitter_required(rule: Rule) -> None:
    with pytest.raises(TypeError, match="CvxpyEmitter"):
        rule(ConicEmitter(ConicBuilder()), _loss())
