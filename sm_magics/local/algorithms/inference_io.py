"""Request and response encodings shared by the first-party algorithm containers.

K-means, PCA and Linear Learner all take the same request formats (CSV rows,
``{"instances": [...]}`` JSON, JSON Lines, RecordIO-protobuf) and answer in
JSON, JSON Lines, CSV or RecordIO with a per-algorithm set of named outputs.
Keeping that in one place means one algorithm's fix is every algorithm's fix.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import numpy as np

from ...formats import recordio
from .base import ModelRequestError

JSON = "application/json"
JSONLINES = "application/jsonlines"
CSV = "text/csv"
RECORDIO = "application/x-recordio-protobuf"


def media_type(header: str | None) -> str:
    """'text/csv; charset=utf-8' -> 'text/csv'."""
    return (header or "").split(";", 1)[0].strip().lower()


def decode_features(body: bytes, content_type: str, feature_dim: int) -> np.ndarray:
    """Turn a request body into an (n, feature_dim) float matrix, or answer 4xx as the container does."""
    kind = media_type(content_type)
    if not body:
        raise ModelRequestError(400, "The request body is empty; send at least one record.")
    try:
        if kind in (CSV, "text/x-csv", "csv"):
            rows = _decode_csv(body)
        elif kind == JSON:
            rows = _decode_json_instances(json.loads(body), feature_dim)
        elif kind in (JSONLINES, "application/x-jsonlines"):
            rows = np.vstack(
                [
                    _decode_json_instances({"instances": [json.loads(line)]}, feature_dim)
                    for line in body.decode("utf-8").splitlines()
                    if line.strip()
                ]
            )
        elif kind in (RECORDIO, "application/x-recordio", "recordio-protobuf"):
            rows = _decode_recordio(body, feature_dim)
        else:
            raise ModelRequestError(
                415,
                f"Content type {content_type or '(none)'} is not supported by this algorithm; "
                f"send {CSV}, {JSON}, {JSONLINES} or {RECORDIO}.",
            )
    except ModelRequestError:
        raise
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelRequestError(400, f"Unable to parse the request body as {kind}: {exc}") from None
    if rows.ndim != 2 or rows.shape[1] != feature_dim:
        got = rows.shape[1] if rows.ndim == 2 else rows.size
        raise ModelRequestError(
            400, f"Feature size of the request ({got}) does not match the model's feature_dim ({feature_dim})."
        )
    if not np.isfinite(rows).all():
        raise ModelRequestError(400, "The request contains NaN or infinite values.")
    return rows


def _decode_csv(body: bytes) -> np.ndarray:
    text = body.decode("utf-8").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    rows = [np.array(line.split(","), dtype=np.float64) for line in lines]
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"rows have different numbers of columns: {sorted(widths)}")
    return np.vstack(rows)


def _decode_json_instances(doc: Any, feature_dim: int) -> np.ndarray:
    instances = doc.get("instances") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and instances is None and "features" in doc:
        instances = [doc]
    if not isinstance(instances, list):
        raise ValueError('expected {"instances": [{"features": [...]}, ...]}')
    rows = []
    for instance in instances:
        if isinstance(instance, list):
            rows.append(np.asarray(instance, dtype=np.float64))
            continue
        features = instance["features"] if "features" in instance else instance["data"]["features"]
        if isinstance(features, dict):  # {"values": [...], "keys": [...], "shape": [d]}
            rows.append(_densify(features.get("values", []), features.get("keys"), features.get("shape"), feature_dim))
        else:
            rows.append(np.asarray(features, dtype=np.float64))
    return _stack(rows)


def _densify(values: Sequence[float], keys: Sequence[int] | None, shape: Any, dim: int) -> np.ndarray:
    """One sparse JSON row (``{"keys": [...], "shape": [d], "values": [...]}``) as a dense row of the model's width.

    ``shape`` and ``keys`` come from the caller, so they are checked before
    anything is allocated: the shape must be the model's feature_dim (a row of
    any other width is refused anyway) and every key a position inside it.
    """
    if shape is not None:
        width = _shape_size(shape)
        if width != dim:
            raise ModelRequestError(
                400, f"Feature size of the request ({width}) does not match the model's feature_dim ({dim})."
            )
    if not keys:
        return np.asarray(values, dtype=np.float64)
    if not isinstance(keys, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in keys):
        raise ValueError(f"sparse 'keys' must be a list of integers, got {_short(keys)}")
    if not isinstance(values, list) or len(values) != len(keys):
        raise ValueError(f"sparse 'values' must be a list as long as 'keys' ({len(keys)})")
    bad = next((k for k in keys if k < 0 or k >= dim), None)
    if bad is not None:
        raise ValueError(f"sparse key {bad} is out of range for shape [{dim}]")
    row = np.zeros(dim, dtype=np.float64)
    row[np.asarray(keys, dtype=np.int64)] = np.asarray(values, dtype=np.float64)
    return row


def _shape_size(shape: Any) -> int:
    """How many features a sparse ``shape`` field declares (exact, whatever its size), or ValueError."""
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ValueError(f"sparse 'shape' must be a list of non-negative integers, got {_short(shape)}")
    size = 1
    for dim in shape:
        size *= dim
    return size


def _short(value: Any) -> str:
    """A caller's value quoted in an error, cut so that an absurd one cannot make an absurd message."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    widths = {row.size for row in rows}
    if len(widths) > 1:
        raise ValueError(f"instances have different numbers of features: {sorted(widths)}")
    return np.vstack(rows) if rows else np.empty((0, 0))


def _decode_recordio(body: bytes, feature_dim: int) -> np.ndarray:
    rows = []
    for record in recordio.read_records(body):
        tensor = record.features.get("values")
        if not isinstance(tensor, recordio.Tensor):
            raise ValueError("a record has no features['values'] tensor")
        if tensor.dense_size() != feature_dim:
            raise ModelRequestError(
                400,
                f"Feature size of the request ({tensor.dense_size()}) does not match the model's feature_dim ({feature_dim}).",
            )
        rows.append(tensor.to_dense(feature_dim).astype(np.float64).ravel())
    return _stack(rows)


ALL_ACCEPTS = (JSON, JSONLINES, CSV, RECORDIO)


def encode_outputs(
    outputs: Mapping[str, np.ndarray], accept: str | None, *, json_root: str, accepts: tuple[str, ...] = ALL_ACCEPTS
) -> tuple[bytes, str]:
    """Encode named per-record outputs as the first-party containers do.

    ``outputs`` maps a label name to an array with one row (or scalar) per
    record, e.g. ``{"closest_cluster": ..., "distance_to_cluster": ...}``.
    ``json_root`` is the top-level JSON key (``predictions``, ``projections``).
    """
    kind = {"application/x-jsonlines": JSONLINES, "application/x-recordio": RECORDIO}.get(media_type(accept), media_type(accept))
    if kind not in accepts and kind not in ("", "*/*"):
        raise ModelRequestError(406, f"Accept type {accept} is not supported; ask for {', '.join(accepts)}.")
    if kind in ("", "*/*", JSON):
        records = _records(outputs)
        return json.dumps({json_root: records}).encode(), JSON
    if kind == JSONLINES:
        lines = "\n".join(json.dumps(record) for record in _records(outputs))
        return lines.encode(), JSONLINES
    if kind == CSV:
        columns = [np.asarray(values, dtype=np.float64).reshape(len(values), -1) for values in outputs.values()]
        lines = (",".join(repr(float(v)) for v in row) for row in np.hstack(columns))
        return ("\n".join(lines) + "\n").encode(), CSV
    if kind == RECORDIO:
        label = {name: np.asarray(values, dtype=np.float32) for name, values in outputs.items()}
        return recordio.encode_label_records(label), RECORDIO
    raise ModelRequestError(406, f"Accept type {accept} is not supported; ask for {', '.join(accepts)}.")


def _records(outputs: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    names = list(outputs)
    columns = [np.asarray(outputs[name]).tolist() for name in names]
    return [dict(zip(names, values)) for values in zip(*columns)]
