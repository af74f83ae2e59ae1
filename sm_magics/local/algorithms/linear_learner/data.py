"""Reading a labelled channel as the container does, with its checks on labels and feature counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import ClientError, TrainingContext


def _read_labelled(ctx: TrainingContext, channel: str, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from ...training.channels import RECORDIO_TYPES, content_type_parts

    source = ctx.channels[channel]
    kind, _ = content_type_parts(source.content_type)
    x, y = source.read_dense()
    if kind in RECORDIO_TYPES and x.dtype != np.float32:
        raise ClientError(
            f"Channel '{channel}' holds {x.dtype} feature tensors; Linear Learner reads RecordIO-protobuf with "
            "Float32 tensors only (convert with .astype('float32') before writing the records)"
        )
    if y is None:
        raise ClientError(
            f"The records in channel '{channel}' have no labels; Linear Learner needs a label per record "
            "(RecordIO-protobuf: label['values']; CSV: the label in the first column)"
        )
    if kind in RECORDIO_TYPES and y.dtype != np.float32:
        raise ClientError(
            f"Channel '{channel}' holds {y.dtype} label tensors; Linear Learner reads RecordIO-protobuf with "
            "Float32 tensors only (write the labels as float32)"
        )
    feature_dim = params["feature_dim"]
    if feature_dim != "auto" and x.shape[1] != feature_dim:
        hint = (
            "; CSV data must have the label in the first column followed by the features"
            if x.shape[1] == feature_dim - 1
            else ""
        )
        raise ClientError(
            f"feature_dim is {feature_dim} but the records in channel '{channel}' have {x.shape[1]} features{hint}"
        )
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if not np.isfinite(y).all():
        at = int(np.argwhere(~np.isfinite(y))[0][0])
        raise ClientError(f"Channel '{channel}' has a NaN or infinite label (record {at})")
    predictor = params["predictor_type"]
    if predictor == "binary_classifier":
        bad = (y != 0) & (y != 1)
        if bad.any():
            at = int(np.argmax(bad))
            raise ClientError(
                f"Label values for predictor_type binary_classifier must be 0 or 1; channel '{channel}' has label "
                f"{y[at]:g} at record {at} ({int(bad.sum())} such records)"
            )
    elif predictor == "multiclass_classifier":
        k = params["num_classes"]
        bad = (y < 0) | (y != np.floor(y))
        if bad.any():
            at = int(np.argmax(bad))
            raise ClientError(
                f"Label values for predictor_type multiclass_classifier must be integers 0 ... num_classes - 1; "
                f"channel '{channel}' has label {y[at]:g} at record {at}"
            )
        if y.max() >= k:
            raise ClientError(
                f"num_classes is {k} but channel '{channel}' has label {y.max():g}; labels must be 0 ... {k - 1}. "
                f"Set num_classes to at least {int(y.max()) + 1}"
            )
    return x, y
