"""MXNet NDArray list/dict files (``mx.nd.save`` / ``mx.nd.load``) without mxnet.

Why: SageMaker's k-means and PCA containers store their model (``model_algo-1`` inside
``model.tar.gz``) in this format, mxnet no longer installs on current Python/numpy, and
the local engine must both read real artifacts and write ones that are byte-identical
to what the containers produce (docs/algorithms.md A.5).

File layout, all little-endian::

    u64 0x112 | u64 0 | u64 N | N x array record | u64 K | K x (u64 length, name bytes)

``K == 0`` means a list, ``K == N`` a dict.  An array record (V2) is
``u32 0xF993FAC9 | i32 storage type | u32 ndim | ndim x i64 dims | i32 dev_type |
i32 dev_id | i32 dtype flag | raw C-order data``.  V1 lacks the storage type; legacy
V0 starts directly with ``u32 ndim`` followed by ``u32`` dims; V3 (numpy-shape
semantics) is V2 with a signed ndim where -1 means "no array" and 0 a scalar.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["LIST_MAGIC", "load", "save"]

LIST_MAGIC = 0x112
_V1_MAGIC, _V2_MAGIC, _V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_CPU, _DEV_ID = 1, 0
_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
}
_FLAGS = {dtype.newbyteorder("="): flag for flag, dtype in _DTYPES.items()}
_STORAGE = {1: "row_sparse", 2: "csr"}


def _array_record(array: np.ndarray, where: str) -> bytes:
    array = np.asarray(array)
    flag = _FLAGS.get(array.dtype.newbyteorder("="))
    if flag is None:
        supported = ", ".join(str(d.newbyteorder("=")) for d in _DTYPES.values())
        raise ValueError(f"{where}: dtype {array.dtype} is not storable in an NDArray file (supported: {supported})")
    if array.ndim == 0:
        raise ValueError(f"{where}: 0-d arrays are not storable in the V2 format; reshape to (1,)")
    header = struct.pack(f"<IiI{array.ndim}qiii", _V2_MAGIC, 0, array.ndim, *array.shape, _CPU, _DEV_ID, flag)
    return header + np.ascontiguousarray(array, dtype=_DTYPES[flag]).tobytes()


def save(arrays: list[np.ndarray] | tuple[np.ndarray, ...] | dict[str, np.ndarray]) -> bytes:
    """Serialize arrays exactly as mxnet 1.x ``mx.nd.save`` does (dense, cpu(0), V2).

    A list/tuple is stored without names and loads back as a list; a dict keeps its
    insertion order (an empty dict therefore loads back as an empty list, as in mxnet).
    """
    if isinstance(arrays, dict):
        names = list(arrays)
        values = list(arrays.values())
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"NDArray dict keys must be str, got {type(name).__name__}")
    elif isinstance(arrays, (list, tuple)):
        names, values = [], list(arrays)
    else:
        raise TypeError(f"save() takes a list or dict of arrays, got {type(arrays).__name__}")
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(values))]
    for index, array in enumerate(values):
        parts.append(_array_record(array, f"array {names[index]!r}" if names else f"array {index}"))
    parts.append(struct.pack("<Q", len(names)))
    for name in names:
        raw = name.encode("utf-8")
        parts.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(parts)


class _Reader:
    """Bounds-checked little-endian cursor that reports what it was reading when it ran out."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.buf = memoryview(data).cast("B")
        self.pos = 0

    def take(self, size: int, what: str) -> memoryview:
        if size < 0 or self.pos + size > len(self.buf):
            raise ValueError(
                f"truncated NDArray file: need {size} bytes for {what} at offset {self.pos}, "
                f"{len(self.buf) - self.pos} left"
            )
        chunk = self.buf[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[int, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def _read_array(reader: _Reader, index: int) -> np.ndarray:
    where = f"array {index}"
    start = reader.pos
    (magic,) = reader.unpack("I", f"{where} magic")
    if magic in (_V2_MAGIC, _V3_MAGIC):
        (storage,) = reader.unpack("i", f"{where} storage type")
        if storage != 0:
            kind = _STORAGE.get(storage, f"unknown storage type {storage}")
            raise ValueError(f"{where} at offset {start}: {kind} storage is not supported (dense only)")
    if magic in (_V1_MAGIC, _V2_MAGIC, _V3_MAGIC):
        (ndim,) = reader.unpack("i", f"{where} ndim")
        none = ndim == -1 if magic == _V3_MAGIC else ndim == 0
        if ndim < (-1 if magic == _V3_MAGIC else 0) or ndim > 32:
            raise ValueError(f"{where} at offset {start}: implausible ndim {ndim}")
        shape = reader.unpack(f"{max(ndim, 0)}q", f"{where} shape")
    else:  # legacy V0: the first word is ndim, dims are u32
        ndim = magic
        if ndim > 32:
            raise ValueError(f"{where} at offset {start}: bad array magic 0x{magic:08X}")
        none = ndim == 0
        shape = reader.unpack(f"{ndim}I", f"{where} shape")
    if none:
        raise ValueError(f"{where} at offset {start}: empty (none) NDArray is not supported")
    if any(dim < 0 for dim in shape):
        raise ValueError(f"{where} at offset {start}: unknown dimension in shape {shape}")
    dev_type, _dev_id, flag = reader.unpack("iii", f"{where} context and dtype")
    if dev_type not in (1, 2, 3):
        raise ValueError(f"{where} at offset {start}: invalid device type {dev_type}")
    if flag not in _DTYPES:
        raise ValueError(f"{where} at offset {start}: unsupported dtype flag {flag}")
    dtype = _DTYPES[flag]
    count = int(np.prod(shape, dtype=np.int64))
    raw = reader.take(count * dtype.itemsize, f"{where} data")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("=")).reshape(shape)


def load(data: bytes | memoryview) -> list[np.ndarray] | dict[str, np.ndarray]:
    """Parse an NDArray file: a list when it has no names, else a dict in file order.

    Reads V0/V1/V2/V3 dense records.  Raises ``ValueError`` for a wrong file magic,
    truncation, trailing bytes, sparse arrays or a name count that is neither 0 nor N.
    """
    reader = _Reader(data)
    magic, _reserved, count = reader.unpack("QQQ", "file header")
    if magic != LIST_MAGIC:
        raise ValueError(f"not an NDArray file: magic 0x{magic:X} at offset 0 (expected 0x{LIST_MAGIC:X})")
    if count > len(reader.buf):
        raise ValueError(f"truncated or corrupt NDArray file: header claims {count} arrays")
    arrays = [_read_array(reader, index) for index in range(count)]
    (name_count,) = reader.unpack("Q", "name count")
    if name_count not in (0, count):
        raise ValueError(f"NDArray file has {name_count} names for {count} arrays (must be 0 or {count})")
    names = []
    for index in range(name_count):
        (size,) = reader.unpack("Q", f"length of name {index}")
        raw = reader.take(size, f"name {index}")
        try:
            names.append(bytes(raw).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"name {index} is not valid UTF-8") from exc
    if reader.pos != len(reader.buf):
        raise ValueError(f"{len(reader.buf) - reader.pos} unexpected trailing bytes at offset {reader.pos}")
    return dict(zip(names, arrays)) if names else arrays
