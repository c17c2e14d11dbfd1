"""Paper 001 Table 2 reproduction at the full search settings (Appendix E), linear models.

Data (paper 001 Appendix E): four groups x | g ~ N(mu_g, I_2), mu_0 = (5/3, 5/3),
mu_1 = (-5/3, -5/3), mu_2 = (5/3, -5/3), mu_3 = (-5/3, 5/3); y = 0 for g in {0, 2}, 1 for
{1, 3}; training sizes (500, 420, 140, 140); the training and validation samples of group 3 are
shifted by eps_3 ~ N((-2, -0.5), 0.3 I_2), the test samples are not. Not given by the paper and
chosen here: validation sizes (250, 210, 70, 70), test sizes (250, 210, 75, 75) (the printed
accuracies are multiples of 1/75 for the minority groups), seed 0, the KL ball for the group
weights, logistic loss with ridge alpha = 0.01, and **linear models** (the paper trains a
4-layer MLP; for linear models our lower level is the exact conic program, certified).

Search (paper 001 Alg. 2): rho in [0, 3], eps_0, eps_1 in [0, 3], eps_2, eps_3 in [0, 5]; full
settings: the 3^5 = 243-point grid, then GP + expected improvement up to 300 evaluations in
total; ``--quick``: a 2^5 grid and 8 GP steps. Evaluations run on ``--jobs`` local processes.

Prints ERM (pooled), GroupDRO (GroupDROClassifier) and Per-GDRO with the learned radii: average
and worst-group test accuracy and per group, beside the paper's Table 2, and the search's wall
time. The notebook ``notebooks/per_group_dro_table2.ipynb`` imports the data generator from
here and runs a reduced search.

Usage: ``python benchmarks/group_dro_reproduction.py [--quick] [--jobs 2]
[--model linear|mlp] [--evaluations N]``

``--model mlp``: the numpy ``tanh`` MLP 2-16-16-16-1 (4 weight layers, logistic loss, ridge
1e-3 on the weights) trained by paper 001 Algorithm 1 (iterative best response, 300
full-batch epochs, 10 PGD steps per epoch) for all three methods; eq. (9) on the validation
set with the inner sup estimated by 50 PGD steps (a lower estimate, so no certificate); search:
the zero radii plus ``N // 2 - 1`` Sobol points, then GP + EI to ``N`` evaluations (default 60).

Measured (full settings, ``--jobs 2``, 2 cores shared with other jobs, 300 evaluations in
1658 s, most of it the GP fits on 250+ points; one evaluation failed with Clarabel numerical
trouble at rho = 2.89 and was skipped)::

  method                       avg  worst    G0    G1    G2    G3   | paper: avg worst G0 G1 G2 G3
  ERM                        0.903  0.720 0.992 0.967 0.933 0.720   | 0.93 0.68 0.99 0.96 0.89 0.68
  GDRO                       0.938  0.840 0.996 0.943 0.973 0.840   | 0.93 0.72 0.98 0.95 0.95 0.72
  Per-GDRO (learned radii)   0.903  0.720 0.992 0.967 0.933 0.720   | 0.94 0.81 0.97 0.97 0.89 0.81
  learned radii: rho = 0, eps = [0.0, 0.0, 0.0, 0.0], L_val = 0.08110

With linear models the robust validation objective (eq. 9, the same radii on the validation
set) is minimised at zero radii: for a fixed model it only grows with the radii, and no linear
model trained with positive radii lowered the nominal validation loss enough to compensate
(large radii collapse to w = 0, L_val = log 2). The paper's MLP result is not reproduced.

Measured, ``--model mlp --evaluations 60 --jobs 2`` (2 cores shared with other jobs, 60
evaluations in 178.5 s, none failed)::

  method                       avg  worst    G0    G1    G2    G3   | paper: avg worst G0 G1 G2 G3
  ERM                        0.908  0.733 0.992 0.962 0.947 0.733   | 0.93 0.68 0.99 0.96 0.89 0.68
  GDRO                       0.929  0.800 0.996 0.948 0.973 0.800   | 0.93 0.72 0.98 0.95 0.95 0.72
  Per-GDRO (learned radii)   0.908  0.733 0.992 0.962 0.947 0.733   | 0.94 0.81 0.97 0.97 0.89 0.81
  Per-GDRO (Trial 244 radii) 0.908  0.733 0.992 0.962 0.947 0.733   | 0.94 0.81 0.97 0.97 0.89 0.81
  Ideal (Trial 253 radii)    0.941  0.920 0.948 0.962 0.933 0.920   | 0.95 0.91 0.96 0.93 0.97 0.91
  learned radii: rho = 0, eps = [0.0, 0.0, 0.0, 0.0], L_val = 0.06785

The paper's ordering (Per-GDRO above GroupDRO above ERM in worst-group accuracy) is **not**
reproduced with the MLP either: Algorithm 2 on eq. (9) again selects the zero radii
(Per-GDRO = ERM; every positive-radius evaluation had L_val >= 0.086 against 0.068), because
eq. (9) applies the same radii to the validation set, so positive radii add a robustness
penalty on validation that the trained model's nominal gain never repaid in these 60
evaluations. The paper's own Trial 244 radii (0, (0, 0, 0, 1.8)) change the MLP (parameter
change 0.17 of norm 6.3) but not one test prediction. The paper's "ideal" Trial 253 radii do
give its ideal row (worst group 0.920 vs 0.91 published), so the model class and Algorithm 1
can reach the published accuracies; what differs is the selection by eq. (9). GroupDRO
(KL ball holding the whole simplex, Algorithm 1) is above the published GDRO row (0.800 vs
0.72). Unspecified in the paper and chosen here: widths, activation, optimiser, schedules, PGD
settings, type-1 W with the Euclidean cost.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.stats import qmc

from dro_opt.models.group_dro import GroupDROClassifier
from dro_opt.models.iterative_best_response import iterative_best_response
from dro_opt.models.numpy_models import MLP
from dro_opt.models.per_group_dro import PerGroupDROClassifier
from dro_opt.models.radius_search import (
    differentiable_evaluation,
    linear_evaluation,
    search_radii,
)

MEANS = np.array([[5, 5], [-5, -5], [5, -5], [-5, 5]]) / 3.0
LABELS = np.array([0, 1, 0, 1])
TRAIN_SIZES = (500, 420, 140, 140)
VAL_SIZES = (250, 210, 70, 70)
TEST_SIZES = (250, 210, 75, 75)
RHO_BOUNDS = (0.0, 3.0)
EPS_BOUNDS = [(0.0, 3.0), (0.0, 3.0), (0.0, 5.0), (0.0, 5.0)]
ALPHA = 0.01
#: Paper 001 Table 2: (average, worst, G0, G1, G2, G3).
PAPER = {
    "ERM": (0.93, 0.68, 0.99, 0.96, 0.89, 0.68),
    "GDRO": (0.93, 0.72, 0.98, 0.95, 0.95, 0.72),
    "Per-GDRO (learned radii)": (0.94, 0.81, 0.97, 0.97, 0.89, 0.81),
    "Per-GDRO (Trial 244 radii)": (0.94, 0.81, 0.97, 0.97, 0.89, 0.81),
    "Ideal (Trial 253 radii)": (0.95, 0.91, 0.96, 0.93, 0.97, 0.91),
}
#: Paper 001 Fig. 2 (c) and (d): the radii (rho, eps) of Trials 244 (selected) and 253 (ideal).
PAPER_TRIALS = {
    "Per-GDRO (Trial 244 radii)": (0.0, [0.0, 0.0, 0.0, 1.8]),
    "Ideal (Trial 253 radii)": (2.2, [0.6, 1.2, 0.4, 4.9]),
}


def four_groups(rng: np.random.Generator, sizes: tuple[int, ...], shift: bool):
    """``(X, y, groups)`` of paper 001 Appendix E (group 3 shifted when ``shift``)."""
    g = np.repeat(np.arange(4), sizes)
    X = MEANS[g] + rng.normal(size=(g.size, 2))
    if shift:
        k = g == 3
        X[k] += rng.multivariate_normal([-2.0, -0.5], 0.3 * np.eye(2), int(k.sum()))
    return X, LABELS[g], g


def splits(seed: int = 0):
    rng = np.random.default_rng(seed)
    train = four_groups(rng, TRAIN_SIZES, True)
    val = four_groups(rng, VAL_SIZES, True)
    test = four_groups(rng, TEST_SIZES, False)
    return train, val, test


def group_accuracies(est, test) -> np.ndarray:
    X, y, g = test
    hit = est.predict(X) == y
    return np.bincount(g, weights=hit) / np.bincount(g)


def fit_all(train, val, *, init, grid_levels, n_iter, jobs, verbose=False):
    """ERM, GroupDRO and Per-GDRO with radii learned by Algorithm 2: ``(models, search)``."""
    X, y, g = train
    erm = PerGroupDROClassifier("logistic", "kl", 0.0, 0.0, ALPHA, single_class_groups=True)
    gdro = GroupDROClassifier("logistic", alpha=ALPHA, single_class_groups=True)
    evaluate = linear_evaluation(train, val, "logistic", "kl", ALPHA)
    search = search_radii(
        evaluate, RHO_BOUNDS, EPS_BOUNDS, init=init, grid_levels=grid_levels, n_iter=n_iter,
        batch_size=jobs, n_jobs=jobs, seed=0, verbose=verbose,
    )  # fmt: skip
    per = PerGroupDROClassifier(
        "logistic", "kl", search.rho, search.eps, ALPHA, single_class_groups=True
    )
    models = {
        "ERM": erm.fit(X, y, groups=g),
        "GDRO": gdro.fit(X, y, groups=g),
        "Per-GDRO (learned radii)": per.fit(X, y, groups=g),
    }
    return models, search


#: ``--model mlp``: the network (4 weight layers, paper 001 App. E "4-layer MLP", widths not
#: given), its ridge, and Algorithm 1's settings (full batch; the paper's 100 SGD epochs with an
#: unstated batch size become 300 full-batch epochs here).
MLP_HIDDEN = (16, 16, 16)
MLP_ALPHA = 1e-3
MLP_ALG1 = {"epochs": 300, "lr": 0.5, "decay": 0.5, "pgd_steps": 10, "pgd_lr": 0.5}


class FittedMLP:
    """A trained MLP with ``predict`` (labels 0/1), for :func:`table`."""

    def __init__(self, model: MLP, theta: np.ndarray) -> None:
        self.model, self.theta = model, theta

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.model.decision(self.theta, X) > 0).astype(int)


def _pm(data):
    X, y, g = data
    return X, 2.0 * y - 1.0, g


def fit_all_mlp(train, val, *, evaluations, jobs, verbose=False):
    """ERM, GroupDRO and Per-GDRO for the MLP, all by Algorithm 1 (iterative best response):
    ERM with zero radii; GroupDRO with eps = 0 and the KL radius -log(min_g p_hat_g), whose
    ball contains every group-weight vector (KL(p || p_hat) is convex in p, so its maximum over
    the simplex is at a vertex e_g, where it equals -log p_hat_g); Per-GDRO with the radii of
    Algorithm 2 on eq. (9); for comparison also the paper's Trial 244 and 253 radii
    (:data:`PAPER_TRIALS`) through the same Algorithm 1. Initial design: the zero radii plus
    ``evaluations // 2 - 1`` scrambled Sobol points; the rest GP + expected improvement."""
    model = MLP(2, MLP_HIDDEN, seed=0)
    tr, va = _pm(train), _pm(val)
    evaluate = differentiable_evaluation(model, tr, va, "kl", MLP_ALPHA, **MLP_ALG1)
    lo = np.array([RHO_BOUNDS[0], *(b[0] for b in EPS_BOUNDS)])
    hi = np.array([RHO_BOUNDS[1], *(b[1] for b in EPS_BOUNDS)])
    n_init = max(2, evaluations // 2)
    with warnings.catch_warnings():  # n not a power of 2: only the balance property is lost
        warnings.simplefilter("ignore", UserWarning)
        sobol = qmc.Sobol(lo.size, scramble=True, seed=0).random(n_init - 1)
    init = np.vstack([lo, lo + sobol * (hi - lo)])
    search = search_radii(
        evaluate, RHO_BOUNDS, EPS_BOUNDS, init=init, n_iter=max(0, evaluations - n_init),
        batch_size=jobs, n_jobs=jobs, seed=0, verbose=verbose,
    )  # fmt: skip
    counts = np.bincount(tr[2])
    rho_gdro = float(-np.log(counts.min() / counts.sum()))
    radii = {
        "ERM": (0.0, 0.0),
        "GDRO": (rho_gdro, 0.0),
        "Per-GDRO (learned radii)": (search.rho, search.eps),
        **PAPER_TRIALS,
    }
    models = {}
    for name, (rho, eps) in radii.items():
        res = iterative_best_response(
            model, model.init(), *tr, phi="kl", rho=rho, eps=eps, alpha=MLP_ALPHA, **MLP_ALG1
        )
        models[name] = FittedMLP(model, res.theta)
    return models, search


def table(models, test) -> str:
    head = f"{'method':<26}{'avg':>6}{'worst':>7}{'G0':>6}{'G1':>6}{'G2':>6}{'G3':>6}"
    lines = [head + "   | paper: avg worst G0 G1 G2 G3"]
    for name, est in models.items():
        acc = group_accuracies(est, test)
        ours = (acc.mean(), acc.min(), *acc)
        paper = " ".join(f"{v:.2f}" for v in PAPER[name])
        lines.append(f"{name:<26}" + "".join(f"{v:>6.3f}" for v in ours[:1])
                     + f"{ours[1]:>7.3f}" + "".join(f"{v:>6.3f}" for v in ours[2:])
                     + f"   | {paper}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2^5 grid + 8 GP steps")
    ap.add_argument("--jobs", type=int, default=2, help="parallel evaluations (processes)")
    ap.add_argument(
        "--model", choices=("linear", "mlp"), default="linear",
        help="linear: exact conic lower level; mlp: the numpy MLP through Algorithm 1",
    )  # fmt: skip
    ap.add_argument(
        "--evaluations", type=int, default=None,
        help="total radius evaluations (mlp; default 60): half initial design, half GP + EI",
    )  # fmt: skip
    args = ap.parse_args()
    if args.jobs < 1 or (args.evaluations is not None and args.evaluations < 2):
        ap.error("--jobs must be >= 1 and --evaluations >= 2")
    if args.model == "linear" and args.evaluations is not None:
        ap.error("--evaluations applies to --model mlp (linear: --quick or the full 300)")
    train, val, test = splits(0)
    start = time.perf_counter()
    if args.model == "mlp":
        evaluations = args.evaluations or (12 if args.quick else 60)
        models, search = fit_all_mlp(
            train, val, evaluations=evaluations, jobs=args.jobs, verbose=True
        )
    else:
        levels, n_iter = (2, 8) if args.quick else (3, 300 - 3**5)
        models, search = fit_all(
            train, val, init="grid", grid_levels=levels, n_iter=n_iter, jobs=args.jobs,
            verbose=True,
        )  # fmt: skip
    secs = time.perf_counter() - start
    print(table(models, test))
    print(f"learned radii: rho = {search.rho:.3g}, eps = {np.round(search.eps, 3).tolist()}, "
          f"L_val = {search.value:.5f}; {len(search.trials)} evaluations in {secs:.1f} s "
          f"on {args.jobs} processes")  # fmt: skip


if __name__ == "__main__":
    main()
