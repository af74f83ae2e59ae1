"""Serving a trained booster: request decoding, prediction, and each image version's answer shape."""

from __future__ import annotations

import csv
import json
from typing import Any

import numpy as np

from .. import inference_io
from ..base import HostedModel, ModelRequestError
from .artifact import xgboost_message

REQUEST_TYPES = ("text/csv", "text/libsvm", "text/x-libsvm", "application/x-recordio-protobuf")
SUPPORTED_ACCEPTS = ["application/json", "application/jsonlines", "application/x-recordio-protobuf", "text/csv"]


class HostedXGBoost(HostedModel):
    def __init__(self, boosters: list[Any], key: tuple[int, int, int]) -> None:
        self.boosters = boosters
        self.key = key
        self.comma_joined = key < (1, 2, 2)  # 0.90-x, 1.0-1 and 1.2-1 answer one comma-joined line
        self.num_features = int(boosters[0].num_features())
        self.ranges = []
        self.inplace = []
        for booster in boosters:
            if _is_legacy(booster):  # served by the side environment's xgboost, which sets nthread itself
                linear = booster.booster_name == "gblinear"
                best = booster.best_iteration
                self.ranges.append((0, int(best) + 1) if best is not None and not linear else (0, 0))
                self.inplace.append(False)
                continue
            # one thread per request, as the container sets it: OpenMP start-up costs more than a small batch
            booster.set_param("nthread", 1)
            linear = _booster_name(booster) == "gblinear"
            best = booster.attr("best_iteration")
            self.ranges.append((0, int(best) + 1) if best is not None and not linear else (0, 0))
            # inplace_predict skips building a DMatrix (the cost of a one-record request); gblinear lacks it
            self.inplace.append(not linear)

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        if not body:
            return b"", "text/csv"  # the container answers 204 No Content
        kind = inference_io.media_type(content_type) or "text/csv"
        if kind not in REQUEST_TYPES:
            raise ModelRequestError(
                415,
                f"Content-type {kind} not supported. Supported content-type is text/csv, text/libsvm, "
                "application/x-recordio-protobuf",
            )
        answer_type = None if self.comma_joined else _parse_accept(accept)
        x = self._decode(body, kind)
        preds = self._predict(x)
        return _encode(preds, answer_type)

    def _decode(self, body: bytes, kind: str) -> Any:
        model = self.num_features
        if kind == "text/csv":
            try:
                x = _csv_rows(body)
            except Exception as exc:
                raise ModelRequestError(
                    415, f"Loading csv data failed with Exception, please ensure data is in csv format:\n {type(exc)}\n {exc}"
                ) from None
            got = x.shape[1]
            if not (model == got or model == got + 1):
                raise ModelRequestError(
                    400,
                    "Unable to evaluate payload provided: Feature size of csv inference data "
                    f"{got} is not consistent with feature size of trained model {model}",
                )
            if got < model:  # the container lets a CSV row miss the model's last feature
                x = np.hstack([x, np.full((x.shape[0], model - got), np.nan, dtype=np.float32)])
            return x
        if kind == "application/x-recordio-protobuf":
            from ....formats import recordio

            try:
                x, _ = recordio.read_dense(body, max_width=model + 1)  # a sparse record's shape is the caller's
                x = np.asarray(x, dtype=np.float32)
            except recordio.ShapeTooLarge as exc:
                raise ModelRequestError(
                    400,
                    "Unable to evaluate payload provided: Feature size of recordio-protobuf inference data "
                    f"{exc.size} is not consistent with feature size of trained model {model}.",
                ) from None
            except Exception as exc:
                raise ModelRequestError(
                    415,
                    "Loading recordio-protobuf data failed with Exception, please ensure data is in "
                    f"recordio-protobuf format: {type(exc)} {exc}",
                ) from None
            got = x.shape[1]
            if not (model == got or model == got + 1):
                raise ModelRequestError(
                    400,
                    "Unable to evaluate payload provided: Feature size of recordio-protobuf inference data "
                    f"{got} is not consistent with feature size of trained model {model}.",
                )
            if got < model:
                x = np.hstack([x, np.full((x.shape[0], model - got), np.nan, dtype=np.float32)])
            return x
        try:
            x = _libsvm_rows(body)
        except Exception as exc:
            raise ModelRequestError(
                415, f"Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n {type(exc)}\n {exc}"
            ) from None
        if x.shape[1] > model + 1:
            raise ModelRequestError(
                400,
                "Unable to evaluate payload provided: Feature size of libsvm inference data "
                f"{x.shape[1]} is larger than feature size of trained model {model}.",
            )
        x.resize((x.shape[0], model))
        return x

    def _predict(self, x: Any) -> np.ndarray:
        try:
            outputs = []
            for booster, iterations, inplace in zip(self.boosters, self.ranges, self.inplace):
                if _is_legacy(booster):
                    out = booster.predict_dense(_dense(x), iterations[1])
                elif inplace:
                    out = booster.inplace_predict(x, iteration_range=iterations, validate_features=False, missing=np.nan)
                else:
                    import xgboost as xgb

                    out = booster.predict(xgb.DMatrix(x, missing=np.nan), iteration_range=iterations, validate_features=False)
                outputs.append(np.asarray(out))
        except Exception as exc:
            raise ModelRequestError(400, f"Unable to evaluate payload provided: {xgboost_message(exc)}") from None
        preds = outputs[0] if len(outputs) == 1 else np.mean(outputs, axis=0)
        if preds.ndim == 2 and preds.shape[1] == 1:
            preds = preds[:, 0]
        return preds


def _is_legacy(booster: Any) -> bool:
    return type(booster).__name__ == "LegacyBooster"


def _dense(x: Any) -> np.ndarray:
    """A request matrix as the legacy host takes it: dense float32, NaN where a sparse row has no entry."""
    from scipy.sparse import issparse

    if not issparse(x):
        return np.asarray(x, dtype=np.float32)
    csr = x.tocsr()
    dense = np.full(csr.shape, np.nan, dtype=np.float32)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    dense[rows, csr.indices] = csr.data
    return dense


def _booster_name(booster: Any) -> str:
    try:
        return str(json.loads(booster.save_config())["learner"]["gradient_booster"]["name"])
    except Exception:
        return "gbtree"


def _parse_accept(accept: str | None) -> str:
    kind = inference_io.media_type(accept)
    if not kind or kind == "*/*":
        return "text/csv"
    if kind not in SUPPORTED_ACCEPTS:
        raise ModelRequestError(
            406, f"Accept type {accept} is not supported. Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return kind


def _encode(preds: np.ndarray, answer_type: str | None) -> tuple[bytes, str]:
    if answer_type is None:  # 0.90-x / 1.0-1 / 1.2-1: ",".join(map(str, preds.tolist()))
        return ",".join(map(str, preds.tolist())).encode(), "text/csv; charset=utf-8"
    if answer_type == "text/csv":  # sagemaker-containers' array_to_csv: np.savetxt(fmt="%s")
        if preds.ndim == 1:
            text = "\n".join(map(str, preds)) + "\n"
        else:
            text = "".join(",".join(map(str, row)) + "\n" for row in preds)
        return text.encode(), "text/csv; charset=utf-8"
    if answer_type == "application/json":
        doc = {"predictions": [{"score": value} for value in preds.tolist()]}
        return json.dumps(doc).encode(), "application/json"
    raise ModelRequestError(
        500,
        f"Content type {answer_type} is not supported by this framework. Please implement output_fn to serialize "
        "the response (the XGBoost container encodes text/csv and application/json only).",
    )


def _csv_rows(body: bytes) -> np.ndarray:
    text = body.decode("utf-8").strip()
    first = text.split("\n", 1)[0]
    if "," in first:
        delimiter = ","
    else:
        try:
            delimiter = csv.Sniffer().sniff(first[:512]).delimiter
        except csv.Error:
            delimiter = ","
        if delimiter.isalnum() or delimiter in ".-+":
            delimiter = ","
    if "\n" not in text and "\r" not in text:  # one record: the common real-time case
        cells = [c if c.strip() else "nan" for c in text.split(delimiter)]
        return np.asarray(cells, dtype=np.float32).reshape(1, -1)
    rows = [[c if c.strip() else "nan" for c in line.rstrip("\r").split(delimiter)] for line in text.split("\n")]
    return np.asarray(rows, dtype=np.float32)


def _libsvm_rows(body: bytes) -> Any:
    from scipy.sparse import csr_matrix

    lines = body.decode("utf-8").strip().split("\n")
    rows, cols, vals = [], [], []
    for row, line in enumerate(lines):
        for item in line.split(" "):
            if ":" in item:
                index, value = item.split(":")[:2]
                rows.append(row)
                cols.append(int(index))
                vals.append(float(value))
    width = max(cols) + 1 if cols else 0
    return csr_matrix((np.asarray(vals, dtype=np.float32), (np.asarray(rows), np.asarray(cols))), shape=(len(lines), width))
