"""Out-of-sample comparison of a robust decision with the ERM decision (paper 003 Table 3, Fig. 2).

Protocol (paper 003 Sec. 5, P&R-NYC): split the customers at random into training and test sets
(80:20), compute the decisions on the training customers (any solver: the decisions are inputs
here), then compare the choice probabilities ``f_i(z)`` (probability that test customer ``i``
picks one of our open facilities) of the two decisions on the test customers. Test customers are
sorted by their probability under the ERM decision and grouped in *cumulative* buckets: the
lowest 5%, the lowest 10%, ... and finally all of them (the overall average). For each bucket we
report the (weighted) mean probability under ERM and under the robust decision, the absolute
improvement ``mean_robust - mean_erm`` and the relative improvement
``100 (mean_robust - mean_erm) / mean_erm`` (in %, of the bucket means: per-customer ratios
explode where ERM probabilities are near 0).

Buckets use the customers' weights: customer ``i`` (in ascending ERM order) belongs to the
lowest-``x`` bucket when the weight strictly before it is ``< x * W`` (``W`` = total test
weight); with unit weights that is the ``ceil(x M)`` lowest of ``M`` customers. Ties in ERM
probability are broken by customer index (stable sort).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from dro_opt.errors import ParameterError
from dro_opt.models.facility_location.instance import MCFLPInstance
from dro_opt.models.facility_location.objectives import capture_probabilities

__all__ = [
    "DEFAULT_FRACTIONS",
    "BucketRow",
    "OutOfSampleReport",
    "bucketed_improvement",
    "format_table",
    "train_test_split",
]

DEFAULT_FRACTIONS = tuple(round(0.05 * k, 2) for k in range(1, 21))


def train_test_split(
    instance: MCFLPInstance, test_fraction: float = 0.2, seed: int = 0
) -> tuple[MCFLPInstance, MCFLPInstance, np.ndarray, np.ndarray]:
    """Random split of the customers: ``(train, test, train_idx, test_idx)``.

    ``ceil(test_fraction * N)`` customers go to the test set, chosen by a seeded permutation;
    indices are returned sorted. Both parts must keep some positive weight.
    """
    N = instance.num_customers
    if not (math.isfinite(test_fraction) and 0 < test_fraction < 1):
        raise ParameterError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = math.ceil(test_fraction * N)
    if n_test >= N:
        raise ParameterError(
            f"{N} customers are too few to keep a training set; lower the fraction"
        )
    perm = np.random.default_rng(seed).permutation(N)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    parts = []
    for label, idx in (("train", train_idx), ("test", test_idx)):
        if instance.q[idx].sum() <= 0:
            raise ParameterError(f"the {label} split has zero total weight; change the seed")
        parts.append(
            MCFLPInstance(
                q=instance.q[idx],
                a=instance.a[idx],
                name=f"{instance.name}/{label}",
                meta={
                    **instance.meta,
                    "split": label,
                    "split_seed": int(seed),
                    "test_fraction": float(test_fraction),
                },
            )
        )
    return parts[0], parts[1], train_idx, test_idx


@dataclass(frozen=True)
class BucketRow:
    """One cumulative bucket: the test customers with the lowest ERM choice probabilities."""

    fraction: float  # 0.05 = lowest 5%
    customers: int
    weight: float
    erm_mean: float
    robust_mean: float
    improvement: float  # robust_mean - erm_mean
    relative_improvement: float  # 100 * improvement / erm_mean (nan if erm_mean == 0)


@dataclass(frozen=True)
class OutOfSampleReport:
    rows: tuple[BucketRow, ...]
    overall: BucketRow
    erm_probabilities: np.ndarray
    robust_probabilities: np.ndarray

    def to_dict(self) -> dict:
        return {"rows": [asdict(r) for r in self.rows], "overall": asdict(self.overall)}


def _decision(z: np.ndarray, D: int, label: str) -> np.ndarray:
    z = np.asarray(z, dtype=float).ravel()
    if z.shape != (D,) or not np.isfinite(z).all() or (z < 0).any():
        raise ParameterError(
            f"the {label} decision must be a non-negative vector of length D = {D} "
            "(use open_to_z for a list of open locations)"
        )
    return z


def _row(fraction: float, mask: np.ndarray, w: np.ndarray, fe: np.ndarray, fr: np.ndarray):
    W = float(w[mask].sum())
    erm = float(w[mask] @ fe[mask]) / W
    rob = float(w[mask] @ fr[mask]) / W
    rel = 100.0 * (rob - erm) / erm if erm > 0 else math.nan
    return BucketRow(float(fraction), int(mask.sum()), W, erm, rob, rob - erm, rel)


def bucketed_improvement(
    test: MCFLPInstance,
    z_erm: np.ndarray,
    z_robust: np.ndarray,
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS,
    *,
    weighted: bool = True,
) -> OutOfSampleReport:
    """Bucketed comparison of the two decisions on the test customers (module docstring).

    Parameters
    ----------
    test : the test customers.
    z_erm, z_robust : decisions (D,), typically 0/1.
    fractions : cumulative bucket sizes in (0, 1]; the overall row is always added.
    weighted : use the customer weights ``q`` (default) or count every customer once.
    """
    D = test.num_locations
    ze, zr = _decision(z_erm, D, "ERM"), _decision(z_robust, D, "robust")
    fr_list = [float(x) for x in fractions]
    if not fr_list or any(not (0 < x <= 1) for x in fr_list):
        raise ParameterError("bucket fractions must lie in (0, 1]")
    w = test.q if weighted else (test.q > 0).astype(float)
    fe = capture_probabilities(test.a, ze)
    fr = capture_probabilities(test.a, zr)
    order = np.argsort(fe, kind="stable")
    before = np.concatenate([[0.0], np.cumsum(w[order])[:-1]])
    total = float(w.sum())
    rows = []
    for x in fr_list:
        mask = np.zeros(test.num_customers, dtype=bool)
        mask[order[(before < x * total) & (w[order] > 0)]] = True
        rows.append(_row(x, mask, w, fe, fr))
    overall = _row(1.0, w > 0, w, fe, fr)
    return OutOfSampleReport(tuple(rows), overall, fe, fr)


def format_table(reports: dict[str, OutOfSampleReport] | OutOfSampleReport) -> str:
    """Plain-text table: one line per bucket, per decision the robust mean and its improvement.

    ``reports`` maps a label (e.g. ``"chi2 rho=1e3"``) to a report against the same ERM decision.
    """
    if isinstance(reports, OutOfSampleReport):
        reports = {"robust": reports}
    labels = list(reports)
    first = reports[labels[0]]
    head = f"{'bucket':>8} {'n':>6} {'ERM':>8}"
    for lab in labels:
        head += f" | {lab[:18]:>18} {'+abs':>8} {'+%':>7}"
    lines = [head, "-" * len(head)]
    all_rows = [*first.rows, first.overall]
    for t, row in enumerate(all_rows):
        name = "all" if t == len(first.rows) else f"{100 * row.fraction:.0f}%"
        line = f"{name:>8} {row.customers:>6d} {row.erm_mean:>8.4f}"
        for lab in labels:
            other = [*reports[lab].rows, reports[lab].overall][t]
            line += (
                f" | {other.robust_mean:>18.4f} {other.improvement:>+8.4f}"
                f" {other.relative_improvement:>+7.2f}"
            )
        lines.append(line)
    return "\n".join(lines)
