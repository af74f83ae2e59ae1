"""Notebook data to training channels: arrays and DataFrames become S3 objects in the algorithm's format.

The first-party algorithms read RecordIO-protobuf (features, plus float32
labels for supervised ones); XGBoost reads CSV with the label in the first
column and no header. An ``s3://`` URI is passed through untouched. Every
check happens before anything is uploaded, so a bad cell creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from ..formats import csv_text, recordio
from ..i18n import _
from .algorithms import AlgorithmInfo


class DataError(ValueError):
    """Data that cannot be trained on or scored, with what to fix."""

    def _render_traceback_(self) -> list[str]:
        """One line in the notebook (``predictor.predict`` raises it from the user's own code)."""
        return [f"{type(self).__name__}: {self}"]


@dataclass
class PreparedChannel:
    name: str
    body: bytes | None  # None for an s3:// URI given by the user
    s3_uri: str | None
    content_type: str
    rows: int | None
    features: int | None
    labels: np.ndarray | None = None  # the float32 labels, for the checks against predictor_type / objective
    # The conversion to the algorithm's format, run at upload: the checks need only the matrix, and the
    # encoding (seconds for large data) then happens while the job's view already shows it.
    encode: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    # The same conversion in parts, for an upload that sends one part while the next is written:
    # (its exact size, known before any part is written; the parts, written as they are iterated).
    plan: Callable[[], tuple[int, Iterable[Any]]] | None = field(default=None, repr=False, compare=False)

    @property
    def uploads(self) -> bool:
        """True when this channel's bytes come from the notebook (not an s3:// URI of the user's)."""
        return self.body is not None or self.encode is not None

    def payload(self) -> bytes:
        """The channel's bytes in the algorithm's format, converted on first use."""
        if self.body is None and self.encode is not None:
            self.body = self.encode()
            self.encode = self.plan = None
        if self.body is None:
            raise ValueError(_("channel {name} names {uri}; it has no bytes of the notebook's to upload").format(
                name=f"'{self.name}'", uri=self.s3_uri))
        return self.body


def as_matrix(value: Any, what: str) -> np.ndarray:
    """numpy array, pandas DataFrame, or nested lists -> 2-D float array."""
    if hasattr(value, "dtypes") and hasattr(value, "columns"):
        value = _frame_as_floats(value, what)
    elif hasattr(value, "to_numpy"):
        value = value.to_numpy()
    array = np.asarray(value)
    if array.dtype == object:  # e.g. `frame.values` of a frame mixing bool (pd.get_dummies) and float columns
        array = _numbers_only(array, what)
    if array.ndim == 1:
        raise DataError(_("{what} is 1-D with {count} values; pass a 2-D array (rows x features), e.g. x.reshape(-1, 1)").format(
            what=what, count=array.shape[0]))
    if array.ndim > 2:
        array = array.reshape(array.shape[0], -1)
    if array.size == 0 or array.shape[0] == 0:
        raise DataError(_("{what} is empty").format(what=what))
    if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise DataError(_("{what} has dtype {dtype}; pass numbers").format(what=what, dtype=array.dtype))
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(_("{what} contains {count} NaN/infinite value(s), first at row {row}, column {column}; impute or drop them").format(
            what=what, count=int(bad.sum()), row=row, column=col))
    return array


NUMBER_TYPES = (bool, int, float, np.bool_, np.number)


def _numbers_only(array: np.ndarray, what: str) -> np.ndarray:
    """An object array whose cells are all numbers or booleans, as floats; any other cell is named in the error.

    The types are looked at, not parsed: the string "1.5" is not a number here, as it is not to SageMaker.
    """
    kinds = set(map(type, array.flat))
    if not all(issubclass(kind, NUMBER_TYPES) for kind in kinds):
        other = sorted(kind.__name__ for kind in kinds if not issubclass(kind, NUMBER_TYPES))
        raise DataError(_("{what} holds non-numeric values ({types}); convert or drop those columns first").format(
            what=what, types=", ".join(other)))
    return array.astype(np.float64)


def _frame_as_floats(frame: Any, what: str) -> np.ndarray:
    """A DataFrame's values as float32: numbers, booleans (``pd.get_dummies``) and nullable integers / booleans
    (a missing value becomes NaN, which the NaN check then reports); other columns are named in the error."""
    import pandas as pd

    wrong = [str(name) for name, dtype in frame.dtypes.items()
             if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
    if wrong:
        shown = ", ".join(repr(name) for name in wrong[:5]) + (
            _(" and {count} more").format(count=len(wrong) - 5) if len(wrong) > 5 else "")
        raise DataError(_("{what} has non-numeric column(s) {shown}; encode them (e.g. pd.get_dummies) or drop them").format(
            what=what, shown=shown))
    return frame.to_numpy(dtype=np.float32, na_value=np.nan)


def as_labels(value: Any, rows: int, what: str) -> np.ndarray:
    if hasattr(value, "dtype") and hasattr(value, "to_numpy"):  # a Series, nullable or boolean ones included
        import pandas as pd

        numeric = pd.api.types.is_numeric_dtype(value.dtype) or pd.api.types.is_bool_dtype(value.dtype)
        value = value.to_numpy(dtype=np.float32, na_value=np.nan) if numeric else value.to_numpy()
    elif hasattr(value, "to_numpy"):
        value = value.to_numpy()
    labels = np.asarray(value).reshape(-1)
    if labels.shape[0] != rows:
        raise DataError(_("{what} has {count} labels for {rows} rows; they must match one to one").format(
            what=what, count=labels.shape[0], rows=rows))
    try:
        labels = labels.astype(np.float32)
    except (TypeError, ValueError):
        raise DataError(_("{what} labels are not numeric; encode them as numbers (e.g. 0/1)").format(what=what)) from None
    if not np.isfinite(labels).all():
        raise DataError(_("{what} labels contain NaN/infinite values").format(what=what))
    return labels


def prepare_channel(info: AlgorithmInfo, name: str, data: Any, labels: Any = None) -> PreparedChannel:
    """Turn what the user named in the cell into one channel's bytes (nothing is uploaded here)."""
    if isinstance(data, str):
        if not data.startswith("s3://"):
            raise DataError(_("channel '{name}' is the string {data}; give an s3:// URI or an array").format(name=name, data=repr(data)))
        content = "text/csv" if info.data_format == "csv" else "application/x-recordio-protobuf"
        return PreparedChannel(name, None, data, content, None, None)
    if name not in info.channels:
        raise DataError(_("{algorithm} has no '{name}' channel; it reads {channels}").format(
            algorithm=info.name, name=name, channels=", ".join(info.channels)))
    if isinstance(data, tuple) and len(data) == 2 and labels is None:
        data, labels = data
    if labels is None and hasattr(data, "columns") and info.labels == "required":
        raise DataError(_("{algorithm} needs labels for channel '{name}': write `{name}: X, y` (features and labels)").format(
            algorithm=info.name, name=name))
    what = _("channel '{name}'").format(name=name)
    matrix = as_matrix(data, what)
    if info.labels == "required" and labels is None:
        raise DataError(_("{algorithm} needs labels for channel '{name}': write `{name}: X, y`").format(algorithm=info.name, name=name))
    y = as_labels(labels, matrix.shape[0], what) if labels is not None else None

    if info.data_format == "csv":
        # each cell as f"{v:.9g}": nine significant digits bring every float32 back exactly; the label first
        def plan() -> tuple[int, Iterable[Any]]:
            text = csv_text.plan_rows(matrix, y)
            return text.size, text.parts()

        return PreparedChannel(name, None, None, "text/csv", matrix.shape[0], matrix.shape[1], y,
                               encode=lambda: csv_text.format_rows(matrix, y), plan=plan)
    return PreparedChannel(name, None, None, "application/x-recordio-protobuf", matrix.shape[0], matrix.shape[1], y,
                           encode=lambda: recordio.encode_dense(matrix, y) if y is not None else recordio.encode_dense(matrix))
