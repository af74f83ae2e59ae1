"""SageMaker RecordIO-protobuf (``application/x-recordio-protobuf``) with numpy only.

Why this exists: the SageMaker SDK builds one protobuf message per row in Python, which
takes seconds for an MNIST-sized matrix (50 000 x 784), and sm_magics must work without
the SDK or protobuf installed.  Every row of a dense float matrix encodes to the same record
layout, so the whole stream is one preallocated ``uint8`` buffer filled column-block by
column-block through strided views; that buffer is the memory of the ``bytes`` object
returned (``buffers.filled_bytes``), so the stream is written once, with no copy after.
Rows whose byte length varies (``Int32Tensor`` varints) go through a vectorized scatter instead.

Layout (docs/algorithms.md A.6): each record is ``magic 0xCED7230A (u32 LE)``,
``lrecord (u32 LE: length in bits 0-28, split flag in bits 29-31)``, the serialized
``aialgs.data.Record`` and zero padding to a multiple of 4.  Protobuf fields are emitted
in field-number order with packed repeated scalars, exactly as protobuf's serializer
does, so the output is byte-identical to ``sagemaker.amazon.common``'s writer.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Union

import numpy as np

from .buffers import filled_bytes

__all__ = [
    "CONTENT_TYPE",
    "RECORDIO_MAGIC",
    "BytesValue",
    "Record",
    "ShapeTooLarge",
    "Tensor",
    "encode_dense",
    "encode_label_records",
    "encode_sparse",
    "parse_record",
    "read_dense",
    "read_records",
    "write_dense",
]

CONTENT_TYPE = "application/x-recordio-protobuf"
RECORDIO_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", RECORDIO_MAGIC)
_LENGTH_MASK = (1 << 29) - 1
_U64_MASK = (1 << 64) - 1

# Field numbers of the ``Value`` oneof in record.proto.
_FLOAT32, _FLOAT64, _INT32, _BYTES = 2, 3, 7, 9
_TENSOR_NAMES = {_FLOAT32: "Float32Tensor", _FLOAT64: "Float64Tensor", _INT32: "Int32Tensor"}
_FLOAT_DTYPES = {_FLOAT32: np.dtype("<f4"), _FLOAT64: np.dtype("<f8")}
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
# Bound on values encoded per batch in the varint path (keeps temporaries ~100 MB).
_VARINT_BATCH = 1 << 20
# Output bytes written per row block by the fixed-size path (fits a core's cache).
_FILL_BLOCK = 1 << 20


# --------------------------------------------------------------------------- decoded form


class ShapeTooLarge(ValueError):
    """A tensor whose ``shape`` claims more values than the reader allows (``size`` > ``limit``)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a tensor's shape holds {size} values, more than the {limit} expected")
        self.size = size
        self.limit = limit


@dataclass
class Tensor:
    """One ``Float32Tensor``/``Float64Tensor``/``Int32Tensor``; ``values.dtype`` tells which.

    ``keys`` is set only for sparse tensors (indices into the flattened ``shape``).
    """

    values: np.ndarray
    keys: np.ndarray | None = None
    shape: tuple[int, ...] | None = None

    def dense_size(self) -> int:
        """How many values the dense form holds: ``shape``'s product (exact, no overflow), else ``values.size``."""
        return math.prod(int(dim) for dim in self.shape) if self.shape else int(self.values.size)

    def to_dense(self, max_size: int | None = None) -> np.ndarray:
        """Values as a dense array (scattering ``keys`` into ``shape`` when sparse).

        ``shape`` comes from the stream, so a reader of untrusted records passes
        ``max_size``: a tensor whose dense form would hold more values raises
        :class:`ShapeTooLarge` before anything is allocated.
        """
        if max_size is not None and self.dense_size() > max_size:
            raise ShapeTooLarge(self.dense_size(), max_size)
        if self.keys is None:
            if self.shape and int(np.prod(self.shape)) == self.values.size:
                return self.values.reshape(self.shape)
            if self.shape and self.values.size == 0:  # sparse row without entries
                return np.zeros(self.shape, dtype=self.values.dtype)
            return self.values
        if not self.shape:
            raise ValueError("sparse tensor (keys present) has no shape")
        if self.keys.size != self.values.size:
            raise ValueError(
                f"sparse tensor has {self.keys.size} keys but {self.values.size} values"
            )
        size = int(np.prod(self.shape))
        if self.keys.size and int(self.keys.max()) >= size:
            raise ValueError(f"sparse tensor key {int(self.keys.max())} out of range for shape {self.shape}")
        dense = np.zeros(size, dtype=self.values.dtype)
        dense[self.keys.astype(np.intp)] = self.values
        return dense.reshape(self.shape)


@dataclass
class BytesValue:
    """A ``Bytes`` value: raw blobs (e.g. an image) plus an optional content type."""

    values: list[bytes]
    content_type: str | None = None


Value = Union[Tensor, BytesValue, None]  # None: a Value with no oneof member set


@dataclass
class Record:
    """One ``aialgs.data.Record``; map keys keep their order in the stream."""

    features: dict[str, Value] = field(default_factory=dict)
    label: dict[str, Value] = field(default_factory=dict)
    uid: str | None = None
    metadata: str | None = None
    configuration: str | None = None


# --------------------------------------------------------------------------- encoding

# A record is described as a list of pieces.  ``bytes`` is the same for every record;
# ``_Var`` holds one byte string per record.  Building the description costs O(pieces),
# not O(records); ``_assemble`` then materializes every record at once.


@dataclass
class _Var:
    """Per-record byte strings stored back to back.

    ``lengths`` is an int when all records have the same length (then ``data`` reshapes
    to ``(n, lengths)``) and an int64 array otherwise.
    """

    data: np.ndarray
    lengths: int | np.ndarray


_Piece = Union[bytes, _Var]


def _var(data: np.ndarray, lengths: np.ndarray) -> _Var:
    """Build a ``_Var``, collapsing equal lengths to an int to unlock the strided path."""
    if lengths.size and np.all(lengths == lengths[0]):
        return _Var(data, int(lengths[0]))
    return _Var(data, lengths.astype(np.int64))


def _piece_len(piece: _Piece) -> int | np.ndarray:
    return len(piece) if isinstance(piece, bytes) else piece.lengths


def _varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative ints as 64-bit two's complement (10 bytes)."""
    value &= _U64_MASK
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint-encode an integer array: (all encodings back to back, length of each).

    Byte ``k`` of every encoding is written in pass ``k``, over only the values that
    are that long, so typical small values cost one or two passes.
    """
    v = np.ascontiguousarray(values, dtype=np.int64).view(np.uint64).reshape(-1)
    lengths = np.ones(v.size, dtype=np.int64)
    for k in range(1, 10):
        longer = v >= np.uint64(1 << (7 * k))
        if not longer.any():
            break
        lengths += longer
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    position = np.cumsum(lengths) - lengths  # where each encoding starts
    remaining = lengths
    while v.size:
        more = remaining > 1
        out[position] = (v & np.uint64(0x7F)).astype(np.uint8) | (more.astype(np.uint8) << 7)
        v, position, remaining = v[more] >> np.uint64(7), position[more] + 1, remaining[more] - 1
    return out, lengths


def _varint_piece(value: int | np.ndarray) -> _Piece:
    if isinstance(value, (int, np.integer)):
        return _varint(int(value))
    data, lengths = _varints(value)
    return _var(data, lengths)


def _field(tag: int, inner: list[_Piece]) -> list[_Piece]:
    """A length-delimited field: tag byte, varint length of ``inner``, ``inner``."""
    size: int | np.ndarray = 0
    for piece in inner:
        size = size + _piece_len(piece)
    return [bytes([tag]), _varint_piece(size), *inner]


def _tensor_value(kind: int, data: _Var) -> list[_Piece]:
    """``Value{<kind>_tensor{values: data}}``; an empty packed field is omitted, as protobuf does."""
    tensor = [] if isinstance(data.lengths, int) and data.lengths == 0 else _field(0x0A, [data])
    return _field((kind << 3) | 2, tensor)


def _map_entry(record_field: int, key: str, value: list[_Piece]) -> list[_Piece]:
    """One entry of ``Record.features`` (field 1) or ``Record.label`` (field 2)."""
    raw = key.encode("utf-8")
    return _field((record_field << 3) | 2, [b"\x0a" + _varint(len(raw)) + raw, *_field(0x12, value)])


def _frame(payload: list[_Piece], n: int) -> list[_Piece]:
    """Wrap per-record payloads in RecordIO headers and padding (never split, like the SDK)."""
    size: int | np.ndarray = 0
    for piece in payload:
        size = size + _piece_len(piece)
    if int(np.max(size)) > _LENGTH_MASK:
        raise ValueError(f"record of {int(np.max(size))} bytes exceeds the RecordIO limit of {_LENGTH_MASK}")
    if isinstance(size, int):
        return [_MAGIC_BYTES + struct.pack("<I", size), *payload, bytes(-size % 4)]
    pad = -size % 4
    header = _Var(size.astype("<u4").view(np.uint8).reshape(n, 4), 4)
    return [_MAGIC_BYTES, header, *payload, _var(np.zeros(int(pad.sum()), np.uint8), pad)]


def _merge_constants(pieces: list[_Piece]) -> list[_Piece]:
    merged: list[_Piece] = []
    for piece in pieces:
        if isinstance(piece, bytes):
            if not piece:
                continue
            if merged and isinstance(merged[-1], bytes):
                merged[-1] += piece
                continue
        merged.append(piece)
    return merged


def _fixed_width(pieces: list[_Piece]) -> int | None:
    """Bytes per record when every record has the same size (merged pieces), else None."""
    if all(isinstance(p, bytes) or isinstance(p.lengths, int) for p in pieces):
        return sum(int(_piece_len(p)) for p in pieces)
    return None


def _fill_fixed(pieces: list[_Piece], out: np.ndarray) -> None:
    """Write fixed-size records into ``out`` (n, width): each piece fills a column block.

    Row block by row block, so that a block's constants, values and padding are written while
    its memory is in cache (one pass over the output instead of one per piece).
    """
    n, width = out.shape
    rows = max(1, _FILL_BLOCK // max(width, 1))
    blocks = [(p if isinstance(p, bytes) else p.data.reshape(n, -1)) for p in pieces]
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        offset = 0
        for block in blocks:
            if isinstance(block, bytes):
                w = len(block)
                out[start:stop, offset : offset + w] = np.frombuffer(block, np.uint8)
            else:
                w = block.shape[1]
                out[start:stop, offset : offset + w] = block[start:stop]
            offset += w


def _assemble_bytes(pieces: list[_Piece], n: int) -> bytes:
    """``_assemble(pieces, n).tobytes()``, written straight into the bytes object when records are fixed-size."""
    pieces = _merge_constants(pieces)
    width = _fixed_width(pieces)
    if width is None:
        return _assemble(pieces, n).tobytes()
    return filled_bytes(n * width, lambda out: _fill_fixed(pieces, out.reshape(n, width)))


def _assemble(pieces: list[_Piece], n: int) -> np.ndarray:
    """Materialize ``n`` records described by ``pieces`` into one flat uint8 buffer."""
    pieces = _merge_constants(pieces)
    width = _fixed_width(pieces)
    if width is not None:
        out = np.empty((n, width), dtype=np.uint8)
        _fill_fixed(pieces, out)
        return out.reshape(-1)
    lengths = [np.broadcast_to(np.asarray(_piece_len(p), dtype=np.int64), (n,)) for p in pieces]
    record_len = np.sum(lengths, axis=0)
    cursor = np.zeros(n, dtype=np.int64)  # where the next piece of each record starts
    np.cumsum(record_len[:-1], out=cursor[1:])
    out = np.empty(int(record_len.sum()), dtype=np.uint8)
    for p, lens in zip(pieces, lengths):
        if isinstance(p, bytes) or isinstance(p.lengths, int):
            w = int(_piece_len(p))
            src = np.frombuffer(p, np.uint8) if isinstance(p, bytes) else p.data.reshape(n, w)
            out[cursor[:, None] + np.arange(w)] = src
        else:
            src_start = np.cumsum(lens) - lens
            out[np.repeat(cursor - src_start, lens) + np.arange(p.data.size)] = p.data
        cursor += lens
    return out


def _tensor_kind(dtype: np.dtype, what: str) -> int:
    """Tensor type for a dtype, as the SDK's ``_resolve_type`` picks it."""
    native = np.dtype(dtype).newbyteorder("=")
    if native == np.dtype(np.int64):
        return _INT32
    if native == np.dtype(np.float64):
        return _FLOAT64
    if native == np.dtype(np.float32):
        return _FLOAT32
    raise ValueError(f"Unsupported dtype {dtype} on {what}: use float32, float64 or int64")


def _values_piece(kind: int, matrix: np.ndarray) -> _Var:
    """Packed ``values`` payload for each row of a 2-D array."""
    n, d = matrix.shape
    if kind in _FLOAT_DTYPES:
        data = np.ascontiguousarray(matrix, dtype=_FLOAT_DTYPES[kind]).view(np.uint8)  # (n, d * itemsize)
        return _Var(data, data.shape[1])
    if matrix.size and (matrix.min() < _INT32_MIN or matrix.max() > _INT32_MAX):
        raise ValueError("integer values must fit in int32 (they are written as an Int32Tensor)")
    data, lengths = _varints(matrix)
    return _var(data, lengths.reshape(n, d).sum(axis=1))


def _dense_pieces(
    feature_kind: int, features: _Var, label_kind: int | None, labels: _Var | None, n: int
) -> list[_Piece]:
    """Framed records with ``features["values"]`` and, if given, ``label["values"]``."""
    payload = _map_entry(1, "values", _tensor_value(feature_kind, features))
    if label_kind is not None and labels is not None:
        payload += _map_entry(2, "values", _tensor_value(label_kind, labels))
    return _frame(payload, n)


def _check_labels(labels: np.ndarray | None, n: int) -> tuple[np.ndarray | None, int | None]:
    """Validate one-label-per-row labels and pick their tensor type."""
    if labels is None:
        return None, None
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D vector (one label per row), got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"labels has {labels.shape[0]} entries but features has {n} rows; need one label per row")
    return labels, _tensor_kind(labels.dtype, "labels")


def _in_batches(n: int, rows: int, encode: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Encode rows ``[start, stop)`` batch by batch (bounds the varint path's temporaries)."""
    parts = [encode(start, min(start + rows, n)) for start in range(0, n, rows)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _dense_encoder(features: np.ndarray, labels: np.ndarray | None) -> tuple[int, int, bool, Callable[[int, int], list[_Piece]]]:
    """Check the input; return (rows, columns, whether records are fixed-size, rows [start, stop) as pieces)."""
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be a 2-D matrix (rows = records), got shape {features.shape}")
    n, d = features.shape
    if n == 0 or d == 0:
        raise ValueError(f"features is empty (shape {features.shape}); need at least one row and one column")
    feature_kind = _tensor_kind(features.dtype, "features")
    labels, label_kind = _check_labels(labels, n)

    def pieces(start: int, stop: int) -> list[_Piece]:
        label_piece = None if labels is None else _values_piece(label_kind, labels[start:stop, None])
        features_piece = _values_piece(feature_kind, features[start:stop])
        return _dense_pieces(feature_kind, features_piece, label_kind, label_piece, stop - start)

    # Fixed-size records (float features; labels float or of equal varint length) are
    # encoded in one go; otherwise the scatter path's index temporaries need batching.
    fixed_size = feature_kind != _INT32 and (
        label_kind != _INT32 or isinstance(_values_piece(_INT32, labels[:, None]).lengths, int)
    )
    return n, d, fixed_size, pieces


def _encode_dense_buffer(features: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    n, d, fixed_size, pieces = _dense_encoder(features, labels)
    rows = n if fixed_size else max(1, _VARINT_BATCH // d)
    return _in_batches(n, rows, lambda start, stop: _assemble(pieces(start, stop), stop - start))


def encode_dense(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """Encode a 2-D matrix (one record per row) plus optional scalar labels.

    Byte-identical to SDK 2.x ``write_numpy_to_dense_tensor``: float32 -> Float32Tensor,
    float64 -> Float64Tensor, int64 -> Int32Tensor (values must fit in int32); the tensor
    type of the labels follows their own dtype.  Raises ``ValueError`` for other dtypes,
    non-2-D or empty features, and labels that are not one value per row.
    """
    n, d, fixed_size, pieces = _dense_encoder(features, labels)
    if fixed_size:  # the common case (float features): written straight into the bytes object
        return _assemble_bytes(pieces(0, n), n)
    return _encode_dense_buffer(features, labels).tobytes()  # int32 varints: records differ in size


def write_dense(file: BinaryIO, features: np.ndarray, labels: np.ndarray | None = None) -> int:
    """Write :func:`encode_dense` output to a binary file object; returns bytes written."""
    buffer = _encode_dense_buffer(features, labels)
    file.write(memoryview(buffer))
    return buffer.size


def _optional_field(tag: int, data: _Var, n: int) -> list[_Piece]:
    """A packed field that, as in protobuf, is left out for records where it is empty."""
    if isinstance(data.lengths, int):
        return _field(tag, [data]) if data.lengths else []
    present = data.lengths > 0
    size_bytes, size_lengths = _varints(data.lengths[present])
    lengths = np.zeros(n, dtype=np.int64)
    lengths[present] = size_lengths
    return [
        _var(np.full(int(present.sum()), tag, dtype=np.uint8), present.astype(np.int64)),
        _var(size_bytes, lengths),
        data,
    ]


def _row_sums(lengths: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Per-row totals of per-entry byte lengths, rows delimited CSR-style by ``indptr``."""
    running = np.concatenate(([0], np.cumsum(lengths)))
    return (running[indptr[1:]] - running[indptr[:-1]]).astype(np.int64)


def encode_sparse(matrix: object, labels: np.ndarray | None = None) -> bytes:
    """Encode a scipy.sparse matrix as sparse records (``keys`` + ``shape``), one per row.

    Byte-identical to SDK 2.x ``write_spmatrix_to_sparse_tensor``: each row's stored
    entries in CSR order (explicit zeros included), keys as uint64 column indices,
    shape ``[n_columns]``; dtypes and labels as in :func:`encode_dense`.
    """
    if not hasattr(matrix, "tocsr"):
        raise TypeError(f"matrix must be a scipy.sparse matrix, got {type(matrix).__name__}")
    csr = matrix.tocsr()
    n, d = csr.shape
    if n == 0 or d == 0:
        raise ValueError(f"matrix is empty (shape {csr.shape}); need at least one row and one column")
    kind = _tensor_kind(csr.dtype, "matrix")
    labels, label_kind = _check_labels(labels, n)
    if kind == _INT32 and csr.nnz and (csr.data.min() < _INT32_MIN or csr.data.max() > _INT32_MAX):
        raise ValueError("integer values must fit in int32 (they are written as an Int32Tensor)")

    def encode(start: int, stop: int) -> np.ndarray:
        block, m = csr[start:stop], stop - start
        indptr = block.indptr - block.indptr[0]
        values = block.data[block.indptr[0] : block.indptr[-1]]
        if kind in _FLOAT_DTYPES:
            itemsize = _FLOAT_DTYPES[kind].itemsize
            value_piece = _var(values.astype(_FLOAT_DTYPES[kind]).view(np.uint8), np.diff(indptr) * itemsize)
        else:
            value_bytes, value_lengths = _varints(values)
            value_piece = _var(value_bytes, _row_sums(value_lengths, indptr))
        key_bytes, key_lengths = _varints(block.indices[block.indptr[0] : block.indptr[-1]])
        tensor = _optional_field(0x0A, value_piece, m)
        tensor += _optional_field(0x12, _var(key_bytes, _row_sums(key_lengths, indptr)), m)
        tensor += _field(0x1A, [_varint(d)])  # shape = [n_columns]
        payload = _map_entry(1, "values", _field((kind << 3) | 2, tensor))
        if labels is not None:
            label_piece = _values_piece(label_kind, labels[start:stop, None])
            payload += _map_entry(2, "values", _tensor_value(label_kind, label_piece))
        return _assemble(_frame(payload, m), m)

    rows = max(1, int(_VARINT_BATCH * n / max(csr.nnz, 1)))
    return _in_batches(n, rows, encode).tobytes()


def encode_label_records(labels: dict[str, np.ndarray]) -> bytes:
    """Encode inference responses: record ``i`` has ``label[name] = float32 tensor(arr[i])``.

    This is what k-means (``closest_cluster``, ``distance_to_cluster``) and PCA
    (``projection``) answer for ``Accept: application/x-recordio-protobuf``.  A 1-D
    array gives one value per record, a 2-D ``(n, c)`` array ``c`` values.  Keys are
    written in the dict's order.
    """
    if not labels:
        raise ValueError("labels is empty: need at least one named array")
    columns: list[tuple[str, np.ndarray]] = []
    for name, array in labels.items():
        array = np.asarray(array, dtype=np.float32)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise ValueError(f"label {name!r} must be 1-D (n,) or 2-D (n, c), got shape {array.shape}")
        columns.append((str(name), array))
    n = columns[0][1].shape[0]
    for name, array in columns:
        if array.shape[0] != n:
            raise ValueError(f"label {name!r} has {array.shape[0]} rows, expected {n} like {columns[0][0]!r}")
    payload: list[_Piece] = []
    for name, array in columns:
        payload += _map_entry(2, name, _tensor_value(_FLOAT32, _values_piece(_FLOAT32, array)))
    return _assemble_bytes(_frame(payload, n), n)


# --------------------------------------------------------------------------- decoding


def _read_varint(buf: memoryview, pos: int, base: int, what: str) -> tuple[int, int]:
    result = shift = 0
    start = pos
    while True:
        if pos >= len(buf):
            raise ValueError(f"{what}: truncated varint at byte {base + start}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64_MASK, pos
        shift += 7
        if shift >= 70:
            raise ValueError(f"{what}: varint longer than 10 bytes at byte {base + start}")


def _fields(buf: memoryview, base: int, what: str) -> Iterator[tuple[int, int, int | memoryview, int]]:
    """Iterate ``(field number, wire type, value, payload offset)`` over one message.

    ``base`` is the message's offset inside the record payload, for error messages.
    """
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos, base, what)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError(f"{what}: invalid field number 0 at byte {base + start}")
        if wire == 0:
            value, pos = _read_varint(buf, pos, base, what)
            yield number, wire, value, base + start
            continue
        if wire == 1:
            size = 8
        elif wire == 5:
            size = 4
        elif wire == 2:
            size, pos = _read_varint(buf, pos, base, what)
        else:
            raise ValueError(f"{what}: unknown wire type {wire} (field {number}) at byte {base + start}")
        if pos + size > len(buf):
            raise ValueError(
                f"{what}: truncated field {number} at byte {base + start}: needs {size} bytes, {len(buf) - pos} left"
            )
        yield number, wire, buf[pos : pos + size], base + pos
        pos += size


def _wire_error(what: str, number: int, wire: int, at: int) -> ValueError:
    return ValueError(f"{what}: field {number} has unexpected wire type {wire} at byte {at}")


def _decode_varints(raw: memoryview, what: str, at: int) -> np.ndarray:
    """Vectorized decoding of a packed varint field into uint64."""
    b = np.frombuffer(raw, dtype=np.uint8)
    if b.size == 0:
        return np.empty(0, dtype=np.uint64)
    ends = np.flatnonzero(b < 0x80)
    if ends.size == 0 or ends[-1] != b.size - 1:
        raise ValueError(f"{what}: truncated packed varint field at byte {at}")
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 10:
        raise ValueError(f"{what}: varint longer than 10 bytes in packed field at byte {at}")
    position = np.arange(b.size) - np.repeat(starts, lengths)
    parts = (b & 0x7F).astype(np.uint64) << (position.astype(np.uint64) * np.uint64(7))
    return np.bitwise_or.reduceat(parts, starts)


def _varint_values(wire: int, value: int | memoryview, what: str, number: int, at: int) -> np.ndarray:
    if wire == 0:
        return np.array([value], dtype=np.uint64)
    if wire == 2:
        return _decode_varints(value, what, at)
    raise _wire_error(what, number, wire, at)


def _parse_tensor(buf: memoryview, base: int, kind: int) -> Tensor:
    what = _TENSOR_NAMES[kind]
    values: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    shape: list[np.ndarray] = []
    for number, wire, value, at in _fields(buf, base, what):
        if number == 1 and kind == _INT32:
            raw = _varint_values(wire, value, what, number, at)
            values.append((raw & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32))
        elif number == 1:
            dtype = _FLOAT_DTYPES[kind]
            if wire not in (2, 5 if kind == _FLOAT32 else 1):
                raise _wire_error(what, number, wire, at)
            if len(value) % dtype.itemsize:
                raise ValueError(
                    f"{what}: packed values of {len(value)} bytes at byte {at} is not a multiple of {dtype.itemsize}"
                )
            values.append(np.frombuffer(value, dtype=dtype))
        elif number in (2, 3):
            (keys if number == 2 else shape).append(_varint_values(wire, value, what, number, at))
    dtype = np.int32 if kind == _INT32 else _FLOAT_DTYPES[kind].newbyteorder("=")
    all_keys = np.concatenate(keys) if keys else np.empty(0, np.uint64)
    return Tensor(
        values=np.concatenate(values).astype(dtype) if values else np.empty(0, dtype),
        keys=all_keys if all_keys.size else None,
        shape=tuple(int(s) for s in np.concatenate(shape)) if shape else None,
    )


def _text(raw: memoryview, what: str, at: int) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what}: string at byte {at} is not valid UTF-8") from exc


def _parse_value(buf: memoryview, base: int) -> Value:
    result: Value = None
    for number, wire, value, at in _fields(buf, base, "Value"):
        if number not in (_FLOAT32, _FLOAT64, _INT32, _BYTES):
            continue
        if wire != 2:
            raise _wire_error("Value", number, wire, at)
        if number == _BYTES:
            blob = BytesValue([])
            for n2, w2, v2, at2 in _fields(value, at, "Bytes"):
                if n2 in (1, 2) and w2 != 2:
                    raise _wire_error("Bytes", n2, w2, at2)
                if n2 == 1:
                    blob.values.append(bytes(v2))
                elif n2 == 2:
                    blob.content_type = _text(v2, "Bytes", at2)
            if isinstance(result, BytesValue):  # repeated message fields merge
                blob = BytesValue(result.values + blob.values, blob.content_type or result.content_type)
            result = blob
            continue
        tensor = _parse_tensor(value, at, number)
        if isinstance(result, Tensor) and result.values.dtype == tensor.values.dtype:
            keys = [k for k in (result.keys, tensor.keys) if k is not None]
            tensor = Tensor(
                np.concatenate([result.values, tensor.values]),
                np.concatenate(keys) if keys else None,
                (result.shape or ()) + (tensor.shape or ()) or None,
            )
        result = tensor
    return result


def parse_record(payload: bytes | memoryview) -> Record:
    """Decode one serialized ``aialgs.data.Record`` (accepts packed and unpacked repeats)."""
    buf = memoryview(payload).cast("B")
    record = Record()
    for number, wire, value, at in _fields(buf, 0, "Record"):
        if number > 5:
            continue  # unknown fields are skipped, as protobuf does
        if wire != 2:
            raise _wire_error("Record", number, wire, at)
        if number in (1, 2):
            key, item = "", None
            for n2, w2, v2, at2 in _fields(value, at, "map entry"):
                if n2 in (1, 2) and w2 != 2:
                    raise _wire_error("map entry", n2, w2, at2)
                if n2 == 1:
                    key = _text(v2, "map entry", at2)
                elif n2 == 2:
                    item = _parse_value(v2, at2)
            (record.features if number == 1 else record.label)[key] = item
        else:
            setattr(record, ("uid", "metadata", "configuration")[number - 3], _text(value, "Record", at))
    return record


def _iter_payloads(data: bytes | memoryview) -> Iterator[tuple[int, memoryview]]:
    """Yield ``(stream offset, payload)`` per logical record, joining split records."""
    for start, _, payload in _iter_spans(data):
        yield start, payload


def split_records(data: bytes | memoryview) -> list[bytes]:
    """The stream cut at record boundaries, each piece its framed bytes as they are (headers,
    padding, and every part of a split record together): what batch transform's
    ``SplitType=RecordIO`` sends, one piece or several per request."""
    buf = memoryview(data).cast("B")
    return [bytes(buf[start:end]) for start, end, _ in _iter_spans(buf)]


def _iter_spans(data: bytes | memoryview) -> Iterator[tuple[int, int, memoryview]]:
    """Yield ``(start, end, payload)`` per logical record: its framed bytes' span, split records joined."""
    buf = memoryview(data).cast("B")
    pos, end = 0, len(buf)
    parts: list[bytes] | None = None
    split_start = 0
    while pos < end:
        if end - pos < 8:
            raise ValueError(f"truncated RecordIO header at offset {pos}: {end - pos} bytes left, need 8")
        magic, lrecord = struct.unpack_from("<II", buf, pos)
        if magic != RECORDIO_MAGIC:
            raise ValueError(f"bad RecordIO magic 0x{magic:08X} at offset {pos} (expected 0x{RECORDIO_MAGIC:08X})")
        flag, length = lrecord >> 29, lrecord & _LENGTH_MASK
        body, following = pos + 8, pos + 8 + ((length + 3) & ~3)
        if following > end:
            raise ValueError(
                f"truncated record at offset {pos}: header announces {length} payload bytes "
                f"(+{-length % 4} padding), only {end - body} left"
            )
        chunk = buf[body : body + length]
        if flag == 0:
            if parts is not None:
                raise ValueError(
                    f"whole record at offset {pos} inside the split record started at offset {split_start}"
                )
            yield pos, following, chunk
        elif flag == 1:
            if parts is not None:
                raise ValueError(f"split record starts again at offset {pos} before the one at {split_start} ended")
            parts, split_start = [bytes(chunk)], pos
        elif flag in (2, 3):
            if parts is None:
                raise ValueError(f"split-record continuation (cflag={flag}) at offset {pos} without a start (cflag=1)")
            parts += [_MAGIC_BYTES, bytes(chunk)]  # the writer split where the magic word was
            if flag == 3:
                yield split_start, following, memoryview(b"".join(parts))
                parts = None
        else:
            raise ValueError(f"invalid RecordIO cflag {flag} at offset {pos}")
        pos = following
    if parts is not None:
        raise ValueError(f"stream ends inside the split record started at offset {split_start}")


def read_records(data: bytes | memoryview) -> list[Record]:
    """Decode a whole RecordIO-protobuf stream into :class:`Record` objects."""
    records = []
    for index, (offset, payload) in enumerate(_iter_payloads(data)):
        try:
            records.append(parse_record(payload))
        except ValueError as exc:
            raise ValueError(f"record {index} at offset {offset}: {exc}") from None
    return records


def _plain_tensor(value: Value) -> bool:
    return isinstance(value, Tensor) and value.keys is None and value.shape is None and value.values.size > 0


def _column_bytes(values: np.ndarray) -> tuple[int, int]:
    """(tensor kind, encoded byte width) of a record's dense ``values``."""
    if values.dtype == np.int32:
        return _INT32, sum(len(_varint(int(v))) for v in values)
    return (_FLOAT32 if values.dtype == np.float32 else _FLOAT64), values.nbytes


def _decode_column(block: np.ndarray, dtype: np.dtype) -> np.ndarray | None:
    """Decode an (n, w) byte block: w-byte floats, or one w-byte varint per row (None if not)."""
    if dtype != np.int32:
        return np.ascontiguousarray(block).view(dtype.newbyteorder("<")).astype(dtype, copy=False)
    if (block[:, :-1] < 0x80).any() or (block[:, -1] >= 0x80).any():
        return None
    shifts = np.arange(block.shape[1], dtype=np.uint64) * np.uint64(7)
    value = np.bitwise_or.reduce((block & 0x7F).astype(np.uint64) << shifts, axis=1)
    return (value & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)[:, None]


def _read_dense_fast(data: bytes | memoryview) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Equal-size records in canonical layout: view the stream as an (n, record size) matrix.

    Features must be float tensors (int32 features vary in size); the label may be a
    float or one-value int32 tensor.  The first record fixes the layout, which is
    rebuilt with the encoder and checked against every record's header bytes.
    Returns None when the stream does not qualify; the caller then falls back.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size < 8:
        return None
    magic, lrecord = struct.unpack_from("<II", raw, 0)
    if magic != RECORDIO_MAGIC or lrecord > _LENGTH_MASK or raw.size % (8 + ((lrecord + 3) & ~3)):
        return None
    try:
        first = parse_record(raw[8 : 8 + lrecord].data)
    except ValueError:
        return None
    features, labels = first.features.get("values"), first.label.get("values")
    if (
        list(first.features) != ["values"]
        or not _plain_tensor(features)
        or features.values.dtype == np.int32
        or (first.label and (list(first.label) != ["values"] or not _plain_tensor(labels) or labels.values.size != 1))
        or (first.uid, first.metadata, first.configuration) != (None, None, None)
    ):
        return None
    columns = [features] + ([labels] if first.label else [])
    layout = [_column_bytes(column.values) for column in columns]
    dummies = [_Var(np.zeros(width, np.uint8), width) for _, width in layout]
    template = _merge_constants(
        _dense_pieces(layout[0][0], dummies[0], layout[-1][0] if labels else None, dummies[-1] if labels else None, 1)
    )
    matrix = raw.reshape(-1, 8 + ((lrecord + 3) & ~3))
    if sum(int(_piece_len(p)) for p in template) != matrix.shape[1]:
        return None
    decoded = []
    offset = 0
    for piece in template:
        width = int(_piece_len(piece))
        block = matrix[:, offset : offset + width]
        offset += width
        if isinstance(piece, bytes):
            if (block != np.frombuffer(piece, np.uint8)).any():
                return None
        else:
            decoded.append(_decode_column(block, columns[len(decoded)].values.dtype))
            if decoded[-1] is None:
                return None
    return decoded[0], (decoded[1].reshape(-1) if labels else None)


def read_dense(data: bytes | memoryview, max_width: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Turn a stream of dense records into ``(features (n, d), labels (n,) or None)``.

    Streams written by :func:`encode_dense` or the SDK with float data are sliced
    directly; anything else (int32 varints, sparse rows, extra fields) goes through
    :func:`read_records`.  Raises ``ValueError`` for empty streams, rows of differing
    length, non-tensor features, or labels that are not one scalar per record;
    :class:`ShapeTooLarge` for a record whose sparse ``shape`` is wider than
    ``max_width`` (given by readers of untrusted requests).
    """
    fast = _read_dense_fast(data)
    if fast is not None:
        return fast
    records = read_records(data)
    if not records:
        raise ValueError("no records in the stream")
    rows, labels = [], []
    for index, record in enumerate(records):
        features = record.features.get("values")
        if not isinstance(features, Tensor):
            raise ValueError(f"record {index} has no 'values' feature tensor")
        rows.append(features.to_dense(max_width).reshape(-1))
        if len(rows[-1]) != len(rows[0]):
            raise ValueError(f"record {index} has {len(rows[-1])} features, record 0 has {len(rows[0])}")
        label = record.label.get("values")
        if label is not None and (not isinstance(label, Tensor) or label.values.size != 1):
            raise ValueError(f"record {index}: label 'values' is not a single scalar")
        labels.append(label)
    present = [label is not None for label in labels]
    if any(present) and not all(present):
        raise ValueError(f"record {present.index(not present[0])} differs from record 0 in having a label")
    y = np.concatenate([label.values for label in labels]) if all(present) else None
    return np.stack(rows), y
