"""Serving a trained model: scores and predicted labels in the answer format the request accepts (CSV, JSON, ...)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ....algorithms.linear_learner import PREDICTOR_TYPES
from .. import inference_io
from ..base import ClientError, HostedModel
from .model import _binary_scores, _softmax


class HostedLinearLearner(HostedModel):
    def __init__(self, predictor: str, loss: str, weight: np.ndarray, bias: np.ndarray, threshold: float) -> None:
        if predictor not in PREDICTOR_TYPES:
            raise ClientError(f"additional-params.json names an unknown predictor_type {predictor!r}")
        if bias.shape[0] != weight.shape[1]:
            raise ClientError(f"fc0_bias has {bias.shape[0]} outputs but fc0_weight has {weight.shape[1]}")
        self.predictor = predictor
        self.loss = loss
        self.weight = weight
        self.bias = bias
        self.threshold = threshold

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        x = inference_io.decode_features(body, content_type, self.weight.shape[0])
        z = x @ self.weight + self.bias[None, :]
        if self.predictor == "regressor":
            outputs = {"score": _f32(z[:, 0])}
        elif self.predictor == "binary_classifier":
            scores = _binary_scores(self.loss, z[:, 0])
            outputs = {"score": _f32(scores), "predicted_label": (scores > self.threshold).astype(np.int64)}
        else:
            prob = _softmax(z)
            outputs = {"score": _f32(prob), "predicted_label": prob.argmax(axis=1).astype(np.int64)}
        if inference_io.media_type(accept) == inference_io.CSV:
            return _csv(outputs), inference_io.CSV
        return inference_io.encode_outputs(outputs, accept, json_root="predictions")


def _csv(outputs: Mapping[str, np.ndarray]) -> bytes:
    """One line per record: the score(s), then the predicted label, as Python float reprs.

    (inference_io's CSV writer formats with ``%r``, which numpy 2 renders as
    ``np.float64(...)``; this writes the plain numbers it means.)
    """
    columns = [np.asarray(values, dtype=np.float64).reshape(len(values), -1) for values in outputs.values()]
    table = np.hstack(columns)
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in table).encode()


def _f32(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).astype(np.float64)
