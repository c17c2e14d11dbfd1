r"""Small numpy models with the loss-and-gradient interface of paper 001 Algorithm 1
(:class:`~dro_opt.models.iterative_best_response.DifferentiableModel`).

* :class:`LinearModel`: :math:`f(x) = w'x + b`, hinge or logistic loss of the margin
  :math:`m = y f(x)`, :math:`\theta = (w, b)`.
* :class:`MLP`: a fully connected network with ``tanh`` hidden layers and a scalar output,
  logistic loss :math:`\log(1 + e^{-y f_\theta(x)})` (paper 001 Appendix E trains an MLP with
  cross-entropy, widths not given), gradients by hand-written back-propagation, vectorised
  over the samples.

Both return per-sample losses, the gradient in :math:`\theta` of a weighted sum of the losses,
and every sample's gradient in its own features (for the PGD inner maximisation).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.special import expit

from dro_opt.errors import ParameterError


def _loss_and_slope(loss: str, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loss of the margin and its derivative in the margin (hinge: 0 at the kink)."""
    if loss == "hinge":
        return np.maximum(1.0 - m, 0.0), -(m < 1.0).astype(float)
    return np.logaddexp(0.0, -m), -expit(-m)


class LinearModel:
    """:math:`f(x) = w'x + b` with the hinge or logistic loss; :math:`\\theta = (w, b)`."""

    def __init__(self, n_features: int, loss: str = "hinge") -> None:
        if loss not in ("hinge", "logistic"):
            raise ParameterError(f"loss must be 'hinge' or 'logistic', got {loss!r}")
        self.n_features = int(n_features)
        self.loss = loss

    def init(self) -> np.ndarray:
        return np.zeros(self.n_features + 1)

    def decision(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        return X @ theta[:-1] + theta[-1]

    def losses(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        return _loss_and_slope(self.loss, ypm * self.decision(theta, X))[0]

    def grad_theta(
        self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        slope = _loss_and_slope(self.loss, ypm * self.decision(theta, X))[1]
        c = weights * slope * ypm
        return np.append(X.T @ c, c.sum())

    def grad_x(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        slope = _loss_and_slope(self.loss, ypm * self.decision(theta, X))[1]
        return (slope * ypm)[:, None] * theta[:-1][None, :]

    def penalised(self, theta: np.ndarray) -> np.ndarray:
        mask = np.ones(theta.size, dtype=bool)
        mask[-1] = False
        return mask


class MLP:
    """``tanh`` network ``d -> hidden[0] -> ... -> 1`` with the logistic loss (module docstring).

    Parameters are one flat vector (weights then biases, layer by layer); :meth:`init` draws
    Glorot-scaled weights from ``seed``.
    """

    def __init__(self, n_features: int, hidden: Sequence[int] = (16, 16), seed: int = 0) -> None:
        sizes = [int(n_features), *(int(h) for h in hidden), 1]
        if any(s < 1 for s in sizes):
            raise ParameterError(f"layer widths must be >= 1, got {sizes}")
        self.sizes = sizes
        self.seed = seed
        self._shapes = [(a, b) for a, b in itertools.pairwise(sizes)]

    def init(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        parts = []
        for a, b in self._shapes:
            parts.append(rng.normal(scale=np.sqrt(2.0 / (a + b)), size=(a, b)).ravel())
            parts.append(np.zeros(b))
        return np.concatenate(parts)

    def _unpack(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        layers, k = [], 0
        for a, b in self._shapes:
            W = theta[k : k + a * b].reshape(a, b)
            k += a * b
            layers.append((W, theta[k : k + b]))
            k += b
        return layers

    def _forward(self, theta: np.ndarray, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        acts = [X]
        h = X
        layers = self._unpack(theta)
        for W, c in layers[:-1]:
            h = np.tanh(h @ W + c)
            acts.append(h)
        W, c = layers[-1]
        return acts, (h @ W + c)[:, 0]

    def decision(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self._forward(theta, X)[1]

    def losses(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        return np.logaddexp(0.0, -ypm * self.decision(theta, X))

    def _backward(
        self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray, weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(gradient in theta of weights @ losses, per-sample gradient in x of the losses)."""
        acts, f = self._forward(theta, X)
        layers = self._unpack(theta)
        dloss_df = -expit(-ypm * f) * ypm  # (n,)
        delta = dloss_df[:, None]  # per-sample derivative w.r.t. the layer output
        grads: list[np.ndarray] = []
        for li in range(len(layers) - 1, -1, -1):
            W, _ = layers[li]
            a_in = acts[li]
            grads.append(np.zeros(0))  # placeholder, filled below
            grads[-1] = np.concatenate([(a_in.T @ (weights[:, None] * delta)).ravel(),
                                        (weights[:, None] * delta).sum(axis=0)])  # fmt: skip
            delta = delta @ W.T
            if li > 0:
                delta = delta * (1.0 - acts[li] ** 2)
        return np.concatenate(grads[::-1]), delta

    def grad_theta(
        self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        return self._backward(theta, X, ypm, weights)[0]

    def grad_x(self, theta: np.ndarray, X: np.ndarray, ypm: np.ndarray) -> np.ndarray:
        return self._backward(theta, X, ypm, np.ones(X.shape[0]))[1]

    def penalised(self, theta: np.ndarray) -> np.ndarray:
        mask = np.zeros(theta.size, dtype=bool)
        k = 0
        for a, b in self._shapes:
            mask[k : k + a * b] = True
            k += a * b + b
        return mask


__all__ = ["MLP", "LinearModel"]
