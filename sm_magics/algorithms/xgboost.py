"""XGBoost (``sagemaker-xgboost:<version>``, legacy ``xgboost:1``): the container's contract per image version.

Hyperparameters are validated as the container's toolkit does it
(``sagemaker_algorithm_toolkit.hyperparameter_validation``): aliases first, then required
names, then parsing, then ranges, then the cross-parameter rules; the metric definitions and
the training content types are the container's. The training and serving are in
``sm_magics.local.algorithms.xgboost_algo``; what is reproduced of the container is in docs/algorithms/xgboost.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .base import AlgorithmSpec, ClientError


# ------------------------------------------------------------------ image versions


LEGACY_072 = (0, 72, 0)
LEGACY_TAGS = ("1", "latest")  # the SDKs' ``xgboost:1``; ``latest`` is the same legacy image, not the newest container


def version_key(version: str) -> tuple[int, int, int]:
    """'1.0-1' -> (1, 0, 1); the legacy ``xgboost:1`` / ``xgboost:latest`` image is XGBoost 0.72; unknown tags count as newest."""
    if version in LEGACY_TAGS:
        return LEGACY_072
    if not version:
        return (99, 0, 0)
    match = re.match(r"^(\d+)\.(\d+)(?:-(\d+))?", version)
    if not match:
        return (99, 0, 0)
    return int(match[1]), int(match[2]), int(match[3] or 0)


# ------------------------------------------------------------------ metrics

MAXIMIZE_METRICS_10 = ["accuracy", "auc", "aucpr", "f1", "map", "ndcg"]
MINIMIZE_METRICS_10 = [
    "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "logloss", "mae", "merror", "mlogloss", "mse",
    "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
]  # fmt: skip
MAXIMIZE_METRICS_15 = [
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg", "precision", "r2",
    "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
]  # fmt: skip
MINIMIZE_METRICS_15 = [
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
]  # fmt: skip
# Metrics the container computes itself (as a feval) rather than asking XGBoost for.
CUSTOM_METRICS = (
    "accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "precision", "precision_macro",
    "precision_micro", "r2", "recall", "recall_macro", "recall_micro",
)  # fmt: skip
# train:* definitions worth a slot when the 40-definition cap of MetricDefinitions leaves room.
TRAIN_METRIC_PRIORITY = ("auc", "error", "logloss", "rmse", "mae", "merror", "mlogloss", "aucpr", "accuracy", "f1", "mse")
MAX_METRIC_DEFINITIONS = 40  # botocore: MetricDefinitionList max 40


# XGBoost 0.72's own metrics (no aucpr, rmsle, nor the 1.0-1 container's accuracy/f1/mse).
MAXIMIZE_METRICS_072 = ["auc", "map", "ndcg"]
MINIMIZE_METRICS_072 = [
    "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "logloss", "mae", "merror", "mlogloss", "poisson-nloglik",
    "rmse", "tweedie-nloglik",
]  # fmt: skip


def metric_lists(key: tuple[int, int, int]) -> tuple[list[str], list[str]]:
    if key < (0, 90, 0):
        return MAXIMIZE_METRICS_072, MINIMIZE_METRICS_072
    if key >= (1, 5, 0):
        return MAXIMIZE_METRICS_15, MINIMIZE_METRICS_15
    return MAXIMIZE_METRICS_10, MINIMIZE_METRICS_10


def metric_regex(data: str, metric: str) -> str:
    """The container's regex, matching a real TAB (our log lines) as well as CloudWatch's ``#011`` rendering."""
    return r".*\[[0-9]+\].*(?:\t|#011)" + f"{data}-{re.escape(metric)}" + r":(\S+)"


def metric_definitions_for(key: tuple[int, int, int]) -> tuple[dict[str, str], ...]:
    maximize, minimize = metric_lists(key)
    metrics = maximize + minimize
    definitions = [{"Name": f"validation:{m}", "Regex": metric_regex("validation", m)} for m in metrics]
    room = MAX_METRIC_DEFINITIONS - len(definitions)
    train = [m for m in TRAIN_METRIC_PRIORITY if m in metrics][:room] if room > 0 else []
    definitions = [{"Name": f"train:{m}", "Regex": metric_regex("train", m)} for m in train] + definitions
    return tuple(definitions)


# ------------------------------------------------------------------ hyperparameter schema


@dataclass(frozen=True)
class Interval:
    """The toolkit's ``hpv.Interval``: membership and its printed form (``[0, 1]``, ``(0, +inf)``)."""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: Any) -> bool:
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        low = f"({self.min_open}, " if self.min_open is not None else f"[{self.min_closed}, " if self.min_closed is not None else "(-inf, "
        high = f"{self.max_open})" if self.max_open is not None else f"{self.max_closed}]" if self.max_closed is not None else "+inf)"
        return low + high


@dataclass(frozen=True)
class HP:
    """One hyperparameter of the container's schema."""

    kind: str  # int, float, cat, list, tuple, nested
    range: Any = None  # Interval, list of choices, or a predicate with .choices
    required: bool = False


class MetricRange:
    """eval_metric's range: the version's metrics plus ``error@t``, ``ndcg@t``, ``map@t``."""

    def __init__(self, metrics: list[str]) -> None:
        self.metrics = metrics

    def __contains__(self, metric: str) -> bool:
        if "<function" in metric:
            raise ClientError(f"User defined evaluation metric {metric} is not supported yet.")
        if "@" in metric:
            name, threshold = metric.split("@", 1)[0].strip(), metric.split("@", 1)[1].strip()
            if name not in ("error", "ndcg", "map"):
                raise ClientError(
                    f"Metric '{metric}' is not supported. Parameter 'eval_metric' with customized threshold should "
                    "be one of these options: 'error', 'ndcg', 'map'."
                )
            try:
                float(threshold)
            except ValueError:
                raise ClientError(f"Threshold value 't' in '{name}@t' expects float input.") from None
            return True
        return metric in self.metrics

    def __str__(self) -> str:
        return str(self.metrics)


class TreeMethodRange:
    def __init__(self, allow_gpu: bool) -> None:
        self.choices = ["auto", "exact", "approx", "hist"] + (["gpu_hist"] if allow_gpu else [])
        self.allow_gpu = allow_gpu

    def __contains__(self, value: str) -> bool:
        if not self.allow_gpu and "gpu" in value:
            raise ClientError("GPU training is not supported yet.")
        return value in self.choices

    def __str__(self) -> str:
        return str(self.choices)


OBJECTIVES_10 = [
    "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax", "multi:softprob",
    "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
    "reg:squaredlogerror", "reg:tweedie", "survival:cox",
]  # fmt: skip
UPDATERS = [
    "grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_skmaker", "sync", "refresh", "prune",
    "grow_quantile_histmaker", "shotgun", "coord_descent",
]  # fmt: skip
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}
TRUE_FALSE = ["true", "false"]


# XGBoost 0.72's objectives: reg:squarederror and reg:squaredlogerror came with 0.90 (reg:linear is 0.72's name).
OBJECTIVES_072 = [o for o in OBJECTIVES_10 if o not in ("reg:squarederror", "reg:squaredlogerror", "binary:hinge")]
# Names of the 1.0-1 container's schema that the legacy 0.72 image did not have (XGBoost 0.81+ or container features).
NOT_IN_072 = (
    "verbosity", "colsample_bynode", "interaction_constraints", "monotone_constraints", "dsplit", "predictor",
    "num_parallel_tree", "save_model_on_termination",
)  # fmt: skip


def objectives_for(key: tuple[int, int, int]) -> list[str]:
    if key < (0, 90, 0):
        return list(OBJECTIVES_072)
    objectives = list(OBJECTIVES_10)
    if key >= (1, 2, 0):
        objectives += ["reg:pseudohubererror", "survival:aft"]
    if key >= (1, 7, 0):
        objectives += ["reg:absoluteerror"]
    return objectives


def schema_for(key: tuple[int, int, int]) -> dict[str, HP]:
    maximize, minimize = metric_lists(key)
    # The container accepts validation:<metric> only; train:<metric> is accepted too because this engine
    # declares train:* definitions (within MetricDefinitions' cap of 40) that tuning may pick as objective.
    metric_names = [f"validation:{m}" for m in maximize + minimize] + [f"train:{m}" for m in maximize + minimize]
    unit = Interval(min_closed=0, max_closed=1)
    non_negative = Interval(min_closed=0)
    fraction = Interval(min_open=0, max_closed=1)
    schema: dict[str, HP] = {
        "num_round": HP("int", Interval(min_closed=1), required=True),
        "csv_weights": HP("int", unit),
        "early_stopping_rounds": HP("int", Interval(min_closed=1)),
        "booster": HP("cat", ["gbtree", "gblinear", "dart"]),
        "verbosity": HP("int", Interval(min_closed=0, max_closed=3)),
        "nthread": HP("int", Interval(min_closed=1)),
        "eta": HP("float", unit),
        "gamma": HP("float", non_negative),
        "max_depth": HP("int", non_negative),
        "min_child_weight": HP("float", non_negative),
        "max_delta_step": HP("float", non_negative),
        "subsample": HP("float", fraction),
        "colsample_bytree": HP("float", fraction),
        "colsample_bylevel": HP("float", fraction),
        "colsample_bynode": HP("float", fraction),
        "lambda": HP("float", non_negative),
        "alpha": HP("float", non_negative),
        "tree_method": HP("cat", TreeMethodRange(allow_gpu=key >= (1, 2, 0))),
        "sketch_eps": HP("float", Interval(min_open=0, max_open=1)),
        "scale_pos_weight": HP("float", Interval(min_open=0)),
        "updater": HP("list", UPDATERS),
        "dsplit": HP("cat", ["row", "col"]),
        "refresh_leaf": HP("int", unit),
        "process_type": HP("cat", ["default", "update"]),
        "grow_policy": HP("cat", ["depthwise", "lossguide"]),
        "max_leaves": HP("int", non_negative),
        "max_bin": HP("int", non_negative),
        "predictor": HP("cat", ["auto", "cpu_predictor", "gpu_predictor"]),
        "monotone_constraints": HP("tuple", [-1, 0, 1]),
        "interaction_constraints": HP("nested", Interval(min_closed=1)),
        "sample_type": HP("cat", ["uniform", "weighted"]),
        "normalize_type": HP("cat", ["tree", "forest"]),
        "rate_drop": HP("float", unit),
        "one_drop": HP("int", unit),
        "skip_drop": HP("float", unit),
        "lambda_bias": HP("float", unit),
        "tweedie_variance_power": HP("float", Interval(min_open=1, max_open=2)),
        "objective": HP("cat", objectives_for(key)),
        "num_class": HP("int", Interval(min_closed=2)),
        "base_score": HP("float", non_negative),
        "_tuning_objective_metric": HP("cat", metric_names),
        "eval_metric": HP("list", MetricRange(maximize + minimize)),
        "seed": HP("int", Interval(min_open=-(2**31), max_open=2**31 - 1)),
        "num_parallel_tree": HP("int", Interval(min_closed=1)),
        "save_model_on_termination": HP("cat", TRUE_FALSE),
    }
    if key < (3, 0, 0):
        schema["silent"] = HP("int", unit)
    if key >= (1, 2, 0):
        schema.update(
            {
                "aft_loss_distribution": HP("cat", ["normal", "logistic", "extreme"]),
                "aft_loss_distribution_scale": HP("float", non_negative),
                "single_precision_histogram": HP("cat", TRUE_FALSE),
                "deterministic_histogram": HP("cat", TRUE_FALSE),
                "sampling_method": HP("cat", ["uniform", "gradient_based"]),
                "prob_buffer_row": HP("int", Interval(min_open=1.0)),
            }
        )
    if key >= (3, 0, 0):
        schema["use_dask_gpu_training"] = HP("cat", TRUE_FALSE)
    if key < (0, 90, 0):  # the legacy xgboost:1 image: XGBoost 0.72's parameters, ``silent`` instead of ``verbosity``
        for name in NOT_IN_072:
            schema.pop(name, None)
    return schema


def validate_hyperparameters(key: tuple[int, int, int], raw: Mapping[str, str]) -> dict[str, Any]:
    """The toolkit's ``Hyperparameters.validate`` with the XGBoost container's schema and rules."""
    schema = schema_for(key)
    user = {ALIASES.get(name, name): value for name, value in raw.items()}
    for name, hp in schema.items():
        if hp.required and name not in user:
            raise ClientError(f"Missing required hyperparameter: {name}")
    converted: dict[str, Any] = {}
    for name, value in user.items():
        hp = schema.get(name)
        if hp is None:
            raise ClientError(f"Extraneous hyperparameter found: {name}")
        try:
            converted[name] = _parse(hp, str(value))
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ClientError(f"Hyperparameter {name}: could not parse value (caused by {type(exc).__name__})") from None
    for name, value in converted.items():
        _check_range(name, schema[name], value)
    _check_dependencies(converted)
    return converted


def _parse(hp: HP, text: str) -> Any:
    if hp.kind == "int":
        return int(text)
    if hp.kind == "float":
        return float(text)
    if hp.kind == "list":
        return text.split(",")
    if hp.kind in ("tuple", "nested"):
        value = ast.literal_eval(text)
        if hp.kind == "tuple" and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, (tuple, list)):
            raise ValueError(f"{text} is not a sequence")
        return value
    return text


def _check_range(name: str, hp: HP, value: Any) -> None:
    if hp.kind == "list":
        if any(item not in hp.range for item in value):
            raise ClientError(f"Hyperparameter {name}: value {value} not in range {hp.range}")
    elif hp.kind == "tuple":
        if any(item not in hp.range for item in value):
            raise ClientError(f"Hyperparameter {name}: value {value} not in range {hp.range}")
    elif hp.kind == "nested":
        try:
            bad = any(element not in hp.range for outer in value for element in outer)
        except TypeError:
            bad = True
        if bad:
            raise ClientError(f"Hyperparameter {name}: value {value} not in range {hp.range}")
    elif value not in hp.range:
        raise ClientError(f"Hyperparameter {name}: {value} is not in {hp.range}")


def _check_dependencies(params: dict[str, Any]) -> None:
    objective = params.get("objective")
    num_class = params.get("num_class")
    multi = objective in ("multi:softmax", "multi:softprob")
    if multi and num_class is None:
        raise ClientError("Require input for parameter 'num_class' for multi-classification")
    if num_class is not None and not multi:
        raise ClientError("Do not need to setup parameter 'num_class' for learning task other than multi-classification.")
    if "eval_metric" in params:
        effective = objective or "reg:squarederror"
        if "auc" in params["eval_metric"] and not effective.startswith(("binary:", "rank:")):
            raise ClientError("Metric 'auc' can only be applied for classification and ranking problems.")
        if "aft-nloglik" in params["eval_metric"] and effective != "survival:aft":
            raise ClientError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")
    tree_method = params.get("tree_method")
    if "monotone_constraints" in params and tree_method not in ("exact", "hist"):
        raise ClientError(
            "monotone_constraints can be used only when the tree_method parameter is set to either 'exact' or 'hist'."
        )
    if "interaction_constraints" in params and tree_method not in ("exact", "hist", "approx"):
        raise ClientError(
            "interaction_constraints can be used only when the tree_method parameter is set to either "
            "'exact', 'hist' or 'approx'."
        )
    updater = params.get("updater")
    if updater is not None:
        if params.get("booster") == "gblinear":
            if not (len(updater) == 1 and updater[0] in ("shotgun", "coord_descent")):
                raise ClientError("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
        elif params.get("process_type") == "update":
            if not all(u in ("refresh", "prune") for u in updater):
                raise ClientError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
        else:
            builders = ("grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_quantile_histmaker")
            if not all(u in UPDATERS[:9] for u in updater):
                raise ClientError(
                    "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', 'grow_histmaker', "
                    "'grow_local_histmaker', 'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', 'prune', "
                    "'shortgun', 'coord_descent'."
                )
            if sum(u in builders for u in updater) > 1:
                raise ClientError(
                    "Only one tree grow plugin can be selected. Choose one from the following: 'grow_colmaker', "
                    "'distcol', 'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker'"
                )


# ------------------------------------------------------------------ training input

CSV, LIBSVM, PARQUET, RECORDIO = "csv", "libsvm", "parquet", "recordio-protobuf"
VALID_CONTENT_TYPES = [
    "csv", "libsvm", "parquet", "recordio-protobuf", "text/csv", "text/libsvm", "text/x-libsvm",
    "application/x-parquet", "application/x-recordio-protobuf",
]  # fmt: skip


def training_format(content_type: str | None) -> str:
    """The container's ``get_content_type``: libsvm when absent, csv's ``label_size`` must be 1."""
    if content_type is None:
        return LIBSVM
    kind, *params = [part.strip() for part in content_type.lower().split(";")]
    options = dict(p.split("=", 1) for p in params if "=" in p)
    if kind in ("csv", "text/csv"):
        if options.get("label_size", "1").strip() != "1":
            raise ClientError(
                f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
            )
        return CSV
    if kind in ("libsvm", "text/libsvm", "text/x-libsvm"):
        return LIBSVM
    if kind in ("parquet", "application/x-parquet"):
        return PARQUET
    if kind in ("recordio-protobuf", "application/x-recordio-protobuf"):
        return RECORDIO
    raise ClientError(f"{content_type} is not an accepted ContentType: {', '.join(VALID_CONTENT_TYPES)}.")


class XGBoostSpec(AlgorithmSpec):
    name = "xgboost"
    required_channels = ("train",)
    optional_channels = ("validation",)

    def __init__(self, version: str = "1") -> None:
        super().__init__(version)
        self.key = version_key(version)
        self.metric_definitions = metric_definitions_for(self.key)

    def check_channels(self, channel_names: list[str]) -> None:
        for name in self.required_channels:
            if name not in channel_names:
                raise ClientError(f"Missing required channel: {name}")
        for name in channel_names:
            if name not in self.required_channels + self.optional_channels:
                raise ClientError(f"Extraneous channel found: {name}")

    def validate(self, hyperparameters: Mapping[str, str]) -> dict[str, Any]:
        return validate_hyperparameters(self.key, hyperparameters)
