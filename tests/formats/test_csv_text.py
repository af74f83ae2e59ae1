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
