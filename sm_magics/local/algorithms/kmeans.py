"""SageMaker's built-in k-means (``kmeans:1``), trained and served for real.

The container's algorithm is web-scale mini-batch k-means: each host streams
its shard in mini-batches and keeps ``k * extra_center_factor`` centres with
per-centre counts (Sculley's per-centre learning rate, optionally decayed by
``half_life_time_size``); the hosts' weighted centres are then gathered and
shrunk to ``k`` by local Lloyd's (``local_lloyd_*``), keeping the best of
several trials. We reproduce that shape with numpy, and use scikit-learn's
weighted KMeans for the local Lloyd's step.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import numpy as np

from ...algorithms.kmeans import SCHEMA, KMeansSpec
from ...formats import ndarray
from . import inference_io
from .base import Algorithm, ClientError, HostedModel, TrainingContext


class KMeans(KMeansSpec, Algorithm):
    """The container's training and serving; its contract is ``KMeansSpec``."""

    # ---------------------------------------------------------------- training

    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, np.ndarray]:
        x, _ = ctx.channels["train"].read_dense(label_size=0)
        _check_features(x, params["feature_dim"], "train")
        k = params["k"]
        if ctx.host_count == 1 and x.shape[0] < k:
            raise ClientError(
                f"k ({k}) is greater than the number of records in channel 'train' ({x.shape[0]}); "
                "lower k or provide more data"
            )
        centres, weights = _mini_batch_kmeans(ctx, x, params)
        return {"centres": centres, "weights": weights, "rows": np.array(x.shape[0])}

    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        k = params["k"]
        rows = int(sum(int(p["rows"]) for p in partials))
        if rows < k:
            raise ClientError(
                f"k ({k}) is greater than the number of records in channel 'train' ({rows}); "
                "lower k or provide more data"
            )
        centres = np.vstack([p["centres"] for p in partials])
        weights = np.concatenate([p["weights"] for p in partials])
        ctx.log(f"shrinking {centres.shape[0]} centers into {k}")
        final = _local_lloyd(ctx, centres, weights, params)
        (ctx.model_dir / "model_algo-1").write_bytes(ndarray.save([final.astype(np.float32)]))
        if "test" in ctx.channels:
            x_test, _ = ctx.channels["test"].read_dense(label_size=0)
            _check_features(x_test, params["feature_dim"], "test")
            sq = _min_sq_dist(x_test, final)
            for metric in params["eval_metrics"]:
                value = float(sq.mean() if metric == "msd" else sq.sum())
                ctx.log(f"#test_score ({ctx.host}) : ('{metric}', {value!r})")
                ctx.log(f"#quality_metric: host={ctx.host}, test {metric} <loss>={value!r}")
                ctx.metric(f"test:{metric}", value)
        else:
            ctx.log("Test data is not provided.")

    # ------------------------------------------------------------------ hosting

    def load(self, files: dict[str, bytes]) -> HostedModel:
        member = files.get("model_algo-1")
        if member is None:
            raise ClientError(f"model.tar.gz holds no model_algo-1 (members: {sorted(files)})")
        arrays = ndarray.load(member)
        centroids = arrays[0] if isinstance(arrays, list) else next(iter(arrays.values()))
        return HostedKMeans(np.asarray(centroids, dtype=np.float64))


class HostedKMeans(HostedModel):
    def __init__(self, centroids: np.ndarray) -> None:
        self.centroids = centroids
        self._norms = (centroids**2).sum(axis=1)

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        x = inference_io.decode_features(body, content_type, self.centroids.shape[1])
        sq = (x**2).sum(axis=1)[:, None] - 2.0 * x @ self.centroids.T + self._norms[None, :]
        closest = sq.argmin(axis=1)
        distance = np.sqrt(np.maximum(sq[np.arange(len(x)), closest], 0.0))
        outputs = {
            "closest_cluster": closest.astype(np.float64),
            "distance_to_cluster": distance.astype(np.float32).astype(np.float64),
        }
        return inference_io.encode_outputs(outputs, accept, json_root="predictions")


# ------------------------------------------------------------------- the math


def _check_features(x: np.ndarray, feature_dim: int, channel: str) -> None:
    if x.shape[1] != feature_dim:
        raise ClientError(
            f"feature_dim is {feature_dim} but the records in channel '{channel}' have {x.shape[1]} features; "
            "set feature_dim to the number of columns of your data"
        )


def _min_sq_dist(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0], dtype=np.float64)
    c_norm = (centres.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, x.shape[0], 8192):
        block = x[start : start + 8192].astype(np.float64)
        sq = (block**2).sum(axis=1)[:, None] - 2.0 * block @ centres.T.astype(np.float64) + c_norm[None, :]
        out[start : start + 8192] = np.maximum(sq.min(axis=1), 0.0)
    return out


def _init_centres(batch: np.ndarray, count: int, method: str, rng: np.random.Generator) -> np.ndarray:
    if method == "random":
        return batch[rng.choice(batch.shape[0], size=count, replace=False)].astype(np.float64)
    # kmeans++ seeding on the first mini-batch
    centres = [batch[rng.integers(batch.shape[0])].astype(np.float64)]
    closest = ((batch - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, count):
        total = closest.sum()
        index = rng.choice(batch.shape[0], p=closest / total) if total > 0 else rng.integers(batch.shape[0])
        centres.append(batch[index].astype(np.float64))
        closest = np.minimum(closest, ((batch - centres[-1]) ** 2).sum(axis=1))
    return np.vstack(centres)


def _mini_batch_kmeans(ctx: TrainingContext, x: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(ctx.job_name.encode()) + ctx.host_index)
    batch_size = params["mini_batch_size"]
    first = x[:batch_size]
    if batch_size > x.shape[0]:
        ctx.log(
            f"WARNING Batch size {batch_size} is bigger than the first batch data. "
            f"Effective batch size used to initialize is {x.shape[0]}"
        )
    wanted = params["k"] * params["extra_center_factor"]
    count = min(wanted, first.shape[0])
    ctx.log(f"extra_center_factor evaluated to {params['extra_center_factor']}; initializing {count} centers")
    centres = _init_centres(first, count, params["init_method"], rng)
    counts = np.ones(count, dtype=np.float64)
    c_norm = (centres**2).sum(axis=1)
    half_life = params["half_life_time_size"]
    decay = 0.5 ** (batch_size / half_life) if half_life > 0 else 1.0
    epochs = params["epochs"]
    for epoch in range(epochs):
        total_sq, seen = 0.0, 0
        for start in range(0, x.shape[0], batch_size):
            batch = x[start : start + batch_size].astype(np.float64)
            sq = (batch**2).sum(axis=1)[:, None] - 2.0 * batch @ centres.T + c_norm[None, :]
            nearest = sq.argmin(axis=1)
            total_sq += float(np.maximum(sq[np.arange(len(batch)), nearest], 0.0).sum())
            seen += len(batch)
            counts *= decay
            assigned = np.bincount(nearest, minlength=count).astype(np.float64)
            onehot = np.zeros((len(batch), count))
            onehot[np.arange(len(batch)), nearest] = 1.0
            sums = onehot.T @ batch
            counts += assigned
            moved = assigned > 0
            # per-centre learning rate 1/count: the centre is the running mean of what it absorbed
            centres[moved] += (sums[moved] - assigned[moved, None] * centres[moved]) / counts[moved, None]
            c_norm = (centres**2).sum(axis=1)
        msd = total_sq / max(seen, 1)
        ctx.log(f"#quality_metric: host={ctx.host}, epoch={epoch}, train msd <loss>={msd!r}")
        ctx.log(f"#progress_metric: host={ctx.host}, completed {100.0 * (epoch + 1) / epochs:.1f} % of epochs")
        ctx.metric("train:msd", msd)
        ctx.metric("train:progress", 100.0 * (epoch + 1) / epochs)
    return centres, counts


def _local_lloyd(ctx: TrainingContext, centres: np.ndarray, weights: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    from sklearn.cluster import KMeans as SKKMeans

    k = params["k"]
    keep = weights > 0
    centres, weights = centres[keep], weights[keep]
    if centres.shape[0] <= k:
        ctx.log(f"only {centres.shape[0]} centers carry data; no shrinking needed")
        pad = k - centres.shape[0]
        return np.vstack([centres, centres[:pad]]) if pad else centres
    best, best_inertia = None, math.inf
    init = "k-means++" if params["local_lloyd_init_method"] == "kmeans++" else "random"
    for trial in range(params["local_lloyd_num_trials"]):
        model = SKKMeans(
            n_clusters=k,
            init=init,
            n_init=1,
            max_iter=params["local_lloyd_max_iter"],
            tol=params["local_lloyd_tol"],
            random_state=trial,
        ).fit(centres, sample_weight=weights)
        ctx.log(f"local kmeans attempt #{trial}. Current mean square distance {float(model.inertia_ / weights.sum())!r}")
        if model.inertia_ < best_inertia:
            best, best_inertia = model.cluster_centers_, model.inertia_
    ctx.log(f"finished shrinking process. Mean square distance: {float(best_inertia / weights.sum())!r}")
    assert best is not None
    return best


def describe_defaults() -> str:
    """The container's default configuration, as it logs it at start."""
    return json.dumps({key: param.default for key, param in SCHEMA.items() if not param.required})
