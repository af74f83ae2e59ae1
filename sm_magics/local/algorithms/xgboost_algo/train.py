"""Training with the ``xgboost`` library as the container does: watchlist, metrics, errors, multi-host."""

from __future__ import annotations

import contextlib
import json
import math
import pickle
from typing import Any, Callable, Iterator

import numpy as np

from ....algorithms.xgboost import CUSTOM_METRICS, XGBoostSpec, metric_lists, training_format
from ..base import Algorithm, AlgorithmError, ClientError, HostedModel, TrainingContext
from .artifact import MODEL_MEMBER, xgboost_message, load_booster
from .data import TRAIN_PATH, VALIDATION_PATH, Shard, _concat, read_channel
from .serve import HostedXGBoost

MAX_REASON = 1000  # FailureReason is at most 1024 characters, "AlgorithmError: " included


# Substrings of XGBoost's errors that are the user's to fix (the container's CUSTOMER_ERRORS, plus
# the wording current xgboost uses for the same checks).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "base_score must be in (0,1)",
    "label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
    "Invalid shape of labels",
    "label must be discrete values",
    "label must be non-negative",
    "label must be positive",
    "labels are not correctly provided",
    "Feature shape mismatch",
    "number of features",
    "Invalid Input:",
    "aft_loss_distribution",
    "label_lower_bound",
)


class XGBoost(XGBoostSpec, Algorithm):
    """The container's training and serving; its contract is ``XGBoostSpec``."""

    # ---------------------------------------------------------------- training

    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, Any]:
        with _bounded_reasons():
            return self._read_host(ctx, params)

    def _read_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, Any]:
        csv_weights = int(params.get("csv_weights", 0))
        for name in ctx.channels:
            training_format(ctx.channels[name].content_type)  # fail fast on a bad ContentType
        train = read_channel(ctx, "train", csv_weights)
        validation = read_channel(ctx, "validation", 0) if "validation" in ctx.channels else None
        if ctx.host_count == 1:
            if train is None:
                raise ClientError(f"No data in training channel path {TRAIN_PATH}")
            if "validation" in ctx.channels and validation is None:
                raise ClientError(f"No data in validation channel path {VALIDATION_PATH}")
        return {"host": ctx.host, "train": train, "validation": validation}

    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        with _bounded_reasons():
            self._finish(ctx, params, partials)

    def _finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        hosts = [p["host"] for p in partials]
        if ctx.host_count > 1:
            ctx.log(f"Distributed node training with {ctx.host_count} hosts: {sorted(hosts)}")
            for p in partials:
                if p["train"] is None:
                    ctx.log(
                        f"Host {p['host']} does not have data. Will broadcast to cluster and will not be used in "
                        "distributed training."
                    )
        else:
            ctx.log("Single node training.")
        trains = [p["train"] for p in partials if p["train"] is not None]
        if not trains:
            raise ClientError(f"No data in training channel path {TRAIN_PATH}")
        validations = [p["validation"] for p in partials if p["validation"] is not None]
        if "validation" in ctx.channels and not validations:
            raise ClientError(f"No data in validation channel path {VALIDATION_PATH}")
        train = _concat(trains)
        validation = _concat(validations) if validations else None
        if validation is not None:
            _check_feature_names(train, validation)
        booster = self._train(ctx, params, train, validation)
        (ctx.model_dir / MODEL_MEMBER).write_bytes(self.serialize(booster))

    def _train(self, ctx: TrainingContext, params: dict[str, Any], train: Shard, validation: Shard | None) -> Any:
        import xgboost as xgb

        xgb_params, eval_metrics, custom = self._xgb_params(ctx, params)
        if self.key < (0, 90, 0):
            _legacy_072_defaults(ctx, xgb_params, train.rows)
        objective = xgb_params.get("objective", "reg:squarederror")
        _check_labels(self.key, objective, xgb_params.get("num_class"), eval_metrics + custom, train, validation)
        try:
            dtrain = xgb.DMatrix(train.x, label=train.y, weight=train.weight, missing=np.nan)
            watchlist = [(dtrain, "train")]
            if validation is not None:
                watchlist.append((xgb.DMatrix(validation.x, label=validation.y, missing=np.nan), "validation"))
        except Exception as exc:
            raise ClientError(f"Failed to load data with exception:\n{xgboost_message(exc)}") from None
        ctx.log(f"Train matrix has {train.rows} rows and {train.columns} columns")
        if validation is not None:
            ctx.log(f"Validation matrix has {validation.rows} rows")

        declared = {d["Name"] for d in self.metric_definitions}
        monitor = _make_monitor(xgb, ctx, declared)
        early = params.get("early_stopping_rounds")
        # XGBoost stops on the last metric of the last eval set: the custom ones come after the built-in ones
        last_metric = (custom or eval_metrics or [_default_metric(objective)])[-1]
        maximize_all = metric_lists(self.key)[0] + ["auc", "aucpr", "map", "ndcg"]
        maximize = last_metric.split("@")[0] in maximize_all if early else None
        try:
            booster = xgb.train(
                xgb_params,
                dtrain,
                num_boost_round=int(params["num_round"]),
                evals=watchlist,
                custom_metric=_custom_metric(custom, objective) if custom else None,
                maximize=maximize,
                early_stopping_rounds=early,
                callbacks=[monitor],
                verbose_eval=False,
            )
        except Exception as exc:
            message = xgboost_message(exc)
            if any(marker in message for marker in CUSTOMER_ERRORS):
                raise ClientError(message) from None
            raise AlgorithmError(f"XGB train call failed with exception:\n {message}") from None
        if early and getattr(booster, "best_iteration", None) is not None:
            ctx.log(f"Best iteration: {booster.best_iteration} (stopped after {booster.num_boosted_rounds()} rounds)")
        return booster

    def _xgb_params(self, ctx: TrainingContext, params: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
        skip = {
            "num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric", "save_model_on_termination",
            "eval_metric", "silent", "use_dask_gpu_training",
        }  # fmt: skip
        out: dict[str, Any] = {}
        for name, value in params.items():
            if name in skip:
                continue
            if name == "updater":
                value = ",".join(value)
            elif name == "monotone_constraints":
                value = "(" + ",".join(str(int(v)) for v in value) + ")"
            elif name == "interaction_constraints":
                value = json.dumps(value)
            elif name == "tree_method" and "gpu" in value:
                ctx.log(f"tree_method '{value}' needs a GPU; the local engine trains with 'hist'")
                value = "hist"
            out[name] = value
        if params.get("silent") == 1 and "verbosity" not in params:
            out["verbosity"] = 0
        # eval_metric plus the tuning objective's metric, split into XGBoost's and the container's own
        union = params.get("eval_metric")
        tuning = params.get("_tuning_objective_metric")
        if tuning is not None:
            metric = tuning.split(":", 1)[1] if ":" in tuning else tuning
            ctx.log(f"Setting up HPO optimized metric to be : {metric}")
            union = sorted(set(union or []) | set(metric.split(",")))
        builtin: list[str] = []
        custom: list[str] = []
        if union:
            custom = sorted(m for m in set(union) if m in CUSTOM_METRICS)
            builtin = [m for m in union if m not in CUSTOM_METRICS]
            builtin = sorted(set(builtin)) if custom else list(dict.fromkeys(builtin))
        if builtin:
            out["eval_metric"] = builtin
        return out, builtin, custom

    # ---------------------------------------------------------------- artifacts

    def serialize(self, booster: Any) -> bytes:
        """The ``xgboost-model`` member as this image version writes it (see the module docstring)."""
        if self.key < (1, 3, 0):
            return pickle.dumps(booster, protocol=4 if self.key >= (1, 2, 0) else 3)  # 1.0-1: Python 3.7's default
        if self.key < (3, 0, 0):
            try:  # XGBoost's legacy binary format ("binf"), where the installed xgboost can still write it
                return bytes(booster.save_raw("deprecated"))
            except Exception:
                return bytes(booster.save_raw("json"))
        return bytes(booster.save_raw("ubj"))

    # ---------------------------------------------------------------- hosting

    def load(self, files: dict[str, bytes]) -> HostedModel:
        names = sorted(n for n in files if n.split("/")[-1].startswith(MODEL_MEMBER)) or sorted(files)
        if not names:
            raise ClientError("Unable to load model: model.tar.gz is empty")
        if MODEL_MEMBER in names:
            names = [MODEL_MEMBER]
        boosters = [load_booster(files[name], name) for name in names]
        return HostedXGBoost(boosters, self.key)


@contextlib.contextmanager
def _bounded_reasons() -> Iterator[None]:
    """FailureReason holds at most 1024 characters: messages quoting data or XGBoost are cut to fit."""
    try:
        yield
    except (ClientError, AlgorithmError) as exc:
        message = str(exc)
        if len(message) <= MAX_REASON:
            raise
        raise type(exc)(message[: MAX_REASON - 3] + "...") from None


def _legacy_072_defaults(ctx: TrainingContext, xgb_params: dict[str, Any], rows: int) -> None:
    """XGBoost 0.72's defaults where today's xgboost, which trains the legacy image's jobs here, has other ones.

    0.72's ``tree_method=auto`` grew trees with ``exact`` (``approx`` from 2^22
    rows on), not ``hist``; its ``base_score`` was 0.5, not estimated from the
    labels; ``reg:linear`` is its squared-error objective.
    """
    if xgb_params.get("tree_method", "auto") == "auto":
        xgb_params["tree_method"] = "exact" if rows < 2**22 else "approx"
        ctx.log(f"XGBoost 0.72's tree_method 'auto': using '{xgb_params['tree_method']}' for {rows} rows")
    xgb_params.setdefault("base_score", 0.5)
    if xgb_params.get("objective") == "reg:linear":
        xgb_params["objective"] = "reg:squarederror"  # the same loss, under the name today's xgboost keeps


def _default_metric(objective: str) -> str:
    if objective.startswith("binary:") or objective == "reg:logistic":
        return "logloss"
    if objective.startswith("multi:"):
        return "mlogloss"
    if objective.startswith("rank:"):
        return "map" if objective == "rank:map" else "ndcg"
    return "rmse"


def _check_feature_names(train: Shard, validation: Shard) -> None:
    """XGBoost 1.x compared the eval set's (default) feature names with the training data's; dense only."""
    from scipy.sparse import issparse

    if issparse(train.x) or issparse(validation.x) or train.columns == validation.columns:
        return
    mine = [f"f{i}" for i in range(train.columns)]
    theirs = [f"f{i}" for i in range(validation.columns)]
    message = f"feature_names mismatch: {mine} {theirs}"
    missing = [name for name in mine if name not in theirs]
    extra = [name for name in theirs if name not in mine]
    if missing:
        message += "\nexpected " + ", ".join(missing) + " in input data"
    if extra:
        message += "\ntraining data did not have the following fields: " + ", ".join(extra)
    raise ClientError(message)


def _check_labels(
    key: tuple[int, int, int], objective: str, num_class: int | None, metrics: list[str], train: Shard, validation: Shard | None
) -> None:
    """XGBoost's label checks, worded as the container's XGBoost reports them."""
    for shard in (train, validation):
        if shard is None:
            continue
        y = shard.y
        if objective in ("binary:logistic", "reg:logistic") and ((y < 0) | (y > 1)).any():
            raise ClientError("label must be in [0,1] for logistic regression")
        if objective.startswith("multi:") and num_class and (((y < 0) | (y >= num_class)).any() or (y != np.floor(y)).any()):
            raise ClientError("SoftmaxMultiClassObj: label must be in [0, num_class).")
        if objective in ("count:poisson",) and (y < 0).any():
            raise ClientError("Check failed: label_correct PoissonRegression: label must be nonnegative")
        if objective in ("reg:tweedie",) and (y < 0).any():
            raise ClientError("Check failed: label_correct TweedieRegression: label must be nonnegative")
        # XGBoost before 1.4 refused AUC on a set holding one class only (later ones warn)
        if key < (1, 3, 9) and "auc" in metrics and np.unique(y).size < 2:
            raise ClientError("Check failed: !auc_error AUC: the dataset only contains pos or neg samples")


def _make_monitor(xgb: Any, ctx: TrainingContext, declared: set[str]) -> Any:
    class ContainerEvaluationMonitor(xgb.callback.TrainingCallback):
        """``[<i>]\\t<data>-<metric>:<value>`` per round, as the container prints it; declared metrics reported
        with the value the log line shows, as SageMaker's regex extraction gets it."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if not evals_log:
                return False
            line = f"[{epoch}]"
            for data, metrics in evals_log.items():
                for metric, log in metrics.items():
                    score = log[-1][0] if isinstance(log[-1], tuple) else log[-1]
                    text = f"{score:.5f}"
                    line += f"\t{data}-{metric}:{text}"
                    if f"{data}:{metric}" in declared and not math.isnan(float(score)):
                        # SageMaker reads metrics out of the log line with the definition's regex (as float32)
                        ctx.metric(f"{data}:{metric}", float(np.float32(text)))
            ctx.log(line)
            return False

    return ContainerEvaluationMonitor()


def _predicted_labels(preds: np.ndarray, objective: str) -> np.ndarray:
    if preds.ndim == 2:
        return preds.argmax(axis=1).astype(np.float64)
    if objective == "multi:softmax":
        return preds.astype(np.float64)
    if objective == "binary:logitraw":
        return (preds > 0.0).astype(np.float64)
    return (preds > 0.5).astype(np.float64)


def _custom_metric(names: list[str], objective: str) -> Callable[[np.ndarray, Any], list[tuple[str, float]]]:
    """The container's fevals (``metrics/custom_metrics.py``), in one custom_metric."""
    from sklearn import metrics as skm

    def evaluate(preds: np.ndarray, dmatrix: Any) -> list[tuple[str, float]]:
        labels = dmatrix.get_label().astype(np.float64)
        predicted = _predicted_labels(np.asarray(preds), objective)
        binary = set(np.unique(labels)).issubset({0.0, 1.0})
        out = []
        for name in names:
            if name == "accuracy":
                value = skm.accuracy_score(labels, predicted)
            elif name == "balanced_accuracy":
                value = skm.balanced_accuracy_score(labels, predicted)
            elif name == "f1":
                value = skm.f1_score(labels, predicted, average="binary" if binary else "macro", zero_division=0)
            elif name == "f1_binary":
                value = skm.f1_score(labels, predicted, average="binary", zero_division=0)
            elif name == "f1_macro":
                value = skm.f1_score(labels, predicted, average="macro", zero_division=0)
            elif name.startswith(("precision", "recall")):
                base, _, average = name.partition("_")
                scorer = skm.precision_score if base == "precision" else skm.recall_score
                value = scorer(labels, predicted, average=average or "binary", zero_division=0)
            elif name == "mse":
                value = skm.mean_squared_error(labels, np.asarray(preds).reshape(len(labels), -1)[:, 0])
            else:  # r2
                value = skm.r2_score(labels, np.asarray(preds).reshape(len(labels), -1)[:, 0])
            out.append((name, float(value)))
        return out

    return evaluate
