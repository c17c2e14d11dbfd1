"""Out-of-sample bucketed comparison (paper 003 Table 3 / Fig. 2) on hand-checkable inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.out_of_sample import (
    bucketed_improvement,
    format_table,
    train_test_split,
)


def _hand_instance() -> MCFLPInstance:
    # one location each; f = sigmoid(a). ERM opens location 0, robust opens location 1.
    # customers' ERM probabilities: 0.1, 0.2, 0.5, 0.8 (sorted order 3, 0, 1, 2)
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    a = np.array(
        [
            [logit(0.2), logit(0.3)],
            [logit(0.5), logit(0.5)],
            [logit(0.8), logit(0.6)],
            [logit(0.1), logit(0.4)],
        ]
    )
    return MCFLPInstance(q=np.ones(4), a=a)


def test_bucket_means_by_hand() -> None:
    inst = _hand_instance()
    rep = bucketed_improvement(inst, np.array([1.0, 0.0]), np.array([0.0, 1.0]), (0.25, 0.5, 1.0))
    r25, r50, r100 = rep.rows
    assert r25.customers == 1  # the single lowest: customer 3 (0.1 -> 0.4)
    assert r25.erm_mean == pytest.approx(0.1) and r25.robust_mean == pytest.approx(0.4)
    assert r25.improvement == pytest.approx(0.3)
    assert r25.relative_improvement == pytest.approx(300.0)
    assert r50.customers == 2  # customers 3 and 0: ERM (0.1 + 0.2)/2, robust (0.4 + 0.3)/2
    assert r50.erm_mean == pytest.approx(0.15) and r50.robust_mean == pytest.approx(0.35)
    assert r100.erm_mean == pytest.approx(0.4) and r100.robust_mean == pytest.approx(0.45)
    assert rep.overall == r100
    assert rep.overall.relative_improvement == pytest.approx(12.5)


def test_fraction_rounds_up_and_weights_count() -> None:
    inst = _hand_instance()
    z0, z1 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    rep = bucketed_improvement(inst, z0, z1, (0.3,))
    assert rep.rows[0].customers == 2  # ceil(0.3 * 4)
    heavy = MCFLPInstance(q=np.array([1.0, 1.0, 1.0, 3.0]), a=inst.a)
    rep = bucketed_improvement(heavy, z0, z1, (0.5,))
    # customer 3 alone holds half the weight: the lowest-50% bucket is just it
    assert rep.rows[0].customers == 1 and rep.rows[0].weight == 3.0
    assert rep.overall.erm_mean == pytest.approx((0.2 + 0.5 + 0.8 + 3 * 0.1) / 6)
    unweighted = bucketed_improvement(heavy, z0, z1, (0.5,), weighted=False)
    assert unweighted.rows[0].customers == 2
    assert unweighted.overall.erm_mean == pytest.approx(0.4)


def test_same_decision_gives_zero_improvement_and_table() -> None:
    inst = _hand_instance()
    z = np.array([1.0, 1.0])
    rep = bucketed_improvement(inst, z, z)
    assert all(r.improvement == 0.0 for r in rep.rows)
    assert len(rep.rows) == 20 and rep.rows[-1].fraction == 1.0
    text = format_table({"same": rep, "again": rep})
    lines = text.splitlines()
    assert len(lines) == 2 + 20 + 1
    assert lines[2].split()[0] == "5%" and lines[-1].split()[0] == "all"
    assert "same" in lines[0] and "again" in lines[0]
    assert rep.to_dict()["overall"]["improvement"] == 0.0


def test_train_test_split() -> None:
    rng = np.random.default_rng(0)
    inst = MCFLPInstance(q=rng.integers(1, 5, 103).astype(float), a=rng.normal(size=(103, 4)))
    train, test, tr, te = train_test_split(inst, 0.2, seed=5)
    assert test.num_customers == 21 and train.num_customers == 82
    assert np.intersect1d(tr, te).size == 0 and np.union1d(tr, te).size == 103
    np.testing.assert_array_equal(test.a, inst.a[te])
    np.testing.assert_array_equal(train.q, inst.q[tr])
    _, _, _, te2 = train_test_split(inst, 0.2, seed=5)
    _, _, _, te3 = train_test_split(inst, 0.2, seed=6)
    np.testing.assert_array_equal(te, te2)
    assert not np.array_equal(te, te3)
    with pytest.raises(ParameterError, match="test_fraction"):
        train_test_split(inst, 1.0)


def test_bad_inputs() -> None:
    inst = _hand_instance()
    with pytest.raises(ParameterError, match="length D"):
        bucketed_improvement(inst, np.ones(3), np.ones(2))
    with pytest.raises(ParameterError, match="fractions"):
        bucketed_improvement(inst, np.ones(2), np.ones(2), (0.0,))
