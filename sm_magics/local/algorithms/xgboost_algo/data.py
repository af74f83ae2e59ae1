"""Reading XGBoost's training channels as the container does: CSV, libsvm, RecordIO-protobuf, Parquet."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ....algorithms.xgboost import CSV, LIBSVM, RECORDIO, training_format
from ..base import ClientError, TrainingContext

TRAIN_PATH = "/opt/ml/input/data/train"
VALIDATION_PATH = "/opt/ml/input/data/validation"


@dataclass
class Shard:
    """One host's parsed rows of a channel (dense float32, or CSR for libsvm)."""

    x: Any  # np.ndarray or scipy.sparse.csr_matrix
    y: np.ndarray
    weight: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def columns(self) -> int:
        return int(self.x.shape[1])


def _data_files(paths: Sequence[Any]) -> list[Any]:
    """The container skips files whose names start with '.' or '_' (engine files are named ``NNNNN-<key name>``)."""
    kept = []
    for path in paths:
        original = path.name.split("-", 1)[1] if re.match(r"^\d{5}-", path.name) else path.name
        if not original.startswith((".", "_")):
            kept.append(path)
    return kept


def read_channel(ctx: TrainingContext, name: str, csv_weights: int) -> Shard | None:
    """This host's part of a channel, or None when the host got no records of it."""
    channel = ctx.channels[name]
    fmt = training_format(channel.content_type)
    files = [p for p in _data_files(channel.files) if p.stat().st_size > 0]
    if not files:
        return None
    if fmt == CSV:
        shards = _read_csv_files(ctx, files, csv_weights)
    elif fmt == LIBSVM:
        shards = [_read_libsvm(path) for path in files]
    elif fmt == RECORDIO:
        shards = [_read_recordio(path) for path in files]
    else:
        shards = [_read_parquet(path) for path in files]
    shards = [s for s in shards if s.rows]
    return _concat(shards) if shards else None


def _first_line(data: bytes) -> str:
    return data.split(b"\n", 1)[0].decode("utf-8", errors="ignore").rstrip("\r")


def _csv_delimiter(line: str) -> str:
    try:
        delimiter = csv.Sniffer().sniff(line).delimiter
    except Exception as exc:
        raise ClientError(f"Could not determine delimiter on line {line[:50]}:\n{exc}") from None
    # the sniffer picks a digit or '.' for one-column lines; such files are comma separated
    return "," if delimiter.isalnum() or delimiter in ".-+" else delimiter


def _read_csv_files(ctx: TrainingContext, files: list[Any], csv_weights: int) -> list[Shard]:
    import pandas as pd

    first = files[0].read_bytes()
    delimiter = _csv_delimiter(_first_line(first))
    ctx.log(f"Determined delimiter of CSV input is '{delimiter}'")
    shards = []
    for index, path in enumerate(files):
        data = first if index == 0 else path.read_bytes()
        line = _first_line(data)
        tokens = [t.strip() for t in line.split(delimiter)]
        if any(t and not _is_number(t) for t in tokens):
            raise ClientError(
                f"First line '{line[:50]}...' of file '{_original_name(path)}' is not 'CSV' format. "
                "Please ensure the file is in 'CSV' format."
            )
        try:
            frame = pd.read_csv(io.BytesIO(data), header=None, sep=delimiter, dtype=np.float32, skip_blank_lines=True)
        except Exception as exc:
            raise ClientError(f"Failed to load csv data with exception:\n{exc}") from None
        values = frame.to_numpy(dtype=np.float32)
        first_feature = 2 if csv_weights == 1 else 1
        if values.shape[1] <= first_feature:
            raise ClientError(
                "Failed to load csv data with exception:\n"
                f"file '{_original_name(path)}' has {values.shape[1]} column(s): XGBoost reads the label from the first "
                f"column{' and instance weights from the second' if csv_weights == 1 else ''}, and needs features after them"
            )
        label = values[:, 0]
        if np.isnan(label).any():
            row = int(np.argmax(np.isnan(label)))
            raise ClientError(f"Failed to load csv data with exception:\nrecord {row} of file '{_original_name(path)}' has no label")
        weight = values[:, 1] if csv_weights == 1 else None
        shards.append(Shard(np.ascontiguousarray(values[:, first_feature:]), label, weight))
    return shards


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _original_name(path: Any) -> str:
    return path.name.split("-", 1)[1] if re.match(r"^\d{5}-", path.name) else path.name


def _valid_libsvm_line(line: str) -> bool:
    parts = line.strip().split(" ")
    label = parts[0].split(":")
    if len(label) > 2 or not all(_is_number(p) for p in label):
        return False
    return all(":" in item and len(item.split(":")) == 2 for item in parts[1:] if item)


def _read_libsvm(path: Any) -> Shard:
    from scipy.sparse import csr_matrix

    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and not _valid_libsvm_line(lines[0]):
        raise ClientError(
            f"First line '{lines[0][:50]}...' of file '{_original_name(path)}' is not 'LIBSVM' format. "
            "Please ensure the file is in 'LIBSVM' format."
        )
    labels = np.empty(len(lines), dtype=np.float32)
    weights = np.ones(len(lines), dtype=np.float32)
    weighted = False
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    try:
        for row, line in enumerate(lines):
            parts = line.split()
            label, _, weight = parts[0].partition(":")
            labels[row] = float(label)
            if weight:
                weights[row] = float(weight)
                weighted = True
            for item in parts[1:]:
                if item.startswith("qid:") or item.startswith("#"):
                    continue
                index, _, value = item.partition(":")
                indices.append(int(index))
                values.append(float(value))
            indptr.append(len(indices))
    except ValueError as exc:
        raise ClientError(f"Failed to load libsvm data with exception:\n{exc}") from None
    if indices and min(indices) < 0:
        raise ClientError("Failed to load libsvm data with exception:\nfeature indices must be non-negative")
    width = max(indices) + 1 if indices else 0
    x = csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int64), np.asarray(indptr)), shape=(len(lines), width))
    return Shard(x, labels, weights if weighted else None)


def _read_recordio(path: Any) -> Shard:
    from ....formats import recordio

    try:
        x, y = recordio.read_dense(path.read_bytes())
    except Exception as exc:
        raise ClientError(f"Failed to load recordio-protobuf data with exception:\n{exc}") from None
    if y is None:
        raise ClientError(
            "Got input data without labels. Please check the input data set. If training job is running on multiple "
            "instances, please switch to using single instance if number of records in the data set is less than "
            "number of workers (16 * number of instance) in the cluster."
        )
    return Shard(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32).ravel())


def _read_parquet(path: Any) -> Shard:
    import pandas as pd

    try:
        values = pd.read_parquet(io.BytesIO(path.read_bytes())).to_numpy(dtype=np.float32)
    except Exception as exc:
        raise ClientError(f"Failed to load parquet data with exception:\n{exc}") from None
    return Shard(np.ascontiguousarray(values[:, 1:]), values[:, 0])


def _concat(shards: list[Shard]) -> Shard:
    if len(shards) == 1:
        return shards[0]
    from scipy.sparse import csr_matrix, issparse, vstack

    width = max(s.columns for s in shards)
    if any(issparse(s.x) for s in shards):
        parts = []
        for s in shards:
            m = csr_matrix(s.x)
            m.resize((m.shape[0], width))
            parts.append(m)
        x: Any = vstack(parts).tocsr()
    else:
        widths = {s.columns for s in shards}
        if len(widths) > 1:
            raise ClientError(f"Failed to load csv data with exception:\nfiles have different numbers of features: {sorted(widths)}")
        x = np.vstack([s.x for s in shards])
    y = np.concatenate([s.y for s in shards])
    weight = None
    if any(s.weight is not None for s in shards):
        weight = np.concatenate([s.weight if s.weight is not None else np.ones(s.rows, np.float32) for s in shards])
    return Shard(x, y, weight)
