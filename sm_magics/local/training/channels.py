"""Reading a downloaded channel into a matrix, as the first-party containers do.

RecordIO-protobuf is the default content type of the first-party algorithms;
CSV takes its label from the first ``label_size`` columns (1 unless the
content type says ``label_size=0``, which unsupervised algorithms need).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...algorithms.base import ClientError
from ...formats import recordio

RECORDIO_TYPES = ("application/x-recordio-protobuf", "application/x-recordio", "recordio-protobuf", "x-recordio-protobuf")
CSV_TYPES = ("text/csv", "csv", "text/x-csv")


@dataclass
class Channel:
    """One input channel as the container sees it: files on local disk."""

    name: str
    files: list[Path]
    content_type: str | None = None

    def read_dense(self, *, label_size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        return read_dense_channel(self, label_size=label_size)


def content_type_parts(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "application/x-recordio-protobuf", {}
    kind, *params = [part.strip() for part in content_type.split(";")]
    options = {}
    for param in params:
        if "=" in param:
            key, value = param.split("=", 1)
            options[key.strip().lower()] = value.strip()
    return kind.lower(), options


def read_dense_channel(channel: Channel, *, label_size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    kind, options = content_type_parts(channel.content_type)
    if not channel.files:
        raise ClientError(f"No data in channel '{channel.name}': its S3 location holds no objects")
    features, labels = [], []
    for path in channel.files:
        data = path.read_bytes()
        if not data:
            continue
        try:
            if kind in RECORDIO_TYPES:
                x, y = recordio.read_dense(data)
            elif kind in CSV_TYPES:
                size = int(options.get("label_size", 1 if label_size is None else label_size))
                x, y = _read_csv(data, size)
            else:
                raise ClientError(
                    f"{channel.content_type} is not an accepted ContentType for channel '{channel.name}'; "
                    "use application/x-recordio-protobuf or text/csv"
                )
        except ClientError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise ClientError(
                f"Unable to read data channel '{channel.name}'. Requested content-type is '{kind}'. "
                f"Please verify the data matches the requested content-type. (caused by {type(exc).__name__}: {exc}) "
                f"in file {path.name}"
            ) from None
        features.append(x)
        if y is not None:
            labels.append(y)
    if not features or sum(x.shape[0] for x in features) == 0:
        raise ClientError(f"No data in channel '{channel.name}': its files hold no records")
    widths = {x.shape[1] for x in features}
    if len(widths) > 1:
        raise ClientError(f"Files of channel '{channel.name}' have different numbers of features: {sorted(widths)}")
    x = np.vstack(features) if len(features) > 1 else features[0]
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ClientError(
            f"Channel '{channel.name}' contains NaN or infinite values ({int(bad.sum())} of them; first at record {row}, "
            f"feature {col}); remove or impute them before training"
        )
    y = np.concatenate(labels) if len(labels) == len(features) and labels else None
    return x, y


def _read_csv(data: bytes, label_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    import pandas as pd
    import io

    frame = pd.read_csv(io.BytesIO(data), header=None, dtype=np.float32)
    values = frame.to_numpy(dtype=np.float32)
    if label_size == 0:
        return values, None
    if values.shape[1] <= label_size:
        raise ValueError(f"rows have {values.shape[1]} column(s), not enough for a label and features")
    return values[:, label_size:], values[:, 0]
