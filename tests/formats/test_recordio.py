"""RecordIO-protobuf writer/reader: exact bytes, round trips, errors, and SDK 2.x parity."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from sm_magics.formats import recordio
from sm_magics.formats.recordio import (
    BytesValue,
    Tensor,
    encode_dense,
    encode_label_records,
    encode_sparse,
    parse_record,
    read_dense,
    read_records,
    write_dense,
)

MAGIC = bytes.fromhex("0a23d7ce")


# -- a deliberately naive protobuf/RecordIO builder, used as an independent oracle --------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = b""
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            return out + bytes([low])
        out += bytes([low | 0x80])


def _ld(field: int, body: bytes) -> bytes:
    """Length-delimited field."""
    return _varint(field << 3 | 2) + _varint(len(body)) + body


def _frame(payload: bytes, cflag: int = 0) -> bytes:
    return MAGIC + struct.pack("<I", cflag << 29 | len(payload)) + payload + bytes(-len(payload) % 4)


def _entry(field: int, key: str, value: bytes) -> bytes:
    return _ld(field, _ld(1, key.encode()) + _ld(2, value))


# -- exact bytes from docs/algorithms.md A.6 ------------------------------------------------


def test_doc_example_dense_float32_with_label() -> None:
    payload = bytes.fromhex(
        "0a16 0a06 76616c756573 120c 120a 0a08 0000803f 00000040"
        " 1212 0a06 76616c756573 1208 1206 0a04 00004040".replace(" ", "")
    )
    assert len(payload) == 44
    data = encode_dense(np.array([[1.0, 2.0]], dtype=np.float32), np.array([3.0], dtype=np.float32))
    assert data == MAGIC + struct.pack("<I", 44) + payload


def test_doc_example_float64_and_int32_value_tags() -> None:
    f64 = encode_dense(np.array([[1.0]]))
    payload = bytes.fromhex("0a16 0a06 76616c756573 120c 1a0a 0a08 000000000000f03f".replace(" ", ""))
    assert f64 == MAGIC + struct.pack("<I", 24) + payload
    i32 = encode_dense(np.array([[5]], dtype=np.int64))
    payload = bytes.fromhex("0a0f 0a06 76616c756573 1205 3a03 0a01 05".replace(" ", ""))
    assert i32 == MAGIC + struct.pack("<I", 17) + payload + b"\0\0\0"


def test_doc_example_sparse_float32() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    matrix = sparse.csr_matrix(([1.0], ([0], [3])), shape=(1, 10), dtype=np.float32)
    data = encode_sparse(matrix)
    payload = data[8 : 8 + struct.unpack_from("<I", data, 4)[0]]
    assert payload.endswith(bytes.fromhex("120c 0a04 0000803f 1201 03 1a01 0a".replace(" ", "")))
    (record,) = read_records(data)
    tensor = record.features["values"]
    assert tensor.keys.tolist() == [3] and tensor.shape == (10,) and tensor.values.tolist() == [1.0]
    assert tensor.to_dense().tolist() == [0, 0, 0, 1.0, 0, 0, 0, 0, 0, 0]


def test_kmeans_style_response_bytes() -> None:
    data = encode_label_records({"closest_cluster": np.array([4.0]), "distance_to_cluster": np.array([0.5])})
    value = lambda x: _ld(2, _ld(1, struct.pack("<f", x)))  # noqa: E731
    expected = _entry(2, "closest_cluster", value(4.0)) + _entry(2, "distance_to_cluster", value(0.5))
    assert data == _frame(expected)


# -- encoder against the naive oracle ---------------------------------------------------------


def _oracle_dense(features: np.ndarray, labels: np.ndarray | None) -> bytes:
    def value(row: np.ndarray) -> bytes:
        if row.dtype == np.float32:
            return _ld(2, _ld(1, row.astype("<f4").tobytes()))
        if row.dtype == np.float64:
            return _ld(3, _ld(1, row.astype("<f8").tobytes()))
        return _ld(7, _ld(1, b"".join(_varint(int(v)) for v in row)))

    out = b""
    for i, row in enumerate(features):
        payload = _entry(1, "values", value(row))
        if labels is not None:
            payload += _entry(2, "values", value(labels[i : i + 1]))
        out += _frame(payload)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (17, 33), (2, 300)])
@pytest.mark.parametrize("label_dtype", [None, np.float32, np.float64, np.int64])
def test_dense_matches_oracle_and_round_trips(dtype, shape, label_dtype) -> None:
    rng = np.random.default_rng(sum(shape))
    features = (rng.normal(size=shape) * 1000).astype(dtype)
    labels = None if label_dtype is None else (rng.normal(size=shape[0]) * 1e5).astype(label_dtype)
    data = encode_dense(features, labels)
    assert data == _oracle_dense(features, labels)
    x, y = read_dense(data)
    assert x.shape == shape
    assert x.dtype == (np.int32 if dtype is np.int64 else dtype)
    np.testing.assert_array_equal(x, features)
    if labels is None:
        assert y is None
    else:
        np.testing.assert_array_equal(y, labels)
    records = read_records(data)
    assert len(records) == shape[0]
    np.testing.assert_array_equal(records[-1].features["values"].values, features[-1])


def test_int32_extremes_and_range_check() -> None:
    features = np.array([[-(2**31), -1, 0, 1, 127, 128, 2**31 - 1]], dtype=np.int64)
    data = encode_dense(features)
    assert data == _oracle_dense(features, None)
    np.testing.assert_array_equal(read_dense(data)[0], features)
    with pytest.raises(ValueError, match="int32"):
        encode_dense(np.array([[2**31]], dtype=np.int64))


def test_int_rows_of_different_byte_lengths() -> None:
    features = np.array([[1, 2], [300, -7], [0, 2**20]], dtype=np.int64)
    data = encode_dense(features, np.array([1, -1, 1000], dtype=np.int64))
    x, y = read_dense(data)
    np.testing.assert_array_equal(x, features)
    assert y.tolist() == [1, -1, 1000]


def test_layout_independent_input() -> None:
    base = np.arange(60, dtype=np.float32).reshape(6, 10)
    expected = encode_dense(base)
    assert encode_dense(np.asfortranarray(base)) == expected
    assert encode_dense(base.astype(">f4")) == expected
    wide = np.zeros((6, 20), dtype=np.float32)
    wide[:, ::2] = base
    assert encode_dense(wide[:, ::2]) == expected


def test_write_dense_to_file() -> None:
    features = np.ones((4, 3), dtype=np.float32)
    buffer = io.BytesIO()
    written = write_dense(buffer, features, np.zeros(4, dtype=np.float32))
    assert buffer.getvalue() == encode_dense(features, np.zeros(4, dtype=np.float32))
    assert written == len(buffer.getvalue())


@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (np.ones(3, dtype=np.float32), None, "2-D"),
        (np.ones((2, 2, 2), dtype=np.float32), None, "2-D"),
        (np.ones((0, 3), dtype=np.float32), None, "empty"),
        (np.ones((3, 0), dtype=np.float32), None, "empty"),
        (np.ones((3, 2), dtype=np.int32), None, "Unsupported dtype int32"),
        (np.ones((3, 2), dtype=bool), None, "Unsupported dtype bool"),
        (np.ones((3, 2), dtype=np.float32), np.ones(2, dtype=np.float32), "2 entries but features has 3 rows"),
        (np.ones((3, 2), dtype=np.float32), np.ones((3, 1), dtype=np.float32), "1-D"),
        (np.ones((3, 2), dtype=np.float32), np.ones(3, dtype=np.float16), "Unsupported dtype float16 on labels"),
    ],
)
def test_dense_validation(features, labels, message) -> None:
    with pytest.raises(ValueError, match=message):
        encode_dense(features, labels)


def test_label_records_projection_and_order() -> None:
    projection = np.arange(12, dtype=np.float64).reshape(4, 3)
    data = encode_label_records({"projection": projection, "aux": np.arange(4)})
    records = read_records(data)
    assert len(records) == 4
    for i, record in enumerate(records):
        assert list(record.label) == ["projection", "aux"] and record.features == {}
        assert record.label["projection"].values.dtype == np.float32
        np.testing.assert_array_equal(record.label["projection"].values, projection[i])
        assert record.label["aux"].values.tolist() == [i]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({}, "empty"),
        ({"a": np.zeros(3), "b": np.zeros(4)}, "'b' has 4 rows, expected 3"),
        ({"a": np.zeros((2, 2, 2))}, "1-D"),
    ],
)
def test_label_records_validation(labels, message) -> None:
    with pytest.raises(ValueError, match=message):
        encode_label_records(labels)


def test_sparse_round_trip_with_empty_rows(monkeypatch) -> None:
    sparse = pytest.importorskip("scipy.sparse")
    dense = np.array([[0, 0, 0, 0], [1.5, 0, 0, -2], [0, 0, 0, 0], [0, 3, 0, 0]], dtype=np.float64)
    data = encode_sparse(sparse.csr_matrix(dense), np.array([0, 1, 0, 1], dtype=np.int64))
    monkeypatch.setattr(recordio, "_VARINT_BATCH", 1)  # one row per batch
    assert encode_sparse(sparse.csr_matrix(dense), np.array([0, 1, 0, 1], dtype=np.int64)) == data
    records = read_records(data)
    assert records[0].features["values"].keys is None and records[0].features["values"].shape == (4,)
    assert records[1].features["values"].keys.tolist() == [0, 3]
    x, y = read_dense(data)
    np.testing.assert_array_equal(x, dense)
    assert y.tolist() == [0, 1, 0, 1]
    with pytest.raises(TypeError):
        encode_sparse(dense)


# -- decoder: general records, protobuf variants, framing -----------------------------------


def test_unpacked_repeated_fields_and_extras() -> None:
    float32_unpacked = b"".join(b"\x0d" + struct.pack("<f", v) for v in (1.0, -2.5))
    float64_mixed = b"\x09" + struct.pack("<d", 0.25) + _ld(1, struct.pack("<2d", 1.0, 2.0))
    int32_unpacked = b"".join(b"\x08" + _varint(v) for v in (7, -3)) + b"\x10\x05\x10\x01\x18\x0a"
    blob = _ld(1, b"\x00\x01") + _ld(1, b"xyz") + _ld(2, b"image/png")
    payload = (
        _entry(1, "values", _ld(2, float32_unpacked))
        + _entry(1, "f64", _ld(3, float64_mixed))
        + _entry(1, "ints", _ld(7, int32_unpacked))
        + _entry(1, "blob", _ld(9, blob))
        + _entry(1, "nothing", b"")
        + _ld(3, b"uid-1")
        + _ld(4, b"meta")
        + _ld(5, b'{"k": 1}')
        + b"\xf8\x01\x2a"  # unknown field 31 (varint): skipped
    )
    (record,) = read_records(_frame(payload))
    assert record.features["values"].values.tolist() == [1.0, -2.5]
    assert record.features["values"].values.dtype == np.float32
    assert record.features["f64"].values.tolist() == [0.25, 1.0, 2.0]
    ints = record.features["ints"]
    assert ints.values.dtype == np.int32 and ints.values.tolist() == [7, -3]
    assert ints.keys.tolist() == [5, 1] and ints.shape == (10,)
    assert ints.to_dense().tolist() == [0, -3, 0, 0, 0, 7, 0, 0, 0, 0]
    assert record.features["blob"] == BytesValue([b"\x00\x01", b"xyz"], "image/png")
    assert record.features["nothing"] is None
    assert (record.uid, record.metadata, record.configuration) == ("uid-1", "meta", '{"k": 1}')


def test_sparse_to_dense_checks_keys() -> None:
    with pytest.raises(ValueError, match="2 keys but 1 values"):
        Tensor(np.array([1.0]), np.array([0, 1], dtype=np.uint64), (4,)).to_dense()
    with pytest.raises(ValueError, match="out of range"):
        Tensor(np.array([1.0]), np.array([9], dtype=np.uint64), (4,)).to_dense()


def test_split_records_are_reassembled() -> None:
    blob = b"ab" + MAGIC + b"cd" + MAGIC + b"ef"
    payload = _entry(1, "image", _ld(9, _ld(1, blob)))
    first, second, third = payload.split(MAGIC)
    two_parts = _frame(first + MAGIC + second, 1) + _frame(third, 3)
    three_parts = _frame(first, 1) + _frame(second, 2) + _frame(third, 3)
    for stream in (two_parts, three_parts):
        records = read_records(_frame(_ld(3, b"before")) + stream + _frame(_ld(3, b"after")))
        assert [r.uid for r in records] == ["before", None, "after"]
        assert records[1].features["image"] == BytesValue([blob])


def test_split_records_cuts_at_record_boundaries_keeping_split_records_whole() -> None:
    """Batch transform's SplitType=RecordIO: one framed piece per record, as the stream had it."""
    payload = _entry(1, "image", _ld(9, _ld(1, b"ab" + MAGIC + b"cd")))
    first, second = payload.split(MAGIC)
    before, split, after = _frame(_ld(3, b"before")), _frame(first, 1) + _frame(second, 3), _frame(_ld(3, b"after"))
    assert recordio.split_records(before + split + after) == [before, split, after]
    assert recordio.split_records(b"") == []
    with pytest.raises(ValueError, match="truncated record"):
        recordio.split_records(before + after[:-4])
    with pytest.raises(ValueError, match="bad RecordIO magic"):
        recordio.split_records(before + b"\x00" * 8)


def test_read_dense_falls_back_for_non_canonical_streams() -> None:
    rows = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    canonical = encode_dense(rows)
    with_uid = b"".join(
        _frame(_entry(1, "values", _ld(2, _ld(1, row.tobytes()))) + _ld(3, b"u%d" % i)) for i, row in enumerate(rows)
    )
    unpacked = b"".join(
        _frame(_entry(1, "values", _ld(2, b"".join(b"\x0d" + v.tobytes() for v in row)))) for row in rows
    )
    for stream in (canonical, with_uid, unpacked):
        x, y = read_dense(stream)
        np.testing.assert_array_equal(x, rows)
        assert y is None


def test_read_dense_int_labels_equal_and_unequal_widths() -> None:
    features = np.arange(6, dtype=np.float32).reshape(2, 3)
    for labels in (np.array([3, 9]), np.array([1, 300]), np.array([-1, 5])):
        x, y = read_dense(encode_dense(features, labels))
        np.testing.assert_array_equal(x, features)
        assert y.dtype == np.int32 and y.tolist() == labels.tolist()


def test_read_dense_checks_every_record_not_just_the_first() -> None:
    data = bytearray(encode_dense(np.ones((3, 2), dtype=np.float32)))
    position = data.index(b"values", len(data) // 3 * 2)
    data[position + 5] = ord("z")  # third record's key becomes "valuez"
    with pytest.raises(ValueError, match="record 2 has no 'values' feature tensor"):
        read_dense(bytes(data))


def test_batched_encoding_matches_single_pass(monkeypatch) -> None:
    rng = np.random.default_rng(5)
    features = rng.integers(-300, 300, size=(9, 4))
    labels = rng.integers(-2, 200, size=9)
    floats = rng.random((9, 4)).astype(np.float32)
    expected = encode_dense(features, labels), encode_dense(floats, labels)
    monkeypatch.setattr(recordio, "_VARINT_BATCH", 10)
    assert (encode_dense(features, labels), encode_dense(floats, labels)) == expected
    assert expected[0] == _oracle_dense(features, labels)
    assert expected[1] == _oracle_dense(floats, labels)


def test_read_dense_detects_a_corrupted_header_in_a_later_record() -> None:
    data = bytearray(encode_dense(np.ones((3, 4), dtype=np.float32)))
    record_size = len(data) // 3
    data[2 * record_size] ^= 0xFF
    with pytest.raises(ValueError, match=f"bad RecordIO magic 0x[0-9A-F]+ at offset {2 * record_size}"):
        read_dense(bytes(data))


ONE_ROW = encode_dense(np.ones((1, 2), np.float32))
READ_DENSE_ERRORS = [
    (b"", "no records"),
    (_frame(_entry(1, "other", b"")), "no 'values' feature tensor"),
    (ONE_ROW + encode_dense(np.ones((1, 3), np.float32)), "record 1 has 3 features"),
    (ONE_ROW + encode_dense(np.ones((1, 2), np.float32), np.ones(1, np.float32)), "having a label"),
    (_frame(_entry(1, "values", _ld(2, _ld(1, bytes(4)))) + _entry(2, "values", _ld(2, _ld(1, bytes(8))))), "scalar"),
]


@pytest.mark.parametrize(("stream", "message"), READ_DENSE_ERRORS, ids=[m for _, m in READ_DENSE_ERRORS])
def test_read_dense_errors(stream, message) -> None:
    with pytest.raises(ValueError, match=message):
        read_dense(stream)


GOOD = encode_dense(np.ones((2, 3), dtype=np.float32))  # two records of 36 bytes
MALFORMED = [
    (GOOD + b"\x01\x02\x03", "truncated RecordIO header at offset 72: 3 bytes left"),
    (GOOD[:-1], r"truncated record at offset 36: header announces 28 payload bytes \(\+0 padding\), only 27 left"),
    (b"\x00" * 8, "bad RecordIO magic 0x00000000 at offset 0"),
    (GOOD[:36] + b"ZZZZ" + GOOD[40:], "bad RecordIO magic 0x5A5A5A5A at offset 36"),
    (_frame(b"", 2), r"continuation \(cflag=2\) at offset 0 without a start"),
    (_frame(b"ab", 1), "stream ends inside the split record started at offset 0"),
    (_frame(b"ab", 1) + GOOD, "whole record at offset 12 inside the split record started at offset 0"),
    (_frame(b"ab", 1) + _frame(b"cd", 1), "split record starts again at offset 12"),
    (_frame(b"ab", 4), "invalid RecordIO cflag 4 at offset 0"),
    (_frame(b"\x0b"), r"unknown wire type 3 \(field 1\) at byte 0"),
    (_frame(b"\x0f"), "unknown wire type 7"),
    (_frame(b"\x08\x01"), "Record: field 1 has unexpected wire type 0 at byte 0"),
    (_frame(b"\x1a\x05ab"), "Record: truncated field 3 at byte 0: needs 5 bytes, 2 left"),
    (_frame(b"\x1a\xff"), "Record: truncated varint at byte 1"),
    (_frame(b"\x1a" + b"\xff" * 11), "varint longer than 10 bytes"),
    (_frame(b"\x1a\x02\xff\xfe"), "not valid UTF-8"),
    (_frame(_entry(1, "values", _ld(2, b"\x0a\x03abc"))), "packed values of 3 bytes .* not a multiple of 4"),
    (_frame(_entry(1, "values", _ld(7, b"\x0a\x01\x80"))), "Int32Tensor: truncated packed varint"),
    (_frame(_entry(1, "values", _ld(3, b"\x0d" + bytes(4)))), "Float64Tensor: field 1 has unexpected wire type 5"),
    (_frame(_entry(1, "values", b"\x10\x01")), "Value: field 2 has unexpected wire type 0"),
    (_frame(b"\x00"), "invalid field number 0"),
]


@pytest.mark.parametrize(("stream", "message"), MALFORMED, ids=[m[:40] for _, m in MALFORMED])
def test_malformed_streams(stream, message) -> None:
    with pytest.raises(ValueError, match=message):
        read_records(stream)
    with pytest.raises(ValueError):
        read_dense(stream)


def test_errors_name_the_record() -> None:
    with pytest.raises(ValueError, match=r"record 2 at offset 72: Record: unknown wire type 6"):
        read_records(GOOD + _frame(b"\x0e"))


def test_parse_record_single_payload() -> None:
    record = parse_record(_entry(2, "score", _ld(2, _ld(1, struct.pack("<f", 0.75)))))
    assert record.features == {} and record.label["score"].values.tolist() == [0.75]
    with pytest.raises(ValueError, match="map entry: truncated field 1"):
        parse_record(_ld(1, b"\x0a\x09abc"))


# -- SageMaker SDK 2.x parity ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk():
    return pytest.importorskip("sagemaker.amazon.common", reason="SageMaker SDK 2.x not installed")


def _sdk_dense(sdk, features, labels=None) -> bytes:
    buffer = io.BytesIO()
    sdk.write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


@pytest.mark.sdk2
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("label_dtype", [None, np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 200)])
def test_dense_bytes_equal_sdk(sdk, dtype, label_dtype, shape) -> None:
    rng = np.random.default_rng(7)
    features = (rng.normal(size=shape) * 500).astype(dtype)
    labels = None if label_dtype is None else rng.integers(-3, 10, size=shape[0]).astype(label_dtype)
    assert encode_dense(features, labels) == _sdk_dense(sdk, features, labels)


@pytest.mark.sdk2
def test_dense_rejections_match_sdk(sdk) -> None:
    for features in (np.ones((2, 2), dtype=np.int32), np.ones(4, dtype=np.float32)):
        with pytest.raises(ValueError):
            _sdk_dense(sdk, features)
        with pytest.raises(ValueError):
            encode_dense(features)


@pytest.mark.sdk2
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_sparse_bytes_equal_sdk(sdk, dtype) -> None:
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    dense = (rng.normal(size=(30, 50)) * 100).astype(dtype) * (rng.random((30, 50)) < 0.1)
    dense[4] = 0  # an empty row
    matrix = sparse.csr_matrix(dense)
    labels = rng.normal(size=30).astype(np.float32)
    for lab in (None, labels):
        buffer = io.BytesIO()
        sdk.write_spmatrix_to_sparse_tensor(buffer, matrix, lab)
        assert encode_sparse(matrix, lab) == buffer.getvalue()


@pytest.mark.sdk2
def test_sdk_reads_our_label_records(sdk) -> None:
    closest = np.array([4.0, 0.0, 2.0], dtype=np.float32)
    distance = np.array([0.5, 1.25, 3.0], dtype=np.float32)
    data = encode_label_records({"closest_cluster": closest, "distance_to_cluster": distance})
    records = sdk.read_records(io.BytesIO(data))
    assert [r.label["closest_cluster"].float32_tensor.values[0] for r in records] == closest.tolist()
    deserialized = sdk.RecordDeserializer().deserialize(io.BytesIO(data), recordio.CONTENT_TYPE)
    assert [list(r.label["distance_to_cluster"].float32_tensor.values) for r in deserialized] == [[0.5], [1.25], [3.0]]
    projection = encode_label_records({"projection": np.arange(6, dtype=np.float32).reshape(3, 2)})
    records = sdk.read_records(io.BytesIO(projection))
    assert [list(r.label["projection"].float32_tensor.values) for r in records] == [[0, 1], [2, 3], [4, 5]]


@pytest.mark.sdk2
def test_we_read_sdk_streams(sdk) -> None:
    features = np.arange(20, dtype=np.int64).reshape(4, 5) - 10
    x, y = read_dense(_sdk_dense(sdk, features, np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(x, features)
    assert y.dtype == np.float64 and y.tolist() == [1.0, 2.0, 3.0, 4.0]


# -- awkward values and the in-place bytes path -----------------------------------------------

AWKWARD = [-0.0, 0.0, 1e-45, -1e-45, 1.17549435e-38, 3.4028235e38, -3.4028235e38, np.inf, -np.inf, np.nan, 16777217.0, 1 / 3]


def test_awkward_floats_are_written_bit_for_bit() -> None:
    """Negative zero, float32 subnormals, the largest floats, infinities and NaN keep their exact bits."""
    features = np.array([AWKWARD, AWKWARD[::-1]], dtype=np.float32)
    labels = np.array([-0.0, np.nan], dtype=np.float32)
    data = encode_dense(features, labels)
    assert type(data) is bytes and data == _oracle_dense(features, labels)
    x, y = read_dense(data)
    assert x.view(np.uint32).tolist() == features.view(np.uint32).tolist()
    assert y.view(np.uint32).tolist() == labels.view(np.uint32).tolist()


def test_large_body_is_an_ordinary_bytes_object_equal_to_the_copying_path(monkeypatch) -> None:
    """Over the huge-page threshold: the bytes written in place equal the numpy buffer's, and behave as bytes."""
    from sm_magics.formats import buffers

    rng = np.random.default_rng(11)
    features = rng.normal(size=(3000, 784)).astype(np.float32)  # 9.5 MB of records
    labels = rng.integers(0, 10, 3000).astype(np.float32)
    data = encode_dense(features, labels)
    assert type(data) is bytes and len(data) > 8 << 20
    assert data == recordio._encode_dense_buffer(features, labels).tobytes()
    assert hash(data) == hash(bytes(bytearray(data)))  # hashable, and hashed from its final content
    monkeypatch.setattr(buffers, "_API", None)  # what an interpreter without the C API gets
    assert encode_dense(features, labels) == data
    x, y = read_dense(data)
    np.testing.assert_array_equal(x, features)
    np.testing.assert_array_equal(y, labels)


@pytest.mark.sdk2
def test_awkward_values_bytes_equal_sdk(sdk) -> None:
    floats = np.array([AWKWARD, AWKWARD[::-1]], dtype=np.float32)
    assert encode_dense(floats, np.array([-0.0, 1e-45], dtype=np.float32)) == _sdk_dense(sdk, floats, np.array([-0.0, 1e-45], dtype=np.float32))
    doubles = np.array([[-0.0, 5e-324, 1.7976931348623157e308, np.nan, -np.inf]])
    assert encode_dense(doubles) == _sdk_dense(sdk, doubles)
    ints = np.array([[-(2**31), 2**31 - 1, 0, -1, 127, 128, 16383, 16384]], dtype=np.int64)
    assert encode_dense(ints, np.array([-(2**31)], dtype=np.int64)) == _sdk_dense(sdk, ints, np.array([-(2**31)], dtype=np.int64))
    big = np.random.default_rng(2).random((2000, 784), dtype=np.float32)  # the in-place path, huge pages advised
    assert encode_dense(big, big[:, 0]) == _sdk_dense(sdk, big, big[:, 0])
