"""PCA (``pca:1``): the container's hyperparameters and channels."""

from __future__ import annotations

from typing import Any, Mapping

from .base import AlgorithmSpec, ClientError, Param, parse_hyperparameters

SCHEMA: dict[str, Param] = {
    "feature_dim": Param("int", required=True, minimum=1),
    "mini_batch_size": Param("int", required=True, minimum=1),
    "num_components": Param("int", required=True, minimum=1),
    "algorithm_mode": Param("choice", default="regular", choices=("regular", "randomized")),
    "subtract_mean": Param("bool", default=True),
    "extra_components": Param("int", default=-1, minimum=-1),
    "force_dense": Param("bool", default=True),
    "epochs": Param("int", default=1, minimum=1),
}


class PCASpec(AlgorithmSpec):
    name = "pca"
    required_channels = ("train",)
    optional_channels = ("test",)

    def validate(self, hyperparameters: Mapping[str, str]) -> dict[str, Any]:
        params = parse_hyperparameters(self.name, SCHEMA, hyperparameters)
        if params["num_components"] > params["feature_dim"]:
            raise ClientError(
                f"num_components ({params['num_components']}) must not be greater than feature_dim ({params['feature_dim']})"
            )
        return params
