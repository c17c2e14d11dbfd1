r"""Synthetic sparse linear classification data of paper 002 Section 6 (the DRO SVM experiment).

The generator of paper 002 Sec. 6 ("We use the following procedure to generate synthetic
datasets"): an :math:`s^*`-sparse ground truth :math:`\beta^* \in \mathbb{R}^{d_x}` -- a draw of
:math:`\mathcal{N}(0, I_{d_x})` with all but :math:`s^*` randomly chosen entries set to zero --,
``n_total`` (10,000 in the paper) i.i.d. features :math:`\hat x_i \sim \mathcal{N}(0, I_{d_x})`
and labels :math:`\hat y_i = \operatorname{sign}(\beta^{*\top} \hat x_i + \xi_i)` with i.i.d.
:math:`\xi_i \sim \mathcal{N}(0, \sigma^2)`, independent of the features. The first ``n_train``
samples train, the rest test.

Two readings the text leaves open, exposed as parameters:

* the paper writes :math:`\xi_i \sim \mathcal{N}(0, 0.1)`; the authors' public code
  (``utils/data_utils.py`` of the repository the paper links) adds ``0.1 * randn``, i.e. a
  standard deviation :math:`\sigma = 0.1`. ``noise_std`` defaults to that; the variance reading
  is ``noise_std = sqrt(0.1)``.
* the paper's Fig. 1a discussion speaks of "label noise" but the generator it states has none;
  the authors' code flips each label with probability ``label_noise`` (0.2 for Fig. 1a, 0
  elsewhere). Default 0 (the paper's generator).

``sign(0)`` is read as ``+1`` (as in the authors' code; a probability-zero event).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SparseClassificationData:
    """One data set of the generator (module docstring).

    Attributes
    ----------
    X_train, y_train : (n_train, d) features and (n_train,) labels in {-1, +1}.
    X_test, y_test : (n_total - n_train, d) and (n_total - n_train,).
    beta_star : (d,) the ground truth with exactly ``s_star`` non-zero entries (almost surely).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    beta_star: np.ndarray


def sparse_classification_data(
    d: int = 100,
    s_star: int = 10,
    n_train: int = 200,
    n_total: int = 10_000,
    *,
    noise_std: float = 0.1,
    label_noise: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> SparseClassificationData:
    r"""Draw one data set of paper 002 Sec. 6 (module docstring); vectorised, no sample loop.

    Parameters
    ----------
    d : feature dimension :math:`d_x \ge 1` (100 in Fig. 1a/1b, 10 in Fig. 1c).
    s_star : number of non-zero entries of :math:`\beta^*`, ``1 <= s_star <= d``.
    n_train : training samples, ``1 <= n_train < n_total``.
    n_total : all samples (10,000 in the paper); the last ``n_total - n_train`` test.
    noise_std : standard deviation :math:`\sigma \ge 0` of the score noise :math:`\xi_i`.
    label_noise : probability in ``[0, 1)`` of flipping each label after the rule.
    seed : seed or generator of numpy's ``default_rng``.

    Raises
    ------
    ValueError
        For sizes or probabilities outside the ranges above.
    """
    _check_int(d, "d", 1)
    _check_int(s_star, "s_star", 1)
    _check_int(n_train, "n_train", 1)
    _check_int(n_total, "n_total", 2)
    if s_star > d:
        raise ValueError(f"s_star must be <= d = {d}, got {s_star}")
    if n_train >= n_total:
        raise ValueError(
            f"n_train must be < n_total = {n_total} (test set non-empty), got {n_train}"
        )
    if not (np.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    if not (np.isfinite(label_noise) and 0 <= label_noise < 1):
        raise ValueError(f"label_noise must be a probability in [0, 1), got {label_noise!r}")
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(d)
    keep = rng.choice(d, size=s_star, replace=False)
    mask = np.zeros(d, dtype=bool)
    mask[keep] = True
    beta[~mask] = 0.0
    X = rng.standard_normal((n_total, d))
    scores = X @ beta + noise_std * rng.standard_normal(n_total)
    y = np.where(scores >= 0, 1.0, -1.0)
    if label_noise > 0:
        y = np.where(rng.random(n_total) < label_noise, -y, y)
    return SparseClassificationData(X[:n_train], y[:n_train], X[n_train:], y[n_train:], beta)


def _check_int(value: object, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


__all__ = ["SparseClassificationData", "sparse_classification_data"]
