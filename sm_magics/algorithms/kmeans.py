"""k-means (``kmeans:1``): the container's hyperparameters, channels and metrics."""

from __future__ import annotations

from typing import Any, Mapping

from .base import AlgorithmSpec, Param, parse_hyperparameters

SCHEMA: dict[str, Param] = {
    "k": Param("int", required=True, minimum=1),
    "feature_dim": Param("int", required=True, minimum=1),
    "mini_batch_size": Param("int", default=5000, minimum=1),
    "epochs": Param("int", default=1, minimum=1),
    "init_method": Param("choice", default="random", choices=("random", "kmeans++")),
    "extra_center_factor": Param("int", default="auto", minimum=1, allow_auto=True),
    "local_lloyd_max_iter": Param("int", default=300, minimum=1),
    "local_lloyd_tol": Param("float", default=0.0001, minimum=0.0, maximum=1.0),
    "local_lloyd_init_method": Param("choice", default="kmeans++", choices=("random", "kmeans++")),
    "local_lloyd_num_trials": Param("int", default="auto", minimum=1, allow_auto=True),
    "half_life_time_size": Param("int", default=0, minimum=0),
    "eval_metrics": Param("json_list", default=["msd"], choices=("msd", "ssd")),
    "force_dense": Param("bool", default=True),
}

AUTO_CENTER_FACTOR = 10
AUTO_NUM_TRIALS = 10


class KMeansSpec(AlgorithmSpec):
    name = "kmeans"
    required_channels = ("train",)
    optional_channels = ("test",)
    metric_definitions = (
        {"Name": "train:msd", "Regex": r"#quality_metric: host=\S+, epoch=\S+, train msd <loss>=(\S+)"},
        {"Name": "train:progress", "Regex": r"#progress_metric: host=\S+, completed (\S+) %"},
        {"Name": "test:msd", "Regex": r"#quality_metric: host=\S+, test msd <loss>=(\S+)"},
        {"Name": "test:ssd", "Regex": r"#quality_metric: host=\S+, test ssd <loss>=(\S+)"},
    )

    def validate(self, hyperparameters: Mapping[str, str]) -> dict[str, Any]:
        params = parse_hyperparameters(self.name, SCHEMA, hyperparameters)
        if params["extra_center_factor"] == "auto":
            params["extra_center_factor"] = AUTO_CENTER_FACTOR
        if params["local_lloyd_num_trials"] == "auto":
            params["local_lloyd_num_trials"] = AUTO_NUM_TRIALS
        return params
