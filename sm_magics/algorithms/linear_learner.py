"""Linear Learner (``linear-learner:1``): the container's hyperparameters, channels and metrics.

The metric names are the documented tunable ones (``validation:objective_loss``,
``validation:binary_f_beta``, ...); the regexes map the container's log spellings
(``#quality_metric: host=algo-1, validation binary_f_1.000 <score>=...``) onto them.
"""

from __future__ import annotations

from typing import Any, Mapping

from .base import AlgorithmSpec, ClientError, Param, parse_hyperparameters

PREDICTOR_TYPES = ("binary_classifier", "multiclass_classifier", "regressor")
REGRESSION_LOSSES = (
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
)
LOSSES_FOR = {
    "binary_classifier": ("logistic", "hinge_loss"),
    "multiclass_classifier": ("softmax_loss",),
    "regressor": REGRESSION_LOSSES,
}
AUTO_LOSS = {"binary_classifier": "logistic", "multiclass_classifier": "softmax_loss", "regressor": "squared_loss"}
SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
    # older spellings the SageMaker Python SDK v2 still validates and sends
    "f1",
    "cross_entropy_loss",
)

SCHEMA: dict[str, Param] = {
    "predictor_type": Param("choice", required=True, choices=PREDICTOR_TYPES),
    "num_classes": Param("int", default=1, minimum=1, maximum=1000000),
    "feature_dim": Param("int", default="auto", minimum=1, allow_auto=True),
    "mini_batch_size": Param("int", default=1000, minimum=1),
    "epochs": Param("int", default=15, minimum=1),
    "learning_rate": Param("float", default="auto", minimum=0.0, exclusive_min=True, allow_auto=True),
    "wd": Param("float", default="auto", minimum=0.0, allow_auto=True),
    "l1": Param("float", default="auto", minimum=0.0, allow_auto=True),
    "loss": Param("choice", default="auto", choices=("auto", "logistic", "hinge_loss", "softmax_loss") + REGRESSION_LOSSES),
    "optimizer": Param("choice", default="auto", choices=("auto", "sgd", "adam", "rmsprop")),
    "num_models": Param("int", default="auto", minimum=1, allow_auto=True),
    "normalize_data": Param("bool", default=True, allow_auto=True),
    "normalize_label": Param("bool", default="auto", allow_auto=True),
    "unbias_data": Param("bool", default="auto", allow_auto=True),
    "unbias_label": Param("bool", default="auto", allow_auto=True),
    "num_point_for_scaler": Param("int", default=10000, minimum=1),
    "binary_classifier_model_selection_criteria": Param("choice", default="accuracy", choices=SELECTION_CRITERIA),
    "target_recall": Param("float", default=0.8, minimum=0.0, maximum=1.0, exclusive_min=True),
    "target_precision": Param("float", default=0.8, minimum=0.0, maximum=1.0, exclusive_min=True),
    "positive_example_weight_mult": Param("float", default=1.0, minimum=0.0, exclusive_min=True, allow_auto=True),
    "accuracy_top_k": Param("int", default=3, minimum=1),
    "f_beta": Param("float", default=1.0, minimum=0.0, exclusive_min=True),
    "balance_multiclass_weights": Param("bool", default=False),
    "early_stopping_patience": Param("int", default=3, minimum=1),
    "early_stopping_tolerance": Param("float", default=0.001, minimum=0.0, exclusive_min=True),
    "init_method": Param("choice", default="uniform", choices=("uniform", "normal")),
    "init_scale": Param("float", default=0.07, minimum=0.0, exclusive_min=True),
    "init_sigma": Param("float", default=0.01, minimum=0.0, exclusive_min=True),
    "init_bias": Param("float", default=0.0),
    "beta_1": Param("float", default="auto", minimum=0.0, maximum=1.0, allow_auto=True),
    "beta_2": Param("float", default="auto", minimum=0.0, maximum=1.0, allow_auto=True),
    "momentum": Param("float", default="auto", minimum=0.0, maximum=1.0, allow_auto=True),
    "bias_lr_mult": Param("float", default="auto", minimum=0.0, exclusive_min=True, allow_auto=True),
    "bias_wd_mult": Param("float", default="auto", minimum=0.0, allow_auto=True),
    "use_bias": Param("bool", default=True),
    "use_lr_scheduler": Param("bool", default=True),
    "lr_scheduler_step": Param("int", default="auto", minimum=1, allow_auto=True),
    "lr_scheduler_factor": Param("float", default="auto", minimum=0.0, maximum=1.0, exclusive_min=True, allow_auto=True),
    "lr_scheduler_minimum_lr": Param("float", default="auto", minimum=0.0, exclusive_min=True, allow_auto=True),
    "num_calibration_samples": Param("int", default="auto", minimum=1, allow_auto=True),
    "margin": Param("float", default=1.0, minimum=0.0, exclusive_min=True),
    "quantile": Param("float", default=0.5, minimum=0.0, maximum=1.0, exclusive_min=True),
    "loss_insensitivity": Param("float", default=0.01, minimum=0.0, exclusive_min=True),
    "huber_delta": Param("float", default=1.0, minimum=0.0),
}

AUTO_NUM_MODELS = 32
AUTO_CALIBRATION_SAMPLES = 10000000
AUTO_BIAS_LR_MULT = 10.0
# Tunable objectives (DG linear-learner-tuning): name -> (log-name regex, <loss>|<score>, predictor types)
_BIN, _MULTI, _REG = ("binary_classifier",), ("multiclass_classifier",), ("regressor",)
_TUNABLE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "objective_loss": (r"\S+_objective", "loss", PREDICTOR_TYPES),
    "binary_classification_accuracy": ("binary_classification_accuracy", "score", _BIN),
    "binary_f_beta": (r"binary_f_\S+", "score", _BIN),
    "precision": ("precision", "score", _BIN),
    "recall": ("recall", "score", _BIN),
    "roc_auc_score": ("roc_auc_score", "score", _BIN),
    "multiclass_accuracy": ("multiclass_accuracy", "score", _MULTI),
    "multiclass_top_k_accuracy": (r"multiclass_top_k_accuracy_\S+", "score", _MULTI),
    "dcg": ("dcg", "score", _MULTI),
    "macro_f_beta": (r"macro_f_\S+", "score", _MULTI),
    "macro_precision": ("macro_precision", "score", _MULTI),
    "macro_recall": ("macro_recall", "score", _MULTI),
    "mse": ("mse", "loss", _REG),
    "absolute_loss": ("absolute_loss", "loss", _REG),
    "rmse": ("rmse", "loss", _REG),  # validation only
}


def _metric_definitions() -> tuple[dict[str, str], ...]:
    defs = [
        {"Name": "train:objective_loss", "Regex": r"#quality_metric: host=\S+, epoch=\S+, train \S+_objective <loss>=(\S+)"},
        {"Name": "train:progress", "Regex": r"#progress_metric: host=\S+, completed (\S+) %"},
        {"Name": "train:throughput", "Regex": r"#throughput_metric: host=\S+, train throughput=(\S+) records/second"},
    ]
    for channel in ("validation", "test"):
        for name, (log_name, kind, _) in _TUNABLE.items():
            if name == "rmse" and channel == "test":
                continue
            defs.append({"Name": f"{channel}:{name}", "Regex": rf"#quality_metric: host=\S+, {channel} {log_name} <{kind}>=(\S+)"})
    return tuple(defs)


METRIC_DEFINITIONS = _metric_definitions()
TUNABLE_NAMES = frozenset(d["Name"] for d in METRIC_DEFINITIONS if not d["Name"].startswith("train:"))


def _objective_applies(name: str, predictor: str) -> bool:
    """Whether a job of this predictor type emits metric ``name`` (train:* metrics always)."""
    if name.startswith("train:"):
        return any(d["Name"] == name for d in METRIC_DEFINITIONS)
    return name in TUNABLE_NAMES and predictor in _TUNABLE[name.split(":", 1)[1]][2]


class LinearLearnerSpec(AlgorithmSpec):
    name = "linear-learner"
    required_channels = ("train",)
    optional_channels = ("validation", "test")
    metric_definitions = METRIC_DEFINITIONS

    def validate(self, hyperparameters: Mapping[str, str]) -> dict[str, Any]:
        raw = dict(hyperparameters)
        balanced = str(raw.get("positive_example_weight_mult", "")).strip().lower() == "balanced"
        if balanced:
            raw.pop("positive_example_weight_mult")
        params = parse_hyperparameters(self.name, SCHEMA, raw)
        if balanced:
            params["positive_example_weight_mult"] = "balanced"
        for key in ("beta_1", "beta_2", "momentum"):
            if params[key] != "auto" and params[key] >= 1.0:
                raise ClientError(
                    f"Hyperparameter '{key}': '{raw[key]}' is not valid under any of the given schemas; "
                    "expected a number in [0, 1) or 'auto' (caused by ValidationError)"
                )
        if params["quantile"] >= 1.0:
            raise ClientError(
                f"Hyperparameter 'quantile': '{raw['quantile']}' is not valid under any of the given schemas; "
                "expected a number in (0, 1) (caused by ValidationError)"
            )
        predictor = params["predictor_type"]
        if predictor == "multiclass_classifier":
            given = str(raw.get("num_classes", "")).strip()
            if not given:
                raise ClientError(
                    "num_classes is required when predictor_type is multiclass_classifier: set it to the number of "
                    "classes (3 to 1000000; labels must be 0 ... num_classes - 1) (caused by ValidationError)"
                )
            if params["num_classes"] < 3:
                raise ClientError(
                    f"num_classes must be between 3 and 1000000 for predictor_type multiclass_classifier, got "
                    f"{params['num_classes']}; use predictor_type binary_classifier for two classes (caused by ValidationError)"
                )
        loss = params["loss"]
        if loss == "auto":
            loss = AUTO_LOSS[predictor]
        elif loss not in LOSSES_FOR[predictor]:
            raise ClientError(
                f"loss '{loss}' is not supported for predictor_type {predictor}; use auto or one of "
                f"{', '.join(LOSSES_FOR[predictor])} (caused by ValidationError)"
            )
        params["loss"] = loss
        criteria = params["binary_classifier_model_selection_criteria"]
        params["binary_classifier_model_selection_criteria"] = {"f1": "f_beta", "cross_entropy_loss": "loss_function"}.get(
            criteria, criteria
        )
        if criteria == "f1":
            params["f_beta"] = 1.0
        objective = str(raw.get("_tuning_objective_metric", "") or "").strip()
        if objective:
            if not _objective_applies(objective, predictor):
                usable = [d["Name"] for d in METRIC_DEFINITIONS  # train:* metrics are logged, never tuned on
                          if _objective_applies(d["Name"], predictor) and not d["Name"].startswith("train:")]
                raise ClientError(
                    f"The objective metric '{objective}' is not supported for predictor_type {predictor}; "
                    f"use one of {', '.join(usable)}"
                )
            # under automatic model tuning the container trains exactly one model
            params["num_models"] = 1
        params["_tuning_objective_metric"] = objective
        if params["num_models"] == "auto":
            params["num_models"] = AUTO_NUM_MODELS
        if params["optimizer"] == "auto":
            params["optimizer"] = "adam"
        if params["num_calibration_samples"] == "auto":
            params["num_calibration_samples"] = AUTO_CALIBRATION_SAMPLES
        if params["bias_lr_mult"] == "auto":
            params["bias_lr_mult"] = AUTO_BIAS_LR_MULT
        if params["bias_wd_mult"] == "auto":
            params["bias_wd_mult"] = 0.0
        if params["lr_scheduler_step"] == "auto":
            params["lr_scheduler_step"] = 100
        if params["lr_scheduler_factor"] == "auto":
            params["lr_scheduler_factor"] = 0.99
        if params["lr_scheduler_minimum_lr"] == "auto":
            params["lr_scheduler_minimum_lr"] = 1e-5
        if params["beta_1"] == "auto":
            params["beta_1"] = 0.9
        if params["beta_2"] == "auto":
            params["beta_2"] = 0.999
        if params["momentum"] == "auto":
            params["momentum"] = 0.9 if params["optimizer"] == "sgd" else 0.0
        if params["normalize_data"] == "auto":
            params["normalize_data"] = True
        if params["unbias_data"] == "auto":
            params["unbias_data"] = params["use_bias"]
        regression = predictor == "regressor"
        # label scaling applies to regression only; classification ignores it
        if params["normalize_label"] == "auto":
            params["normalize_label"] = regression
        params["normalize_label"] = bool(params["normalize_label"]) and regression
        if params["unbias_label"] == "auto":
            params["unbias_label"] = params["use_bias"]
        params["unbias_label"] = bool(params["unbias_label"]) and regression
        return params
