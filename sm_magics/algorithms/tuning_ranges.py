"""The hyperparameter ranges Autotune chooses for each built-in algorithm.

One table per algorithm, in CreateHyperParameterTuningJob's ParameterRanges
shape, holding the tunable hyperparameters and the recommended ranges that
SageMaker's "Tune a <algorithm> model" developer guide pages list. Kept next
to the algorithms' schemas (and not inside the tuning service) so an
algorithm's tunable set changes in one place with its hyperparameters.
"""

from __future__ import annotations

import copy
from typing import Any


def _int(name: str, low: int, high: int, scaling: str = "Auto") -> tuple[str, dict[str, Any]]:
    return "IntegerParameterRanges", {"Name": name, "MinValue": str(low), "MaxValue": str(high), "ScalingType": scaling}


def _float(name: str, low: float, high: float, scaling: str = "Auto") -> tuple[str, dict[str, Any]]:
    return "ContinuousParameterRanges", {"Name": name, "MinValue": str(low), "MaxValue": str(high), "ScalingType": scaling}


def _choice(name: str, *values: str) -> tuple[str, dict[str, Any]]:
    return "CategoricalParameterRanges", {"Name": name, "Values": list(values)}


# "Tune an XGBoost model": the tunable hyperparameters and their recommended ranges
XGBOOST = (
    _float("alpha", 0, 1000),
    _float("colsample_bylevel", 0.1, 1),
    _float("colsample_bynode", 0.1, 1),
    _float("colsample_bytree", 0.5, 1),
    _float("eta", 0.1, 0.5),
    _float("gamma", 0, 5),
    _float("lambda", 0, 1000),
    _float("max_delta_step", 0, 10),
    _int("max_depth", 0, 10),
    _float("min_child_weight", 0, 120),
    _int("num_round", 1, 4000),
    _float("subsample", 0.5, 1),
)

# "Tune a k-means model"
KMEANS = (
    _int("epochs", 1, 10),
    _int("extra_center_factor", 4, 10),
    _choice("init_method", "kmeans++", "random"),
    _int("mini_batch_size", 3000, 15000),
)

# "Tune a linear learner model"
LINEAR_LEARNER = (
    _float("wd", 1e-7, 1, "Logarithmic"),
    _float("l1", 1e-7, 1, "Logarithmic"),
    _float("learning_rate", 1e-5, 1, "Logarithmic"),
    _int("mini_batch_size", 100, 5000),
    _choice("use_bias", "True", "False"),
    _float("positive_example_weight_mult", 1e-5, 1e5, "Logarithmic"),
)

TABLES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "xgboost": XGBOOST,
    "kmeans": KMEANS,
    "linear-learner": LINEAR_LEARNER,
}


def autotune_ranges(algorithm: str, taken: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The ranges Autotune adds for ``algorithm``: every tunable hyperparameter not in ``taken``
    (already a range of the request, or set as a static hyperparameter)."""
    ranges: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [], "ContinuousParameterRanges": [], "CategoricalParameterRanges": []
    }
    for kind, item in TABLES.get(algorithm, ()):
        if item["Name"] not in taken:
            ranges[kind].append(copy.deepcopy(item))
    return ranges
