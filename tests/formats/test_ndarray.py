"""MXNet NDArray files: real SageMaker artifacts, byte-exact re-saving, legacy records, errors."""

from __future__ import annotations

import io
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sm_magics.formats.ndarray import load, save

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "sagemaker-artifacts"
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"SageMaker artifact fixtures not found at {FIXTURES}"
)

V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA


def _file(records: list[bytes], names: list[str] = ()) -> bytes:
    out = struct.pack("<QQQ", 0x112, 0, len(records)) + b"".join(records) + struct.pack("<Q", len(names))
    return out + b"".join(struct.pack("<Q", len(n)) + n.encode() for n in names)


@needs_fixtures
def test_kmeans_fixture() -> None:
    raw = (FIXTURES / "kmeans_model_algo-1").read_bytes()
    arrays = load(raw)
    assert isinstance(arrays, list) and len(arrays) == 1
    centroids = arrays[0]
    assert centroids.shape == (7, 5) and centroids.dtype == np.float32
    assert np.isfinite(centroids).all()
    assert centroids.tobytes() == raw[24 + 40 : 24 + 40 + 140]
    assert save(arrays) == raw


@needs_fixtures
def test_pca_fixture() -> None:
    raw = (FIXTURES / "pca_model_algo-1").read_bytes()
    model = load(raw)
    assert isinstance(model, dict) and list(model) == ["s", "v", "mean"]
    assert [model[k].shape for k in model] == [(33,), (34, 33), (1, 34)]
    assert all(a.dtype == np.float32 for a in model.values())
    assert (np.diff(model["s"]) >= 0).all()  # PCA stores singular values ascending
    assert save(model) == raw
    assert len(raw) == 4930


@needs_fixtures
def test_kmeans_inside_model_tarball() -> None:
    with tarfile.open(FIXTURES / "kmeans_model.tar.gz", "r:gz") as tar:
        assert tar.getnames() == ["model_algo-1"]
        raw = tar.extractfile("model_algo-1").read()
    assert raw == (FIXTURES / "kmeans_model_algo-1").read_bytes()
    (centroids,) = load(raw)
    assert centroids.shape == (7, 5)
    assert save([centroids]) == raw


def test_exact_bytes_of_a_small_list() -> None:
    data = save([np.array([[1.0, 2.0, 3.0]], dtype=np.float32)])
    expected = (
        struct.pack("<QQQ", 0x112, 0, 1)
        + struct.pack("<IiI2q", V2, 0, 2, 1, 3)
        + struct.pack("<iii", 1, 0, 0)
        + struct.pack("<3f", 1.0, 2.0, 3.0)
        + struct.pack("<Q", 0)
    )
    assert data == expected


@pytest.mark.parametrize(
    ("dtype", "flag"),
    [(np.float32, 0), (np.float64, 1), (np.float16, 2), (np.uint8, 3), (np.int32, 4), (np.int8, 5), (np.int64, 6)],
)
def test_dtype_round_trip_and_flag(dtype, flag) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    data = save({"w": array, "b": array[0, 0]})
    assert struct.unpack_from("<i", data, 24 + 12 + 3 * 8 + 8)[0] == flag
    loaded = load(data)
    assert list(loaded) == ["w", "b"]
    assert loaded["w"].dtype == dtype and loaded["w"].shape == (2, 3, 4)
    np.testing.assert_array_equal(loaded["w"], array)
    np.testing.assert_array_equal(loaded["b"], array[0, 0])


def test_list_dict_and_layouts() -> None:
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert save([base.T]) == save([np.ascontiguousarray(base.T)])
    assert save([base.astype(">f8")]) == save([base])
    assert save((base,)) == save([base])
    empty_rows = load(save([np.zeros((0, 5), dtype=np.float32)]))[0]
    assert empty_rows.shape == (0, 5)
    named = load(save({"é": base, "z": base[:1]}))
    assert list(named) == ["é", "z"]
    assert load(save({})) == [] and load(save([])) == []


@pytest.mark.parametrize(
    ("arrays", "error", "message"),
    [
        ([np.zeros(2, dtype=bool)], ValueError, "dtype bool is not storable"),
        ([np.zeros(2, dtype=np.complex64)], ValueError, "not storable"),
        ({"x": np.float32(1.0)}, ValueError, "0-d arrays"),
        ({1: np.zeros(2)}, TypeError, "keys must be str"),
        (np.zeros(2), TypeError, "list or dict"),
    ],
)
def test_save_rejects(arrays, error, message) -> None:
    with pytest.raises(error, match=message):
        save(arrays)


def test_legacy_v1_v0_and_v3_records() -> None:
    tail = struct.pack("<iii", 1, 0, 4) + struct.pack("<4i", 1, -2, 3, 4)
    v1 = struct.pack("<II2q", V1, 2, 2, 2) + tail
    v0 = struct.pack("<I2I", 2, 2, 2) + tail
    v3_scalar = struct.pack("<IiI", V3, 0, 0) + struct.pack("<iii", 1, 0, 1) + struct.pack("<d", 2.5)
    loaded = load(_file([v1, v0, v3_scalar], ["a", "b", "c"]))
    np.testing.assert_array_equal(loaded["a"], [[1, -2], [3, 4]])
    np.testing.assert_array_equal(loaded["b"], [[1, -2], [3, 4]])
    assert loaded["a"].dtype == np.int32
    assert loaded["c"].shape == () and loaded["c"] == 2.5


@needs_fixtures
def test_every_truncation_is_reported() -> None:
    raw = (FIXTURES / "kmeans_model_algo-1").read_bytes()
    for cut in range(len(raw)):
        with pytest.raises(ValueError, match="truncated|not an NDArray"):
            load(raw[:cut])


def _kmeans_like() -> bytes:
    return save([np.ones((7, 5), dtype=np.float32)])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"\x13" + b[1:], "not an NDArray file: magic 0x113"),
        (lambda b: b[:24] + b"\xff\xff\xff\xff" + b[28:], "bad array magic 0xFFFFFFFF"),
        (lambda b: b[:28] + struct.pack("<i", 2) + b[32:], "csr storage is not supported"),
        (lambda b: b[:28] + struct.pack("<i", 1) + b[32:], "row_sparse storage is not supported"),
        (lambda b: b[:60] + struct.pack("<i", 12) + b[64:], "unsupported dtype flag 12"),
        (lambda b: b[:52] + struct.pack("<i", 9) + b[56:], "invalid device type 9"),
        (lambda b: b[:32] + struct.pack("<I", 0) + b[36:], "empty .none. NDArray"),
        (lambda b: b[:-8] + struct.pack("<Q", 2), "2 names for 1 arrays"),
        (lambda b: b + b"\0", "1 unexpected trailing bytes at offset 212"),
        (lambda b: b[:16] + struct.pack("<Q", 1 << 40) + b[24:], "claims 1099511627776 arrays"),
    ],
)
def test_load_rejects(mutate, message) -> None:
    with pytest.raises(ValueError, match=message):
        load(mutate(_kmeans_like()))


def test_sparse_record_from_mxnet_layout_is_rejected_clearly() -> None:
    csr = struct.pack("<Ii", V2, 2) + struct.pack("<Iq", 1, 3) + struct.pack("<I2q", 2, 2, 2)
    with pytest.raises(ValueError, match="array 0 at offset 24: csr storage"):
        load(_file([csr + bytes(64)]))


def test_load_accepts_memoryview_and_bytearray() -> None:
    data = _kmeans_like()
    assert np.array_equal(load(bytearray(data))[0], load(memoryview(data))[0])
    assert load(io.BytesIO(data).getbuffer())[0].shape == (7, 5)
