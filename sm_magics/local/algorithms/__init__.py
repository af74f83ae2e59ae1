"""The built-in algorithms the engine runs, found by their container image.

What each one promises (hyperparameters, channels, metrics) and which image is which live in
the neutral ``sm_magics.algorithms``; the classes here add the training and the serving.
"""

from __future__ import annotations

import importlib

from ...algorithms.images import KNOWN, parse_image  # noqa: F401  (re-exported: the engine's callers use them)
from .base import Algorithm

# algorithm -> (module, class) of the engine's container
_CONTAINERS = {
    "kmeans": ("kmeans", "KMeans"),
    "pca": ("pca", "PCA"),
    "linear-learner": ("linear_learner", "LinearLearner"),
    "xgboost": ("xgboost_algo", "XGBoost"),
}


def algorithm_named(name: str, version: str = "1") -> Algorithm:
    """A fresh algorithm object for one image version (imports its math only when asked for)."""
    if name not in _CONTAINERS:
        raise KeyError(name)
    module, cls = _CONTAINERS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(version)


def algorithm_for_image(image: str) -> Algorithm | None:
    parsed = parse_image(image)
    return algorithm_named(*parsed) if parsed else None
