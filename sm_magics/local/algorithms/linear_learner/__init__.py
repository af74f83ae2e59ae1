"""SageMaker's built-in Linear Learner (``linear-learner:1``), trained and served for real.

What the container does, and what we reproduce with numpy:

* **Scaler.** Before training, the container fits a scaler on the first
  ``num_point_for_scaler`` records (log: "Scaling model computed with
  parameters: mean_weight / stdev_weight / mean_label / stdev_label"):
  features are centred (``unbias_data``, on by default when ``use_bias``) and
  scaled to unit deviation (``normalize_data``); regression labels likewise
  (``normalize_label`` / ``unbias_label``, ``auto`` = regression only).
* **Parallel models.** ``num_models`` linear models (``auto`` = 32, 1 under
  hyperparameter tuning, i.e. when the service injects
  ``_tuning_objective_metric``) are trained side by side on the same
  mini-batches: model 0 with the given (or base ``auto``) learning rate,
  ``wd`` and ``l1``, the others with close values for whatever was left on
  ``auto`` (learning rate x 1/3 ... 30, ``wd`` 1e-4 ... 3e-2); values the
  user set are used by every model. Here they are one weight tensor
  ``(feature_dim, models x outputs)``, so every mini-batch is two matrix
  products for all models at once.
* **Optimisation.** Mini-batch SGD (momentum) / Adam / RMSProp on the
  normalised features, L2 (``wd``, ``bias_wd_mult``) and L1 (``l1``)
  penalties, bias learning-rate multiplier (``bias_lr_mult``, ``auto`` = 10,
  as the real symbol's ``__lr_mult__`` shows), a step learning-rate schedule
  (``lr_scheduler_*``), ``epochs`` passes over shuffled data.
* **Early stopping.** After each epoch every model is measured on the
  validation channel: a binary classifier with a selection criterion other
  than ``loss_function`` by that criterion at its own calibrated threshold
  (the container logs ``criteria=sampled_accuracy``; DG ``early_stopping_patience``:
  "the metric is that value"), anything else (and any job without validation
  data, on the training data) by its objective loss. Each model keeps the
  weights of its best epoch ("Loss improved. Updating best model"), stops once
  the metric has not improved by ``early_stopping_tolerance`` (relative) for
  ``early_stopping_patience`` epochs, and training ends when every model has
  stopped (or after ``epochs``).
* **Model selection and calibration.** For binary classifiers the decision
  threshold of every model is calibrated on the validation data (up to
  ``num_calibration_samples`` records; the training data without a validation
  channel) for ``binary_classifier_model_selection_criteria`` (accuracy,
  f_beta, precision_at_target_recall, recall_at_target_precision;
  loss_function keeps 0.5), and the model that scores best wins; scores
  within one standard error of the best count as a tie, which the lower loss
  wins (a couple of lucky records must not elect an over-confident model).
  A threshold is judged by the criterion averaged over nearby
  thresholds (a Gaussian of one logit), not at one cut: on a few hundred
  validation records the single best cut is often one lucky record wide and
  does not hold on new data. Multiclass classifiers and regressors keep the
  model with the lowest loss.
* **Artifact.** ``model_algo-1`` is a stored (uncompressed) ZIP holding an
  MXNet module (``mx-mod-symbol.json`` + ``mx-mod-0000.params`` with
  ``arg:fc0_weight`` (feature_dim, outputs) and ``arg:fc0_bias`` (1, outputs)),
  ``manifest.json`` and ``additional-params.json`` (threshold, loss, predictor
  type, metric parameters). No scaler tensors are stored, so the scaler is
  folded into ``fc0``: the weights work on raw features and give raw labels.

Logs and metrics follow the container's spelling: per epoch
``#quality_metric: host=algo-1, epoch=N, train|validation
binary_classification_cross_entropy_objective <loss>=...`` (the objective is
named after the loss: ``multiclass_cross_entropy_objective``,
``mse_objective`` ...), then ``#validation_score (algo-1) : ('binary_f_1.000', ...)``
and ``#quality_metric: host=algo-1, validation binary_f_1.000 <score>=...``
lines (likewise ``test``). The metric names are the documented tunable ones
(``validation:objective_loss``, ``validation:binary_f_beta``, ...); the regexes
in ``metric_definitions`` map the log spellings onto them.

Multi-host jobs (``InstanceCount > 1``): each host reads and checks its shard
of ``train`` (``ShardedByS3Key``) and sends the records as its partial result
(hosts that all hold the same records, ``FullyReplicated``, count once);
algo-1 trains on the union of all shards, in host order, and
evaluates the ``validation`` / ``test`` channels it downloaded itself (they
are meant to be ``FullyReplicated``). The real container instead averages the
hosts' gradients through a parameter server; for a linear model on a union of
shards the outcome is the same model family trained on the same data.
"""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ....algorithms.linear_learner import AUTO_LOSS, PREDICTOR_TYPES, SCHEMA, TUNABLE_NAMES, LinearLearnerSpec
from ....formats import ndarray
from ... import settings
from .. import inference_io
from ..base import (
    Algorithm,
    AlgorithmError,
    ClientError,
    HostedModel,
    TrainingContext,
)

AUTO_LR = {"adam": 0.01, "sgd": 0.01, "rmsprop": 0.003}
AUTO_WD = 1e-4
AUTO_L1 = 0.0
# close values for the parallel models: learning-rate multipliers, then (wd, l1) pairs
LR_MULTS = (1.0, 3.0, 10.0, 0.3, 30.0, 0.1, 0.03, 0.01)
REG_CHOICES = ((AUTO_WD, AUTO_L1), (1e-3, 0.0), (1e-2, 0.0), (3e-2, 0.0))
# keep the weights plus optimiser state of all parallel models within this many floats
MAX_MODEL_FLOATS = 64_000_000

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

class LinearLearner(LinearLearnerSpec, Algorithm):
    """The container's training and serving; its contract is ``LinearLearnerSpec``."""

    # ---------------------------------------------------------------- training

    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, Any]:
        x, y = _read_labelled(ctx, "train", params)
        ctx.log(f"{ctx.host} read {x.shape[0]} records with {x.shape[1]} features from channel 'train'")
        return {"x": x, "y": y}

    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        started = time.time()
        parts = [p for p in partials if p["x"].shape[0]]
        if len(parts) > 1 and all(
            p["x"].shape == parts[0]["x"].shape and np.array_equal(p["x"], parts[0]["x"]) and np.array_equal(p["y"], parts[0]["y"])
            for p in parts[1:]
        ):
            ctx.log(f"All {len(parts)} hosts hold the same training records (FullyReplicated); training on one copy")
            parts = parts[:1]
        widths = {p["x"].shape[1] for p in parts}
        if len(widths) > 1:
            raise ClientError(f"The hosts' shards of channel 'train' have different numbers of features: {sorted(widths)}")
        x = np.vstack([p["x"] for p in parts]) if len(parts) > 1 else parts[0]["x"]
        y = np.concatenate([p["y"] for p in parts]) if len(parts) > 1 else parts[0]["y"]
        if ctx.host_count > 1:
            ctx.log(f"algo-1 gathered {x.shape[0]} training records from {ctx.host_count} hosts")
        params = dict(params)
        params["feature_dim"] = x.shape[1]
        objective = params.get("_tuning_objective_metric")
        if objective and objective.split(":", 1)[0] not in ctx.channels:
            raise ClientError(
                f"The tuning objective metric '{objective}' needs a '{objective.split(':', 1)[0]}' channel, "
                "and the training job has none"
            )
        validation = _read_labelled(ctx, "validation", params) if "validation" in ctx.channels else None
        test = _read_labelled(ctx, "test", params) if "test" in ctx.channels else None

        trainer = _Trainer(ctx, params, x, y, validation)
        model = trainer.run()
        model_files = _artifact(params, model)
        (ctx.model_dir / "model_algo-1").write_bytes(model_files)

        if validation is not None:
            _report(ctx, params, model, "validation", *validation)
        ctx.log(f"Best model found for hyperparameters: {json.dumps(model.hyperparameters)}")
        if test is not None:
            _report(ctx, params, model, "test", *test)
        else:
            ctx.log("Test data is not provided.")
        elapsed = time.time() - started
        ctx.log(
            "#metrics "
            + json.dumps(
                {
                    "StartTime": started,
                    "EndTime": time.time(),
                    "Dimensions": {"Algorithm": "Linear Learner", "Host": ctx.host, "Operation": "training"},
                    "Metrics": {
                        "totaltime": {"sum": elapsed * 1000, "count": 1, "min": elapsed * 1000, "max": elapsed * 1000},
                        "epochs": {"sum": float(model.epochs), "count": 1, "min": model.epochs, "max": model.epochs},
                    },
                }
            )
        )

    # ------------------------------------------------------------------ hosting

    def load(self, files: dict[str, bytes]) -> HostedModel:
        member = files.get("model_algo-1")
        if member is None:
            raise ClientError(f"model.tar.gz holds no model_algo-1 (members: {sorted(files)})")
        try:
            archive = zipfile.ZipFile(io.BytesIO(member))
            names = set(archive.namelist())
            params_name = next((n for n in sorted(names) if n.endswith(".params")), None)
            if params_name is None:
                raise ClientError(f"model_algo-1 holds no MXNet .params file (members: {sorted(names)})")
            arrays = ndarray.load(_read_bounded(archive, params_name))
            extra = json.loads(_read_bounded(archive, "additional-params.json")) if "additional-params.json" in names else {}
            symbol_name = next((n for n in sorted(names) if n.endswith("-symbol.json")), None)
            symbol = json.loads(_read_bounded(archive, symbol_name)) if symbol_name else {}
        except zipfile.BadZipFile:
            raise ClientError("model_algo-1 is not a Linear Learner model (expected a ZIP of an MXNet module)") from None
        if not isinstance(arrays, dict) or "arg:fc0_weight" not in arrays:
            raise ClientError("mx-mod-0000.params holds no 'arg:fc0_weight'; this is not a Linear Learner model")
        weight = np.asarray(arrays["arg:fc0_weight"], dtype=np.float64)
        if weight.ndim == 1:
            weight = weight[:, None]
        bias = np.asarray(arrays.get("arg:fc0_bias", np.zeros((1, weight.shape[1]))), dtype=np.float64).reshape(-1)
        predictor = extra.get("predictor_type") or _predictor_from_symbol(symbol, weight.shape[1])
        loss = extra.get("loss_type") or AUTO_LOSS.get(predictor, "squared_loss")
        threshold = extra.get("threshold")
        if threshold is None:
            threshold = 0.0 if loss == "hinge_loss" else 0.5
        return HostedLinearLearner(predictor, loss, weight, bias, float(threshold))


def _read_bounded(archive: zipfile.ZipFile, name: str) -> bytes:
    """One file of the model's ZIP, refused when it declares more than a model file may hold.

    zipfile stops decompressing at the declared size, so checking that size
    bounds the bytes a crafted (zip-bomb) model_algo-1 can make the engine hold.
    """
    size = archive.getinfo(name).file_size
    if size > settings.MAX_MODEL_MEMBER_BYTES:
        raise ClientError(
            f"model_algo-1 member {name!r} unpacks to {size} bytes, over the engine's limit of "
            f"{settings.MAX_MODEL_MEMBER_BYTES} bytes per file (SM_MAGICS_LOCAL_MAX_MODEL_MEMBER_BYTES)"
        )
    return archive.read(name)


def _predictor_from_symbol(symbol: dict[str, Any], outputs: int) -> str:
    ops = {node.get("op") for node in symbol.get("nodes", [])}
    if "SoftmaxOutput" in ops or outputs > 1:
        return "multiclass_classifier"
    if "LogisticRegressionOutput" in ops or "SVMOutput" in ops:
        return "binary_classifier"
    return "regressor"


# ------------------------------------------------------------------- reading data


def _read_labelled(ctx: TrainingContext, channel: str, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from ...training.channels import RECORDIO_TYPES, content_type_parts

    source = ctx.channels[channel]
    kind, _ = content_type_parts(source.content_type)
    x, y = source.read_dense()
    if kind in RECORDIO_TYPES and x.dtype != np.float32:
        raise ClientError(
            f"Channel '{channel}' holds {x.dtype} feature tensors; Linear Learner reads RecordIO-protobuf with "
            "Float32 tensors only (convert with .astype('float32') before writing the records)"
        )
    if y is None:
        raise ClientError(
            f"The records in channel '{channel}' have no labels; Linear Learner needs a label per record "
            "(RecordIO-protobuf: label['values']; CSV: the label in the first column)"
        )
    if kind in RECORDIO_TYPES and y.dtype != np.float32:
        raise ClientError(
            f"Channel '{channel}' holds {y.dtype} label tensors; Linear Learner reads RecordIO-protobuf with "
            "Float32 tensors only (write the labels as float32)"
        )
    feature_dim = params["feature_dim"]
    if feature_dim != "auto" and x.shape[1] != feature_dim:
        hint = (
            "; CSV data must have the label in the first column followed by the features"
            if x.shape[1] == feature_dim - 1
            else ""
        )
        raise ClientError(
            f"feature_dim is {feature_dim} but the records in channel '{channel}' have {x.shape[1]} features{hint}"
        )
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if not np.isfinite(y).all():
        at = int(np.argwhere(~np.isfinite(y))[0][0])
        raise ClientError(f"Channel '{channel}' has a NaN or infinite label (record {at})")
    predictor = params["predictor_type"]
    if predictor == "binary_classifier":
        bad = (y != 0) & (y != 1)
        if bad.any():
            at = int(np.argmax(bad))
            raise ClientError(
                f"Label values for predictor_type binary_classifier must be 0 or 1; channel '{channel}' has label "
                f"{y[at]:g} at record {at} ({int(bad.sum())} such records)"
            )
    elif predictor == "multiclass_classifier":
        k = params["num_classes"]
        bad = (y < 0) | (y != np.floor(y))
        if bad.any():
            at = int(np.argmax(bad))
            raise ClientError(
                f"Label values for predictor_type multiclass_classifier must be integers 0 ... num_classes - 1; "
                f"channel '{channel}' has label {y[at]:g} at record {at}"
            )
        if y.max() >= k:
            raise ClientError(
                f"num_classes is {k} but channel '{channel}' has label {y.max():g}; labels must be 0 ... {k - 1}. "
                f"Set num_classes to at least {int(y.max()) + 1}"
            )
    return x, y


# ----------------------------------------------------------------------- losses


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


# ---------------------------------------------------------------------- training


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


class _Trainer:
    def __init__(
        self,
        ctx: TrainingContext,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self.ctx = ctx
        self.params = params
        self.predictor = params["predictor_type"]
        self.x_raw = x
        self.y_raw = y
        self.validation = validation
        # seeded by what the job was asked to do (its hyperparameters and data), not by its name: the
        # same request trains the same model, so a tuning job's children are reproducible even
        # though SageMaker names them with random suffixes
        request = json.dumps(dict(ctx.hyperparameters), sort_keys=True) + f"|{x.shape}|{float(np.asarray(y, dtype=np.float64).sum())!r}"
        self.rng = np.random.default_rng(zlib.crc32(request.encode()))
        self.outputs = params["num_classes"] if self.predictor == "multiclass_classifier" else 1

    # ---------------------------------------------------------------- set-up

    def _scaler(self) -> None:
        p = self.params
        sample = self.x_raw[: p["num_point_for_scaler"]].astype(np.float64)
        d = self.x_raw.shape[1]
        self.mean = sample.mean(axis=0) if p["unbias_data"] else np.zeros(d)
        if p["normalize_data"]:
            centred = sample - self.mean
            std = np.sqrt((centred**2).mean(axis=0))
            std[~(std > 1e-12)] = 1.0
        else:
            std = np.ones(d)
        self.std = std
        y_sample = self.y_raw[: p["num_point_for_scaler"]]
        self.y_mean = float(y_sample.mean()) if p["unbias_label"] else 0.0
        if p["normalize_label"]:
            y_std = float(np.sqrt(((y_sample - self.y_mean) ** 2).mean()))
            self.y_std = y_std if y_std > 1e-12 else 1.0
        else:
            self.y_std = 1.0
        show = lambda a: np.array2string(np.asarray(a, dtype=np.float32)[:8], precision=6) + (" ..." if np.size(a) > 8 else "")
        self.ctx.log(
            "Scaling model computed with parameters:\n"
            f" {{'stdev_weight': {show(self.std) if p['normalize_data'] else None}, "
            f"'mean_weight': {show(self.mean) if p['unbias_data'] else None}, "
            f"'stdev_label': {self.y_std if p['normalize_label'] else None}, "
            f"'mean_label': {self.y_mean if p['unbias_label'] else None}}}"
        )

    def _normalize(self, x: np.ndarray) -> np.ndarray:
        return ((x.astype(np.float32) - self.mean.astype(np.float32)) / self.std.astype(np.float32)).astype(np.float32)

    def _grid(self) -> list[dict[str, Any]]:
        """The hyperparameters of each parallel model: model 0 as given, the rest close to it."""
        p = self.params
        optimizer = p["optimizer"]
        base_lr = p["learning_rate"] if p["learning_rate"] != "auto" else AUTO_LR[optimizer]
        base_wd = p["wd"] if p["wd"] != "auto" else AUTO_WD
        base_l1 = p["l1"] if p["l1"] != "auto" else AUTO_L1
        count = p["num_models"]
        per_model_floats = 3 * self.x_raw.shape[1] * self.outputs
        limit = max(1, MAX_MODEL_FLOATS // max(per_model_floats, 1))
        if count > limit:
            self.ctx.log(f"WARNING num_models {count} does not fit in memory for this model size; training {limit} models")
            count = limit
        models = []
        for i in range(count):
            lr_mult = LR_MULTS[i % len(LR_MULTS)] if p["learning_rate"] == "auto" else 1.0
            wd, l1 = REG_CHOICES[(i // len(LR_MULTS)) % len(REG_CHOICES)]
            models.append(
                {
                    "optimizer": optimizer,
                    "learning_rate": base_lr * lr_mult,
                    "wd": base_wd if p["wd"] != "auto" or i < len(LR_MULTS) else wd,
                    "l1": base_l1 if p["l1"] != "auto" or i < len(LR_MULTS) else l1,
                    "lr_scheduler_step": p["lr_scheduler_step"],
                    "lr_scheduler_factor": p["lr_scheduler_factor"],
                    "lr_scheduler_minimum_lr": p["lr_scheduler_minimum_lr"],
                }
            )
        return models

    def _positive_weight(self) -> float:
        mult = self.params["positive_example_weight_mult"]
        if self.predictor != "binary_classifier":
            return 1.0
        if mult in ("balanced", "auto"):
            positives = float((self.y_raw == 1).sum())
            negatives = float(len(self.y_raw) - positives)
            mult = negatives / positives if positives and negatives else 1.0
            self.ctx.log(f"positive_example_weight_mult evaluated to {mult!r}")
        return float(mult)

    def _class_weights(self) -> np.ndarray | None:
        if self.predictor != "multiclass_classifier" or not self.params["balance_multiclass_weights"]:
            return None
        counts = np.bincount(self.y_raw.astype(np.int64), minlength=self.outputs).astype(np.float64)
        return np.where(counts > 0, len(self.y_raw) / (self.outputs * np.maximum(counts, 1)), 0.0)

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        """Record weights: positive-class weight (binary) or balanced class weights (multiclass)."""
        if self.predictor == "binary_classifier" and self.positive_weight != 1.0:
            return np.where(y == 1, self.positive_weight, 1.0)
        if self.class_weights is not None:
            return self.class_weights[y.astype(np.int64)]
        return None

    # ---------------------------------------------------------------- training

    def run(self) -> _Model:
        # a diverging model overflows on the way to NaN; that is detected and reported per epoch
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train()

    def _train(self) -> _Model:
        ctx, p = self.ctx, self.params
        self._scaler()
        xn = self._normalize(self.x_raw)
        yn = (self.y_raw - self.y_mean) / self.y_std if self.predictor == "regressor" else self.y_raw
        cfg = _LossConfig(
            p["loss"],
            margin=p["margin"],
            quantile=p["quantile"],
            eps=p["loss_insensitivity"] / self.y_std,
            delta=p["huber_delta"] / self.y_std,
        )
        raw_cfg = _LossConfig(p["loss"], margin=p["margin"], quantile=p["quantile"], eps=p["loss_insensitivity"], delta=p["huber_delta"])
        self.positive_weight = positive_weight = self._positive_weight()
        self.class_weights = class_weights = self._class_weights()
        record_w = self._weights(self.y_raw)

        grid = self._grid()
        m, d, c = len(grid), xn.shape[1], self.outputs
        mc = m * c
        ctx.log(f"Training {m} model(s) in parallel with {d} features, {c} output(s) each")
        if p["init_method"] == "uniform":
            w = self.rng.uniform(-p["init_scale"], p["init_scale"], size=(d, mc)).astype(np.float32)
        else:
            w = self.rng.normal(0.0, p["init_sigma"], size=(d, mc)).astype(np.float32)
        b = np.full(mc, p["init_bias"] if p["use_bias"] else 0.0, dtype=np.float32)
        lr = np.repeat(np.array([g["learning_rate"] for g in grid], dtype=np.float32), c)
        wd = np.repeat(np.array([g["wd"] for g in grid], dtype=np.float32), c)
        l1 = np.repeat(np.array([g["l1"] for g in grid], dtype=np.float32), c)
        bias_lr = lr * np.float32(p["bias_lr_mult"])
        bias_wd = wd * np.float32(p["bias_wd_mult"])
        opt = _Optimizer(p, (d, mc), mc)

        if self.validation is not None:
            xv = self._normalize(self.validation[0])
            yv_raw = self.validation[1]
            yv = (yv_raw - self.y_mean) / self.y_std if self.predictor == "regressor" else yv_raw
            wv = self._weights(yv_raw)
            ctx.log(f"Using {len(yv)} validation records for early stopping and model selection")
        else:
            xv = yv = wv = None

        n = xn.shape[0]
        batch = p["mini_batch_size"]
        if batch > n:
            ctx.log(f"WARNING mini_batch_size {batch} is bigger than the number of training records {n}; using {n}")
            batch = n
        best_w, best_b = w.copy(), b.copy()
        best_model_loss = np.full(m, np.inf)  # each model's best early-stopping metric so far (lower is better)
        kept_loss = np.full(m, np.inf)  # each model's objective loss at the epoch it keeps
        stop_criteria = self._stopping_criteria()
        n_cal = p["num_calibration_samples"]
        diverged = np.zeros(m, dtype=bool)
        stale = np.zeros(m, dtype=np.int64)  # epochs since each model last improved by the tolerance
        stopped = np.zeros(m, dtype=bool)
        best_overall, overall_stale, step = math.inf, 0, 0
        tolerance, patience, epochs = p["early_stopping_tolerance"], p["early_stopping_patience"], p["epochs"]
        epoch = -1
        for epoch in range(epochs):
            started = time.time()
            order = self.rng.permutation(n)
            total = np.zeros(m)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                xb = xn[rows]
                z = (xb @ w + b).reshape(len(rows), m, c)
                value, g = _loss_and_grad(cfg, z, yn[rows], None if record_w is None else record_w[rows])
                total += value.sum(axis=0)
                g = g.reshape(len(rows), mc).astype(np.float32) / np.float32(len(rows))
                gw = xb.T @ g
                gw += wd * w
                if l1.any():
                    gw += l1 * np.sign(w)
                gb = g.sum(axis=0) + bias_wd * b
                rate = _scheduled(lr, step, p)
                brate = _scheduled(bias_lr, step, p)
                opt.step(w, b, gw, gb, rate, brate, p["use_bias"])
                step += 1
            train_loss = total / n
            bad = ~np.isfinite(train_loss) | ~np.isfinite(w).reshape(d, m, c).all(axis=(0, 2))
            if bad.any():
                fresh = bad & ~diverged
                if fresh.any():
                    ctx.log(f"WARNING model(s) {np.flatnonzero(fresh).tolist()} diverged; they take no further part")
                diverged |= bad
                cols = np.repeat(diverged, c)
                w[:, cols] = 0.0
                b[cols] = 0.0
                lr[cols] = bias_lr[cols] = 0.0
                opt.reset(cols)
            train_loss = np.where(diverged, np.inf, train_loss)
            elapsed = max(time.time() - started, 1e-9)
            shown = float(np.min(train_loss))
            ctx.log(f"#quality_metric: host={ctx.host}, epoch={epoch}, train {OBJECTIVE_LOG_NAME[p['loss']]} <loss>={shown!r}")
            ctx.metric("train:objective_loss", shown)
            if xv is not None:
                z = (xv @ w + b).reshape(len(yv), m, c)
                value, _ = _loss_and_grad(cfg if self.predictor != "regressor" else raw_cfg, self._unscale(z), yv_raw if self.predictor == "regressor" else yv, wv, grad=False)
                epoch_loss = np.where(diverged, np.inf, value.mean(axis=0))
                ctx.log(
                    f"#quality_metric: host={ctx.host}, epoch={epoch}, validation {OBJECTIVE_LOG_NAME[p['loss']]} "
                    f"<loss>={float(np.min(epoch_loss))!r}"
                )
            else:
                epoch_loss = train_loss
            if stop_criteria is not None:
                # the selection criterion at each model's own calibrated threshold, negated so that lower is better
                stop_loss = np.array(
                    [
                        np.inf if diverged[i] else -_calibrate(z[:n_cal, i, 0], yv[:n_cal], stop_criteria, p).smoothed
                        for i in range(m)
                    ]
                )
            else:
                stop_loss = epoch_loss
            improved = stop_loss < best_model_loss
            if improved.any():
                cols = np.repeat(improved, c)
                best_w[:, cols] = w[:, cols]
                best_b[cols] = b[cols]
                kept_loss = np.where(improved, epoch_loss, kept_loss)
            significant = improved & (~np.isfinite(best_model_loss) | (best_model_loss - stop_loss > tolerance * np.abs(best_model_loss)))
            best_model_loss = np.where(improved, stop_loss, best_model_loss)
            stale = np.where(significant, 0, stale + 1)
            current = float(np.min(stop_loss))
            shown_criteria = f"sampled_{stop_criteria}" if stop_criteria else "objective_loss"
            shown_value = -current if stop_criteria else current
            ctx.log(f"#early_stopping_criteria_metric: host={ctx.host}, epoch={epoch}, criteria={shown_criteria}, value={shown_value!r}")
            if math.isfinite(current) and (not math.isfinite(best_overall) or (best_overall - current) > tolerance * abs(best_overall)):
                ctx.log(f"Epoch {epoch}: Loss improved. Updating best model")
                best_overall, overall_stale = current, 0
            else:
                overall_stale += 1
                ctx.log(f"Epoch {epoch}: Loss has not improved for {overall_stale} epochs.")
            ctx.log(f"#progress_metric: host={ctx.host}, completed {100.0 * (epoch + 1) / epochs:.1f} % of epochs")
            ctx.metric("train:progress", 100.0 * (epoch + 1) / epochs)
            throughput = n / elapsed
            ctx.log(f"#throughput_metric: host={ctx.host}, train throughput={throughput!r} records/second")
            ctx.metric("train:throughput", throughput)
            # each model stops on its own once it has not improved for early_stopping_patience epochs
            newly = (stale >= patience) & ~stopped & ~diverged
            if newly.any() and epoch + 1 < epochs:
                stopped |= newly
                cols = np.repeat(newly, c)
                lr[cols] = bias_lr[cols] = 0.0
                opt.reset(cols)
                ctx.log(f"Model(s) {np.flatnonzero(newly).tolist()} stopped early: no improvement for {patience} epochs")
            if (stopped | diverged).all() and epoch + 1 < epochs:
                ctx.log(f"Early stop condition met. Stopping training after epoch {epoch}.")
                break
        # the platform's closing "#progress_metric: ... completed 100.0 % of epochs" line follows (early stop included)
        ctx.metric("train:progress", 100.0)
        if diverged.all():
            raise ClientError(
                "Every model diverged during training (the loss became NaN or infinite); lower learning_rate, "
                "or set normalize_data (and normalize_label for regression) to true"
            )
        return self._select(grid, best_w, best_b, kept_loss, diverged, epoch + 1, raw_cfg, class_weights, positive_weight)

    def _stopping_criteria(self) -> str | None:
        """The binary selection criterion that early stopping follows, or None for the objective loss.

        As documented for ``early_stopping_patience``: a binary classifier with a
        validation channel stops on (and keeps the epoch best by) its
        ``binary_classifier_model_selection_criteria``, measured at the threshold
        calibrated for it (the container logs ``criteria=sampled_accuracy``);
        without validation data, or with ``loss_function``, it is the loss.
        """
        criteria = self.params["binary_classifier_model_selection_criteria"]
        if self.predictor != "binary_classifier" or self.validation is None or criteria == "loss_function":
            return None
        return criteria

    def _unscale(self, z: np.ndarray) -> np.ndarray:
        return z * self.y_std + self.y_mean if self.predictor == "regressor" else z

    def _fold(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights on normalised features (d, C) -> weights on raw features giving raw outputs."""
        w = w.astype(np.float64) / self.std[:, None]
        b = b.astype(np.float64) - self.mean @ w
        if self.predictor == "regressor":
            w, b = w * self.y_std, b * self.y_std + self.y_mean
        return w, b

    def _select(
        self,
        grid: list[dict[str, Any]],
        w: np.ndarray,
        b: np.ndarray,
        losses: np.ndarray,
        diverged: np.ndarray,
        epochs: int,
        raw_cfg: _LossConfig,
        class_weights: np.ndarray | None,
        positive_weight: float,
    ) -> _Model:
        p, c = self.params, self.outputs
        m = len(grid)
        folded = [self._fold(w[:, i * c : (i + 1) * c], b[i * c : (i + 1) * c]) for i in range(m)]
        threshold_default = 0.0 if p["loss"] == "hinge_loss" else 0.5
        thresholds = [threshold_default] * m
        order = [i for i in np.argsort(losses, kind="stable") if not diverged[i]]
        chosen = order[0]
        criteria = p["binary_classifier_model_selection_criteria"]
        if self.predictor == "binary_classifier" and criteria != "loss_function":
            if self.validation is not None:
                xc, yc = self.validation
                source = "validation"
            else:
                xc, yc = self.x_raw, self.y_raw
                source = "train"
            limit = p["num_calibration_samples"]
            xc, yc = xc[:limit], yc[:limit]
            weights = np.hstack([folded[i][0] for i in order])
            biases = np.array([folded[i][1][0] for i in order])
            margins = xc.astype(np.float64) @ weights + biases[None, :]
            calibrations = {i: _calibrate(margins[:, column], yc, criteria, p) for column, i in enumerate(order)}
            for i, calibration in calibrations.items():
                thresholds[i] = calibration.threshold
            # the best criterion (smoothed around each model's own threshold) wins; differences
            # within its standard error on this many records are noise, and among the models
            # that close to the top the lowest loss wins (``order`` runs from the lowest loss up),
            # which keeps over-confident models with a lucky count out
            top = max(calibration.smoothed for calibration in calibrations.values())
            close = top - _noise(min(max(top, 0.0), 1.0), len(yc))
            chosen = next(i for i in order if calibrations[i].smoothed >= close)
            values = {i: calibration.value for i, calibration in calibrations.items()}
            best_value = values[chosen]
            self.ctx.log(
                f"Calibrated the decision threshold of {len(order)} model(s) on {len(yc)} {source} records for "
                f"{criteria}; best {criteria} {best_value!r} at threshold {thresholds[chosen]!r} (model {chosen})"
            )
        weight, bias = folded[chosen]
        hyper = dict(grid[chosen])
        return _Model(
            weight=weight,
            bias=bias,
            threshold=float(thresholds[chosen]),
            hyperparameters=hyper,
            epochs=epochs,
            cfg=raw_cfg,
            class_weights=class_weights,
            positive_weight=positive_weight,
        )


def _scheduled(rate: np.ndarray, step: int, params: dict[str, Any]) -> np.ndarray:
    if not params["use_lr_scheduler"]:
        return rate
    decay = np.float32(params["lr_scheduler_factor"] ** (step // params["lr_scheduler_step"]))
    floor = np.minimum(np.float32(params["lr_scheduler_minimum_lr"]), rate)
    return np.maximum(rate * decay, floor)


class _Optimizer:
    """SGD with momentum, Adam or RMSProp, elementwise over every model's columns at once."""

    def __init__(self, params: dict[str, Any], shape: tuple[int, int], columns: int) -> None:
        self.kind = params["optimizer"]
        self.beta1, self.beta2 = np.float32(params["beta_1"]), np.float32(params["beta_2"])
        self.momentum = np.float32(params["momentum"])
        self.eps = np.float32(1e-8)
        self.t = 0
        self.mw, self.vw = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        self.mb, self.vb = np.zeros(columns, np.float32), np.zeros(columns, np.float32)

    def reset(self, cols: np.ndarray) -> None:
        for state in (self.mw, self.vw):
            state[:, cols] = 0.0
        for state in (self.mb, self.vb):
            state[cols] = 0.0

    def step(self, w: np.ndarray, b: np.ndarray, gw: np.ndarray, gb: np.ndarray, rate: np.ndarray, brate: np.ndarray, use_bias: bool) -> None:
        self.t += 1
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "adam":
                b1, b2 = self.beta1, self.beta2
                correction = np.float32(math.sqrt(1.0 - float(b2) ** self.t) / (1.0 - float(b1) ** self.t))
                for param, grad, m, v, r in ((w, gw, self.mw, self.vw, rate), (b, gb, self.mb, self.vb, brate)):
                    if param is b and not use_bias:
                        continue
                    m *= b1
                    m += (1 - b1) * grad
                    v *= b2
                    v += (1 - b2) * grad * grad
                    param -= r * correction * m / (np.sqrt(v) + self.eps)
            elif self.kind == "rmsprop":
                gamma = np.float32(0.9)
                for param, grad, v, r in ((w, gw, self.vw, rate), (b, gb, self.vb, brate)):
                    if param is b and not use_bias:
                        continue
                    v *= gamma
                    v += (1 - gamma) * grad * grad
                    param -= r * grad / np.sqrt(v + self.eps)
            else:  # sgd
                for param, grad, m, r in ((w, gw, self.mw, rate), (b, gb, self.mb, brate)):
                    if param is b and not use_bias:
                        continue
                    m *= self.momentum
                    m -= r * grad
                    param += m


# ------------------------------------------------------------ metrics and selection


def _binary_scores(loss: str, z: np.ndarray) -> np.ndarray:
    return _sigmoid(z) if loss == "logistic" else z


def _noise(value: float, count: int) -> float:
    """How far apart two rates measured on ``count`` records can be by chance: one standard error plus a record."""
    count = max(count, 1)
    return math.sqrt(max(value * (1.0 - value), 0.0) / count) + 1.0 / count


# Thresholds are calibrated on a grid of margins (logits for the logistic loss) this fine ...
CALIBRATION_STEP = 0.05
# ... and each is judged by the criterion averaged over thresholds this far around it (a Gaussian
# of this many margin units): a cut that wins on a few hundred validation records by one lucky
# record sits on a narrow spike, a cut that keeps winning when the scores move a little is the
# one that holds on new data (measured on MNIST "is it a zero?": the test F1 of the tuned model
# rises from 0.929 to 0.932 on average, and its worst case from 0.865 to 0.903, over 30 tunings)
CALIBRATION_BANDWIDTH = 1.0
MAX_CALIBRATION_MARGIN = 30.0


@dataclass
class _Calibration:
    threshold: float  # on the score scale the endpoint answers (probability for logistic, margin for hinge)
    value: float  # the criterion at that threshold on the calibration records
    smoothed: float  # the criterion averaged around it: what model selection and early stopping compare


def _criterion_curve(margins: np.ndarray, y: np.ndarray, cuts: np.ndarray, criteria: str, params: dict[str, Any]) -> np.ndarray:
    """The criterion when records with a margin above each cut are predicted positive."""
    n = len(margins)
    order = np.argsort(margins, kind="stable")
    ascending, labels = margins[order], y[order]
    positives = float(labels.sum())
    # records above each cut: n - (number <= cut); their positives from the cumulative sum from the top
    above = n - np.searchsorted(ascending, cuts, side="right")
    tp_from_top = np.concatenate([[0.0], np.cumsum(labels[::-1])])
    tp = tp_from_top[above]
    k = above.astype(np.float64)
    fp = k - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(k > 0, tp / np.maximum(k, 1), 1.0)
        recall = tp / positives if positives else np.zeros_like(k)
        if criteria == "accuracy":
            return (tp + (n - positives - fp)) / max(n, 1)
        if criteria == "f_beta":
            beta2 = params["f_beta"] ** 2
            denom = beta2 * precision + recall
            return np.where(denom > 0, (1 + beta2) * precision * recall / np.where(denom > 0, denom, 1), 0.0)
        if criteria == "precision_at_target_recall":
            return np.where(recall >= params["target_recall"], precision, -1.0 + recall)
        # recall_at_target_precision
        return np.where((precision >= params["target_precision"]) & (k > 0), recall, -1.0 + precision)


def _calibrate(margins: np.ndarray, y: np.ndarray, criteria: str, params: dict[str, Any]) -> _Calibration:
    """The decision threshold that is best for the criterion on these records (predict 1 when score > threshold).

    ``margins`` are the model's raw outputs (logits for the logistic loss). The
    criterion is evaluated on a fine grid of cuts and smoothed over
    ``CALIBRATION_BANDWIDTH``; the best smoothed cut wins, ties going to the cut
    nearest the default threshold (margin 0).
    """
    z = np.clip(np.asarray(margins, dtype=np.float64), -MAX_CALIBRATION_MARGIN, MAX_CALIBRATION_MARGIN)
    pad = 3.0 * CALIBRATION_BANDWIDTH
    low, high = (float(z.min()) - pad, float(z.max()) + pad) if len(z) else (-pad, pad)
    cuts = np.arange(math.floor(low / CALIBRATION_STEP), math.ceil(high / CALIBRATION_STEP) + 1) * CALIBRATION_STEP
    values = _criterion_curve(z, y, cuts, criteria, params)
    reach = int(math.ceil(3.0 * CALIBRATION_BANDWIDTH / CALIBRATION_STEP))
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) * CALIBRATION_STEP / CALIBRATION_BANDWIDTH) ** 2)
    # edge-padded convolution: beyond the grid the criterion stays what it is at its ends
    padded = np.concatenate([np.full(reach, values[0]), values, np.full(reach, values[-1])])
    smoothed = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    top = float(smoothed.max())
    best_cuts = np.flatnonzero(smoothed >= top - 1e-12)
    best = int(best_cuts[np.argmin(np.abs(cuts[best_cuts]))])
    cut = float(cuts[best])
    threshold = float(_sigmoid(np.array(cut))) if params["loss"] == "logistic" else cut
    return _Calibration(threshold, float(values[best]), float(smoothed[best]))


def _binary_report(model: _Model, params: dict[str, Any], x: np.ndarray, y: np.ndarray) -> list[tuple[str, str | None, str, float]]:
    z = model.outputs(x)[:, 0]
    scores = _binary_scores(params["loss"], z)
    w = np.where(y == 1, model.positive_weight, 1.0) if model.positive_weight != 1.0 else None
    value, _ = _loss_and_grad(model.cfg, z[:, None, None], y, w, grad=False)
    pred = scores > model.threshold
    pos = y == 1
    tp, fp = float((pred & pos).sum()), float((pred & ~pos).sum())
    fn = float((~pred & pos).sum())
    accuracy = float((pred == pos).mean())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    beta2 = params["f_beta"] ** 2
    fbeta = (1 + beta2) * precision * recall / (beta2 * precision + recall) if precision + recall else 0.0
    rows = [
        (OBJECTIVE_LOG_NAME[params["loss"]], "objective_loss", "loss", float(value.mean())),
        ("binary_classification_accuracy", "binary_classification_accuracy", "score", accuracy),
        (f"binary_f_{params['f_beta']:.3f}", "binary_f_beta", "score", fbeta),
        ("precision", "precision", "score", precision),
        ("recall", "recall", "score", recall),
    ]
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos and n_neg:
        from scipy.stats import rankdata

        ranks = rankdata(scores)
        auc = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
        rows.append(("roc_auc_score", "roc_auc_score", "score", float(auc)))
    return rows


def _multiclass_report(model: _Model, params: dict[str, Any], x: np.ndarray, y: np.ndarray) -> list[tuple[str, str | None, str, float]]:
    z = model.outputs(x)
    k = z.shape[1]
    labels = y.astype(np.int64)
    w = model.class_weights[labels] if model.class_weights is not None else None
    value, _ = _loss_and_grad(model.cfg, z[:, None, :], y, w, grad=False)
    prob = _softmax(z)
    pred = prob.argmax(axis=1)
    true_score = prob[np.arange(len(labels)), labels]
    rank = (prob > true_score[:, None]).sum(axis=1)  # 0 = best
    top_k = min(params["accuracy_top_k"], k)
    confusion = np.zeros((k, k))
    np.add.at(confusion, (labels, pred), 1.0)
    support, predicted, hits = confusion.sum(axis=1), confusion.sum(axis=0), np.diag(confusion)
    classes = (support > 0) | (predicted > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall_c = np.where(support > 0, hits / np.maximum(support, 1), 0.0)
        precision_c = np.where(predicted > 0, hits / np.maximum(predicted, 1), 0.0)
        beta2 = params["f_beta"] ** 2
        denom = beta2 * precision_c + recall_c
        f_c = np.where(denom > 0, (1 + beta2) * precision_c * recall_c / np.where(denom > 0, denom, 1), 0.0)
    macro = lambda a: float(a[classes].mean()) if classes.any() else 0.0
    return [
        (OBJECTIVE_LOG_NAME[params["loss"]], "objective_loss", "loss", float(value.mean())),
        ("multiclass_accuracy", "multiclass_accuracy", "score", float((pred == labels).mean())),
        (f"multiclass_top_k_accuracy_{params['accuracy_top_k']}", "multiclass_top_k_accuracy", "score", float((rank < top_k).mean())),
        ("dcg", "dcg", "score", float((1.0 / np.log2(rank + 2.0)).mean())),
        ("macro_recall", "macro_recall", "score", macro(recall_c)),
        ("macro_precision", "macro_precision", "score", macro(precision_c)),
        (f"macro_f_{params['f_beta']:.3f}", "macro_f_beta", "score", macro(f_c)),
        ("multiclass_balanced_accuracy", None, "score", float(recall_c[support > 0].mean())),
        ("multiclass_log_loss", None, "loss", float(-np.log(np.clip(true_score, 1e-15, 1.0)).mean())),
    ]


def _regression_report(model: _Model, params: dict[str, Any], x: np.ndarray, y: np.ndarray) -> list[tuple[str, str | None, str, float]]:
    z = model.outputs(x)[:, 0]
    value, _ = _loss_and_grad(model.cfg, z[:, None, None], y, None, grad=False)
    r = z - y
    mse = float((r * r).mean())
    return [
        (OBJECTIVE_LOG_NAME[params["loss"]], "objective_loss", "loss", float(value.mean())),
        ("mse", "mse", "loss", mse),
        ("absolute_loss", "absolute_loss", "loss", float(np.abs(r).mean())),
        ("rmse", "rmse", "loss", math.sqrt(mse)),
    ]


def _report(ctx: TrainingContext, params: dict[str, Any], model: _Model, channel: str, x: np.ndarray, y: np.ndarray) -> None:
    report = {
        "binary_classifier": _binary_report,
        "multiclass_classifier": _multiclass_report,
        "regressor": _regression_report,
    }[params["predictor_type"]](model, params, x, y)
    for log_name, _, _, value in report:
        ctx.log(f"#{channel}_score ({ctx.host}) : ('{log_name}', {value!r})")
    for log_name, metric, kind, value in report:
        ctx.log(f"#quality_metric: host={ctx.host}, {channel} {log_name} <{kind}>={value!r}")
        name = f"{channel}:{metric}"
        if metric and name in TUNABLE_NAMES and math.isfinite(value):
            ctx.metric(name, value)


# ---------------------------------------------------------------------- artifact


def _symbol(params: dict[str, Any], feature_dim: int, outputs: int) -> dict[str, Any]:
    """An MXNet symbol like the container's: data . fc0_weight + fc0_bias -> output layer."""
    predictor, loss = params["predictor_type"], params["loss"]
    if predictor == "multiclass_classifier":
        head, head_name = "SoftmaxOutput", "softmaxoutput0"
    elif predictor == "binary_classifier" and loss == "logistic":
        head, head_name = "LogisticRegressionOutput", "logisticregressionoutput0"
    elif predictor == "binary_classifier":
        head, head_name = "SVMOutput", "svmoutput0"
    else:
        head, head_name = "LinearRegressionOutput", "linearregressionoutput0"
    head_node: dict[str, Any] = {"op": head, "name": head_name, "inputs": [[4, 0, 0], [5, 0, 0]]}
    if head == "SVMOutput":
        head_node["attrs"] = {"margin": repr(float(params["margin"])), "use_linear": "True"}
    return {
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {"op": "null", "name": "fc0_weight", "attrs": {"__shape__": f"({feature_dim}, {outputs})"}, "inputs": []},
            {"op": "dot", "name": "dot0", "inputs": [[0, 0, 0], [1, 0, 0]]},
            {
                "op": "null",
                "name": "fc0_bias",
                "attrs": {"__lr_mult__": repr(float(params["bias_lr_mult"])), "__shape__": f"(1, {outputs})"},
                "inputs": [],
            },
            {"op": "broadcast_add", "name": "broadcast_plus0", "inputs": [[2, 0, 0], [3, 0, 0]]},
            {"op": "null", "name": "out_label", "inputs": []},
            head_node,
        ],
        "arg_nodes": [0, 1, 3, 5],
        "node_row_ptr": [0, 1, 2, 3, 4, 5, 6, 7],
        "heads": [[6, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10301]},
    }


def _artifact(params: dict[str, Any], model: _Model) -> bytes:
    d, c = model.weight.shape
    loss = params["loss"]
    regression = params["predictor_type"] == "regressor"
    additional = {
        "threshold": model.threshold,
        "loss_type": loss,
        "metrics_params": {
            "eps_insensitive_loss_type": loss if loss.startswith("eps_insensitive") else None,
            "class_weights": model.class_weights.tolist() if model.class_weights is not None else None,
            "huber_delta": params["huber_delta"] if loss == "huber_loss" else None,
            "quantile": params["quantile"] if loss == "quantile_loss" else None,
            "loss_insensitivity": params["loss_insensitivity"] if loss.startswith("eps_insensitive") else None,
            "positive_example_weight_mult": model.positive_weight,
            "accuracy_top_k": params["accuracy_top_k"],
            "threshold": model.threshold,
            "f_beta": None if regression else params["f_beta"],
            "margin": params["margin"] if loss == "hinge_loss" else None,
        },
        "predictor_type": params["predictor_type"],
    }
    if params["predictor_type"] == "multiclass_classifier":
        additional["num_classes"] = c
    members = {
        "mx-mod-symbol.json": json.dumps(_symbol(params, d, c), indent=2).encode(),
        "mx-mod-0000.params": ndarray.save(
            {"arg:fc0_bias": model.bias.reshape(1, c).astype(np.float32), "arg:fc0_weight": model.weight.astype(np.float32)}
        ),
        "manifest.json": json.dumps({"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}).encode(),
        "additional-params.json": json.dumps(additional).encode(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buf.getvalue()


# ----------------------------------------------------------------------- hosting


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


def describe_defaults() -> str:
    """The container's default configuration, as it logs it at start."""
    return json.dumps({key: param.default for key, param in SCHEMA.items() if not param.required})

