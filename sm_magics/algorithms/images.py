"""The one image registry of the built-in algorithms: region and version <-> image URI <-> algorithm.

``images.json`` (taken from the SageMaker Python SDK's image configuration, so that no SDK import
is needed) says which ECR account serves each algorithm in each region and which tag the magics
use; ``REPOSITORIES`` says which algorithm an ECR repository holds. The magics build URIs from it,
the engine decides from it what a TrainingImage / model image runs, and a client attaching to an
existing job or endpoint names its algorithm from it.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

# ECR repository -> the built-in algorithm it holds.
REPOSITORIES = {
    "kmeans": "kmeans",
    "pca": "pca",
    "linear-learner": "linear-learner",
    "sagemaker-xgboost": "xgboost",
    "xgboost": "xgboost",  # the legacy ``xgboost:1`` / ``xgboost:latest`` image (XGBoost 0.72)
}
KNOWN = ("kmeans", "pca", "linear-learner", "xgboost")

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>
_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@.+)?$"
)


@functools.lru_cache(maxsize=1)
def _images() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("images.json")).read_text())


def image_uri(algorithm: str, region: str) -> str:
    """The image the magics run ``algorithm`` (a canonical name) with in ``region``."""
    entry = _images()[algorithm]
    account = entry["registries"].get(region)
    if account is None:
        raise ValueError(f"{algorithm} has no image in region {region} (regions: {', '.join(sorted(entry['registries']))})")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/{entry['repository']}:{entry['tag']}"


def default_version(algorithm: str) -> str:
    """The image tag the magics use for ``algorithm`` (the version its rules are checked against)."""
    return str(_images()[algorithm]["tag"])


def parse_image(image: str) -> tuple[str, str] | None:
    """('xgboost', '1.7-1') for a built-in algorithm's ECR image URI, None for anything else."""
    match = _IMAGE.match(image.strip())
    if not match or match["repo"] not in REPOSITORIES:
        return None
    tag = match["tag"] or "1"
    version = tag.split("-cpu")[0].split("-gpu")[0]
    return REPOSITORIES[match["repo"]], version


def algorithm_of_image(image: str) -> str:
    """What a client calls the algorithm of an image it finds on a job or model: the built-in's name,
    else the image's repository name (a custom image keeps its own name)."""
    repo = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    return REPOSITORIES.get(repo, repo)
