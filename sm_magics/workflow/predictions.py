"""An endpoint's answer as named numpy arrays, whatever content type it came back in.

The built-in algorithms answer the same records in JSON (``{"predictions": [...]}``),
JSON Lines, CSV or RecordIO-protobuf, depending on ``Accept``. Users want
``closest_cluster`` as an int array and PCA's ``projection`` as an N x k matrix,
not a parser per format, so every format lands in one ``Predictions``: a dict of
arrays (what the gallery and confusion widgets take), one row per record, that
also turns into records or a pandas DataFrame.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..i18n import _

INTEGER_OUTPUTS = ("closest_cluster", "predicted_label")


class Predictions(dict):
    """Named arrays of equal length: ``p["closest_cluster"]``, ``p.to_frame()``, ``p.to_records()``."""

    @property
    def rows(self) -> int:
        return len(next(iter(self.values()))) if self else 0

    def to_records(self) -> list[dict[str, Any]]:
        """One plain-Python dict per record, e.g. ``{"closest_cluster": 3, "distance_to_cluster": 4.2}``."""
        names = list(self)
        return [dict(zip(names, values)) for values in zip(*(np.asarray(self[n]).tolist() for n in names))]

    def to_frame(self) -> Any:
        """A pandas DataFrame; a 2-D output (PCA's projection, class probabilities) becomes ``name_0 .. name_k``."""
        import pandas as pd

        columns: dict[str, np.ndarray] = {}
        for name, values in self.items():
            values = np.asarray(values)
            if values.ndim == 2:
                columns.update({f"{name}_{i}": values[:, i] for i in range(values.shape[1])})
            else:
                columns[name] = values
        return pd.DataFrame(columns)

    @classmethod
    def concat(cls, parts: Sequence[Predictions]) -> Predictions:
        """Join answers of consecutive requests (a large input is sent in chunks)."""
        if not parts:
            return cls()
        return cls({key: np.concatenate([p[key] for p in parts]) for key in parts[0]})

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {np.asarray(v).dtype}{list(np.shape(v))}" for k, v in self.items())
        return f"Predictions({self.rows} rows; {shapes})"


def _from_records(records: Iterable[dict[str, Any]]) -> Predictions:
    columns: dict[str, list[Any]] = {}
    for record in records:
        for key, value in record.items():
            columns.setdefault(key, []).append(value)
    return _typed({key: np.asarray(values) for key, values in columns.items()})


def _typed(arrays: dict[str, np.ndarray]) -> Predictions:
    out = Predictions()
    for key, values in arrays.items():
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if key in INTEGER_OUTPUTS and values.ndim == 1 and values.dtype.kind == "f" and np.all(values == np.round(values)):
            values = values.astype(np.int64)  # RecordIO and CSV carry labels as floats
        out[key] = values
    return out


def _csv(body: bytes, outputs: Sequence[str]) -> Predictions:
    lines = [line for line in body.decode().strip().splitlines() if line.strip()]
    if not lines:
        return Predictions({name: np.array([]) for name in outputs})
    table = np.array([line.split(",") for line in lines], dtype=np.float64)
    if len(lines) == 1 and len(outputs) == 1 and table.shape[1] > 1:
        table = table.T  # XGBoost 1.0-1 answers every record on one comma-joined line
    if table.shape[1] == len(outputs):
        return _typed({name: table[:, i] for i, name in enumerate(outputs)})
    return _typed({outputs[0]: table})  # one output of several columns (a projection, class probabilities)


def _recordio(body: bytes) -> Predictions:
    from ..formats.recordio import Tensor, read_records

    columns: dict[str, list[np.ndarray]] = {}
    for record in read_records(body):
        for key, value in record.label.items():
            if isinstance(value, Tensor):
                columns.setdefault(key, []).append(value.to_dense().ravel())
    return _typed({key: np.vstack(values) for key, values in columns.items()})


def parse(body: bytes, content_type: str, *, outputs: Sequence[str] = ("score",), json_root: str = "predictions") -> Predictions:
    """Named arrays from one InvokeEndpoint answer; ``outputs`` names CSV columns, in the container's order."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        return _csv(body, outputs)
    if kind in ("application/x-recordio-protobuf", "application/x-recordio"):
        return _recordio(body)
    if kind in ("application/jsonlines", "application/x-jsonlines"):
        return _from_records(json.loads(line) for line in body.decode().splitlines() if line.strip())
    if kind == "application/json":
        document = json.loads(body)
        if isinstance(document, list):
            return _from_records(r if isinstance(r, dict) else {outputs[0]: r} for r in document)
        return _from_records(document.get(json_root, document.get("predictions", [])))
    raise ValueError(_("cannot read an answer of content type '{content_type}': ask for application/json, "
                       "application/jsonlines, text/csv or application/x-recordio-protobuf").format(content_type=content_type))

