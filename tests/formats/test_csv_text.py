"""CSV text of numeric matrices: the bytes per-cell ``f"{v:.9g}"`` formatting gives, and every float32 back.

``format_rows`` is what the XGBoost channels (``%%sm_train``) and the CSV predict
bodies (``predict``) send; the algorithms parse it back. It is checked here
against Python's own formatting of each cell on data of every kind a notebook
hands over: MNIST's pixel values, uniform and normal floats over float32's
whole exponent range, float64 out to its extremes, signed zeros, integers, the
layouts' edges (1e-4 / 1e-5, 1e8 / 1e9) and values next to a rounding tie.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sm_magics.formats.csv_text import format_rows
from sm_magics.local.sample_data import mnist_splits


def per_cell(matrix: np.ndarray) -> bytes:
    return ("\n".join(",".join(f"{v:.9g}" for v in row) for row in matrix) + "\n").encode()


def _float32(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # beyond float32's range: inf, formatted as Python formats it
        return values.astype(np.float32)


def _rng() -> np.random.Generator:
    return np.random.default_rng(20261206)


EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 100.0, 1e8, 99999999.5, 999999999.0, 999999999.5, 1e9, 123456789.0,
         1e-4, 9.99999999e-5, 1e-5, 0.000123456789, 2.5e-5, 1e16, 1e-300, 5e-324, 2.2250738585072014e-308,
         1.7976931348623157e308, -1.7976931348623157e308, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 12.5, 0.125, 1234567.125]


CASES = {
    "mnist pixels": lambda: np.column_stack([mnist_splits()[0][1][:300].astype(np.float32), mnist_splits()[0][0][:300]]),
    "uniform float32": lambda: _rng().random((300, 60), dtype=np.float32),
    "float32 over its exponent range": lambda: _float32(_rng().normal(size=(300, 60)) * 10.0 ** _rng().integers(-45, 39, size=(300, 60))),
    "float64 out to its extremes": lambda: _rng().normal(size=(300, 60)) * 10.0 ** _rng().integers(-320, 305, size=(300, 60)),
    "edges": lambda: np.array([EDGES, [-v for v in EDGES]]),
    "edges as float32": lambda: _float32(np.array([EDGES, [-v for v in EDGES]])),
    "integers": lambda: _rng().integers(-10**6, 10**6, size=(100, 30)),
    "halfway at the ninth digit": lambda: (np.arange(1, 2001, dtype=np.float64) * 2 + 1).reshape(100, 20) * 0.5 * 10.0 ** -8 + 1.0,
    "one column": lambda: _rng().random((50, 1)),
    "non-finite": lambda: np.array([[np.nan, np.inf, -np.inf, 1.0]]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_bytes_are_per_cell_formattings(case: str) -> None:
    matrix = CASES[case]()
    assert format_rows(matrix) == per_cell(matrix)


def test_blocks_join_into_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large matrices are formatted a block of rows at a time; the blocks' texts join seamlessly."""
    from sm_magics.formats import csv_text

    matrix = _rng().random((257, 13), dtype=np.float32)
    monkeypatch.setattr(csv_text, "_BLOCK_CELLS", 100)
    assert format_rows(matrix) == per_cell(matrix)


def test_every_float32_comes_back_exactly() -> None:
    matrix = (_rng().normal(size=(400, 50)) * 10.0 ** _rng().integers(-40, 38, size=(400, 50))).astype(np.float32)
    parsed = pd.read_csv(io.BytesIO(format_rows(matrix)), header=None, dtype=np.float64)
    assert np.array_equal(parsed.to_numpy().astype(np.float32), matrix)


def test_empty_and_wrong_shapes() -> None:
    assert format_rows(np.zeros((0, 3))) == b""
    with pytest.raises(ValueError, match="2-D"):
        format_rows(np.zeros(3))
    assert format_rows(np.zeros((4, 0))) == b"\n" * 4
    with pytest.raises(ValueError, match="first column has 2 values for 3 rows"):
        format_rows(np.zeros((3, 2)), np.zeros(2))


AWKWARD_FLOAT32 = np.array([-0.0, 0.0, 1e-45, -1e-45, 1.17549435e-38, 3.4028235e38, -3.4028235e38,
                            16777216.0, 16777217.0, 2147483648.0, 1e-5, 1e-4, 123456789.0, 1 / 3], dtype=np.float32)


def test_awkward_float32_values_with_a_first_column_are_the_joined_matrix_per_cell() -> None:
    """Signed zeros, subnormals, the largest float32, integers beyond 2**24: the label column joined block by
    block gives the text of the joined matrix, and every value parses back to the same float32 bits."""
    matrix = np.tile(AWKWARD_FLOAT32, (30, 3))
    labels = np.tile(AWKWARD_FLOAT32[::-1], 3)[:30].astype(np.float32)
    joined = np.column_stack([labels, matrix])
    text = format_rows(matrix, labels)
    assert text == per_cell(joined)
    parsed = pd.read_csv(io.BytesIO(text), header=None, dtype=np.float64).to_numpy().astype(np.float32)
    assert parsed.view(np.uint32).tolist() == joined.view(np.uint32).tolist()  # -0.0 stays -0.0
    assert format_rows(matrix, labels.astype(np.float64)) == text  # a float64 label column: the same text
    assert format_rows(np.array([[np.nan, 1.0]]), np.array([np.inf])) == b"inf,nan,1\n"  # as Python formats them


def test_parts_join_into_format_rows_and_the_size_is_known_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from sm_magics.formats import csv_text

    monkeypatch.setattr(csv_text, "_BLOCK_CELLS", 64)
    matrix = _rng().normal(size=(101, 9)).astype(np.float32)
    labels = _rng().integers(0, 3, 101).astype(np.float32)
    plan = csv_text.plan_rows(matrix, labels)
    parts = [bytes(part) for part in plan.parts()]
    assert len(parts) > 10 and b"".join(parts) == format_rows(matrix, labels) == per_cell(np.column_stack([labels, matrix]))
    assert plan.size == sum(map(len, parts))


def test_blocks_of_mostly_distinct_values_keep_their_text_rather_than_their_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block whose table of texts would outweigh its text is written when planned: the same text."""
    from sm_magics.formats import csv_text

    matrix = _rng().normal(size=(120, 17)).astype(np.float32)
    labels = _rng().random(120).astype(np.float32)
    expected = per_cell(np.column_stack([labels, matrix]))
    monkeypatch.setattr(csv_text, "_BLOCK_CELLS", 200)
    monkeypatch.setattr(csv_text, "_KEEP_TABLE", 0)
    plan = csv_text.plan_rows(matrix, labels)
    assert all(block._kept is None and block._text is not None for block in plan.blocks)
    assert plan.tobytes() == expected and plan.size == len(expected)
