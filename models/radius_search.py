r"""Paper 001 Algorithm 2: learn the radii :math:`(\rho, \{\varepsilon_g\})` by surrogate search.

The upper level (paper 001 eq. (1)) minimises the robust validation objective (eq. (9))

.. math::

    L_{val}(\rho, \varepsilon) = \max_{p \in P_\phi^{val}(\rho)} \sum_g p_g
    \max_{q_g \in Q_g^{val}(\varepsilon_g)} E_{q_g}[\ell(\theta^*(\rho, \varepsilon);
    D^g_{val})]

of the lower-level solution :math:`\theta^*` trained with the same radii. Algorithm 2 (paper 001
Appendix C): evaluate an initial design (a grid, as the paper's :math:`3^5 = 243` points, or a
scrambled Sobol sample), then repeatedly fit a Gaussian-process surrogate to every
:math:`((\rho, \varepsilon), L_{val})` seen and evaluate the point maximising expected
improvement; return the best evaluated radii.

Surrogate: scikit-learn's :class:`~sklearn.gaussian_process.GaussianProcessRegressor` (a
maintained library the package already depends on; no extra dependency, unlike Optuna's GP
sampler) with an anisotropic Matern-5/2 kernel times a constant plus a white-noise term
(the lower level may be solved inexactly), ``normalize_y``, inputs scaled to the unit box.
Expected improvement for minimisation, :math:`EI = (y^* - \mu - \xi)\Phi(z) + \sigma\varphi(z)`,
:math:`z = (y^* - \mu - \xi)/\sigma`, maximised over a scrambled Sobol candidate set plus
Gaussian perturbations of the best points. To keep ``batch_size`` evaluations running at once
the batch is chosen by the "constant liar" rule (each chosen point is added with the value
:math:`y^*` before choosing the next; Ginsbourger, Le Riche & Carraro 2010).

Evaluations run serially, on a local process pool (``n_jobs > 1``,
:class:`concurrent.futures.ProcessPoolExecutor`) or on a Dask cluster (``client`` a
``dask.distributed.Client``), as ``dro-opt compare`` does; each is logged as a
:class:`RadiusTrial` and, only when ``verbose``, printed as one progress line. The default
evaluation fits :class:`~dro_opt.models.per_group_dro.PerGroupDROClassifier` (exact lower level)
and computes eq. (9) with :func:`~dro_opt.models.per_group_dro.robust_validation_loss`; any
picklable ``evaluate(rho, eps) -> float`` (e.g. Algorithm 1 on an MLP) may replace it. The
search is a heuristic: nothing is claimed about the global minimum over the box.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from itertools import product
from typing import Any

import numpy as np
from scipy.stats import norm, qmc

from dro_opt.errors import ParameterError

from .per_group_dro import PerGroupDROClassifier, robust_validation_loss

#: ``evaluate(rho, eps) -> L_val``.
Evaluate = Callable[[float, np.ndarray], float]


@dataclass(frozen=True)
class RadiusTrial:
    """One evaluation of the upper-level objective."""

    index: int
    phase: str  # "init" or "gp-ei"
    rho: float
    eps: tuple[float, ...]
    value: float  # L_val (inf when the evaluation failed)
    seconds: float
    message: str = ""


@dataclass
class RadiusSearchResult:
    """Output of :func:`search_radii`: the best radii and every trial in evaluation order."""

    rho: float
    eps: np.ndarray
    value: float
    trials: list[RadiusTrial] = field(default_factory=list)


def linear_evaluation(
    train: tuple[Any, Any, Any],
    val: tuple[Any, Any, Any],
    loss: str = "logistic",
    phi: str = "kl",
    alpha: float = 0.0,
    divergence_params: dict[str, Any] | None = None,
) -> Evaluate:
    """The default evaluation: exact Per-GDRO fit on ``train = (X, y, groups)`` (one-class
    groups allowed, as in paper 001 Appendix E), eq. (9) on ``val`` (a picklable callable, so
    it runs on process pools and Dask workers)."""
    return partial(_linear_value, train, val, loss, phi, alpha, divergence_params)


def _linear_value(
    train: tuple[Any, Any, Any],
    val: tuple[Any, Any, Any],
    loss: str,
    phi: str,
    alpha: float,
    params: dict[str, Any] | None,
    rho: float,
    eps: np.ndarray,
) -> float:
    est = PerGroupDROClassifier(
        loss,
        phi=phi,
        rho=rho,
        eps=np.asarray(eps),
        alpha=alpha,
        divergence_params=params,
        single_class_groups=True,
    )
    est.fit(*train[:2], groups=train[2])
    return robust_validation_loss(est, *val)


def differentiable_evaluation(
    model: Any,
    train: tuple[Any, Any, Any],
    val: tuple[Any, Any, Any],
    phi: str = "kl",
    alpha: float = 0.0,
    **algorithm1: Any,
) -> Evaluate:
    r"""Evaluation for a loss-and-gradient model (e.g. :class:`~dro_opt.models.numpy_models.MLP`):
    paper 001 Algorithm 1 from ``model.init()`` on ``train = (X, ypm, codes)`` (labels
    :math:`\pm 1`, group codes ``0..G-1``) with the radii, then eq. (9) on ``val`` by
    :func:`~dro_opt.models.iterative_best_response.robust_validation_estimate` (PGD estimate
    of the inner sup). ``algorithm1`` are keyword arguments of ``iterative_best_response``.
    Picklable when ``model`` is."""
    return partial(_differentiable_value, model, train, val, phi, alpha, algorithm1)


def _differentiable_value(
    model: Any,
    train: tuple[Any, Any, Any],
    val: tuple[Any, Any, Any],
    phi: str,
    alpha: float,
    algorithm1: dict[str, Any],
    rho: float,
    eps: np.ndarray,
) -> float:
    from .iterative_best_response import iterative_best_response, robust_validation_estimate

    res = iterative_best_response(
        model, model.init(), *train, phi=phi, rho=rho, eps=eps, alpha=alpha, **algorithm1
    )
    return robust_validation_estimate(
        model, res.theta, *val, phi=phi, rho=rho, eps=eps,
        divergence_params=algorithm1.get("divergence_params"),
    )  # fmt: skip


def _run_one(evaluate: Evaluate, rho: float, eps: tuple[float, ...]) -> tuple[float, float, str]:
    """``(value, seconds, message)`` of one evaluation; a failure is an ``inf`` value with its
    reason (the search goes on)."""
    start = time.perf_counter()
    try:
        value = float(evaluate(rho, np.asarray(eps, dtype=float)))
        msg = "" if math.isfinite(value) else "non-finite value"
    except Exception as exc:  # a failed lower level must not stop the search
        value, msg = math.inf, f"{type(exc).__name__}: {exc}"
    return (value if math.isfinite(value) else math.inf), time.perf_counter() - start, msg


def search_radii(
    evaluate: Evaluate,
    rho_bounds: tuple[float, float],
    eps_bounds: Sequence[tuple[float, float]],
    *,
    init: Any = "grid",
    grid_levels: int = 3,
    n_iter: int = 20,
    batch_size: int = 1,
    n_jobs: int = 1,
    client: Any = None,
    xi: float = 0.01,
    n_candidates: int = 1024,
    seed: int = 0,
    verbose: bool = False,
) -> RadiusSearchResult:
    r"""Paper 001 Algorithm 2 (module docstring).

    Parameters
    ----------
    evaluate : ``(rho, eps) -> L_val`` (e.g. :func:`linear_evaluation`); picklable for
        ``n_jobs > 1`` or ``client``.
    rho_bounds, eps_bounds : the box, ``(lo, hi)`` for :math:`\rho` and one per group.
    init : ``"grid"`` (``grid_levels`` values per dimension, paper 001 App. E), a number of
        scrambled Sobol points, or an ``(m, 1 + G)`` array of points ``(rho, eps_1..eps_G)``.
    n_iter : evaluations after the initial design (GP + expected improvement).
    batch_size : points chosen per GP round (constant liar), evaluated concurrently.
    n_jobs, client : local process pool size, or a ``dask.distributed.Client``.
    xi : expected-improvement margin; ``n_candidates`` Sobol candidates per choice.
    seed : seeds the Sobol sequences and the GP optimiser restarts.
    verbose : print one progress line per finished evaluation.
    """
    lo, hi = _check_box(rho_bounds, eps_bounds)
    if int(n_iter) < 0 or int(batch_size) < 1 or int(n_jobs) < 1:
        raise ParameterError("n_iter must be >= 0, batch_size and n_jobs >= 1")
    design = _initial_design(lo, hi, init, grid_levels, seed)
    trials: list[RadiusTrial] = []
    total = len(design) + int(n_iter)
    runner = _Runner(evaluate, n_jobs, client)
    try:
        runner.run(design, "init", trials, total, verbose)
        rng = np.random.default_rng(seed)
        while len(trials) < total:
            k = min(int(batch_size), total - len(trials))
            batch = _propose(trials, lo, hi, k, xi, n_candidates, rng, seed)
            runner.run(batch, "gp-ei", trials, total, verbose)
    finally:
        runner.close()
    best = min(trials, key=lambda t: (t.value, t.index))
    if not math.isfinite(best.value):
        raise RuntimeError(f"every radius evaluation failed; the first: {trials[0].message}")
    return RadiusSearchResult(best.rho, np.asarray(best.eps), best.value, trials)


def _check_box(
    rho_bounds: tuple[float, float], eps_bounds: Sequence[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    try:
        box = np.array([tuple(rho_bounds), *(tuple(b) for b in eps_bounds)], dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("bounds must be (lo, hi) pairs of numbers") from None
    if box.ndim != 2 or box.shape[1] != 2 or box.shape[0] < 2:
        raise ParameterError("give rho_bounds = (lo, hi) and one (lo, hi) per group in eps_bounds")
    if not np.isfinite(box).all() or (box[:, 0] < 0).any() or (box[:, 1] < box[:, 0]).any():
        raise ParameterError(f"radius bounds must be finite with 0 <= lo <= hi, got {box.tolist()}")
    return box[:, 0], box[:, 1]


def _initial_design(
    lo: np.ndarray, hi: np.ndarray, init: Any, levels: int, seed: int
) -> list[np.ndarray]:
    if isinstance(init, str) and init == "grid":
        if int(levels) < 1:
            raise ParameterError("grid_levels must be >= 1")
        axes = [
            np.linspace(a, b, int(levels)) if b > a else np.array([a])
            for a, b in zip(lo, hi, strict=True)
        ]
        return [np.array(pt) for pt in product(*axes)]
    if not isinstance(init, (int, str)):  # explicit points, one row (rho, eps_1..eps_G) each
        try:
            pts = np.asarray(init, dtype=float)
        except (TypeError, ValueError):
            pts = np.empty((0, 0))
        if pts.ndim != 2 or pts.shape[1] != lo.size or pts.shape[0] < 1:
            raise ParameterError(f"init points must be an (m, {lo.size}) array of radii")
        if ((pts < lo) | (pts > hi)).any():
            raise ParameterError("init points must lie inside the bounds")
        return list(pts)
    if isinstance(init, bool) or not isinstance(init, int) or init < 1:
        raise ParameterError(f"init must be 'grid', a number of points or points, got {init!r}")
    u = qmc.Sobol(lo.size, scramble=True, seed=seed).random(int(init))
    return list(lo + u * (hi - lo))


def _propose(
    trials: list[RadiusTrial],
    lo: np.ndarray,
    hi: np.ndarray,
    k: int,
    xi: float,
    n_candidates: int,
    rng: np.random.Generator,
    seed: int,
) -> list[np.ndarray]:
    """``k`` points by expected improvement on the GP surrogate (constant liar)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    span = np.where(hi > lo, hi - lo, 1.0)
    ok = [t for t in trials if math.isfinite(t.value)]
    Z = np.array([(np.array([t.rho, *t.eps]) - lo) / span for t in ok])
    y = np.array([t.value for t in ok])
    D = lo.size
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        np.full(D, 0.3), (1e-2, 1e2), nu=2.5
    ) + WhiteKernel(1e-4, (1e-8, 1e-1))
    gp = GaussianProcessRegressor(
        kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed
    )
    with warnings.catch_warnings():  # hyperparameters at a bound: not an error, stay quiet
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(Z, y)
    chosen: list[np.ndarray] = []
    for _ in range(k):
        best = float(y.min())
        cand = qmc.Sobol(D, scramble=True, seed=rng).random(int(n_candidates))
        top = Z[np.argsort(y)[: min(5, y.size)]]
        local = np.clip(
            top[rng.integers(0, top.shape[0], 256)] + 0.05 * rng.normal(size=(256, D)), 0, 1
        )
        cand = np.vstack([cand, local])
        mu, sd = gp.predict(cand, return_std=True)
        sd = np.maximum(sd, 1e-12)
        imp = best - mu - xi * max(1e-12, float(np.std(y)))
        ei = imp * norm.cdf(imp / sd) + sd * norm.pdf(imp / sd)
        z = cand[int(np.argmax(ei))]
        chosen.append(lo + z * (hi - lo))
        Z, y = np.vstack([Z, z]), np.append(y, best)  # the lie
        gp = GaussianProcessRegressor(gp.kernel_, normalize_y=True, optimizer=None).fit(Z, y)
    return chosen


class _Runner:
    """Runs a batch of evaluations serially, on a process pool or on Dask, logging each."""

    def __init__(self, evaluate: Evaluate, n_jobs: int, client: Any) -> None:
        self.evaluate = evaluate
        self.client = client
        self.pool = ProcessPoolExecutor(int(n_jobs)) if client is None and n_jobs > 1 else None

    def run(
        self,
        points: list[np.ndarray],
        phase: str,
        trials: list[RadiusTrial],
        total: int,
        verbose: bool,
    ) -> None:
        args = [(float(p[0]), tuple(float(v) for v in p[1:])) for p in points]
        if self.client is not None:
            from distributed import as_completed as dask_completed

            futs = [self.client.submit(_run_one, self.evaluate, r, e, pure=False) for r, e in args]
            order = {f.key: i for i, f in enumerate(futs)}
            done = ((order[f.key], f.result()) for f in dask_completed(futs))
        elif self.pool is not None:
            pfuts = {
                self.pool.submit(_run_one, self.evaluate, r, e): i for i, (r, e) in enumerate(args)
            }
            done = ((pfuts[f], f.result()) for f in as_completed(pfuts))
        else:
            done = ((i, _run_one(self.evaluate, r, e)) for i, (r, e) in enumerate(args))
        for i, (value, secs, msg) in done:
            rho, eps = args[i]
            trials.append(RadiusTrial(len(trials), phase, rho, eps, value, secs, msg))
            if verbose:
                best = min(t.value for t in trials)
                eps_txt = ", ".join(f"{v:.3g}" for v in eps)
                tail = f" failed: {msg}" if msg else ""
                print(
                    f"radius search {len(trials)}/{total} [{phase}] rho={rho:.3g} "
                    f"eps=({eps_txt}) L_val={value:.6g} best={best:.6g} ({secs:.1f} s){tail}",
                    flush=True,
                )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


__all__ = [
    "RadiusSearchResult",
    "RadiusTrial",
    "differentiable_evaluation",
    "linear_evaluation",
    "search_radii",
]
