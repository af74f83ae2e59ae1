"""What the client side needs to know about each built-in algorithm.

The containers' contracts (channels, hyperparameter rules, metrics) and the image registry are
the neutral ``sm_magics.algorithms``; this adds what only a client needs: the data format the
magics upload, the hyperparameters the data decides (feature_dim, mini_batch_size), the names
offered as hints, and how to read each algorithm's answers.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .. import algorithms as contracts
from ..algorithms import images
from ..i18n import _

if TYPE_CHECKING:
    from .predictions import Predictions


@dataclass(frozen=True)
class AlgorithmInfo:
    name: str
    data_format: str  # "recordio" or "csv"
    channels: tuple[str, ...]
    labels: str  # "none", "required", "optional"
    required: tuple[str, ...]
    hyperparameters: tuple[str, ...]
    json_root: str = "predictions"
    derived: Callable[[int, int], dict[str, str]] = field(default=lambda rows, dim: {})
    accept: str = "application/json"
    outputs: tuple[str, ...] = ("score",)  # what one answer record holds, in the containers' CSV column order


ALGORITHMS: dict[str, AlgorithmInfo] = {
    "kmeans": AlgorithmInfo(
        "kmeans", "recordio", contracts.spec_for("kmeans").channels, "none", ("k",),
        ("k", "feature_dim", "mini_batch_size", "epochs", "init_method", "extra_center_factor", "local_lloyd_max_iter",
         "local_lloyd_tol", "local_lloyd_init_method", "local_lloyd_num_trials", "half_life_time_size", "eval_metrics"),
        derived=lambda rows, dim: {"feature_dim": str(dim), "mini_batch_size": str(min(5000, rows)), "force_dense": "True"},
        outputs=("closest_cluster", "distance_to_cluster"),
    ),
    "pca": AlgorithmInfo(
        "pca", "recordio", contracts.spec_for("pca").channels, "none", ("num_components",),
        ("num_components", "feature_dim", "mini_batch_size", "algorithm_mode", "subtract_mean", "extra_components"),
        json_root="projections",
        derived=lambda rows, dim: {"feature_dim": str(dim), "mini_batch_size": str(max(1, min(500, rows)))},
        outputs=("projection",),
    ),
    "linear-learner": AlgorithmInfo(
        "linear-learner", "recordio", contracts.spec_for("linear-learner").channels, "required", ("predictor_type",),
        ("predictor_type", "num_classes", "feature_dim", "mini_batch_size", "epochs", "learning_rate", "wd", "l1", "loss",
         "optimizer", "num_models", "normalize_data", "normalize_label", "binary_classifier_model_selection_criteria",
         "target_recall", "target_precision", "positive_example_weight_mult", "f_beta", "early_stopping_patience",
         "early_stopping_tolerance", "use_bias", "init_method", "momentum", "beta_1", "beta_2", "balance_multiclass_weights",
         "accuracy_top_k", "huber_delta", "quantile", "margin", "loss_insensitivity", "unbias_data", "unbias_label",
         "use_lr_scheduler", "lr_scheduler_step", "lr_scheduler_factor", "lr_scheduler_minimum_lr", "num_calibration_samples",
         "num_point_for_scaler", "init_scale", "init_sigma", "init_bias", "bias_lr_mult", "bias_wd_mult"),
        derived=lambda rows, dim: {"feature_dim": str(dim), "mini_batch_size": str(max(1, min(1000, rows)))},
        outputs=("score", "predicted_label"),
    ),
    "xgboost": AlgorithmInfo(
        "xgboost", "csv", contracts.spec_for("xgboost").channels, "required", ("num_round",),
        ("num_round", "objective", "eta", "gamma", "max_depth", "min_child_weight", "max_delta_step", "subsample",
         "colsample_bytree", "colsample_bylevel", "colsample_bynode", "lambda", "alpha", "tree_method", "eval_metric",
         "early_stopping_rounds", "num_class", "booster", "scale_pos_weight", "seed", "verbosity", "base_score",
         "max_bin", "grow_policy", "max_leaves", "num_parallel_tree", "csv_weights", "tweedie_variance_power"),
        accept="text/csv",
    ),
}
ALIASES = {"k-means": "kmeans", "kmeans": "kmeans", "pca": "pca", "linear-learner": "linear-learner",
           "linear_learner": "linear-learner", "linearlearner": "linear-learner", "ll": "linear-learner",
           "xgboost": "xgboost", "xgb": "xgboost"}


def lookup(name: str) -> AlgorithmInfo:
    key = ALIASES.get(name.strip().lower())
    if key is None:
        close = difflib.get_close_matches(name.lower(), list(ALIASES), n=1)
        hint = _("; did you mean {close}?").format(close=close[0]) if close else ""
        raise ValueError(_("unknown algorithm '{name}'{hint} (built-in: {algorithms})").format(
            name=name, hint=hint, algorithms=", ".join(ALGORITHMS)))
    return ALGORITHMS[key]


def image_uri(algorithm: str, region: str) -> str:
    """The image URI of a built-in (any alias) in a region, from the one image registry."""
    name = lookup(algorithm).name
    try:
        return images.image_uri(name, region)
    except ValueError as exc:  # the registry names the canonical algorithm; the user typed an alias
        raise ValueError(str(exc).replace(f"{name} has no image", f"{algorithm} has no image", 1)) from None


def check_hyperparameter(info: AlgorithmInfo, key: str) -> None:
    if key in info.hyperparameters or key.startswith("_"):
        return
    close = difflib.get_close_matches(key, list(info.hyperparameters), n=1)
    hint = _("; did you mean '{close}'?").format(close=close[0]) if close else ""
    raise ValueError(_("'{key}' is not a {algorithm} hyperparameter{hint}").format(key=key, algorithm=info.name, hint=hint))



def parse_predictions(info: AlgorithmInfo, body: bytes, content_type: str) -> Predictions:
    """An algorithm's answer as named numpy arrays (see ``predictions.parse``)."""
    from .predictions import parse

    return parse(body, content_type, outputs=info.outputs, json_root=info.json_root)
