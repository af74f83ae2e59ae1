"""The built-in algorithms the engine runs, found by their container image."""

from __future__ import annotations

import importlib
import re

from .base import Algorithm

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>
_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@.+)?$"
)

# ECR repository -> (algorithm name, module, class)
_REGISTRY = {
    "kmeans": ("kmeans", "kmeans", "KMeans"),
    "pca": ("pca", "pca", "PCA"),
    "linear-learner": ("linear-learner", "linear_learner", "LinearLearner"),
    "sagemaker-xgboost": ("xgboost", "xgboost_algo", "XGBoost"),
    "xgboost": ("xgboost", "xgboost_algo", "XGBoost"),
}
KNOWN = ("kmeans", "pca", "linear-learner", "xgboost")


def parse_image(image: str) -> tuple[str, str] | None:
    """('xgboost', '1.7-1') for a built-in algorithm image URI, None for anything the engine cannot run."""
    match = _IMAGE.match(image.strip())
    if not match or match["repo"] not in _REGISTRY:
        return None
    tag = match["tag"] or "1"
    version = tag.split("-cpu")[0].split("-gpu")[0]
    return _REGISTRY[match["repo"]][0], version


def algorithm_named(name: str, version: str = "1") -> Algorithm:
    """A fresh algorithm object for one image version (imports its math only when asked for)."""
    for algorithm, module, cls in _REGISTRY.values():
        if algorithm == name:
            return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(version)
    raise KeyError(name)


def algorithm_for_image(image: str) -> Algorithm | None:
    parsed = parse_image(image)
    return algorithm_named(*parsed) if parsed else None
