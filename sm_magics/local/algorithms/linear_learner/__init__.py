"""SageMaker's built-in Linear Learner (``linear-learner:1``), trained and served for real.

The container is numpy; so is this package, split by concern: ``data`` reads a labelled
channel, ``model`` holds the losses and the trained model, ``train`` trains the parallel
models, ``calibration`` calibrates binary thresholds and reports the metrics, ``artifact``
writes and reads ``model_algo-1``, ``serve`` answers invocations; the container itself
(``LinearLearner``) is here. The contract (hyperparameters, channels, metrics) is the neutral
``sm_magics.algorithms.linear_learner``; what is reproduced of the container, and what is not,
is told in ``docs/algorithms/linear-learner.md``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from ....algorithms.linear_learner import SCHEMA, LinearLearnerSpec
from ..base import Algorithm, ClientError, HostedModel, TrainingContext
from .artifact import _artifact, load_model
from .calibration import _report
from .data import _read_labelled
from .serve import HostedLinearLearner
from .train import _Trainer

__all__ = ["HostedLinearLearner", "LinearLearner", "describe_defaults"]


class LinearLearner(LinearLearnerSpec, Algorithm):
    """The container's training and serving; its contract is ``LinearLearnerSpec``."""

    # ---------------------------------------------------------------- training

    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, Any]:
        x, y = _read_labelled(ctx, "train", params)
        ctx.log(f"{ctx.host} read {x.shape[0]} records with {x.shape[1]} features from channel 'train'")
        return {"x": x, "y": y}

    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        started = time.time()
        parts = [p for p in partials if p["x"].shape[0]]
        if len(parts) > 1 and all(
            p["x"].shape == parts[0]["x"].shape and np.array_equal(p["x"], parts[0]["x"]) and np.array_equal(p["y"], parts[0]["y"])
            for p in parts[1:]
        ):
            ctx.log(f"All {len(parts)} hosts hold the same training records (FullyReplicated); training on one copy")
            parts = parts[:1]
        widths = {p["x"].shape[1] for p in parts}
        if len(widths) > 1:
            raise ClientError(f"The hosts' shards of channel 'train' have different numbers of features: {sorted(widths)}")
        x = np.vstack([p["x"] for p in parts]) if len(parts) > 1 else parts[0]["x"]
        y = np.concatenate([p["y"] for p in parts]) if len(parts) > 1 else parts[0]["y"]
        if ctx.host_count > 1:
            ctx.log(f"algo-1 gathered {x.shape[0]} training records from {ctx.host_count} hosts")
        params = dict(params)
        params["feature_dim"] = x.shape[1]
        objective = params.get("_tuning_objective_metric")
        if objective and objective.split(":", 1)[0] not in ctx.channels:
            raise ClientError(
                f"The tuning objective metric '{objective}' needs a '{objective.split(':', 1)[0]}' channel, "
                "and the training job has none"
            )
        validation = _read_labelled(ctx, "validation", params) if "validation" in ctx.channels else None
        test = _read_labelled(ctx, "test", params) if "test" in ctx.channels else None

        trainer = _Trainer(ctx, params, x, y, validation)
        model = trainer.run()
        model_files = _artifact(params, model)
        (ctx.model_dir / "model_algo-1").write_bytes(model_files)

        if validation is not None:
            _report(ctx, params, model, "validation", *validation)
        ctx.log(f"Best model found for hyperparameters: {json.dumps(model.hyperparameters)}")
        if test is not None:
            _report(ctx, params, model, "test", *test)
        else:
            ctx.log("Test data is not provided.")
        elapsed = time.time() - started
        ctx.log(
            "#metrics "
            + json.dumps(
                {
                    "StartTime": started,
                    "EndTime": time.time(),
                    "Dimensions": {"Algorithm": "Linear Learner", "Host": ctx.host, "Operation": "training"},
                    "Metrics": {
                        "totaltime": {"sum": elapsed * 1000, "count": 1, "min": elapsed * 1000, "max": elapsed * 1000},
                        "epochs": {"sum": float(model.epochs), "count": 1, "min": model.epochs, "max": model.epochs},
                    },
                }
            )
        )

    # ------------------------------------------------------------------ hosting

    def load(self, files: dict[str, bytes]) -> HostedModel:
        return load_model(files)


def describe_defaults() -> str:
    """The container's default configuration, as it logs it at start."""
    return json.dumps({key: param.default for key, param in SCHEMA.items() if not param.required})
