"""The linear model and its losses: what training minimises, calibration and the reports measure, serving answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..base import AlgorithmError

# How the container spells each objective in its logs (metric name 'objective_loss').
OBJECTIVE_LOG_NAME = {
    "logistic": "binary_classification_cross_entropy_objective",
    "hinge_loss": "binary_classification_hinge_loss_objective",
    "softmax_loss": "multiclass_cross_entropy_objective",
    "squared_loss": "mse_objective",
    "absolute_loss": "absolute_loss_objective",
    "eps_insensitive_squared_loss": "eps_insensitive_squared_loss_objective",
    "eps_insensitive_absolute_loss": "eps_insensitive_absolute_loss_objective",
    "quantile_loss": "quantile_loss_objective",
    "huber_loss": "huber_loss_objective",
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass
class _LossConfig:
    loss: str
    margin: float = 1.0
    quantile: float = 0.5
    eps: float = 0.01
    delta: float = 1.0


def _loss_and_grad(cfg: _LossConfig, z: np.ndarray, y: np.ndarray, w: np.ndarray | None, grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-record, per-model loss (B, M) and its gradient with respect to z (B, M, C).

    z: (B, M, C) outputs; y: (B,) labels; w: (B,) record weights or None.
    """
    loss = cfg.loss
    g = None
    if loss == "softmax_loss":
        idx = y.astype(np.int64)
        shifted = z - z.max(axis=2, keepdims=True)
        logsum = np.log(np.exp(shifted).sum(axis=2))
        picked = np.take_along_axis(shifted, idx[:, None, None].repeat(z.shape[1], axis=1), axis=2)[:, :, 0]
        value = logsum - picked
        if grad:
            g = np.exp(shifted - logsum[:, :, None])
            g[np.arange(len(idx)), :, idx] -= 1.0
    else:
        zz = z[:, :, 0]
        yy = y[:, None]
        if loss == "logistic":
            value = np.logaddexp(0.0, zz) - yy * zz
            gg = _sigmoid(zz) - yy if grad else None
        elif loss == "hinge_loss":
            t = 2.0 * yy - 1.0
            m = cfg.margin - t * zz
            value = np.maximum(m, 0.0)
            gg = -t * (m > 0) if grad else None
        else:
            r = zz - yy
            a = np.abs(r)
            if loss == "squared_loss":
                value = r * r
                gg = r if grad else None
            elif loss == "absolute_loss":
                value = a
                gg = np.sign(r) if grad else None
            elif loss == "eps_insensitive_squared_loss":
                over = np.maximum(a - cfg.eps, 0.0)
                value = over * over
                gg = np.sign(r) * over if grad else None
            elif loss == "eps_insensitive_absolute_loss":
                value = np.maximum(a - cfg.eps, 0.0)
                gg = np.sign(r) * (a > cfg.eps) if grad else None
            elif loss == "quantile_loss":
                q = cfg.quantile
                value = np.where(r < 0, -q * r, (1.0 - q) * r)
                gg = np.where(r < 0, -q, 1.0 - q) if grad else None
            elif loss == "huber_loss":
                d = cfg.delta
                value = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
                gg = np.where(a <= d, r, d * np.sign(r)) if grad else None
            else:  # pragma: no cover - validate() only lets known losses through
                raise AlgorithmError(f"unknown loss {loss}")
        if grad:
            g = gg[:, :, None]
    if w is not None:
        value = value * w[:, None]
        if g is not None:
            g = g * w[:, None, None]
    return value, g


@dataclass
class _Model:
    """The selected model, folded back to raw features."""

    weight: np.ndarray  # (d, C)
    bias: np.ndarray  # (C,)
    threshold: float
    hyperparameters: dict[str, Any]
    epochs: int
    cfg: _LossConfig  # in raw label units
    class_weights: np.ndarray | None
    positive_weight: float

    def outputs(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64) @ self.weight + self.bias[None, :]


def _binary_scores(loss: str, z: np.ndarray) -> np.ndarray:
    return _sigmoid(z) if loss == "logistic" else z
