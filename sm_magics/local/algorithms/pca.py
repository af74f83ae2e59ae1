"""SageMaker's built-in PCA (``pca:1``), trained and served for real.

Regular mode is the container's: every host streams its shard in mini-batches
and keeps the sufficient statistics (row count, sum, scatter matrix); algo-1
adds the hosts' statistics, forms the covariance and takes the top
``num_components`` eigenpairs. Randomized mode takes them with scikit-learn's
randomized SVD instead (``extra_components`` oversampling), which is what makes
it cheap for very wide data. The model is the container's NDArray dict
``s`` (singular values, ascending), ``v`` (feature_dim x num_components, same
order) and ``mean`` (1 x feature_dim): least significant component first, as
users of the real artifacts know to reverse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...algorithms.pca import PCASpec
from ...formats import ndarray
from . import inference_io
from .base import Algorithm, ClientError, HostedModel, TrainingContext


class PCA(PCASpec, Algorithm):
    """The container's training and serving; its contract is ``PCASpec``."""

    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, np.ndarray]:
        x, _ = ctx.channels["train"].read_dense()
        if x.shape[1] != params["feature_dim"]:
            raise ClientError(
                f"feature_dim is {params['feature_dim']} but the records in channel 'train' have {x.shape[1]} features; "
                "set feature_dim to the number of columns of your data"
            )
        total = np.zeros(x.shape[1])
        scatter = np.zeros((x.shape[1], x.shape[1]))
        batch = params["mini_batch_size"]
        for start in range(0, x.shape[0], batch):
            block = x[start : start + batch].astype(np.float64)
            total += block.sum(axis=0)
            scatter += block.T @ block
        ctx.log(f"#progress_metric: host={ctx.host}, completed 100.0 % of epochs")
        ctx.log(f'#metrics {{"Dimensions": {{"Algorithm": "PCA", "Host": "{ctx.host}"}}, "Metrics": {{"records": {x.shape[0]}}}}}')
        return {"n": np.array(x.shape[0]), "sum": total, "scatter": scatter}

    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        n = int(sum(int(p["n"]) for p in partials))
        components = params["num_components"]
        if n < 2:
            raise ClientError(f"PCA needs at least 2 records; channel 'train' has {n}")
        total = sum(p["sum"] for p in partials)
        scatter = sum(p["scatter"] for p in partials)
        mean = total / n if params["subtract_mean"] else np.zeros_like(total)
        centred = scatter - n * np.outer(mean, mean)
        if params["algorithm_mode"] == "randomized":
            from sklearn.utils.extmath import randomized_svd

            extra = params["extra_components"]
            oversample = max(10, components) if extra == -1 else extra
            _, eigenvalues, vt = randomized_svd(centred, components, n_oversamples=oversample, random_state=0)
            vectors = vt.T
        else:
            eigenvalues, vectors = np.linalg.eigh(centred)
            eigenvalues, vectors = eigenvalues[::-1][:components], vectors[:, ::-1][:, :components]
        singular = np.sqrt(np.maximum(eigenvalues, 0.0))
        order = np.argsort(singular)  # least significant first, as the container stores them
        explained = float(eigenvalues.sum() / max(np.trace(centred), 1e-12))
        ctx.log(f"PCA on {n} records: {components} components explain {explained:.4f} of the variance")
        model = {
            "s": singular[order].astype(np.float32),
            "v": vectors[:, order].astype(np.float32),
            "mean": mean.reshape(1, -1).astype(np.float32),
        }
        (ctx.model_dir / "model_algo-1").write_bytes(ndarray.save(model))

    def load(self, files: dict[str, bytes]) -> HostedModel:
        member = files.get("model_algo-1")
        if member is None:
            raise ClientError(f"model.tar.gz holds no model_algo-1 (members: {sorted(files)})")
        arrays = ndarray.load(member)
        if not isinstance(arrays, dict) or not {"v", "mean"} <= set(arrays):
            raise ClientError("model_algo-1 is not a PCA model (expected NDArray dict with 's', 'v', 'mean')")
        return HostedPCA(arrays["v"].astype(np.float64), arrays["mean"].astype(np.float64).reshape(-1))


class HostedPCA(HostedModel):
    def __init__(self, v: np.ndarray, mean: np.ndarray) -> None:
        self.v = v
        self.offset = mean @ v

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        x = inference_io.decode_features(body, content_type, self.v.shape[0])
        projection = x @ self.v - self.offset
        return inference_io.encode_outputs(
            {"projection": projection.astype(np.float32)}, accept, json_root="projections",
            accepts=(inference_io.JSON, inference_io.JSONLINES, inference_io.RECORDIO),
        )
