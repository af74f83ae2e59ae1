"""``model_algo-1``: writing the container's MXNet module (symbol + params) and reading it back, SageMaker's own included."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import numpy as np

from ....algorithms.linear_learner import AUTO_LOSS
from ....formats import ndarray
from ... import settings
from ..base import ClientError
from .model import _Model
from .serve import HostedLinearLearner


def load_model(files: dict[str, bytes]) -> HostedLinearLearner:
    """The hosted model of a ``model.tar.gz``'s members (its ``model_algo-1``)."""
    member = files.get("model_algo-1")
    if member is None:
        raise ClientError(f"model.tar.gz holds no model_algo-1 (members: {sorted(files)})")
    try:
        archive = zipfile.ZipFile(io.BytesIO(member))
        names = set(archive.namelist())
        params_name = next((n for n in sorted(names) if n.endswith(".params")), None)
        if params_name is None:
            raise ClientError(f"model_algo-1 holds no MXNet .params file (members: {sorted(names)})")
        arrays = ndarray.load(_read_bounded(archive, params_name))
        extra = json.loads(_read_bounded(archive, "additional-params.json")) if "additional-params.json" in names else {}
        symbol_name = next((n for n in sorted(names) if n.endswith("-symbol.json")), None)
        symbol = json.loads(_read_bounded(archive, symbol_name)) if symbol_name else {}
    except zipfile.BadZipFile:
        raise ClientError("model_algo-1 is not a Linear Learner model (expected a ZIP of an MXNet module)") from None
    if not isinstance(arrays, dict) or "arg:fc0_weight" not in arrays:
        raise ClientError("mx-mod-0000.params holds no 'arg:fc0_weight'; this is not a Linear Learner model")
    weight = np.asarray(arrays["arg:fc0_weight"], dtype=np.float64)
    if weight.ndim == 1:
        weight = weight[:, None]
    bias = np.asarray(arrays.get("arg:fc0_bias", np.zeros((1, weight.shape[1]))), dtype=np.float64).reshape(-1)
    predictor = extra.get("predictor_type") or _predictor_from_symbol(symbol, weight.shape[1])
    loss = extra.get("loss_type") or AUTO_LOSS.get(predictor, "squared_loss")
    threshold = extra.get("threshold")
    if threshold is None:
        threshold = 0.0 if loss == "hinge_loss" else 0.5
    return HostedLinearLearner(predictor, loss, weight, bias, float(threshold))


def _read_bounded(archive: zipfile.ZipFile, name: str) -> bytes:
    """One file of the model's ZIP, refused when it declares more than a model file may hold.

    zipfile stops decompressing at the declared size, so checking that size
    bounds the bytes a crafted (zip-bomb) model_algo-1 can make the engine hold.
    """
    size = archive.getinfo(name).file_size
    if size > settings.MAX_MODEL_MEMBER_BYTES:
        raise ClientError(
            f"model_algo-1 member {name!r} unpacks to {size} bytes, over the engine's limit of "
            f"{settings.MAX_MODEL_MEMBER_BYTES} bytes per file (SM_MAGICS_LOCAL_MAX_MODEL_MEMBER_BYTES)"
        )
    return archive.read(name)


def _predictor_from_symbol(symbol: dict[str, Any], outputs: int) -> str:
    ops = {node.get("op") for node in symbol.get("nodes", [])}
    if "SoftmaxOutput" in ops or outputs > 1:
        return "multiclass_classifier"
    if "LogisticRegressionOutput" in ops or "SVMOutput" in ops:
        return "binary_classifier"
    return "regressor"


def _symbol(params: dict[str, Any], feature_dim: int, outputs: int) -> dict[str, Any]:
    """An MXNet symbol like the container's: data . fc0_weight + fc0_bias -> output layer."""
    predictor, loss = params["predictor_type"], params["loss"]
    if predictor == "multiclass_classifier":
        head, head_name = "SoftmaxOutput", "softmaxoutput0"
    elif predictor == "binary_classifier" and loss == "logistic":
        head, head_name = "LogisticRegressionOutput", "logisticregressionoutput0"
    elif predictor == "binary_classifier":
        head, head_name = "SVMOutput", "svmoutput0"
    else:
        head, head_name = "LinearRegressionOutput", "linearregressionoutput0"
    head_node: dict[str, Any] = {"op": head, "name": head_name, "inputs": [[4, 0, 0], [5, 0, 0]]}
    if head == "SVMOutput":
        head_node["attrs"] = {"margin": repr(float(params["margin"])), "use_linear": "True"}
    return {
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {"op": "null", "name": "fc0_weight", "attrs": {"__shape__": f"({feature_dim}, {outputs})"}, "inputs": []},
            {"op": "dot", "name": "dot0", "inputs": [[0, 0, 0], [1, 0, 0]]},
            {
                "op": "null",
                "name": "fc0_bias",
                "attrs": {"__lr_mult__": repr(float(params["bias_lr_mult"])), "__shape__": f"(1, {outputs})"},
                "inputs": [],
            },
            {"op": "broadcast_add", "name": "broadcast_plus0", "inputs": [[2, 0, 0], [3, 0, 0]]},
            {"op": "null", "name": "out_label", "inputs": []},
            head_node,
        ],
        "arg_nodes": [0, 1, 3, 5],
        "node_row_ptr": [0, 1, 2, 3, 4, 5, 6, 7],
        "heads": [[6, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10301]},
    }


def _artifact(params: dict[str, Any], model: _Model) -> bytes:
    d, c = model.weight.shape
    loss = params["loss"]
    regression = params["predictor_type"] == "regressor"
    additional = {
        "threshold": model.threshold,
        "loss_type": loss,
        "metrics_params": {
            "eps_insensitive_loss_type": loss if loss.startswith("eps_insensitive") else None,
            "class_weights": model.class_weights.tolist() if model.class_weights is not None else None,
            "huber_delta": params["huber_delta"] if loss == "huber_loss" else None,
            "quantile": params["quantile"] if loss == "quantile_loss" else None,
            "loss_insensitivity": params["loss_insensitivity"] if loss.startswith("eps_insensitive") else None,
            "positive_example_weight_mult": model.positive_weight,
            "accuracy_top_k": params["accuracy_top_k"],
            "threshold": model.threshold,
            "f_beta": None if regression else params["f_beta"],
            "margin": params["margin"] if loss == "hinge_loss" else None,
        },
        "predictor_type": params["predictor_type"],
    }
    if params["predictor_type"] == "multiclass_classifier":
        additional["num_classes"] = c
    members = {
        "mx-mod-symbol.json": json.dumps(_symbol(params, d, c), indent=2).encode(),
        "mx-mod-0000.params": ndarray.save(
            {"arg:fc0_bias": model.bias.reshape(1, c).astype(np.float32), "arg:fc0_weight": model.weight.astype(np.float32)}
        ),
        "manifest.json": json.dumps({"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}).encode(),
        "additional-params.json": json.dumps(additional).encode(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buf.getvalue()
