"""The built-in algorithms' contracts, read by the magics (AWS and local alike) and by the engine.

Per algorithm (``kmeans``, ``pca``, ``linear_learner``, ``xgboost``): its hyperparameter schema and
validation rules, its channels, its metric definitions; ``images`` is the one image registry;
``tuning_ranges`` the ranges automatic tuning explores. The engine's containers
(``sm_magics.local.algorithms``) subclass these specs with their training and serving; the
workflow checks a cell with the same rules before anything is uploaded. This package imports no
other layer of sm_magics.
"""

from __future__ import annotations

import importlib

from .base import AlgorithmSpec, ClientError
from .images import KNOWN, parse_image

# algorithm -> (module, spec class)
_SPECS = {
    "kmeans": ("kmeans", "KMeansSpec"),
    "pca": ("pca", "PCASpec"),
    "linear-learner": ("linear_learner", "LinearLearnerSpec"),
    "xgboost": ("xgboost", "XGBoostSpec"),
}

__all__ = ["KNOWN", "AlgorithmSpec", "ClientError", "parse_image", "spec_for"]


def spec_for(name: str, version: str = "1") -> AlgorithmSpec:
    """The contract of built-in ``name`` (a canonical name, see ``images.KNOWN``) at one image version."""
    module, cls = _SPECS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(version)
