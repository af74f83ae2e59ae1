"""The built-in algorithms the engine runs, found by their container image."""

from __future__ import annotations

import re

from .base import Algorithm

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag>
_IMAGE = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@.+)?$")

KNOWN = ("kmeans",)


def repository_of(image: str) -> tuple[str, str] | None:
    """('kmeans', '1') for a first-party image URI, None for anything else."""
    match = _IMAGE.match(image.strip())
    if not match:
        return None
    return match["repo"], match["tag"] or "latest"


def algorithm_name_for_image(image: str) -> str | None:
    """The algorithm an image runs, or None when the engine cannot run it."""
    found = repository_of(image)
    return found[0] if found and found[0] in KNOWN else None


def algorithm_named(name: str) -> Algorithm:
    """A fresh algorithm object (imports its math only when asked for)."""
    if name == "kmeans":
        from .kmeans import KMeans

        return KMeans()
    raise KeyError(name)
