"""Numeric matrices as CSV text, every cell formatted as Python's ``f"{v:.9g}"`` formats it, in numpy.

The built-in algorithms' CSV readers (XGBoost's, Linear Learner's, the
engine's) parse each cell as a float; nine significant digits bring every
float32 back bit for bit. Formatting 40 million cells one by one in Python
takes about a minute (an XGBoost channel of 50 000 MNIST digits); here the
digits are computed for whole blocks of cells at once with integer arithmetic
and laid out in a byte matrix, so the text is the one the per-cell formatting
gives, byte for byte (``tests/formats/test_csv_text.py`` checks that):

* the nine significant digits come from the cell's value times a power of ten
  in float64. That product is within a few float64 ulps of the exact decimal,
  so it rounds as the exact value does except when it lies next to a halfway
  point; those rare cells (and any non-finite one) are formatted by Python
  itself, so the result is always exactly ``format(v, ".9g")``;
* ``%g``'s layout: trailing zeros dropped, positional notation for decimal
  exponents -4 to 8, ``d.ddde+XX`` otherwise.

A channel's text is planned before it is written (``plan_rows``): the distinct
values are formatted first, which fixes the text's exact size, and the cells are
laid out block by block as an upload asks for them, so the upload's progress has
its total from the start and the conversion overlaps the upload.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .buffers import filled_bytes

_BLOCK_CELLS = 1 << 20  # cells formatted at once: bounds the temporaries (~30 bytes a cell)
_KEEP_TABLE = 1 << 20  # a block's table of texts kept from planning to writing up to this many bytes
_WIDTH = 16  # widest cell: sign, 9 digits, '.', 'e', exponent sign, 3 exponent digits
_DIGITS = 9
with np.errstate(over="ignore", under="ignore"):
    _POW10 = 10.0 ** np.arange(-350, 351, dtype=np.float64)  # 10**k at _POW10[k + 350] (0 / inf at the far ends)


def format_rows(matrix: np.ndarray, first: np.ndarray | None = None) -> bytes:
    """``"\\n".join(",".join(f"{v:.9g}" for v in row) for row in matrix) + "\\n"`` as bytes, for a 2-D numeric array.

    ``first``, one value per row, is written as the first column (a training channel's label).
    """
    return plan_rows(matrix, first).tobytes()


def plan_rows(matrix: np.ndarray, first: np.ndarray | None = None) -> RowsText:
    """The text :func:`format_rows` gives, planned: its size known before it is written, then written in parts.

    Every distinct value is formatted here (the part of the work that decides the size); the cells'
    texts are laid out only as :meth:`RowsText.parts` is iterated, so an upload can send one part while
    the next is written. ``first`` is joined block by block, never as a copy of the whole matrix.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {matrix.shape}")
    n, d = matrix.shape
    if first is not None:
        first = np.asarray(first).reshape(-1)
        if first.shape[0] != n:
            raise ValueError(f"the first column has {first.shape[0]} values for {n} rows")
        d += 1
    if n == 0 or d == 0:
        return RowsText(n * (d == 0), [], n if d == 0 else 0)
    rows_per_block = max(1, _BLOCK_CELLS // d)
    blocks = [_Block(matrix, first, start, min(start + rows_per_block, n)) for start in range(0, n, rows_per_block)]
    return RowsText(sum(block.size for block in blocks), blocks)


class _Block:
    """One block of rows, its text's size known on creation.

    What the text is written from (each cell's index into a table of the distinct values' texts) is
    kept until then when the table is small (repeated values, e.g. MNIST's 256: two bytes a cell). A
    block of mostly distinct values would keep a table larger than its text: its text is written at once.
    """

    def __init__(self, matrix: np.ndarray, first: np.ndarray | None, start: int, stop: int) -> None:
        cells = matrix[start:stop]
        if first is not None:
            cells = np.column_stack([first[start:stop], cells])  # one block at a time: stays in cache
        codes, table, self.size = _plan_block(cells)
        self._kept: tuple[np.ndarray, np.ndarray] | None = (codes, table)
        self._text: np.ndarray | None = None
        if table.nbytes > _KEEP_TABLE:
            self._text, self._kept = self.text(), None

    def text(self) -> np.ndarray:
        if self._text is not None:
            return self._text
        assert self._kept is not None
        codes, table = self._kept
        cells = np.take(table, codes).view(np.uint8)
        return cells[cells != 0]


@dataclass
class RowsText:
    """A matrix's CSV text, ``size`` bytes, written block by block from the formatted distinct values."""

    size: int
    blocks: list[_Block]
    newlines: int = 0  # rows of a matrix without columns: one empty line each

    def parts(self) -> Iterator[np.ndarray]:
        """The text, block by block, as uint8 arrays (each written when it is asked for)."""
        if self.newlines:
            yield np.full(self.newlines, ord("\n"), dtype=np.uint8)
        for block in self.blocks:
            yield block.text()

    def tobytes(self) -> bytes:
        """The whole text in one bytes object, each part written straight into it."""
        return filled_bytes(self.size, self._fill)

    def _fill(self, out: np.ndarray) -> None:
        at = 0
        for part in self.parts():
            out[at : at + part.size] = part
            at += part.size


def _plan_block(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(each cell's index into the table, the table, the text's size in bytes).

    Each distinct value is formatted once (data sets repeat values: MNIST's pixels take 256); every cell
    then is one fixed-size gather from a table of the distinct values' texts, each with its separator."""
    import pandas as pd

    n, d = block.shape
    if block.dtype not in (np.float32, np.float64):
        block = block.astype(np.float64)
    values = np.ascontiguousarray(block).reshape(-1)
    # distinct by bit pattern (-0.0 stays apart from 0.0); float32 hashes as 4 bytes
    bits = values.view(np.uint32 if values.dtype == np.float32 else np.uint64)
    codes, distinct = pd.factorize(bits)
    texts = _format_cells(np.asarray(distinct, dtype=bits.dtype).view(values.dtype).astype(np.float64))
    lengths = (texts != 0).sum(axis=1)
    width = 16 if int(lengths.max()) < 16 else 32  # room for the separator
    count = len(texts)
    table = np.zeros((2 * count, width), dtype=np.uint8)  # each text with ",", then each with "\n"
    table[:count, :_WIDTH] = texts
    table[count:, :_WIDTH] = texts
    table[np.arange(count), lengths] = ord(",")
    table[count + np.arange(count), lengths] = ord("\n")
    codes = codes.reshape(n, d)
    codes[:, -1] += count  # a row's last cell ends the line
    codes = codes.reshape(-1).astype(np.min_scalar_type(2 * count - 1))  # kept until written: as small as it can be
    size = int(np.bincount(codes, minlength=2 * count) @ np.concatenate([lengths, lengths]).astype(np.int64)) + codes.size
    return codes, table.view(f"V{width}").reshape(-1), size


def _format_cells(values: np.ndarray) -> np.ndarray:
    """One row of characters per value, 0-padded: ``format(v, ".9g")``."""
    cells = len(values)
    out = np.zeros((cells, _WIDTH), dtype=np.uint8)  # 0 = no character; dropped at the end
    rows = np.arange(cells)

    negative = np.signbit(values)
    magnitude = np.abs(values)
    finite = np.isfinite(values)
    zero = magnitude == 0
    regular = finite & ~zero
    safe = np.where(regular, magnitude, 1.0)

    # nine significant digits: m in [1e8, 1e9), value ~= m * 10**(exponent - 8)
    exponent = np.clip(np.floor(np.log10(safe)).astype(np.int64), -340, 340)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        scaled = safe * _POW10[(8 - exponent) + 350]
    # log10 can be one off next to a power of ten: bring scaled into [1e8, 1e9)
    low = scaled < 1e8
    exponent[low] -= 1
    high = scaled >= 1e9
    exponent[high] += 1
    fix = low | high
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        scaled[fix] = safe[fix] * _POW10[np.clip(8 - exponent[fix], -350, 350) + 350]
    # the product is a few float64 ulps (~1e-7 at 1e9) from the exact decimal: next to a halfway point
    # it may round the other way; extreme float64 exponents leave the table's exact range
    with np.errstate(invalid="ignore"):
        fraction = scaled - np.floor(scaled)
    ambiguous = regular & ((np.abs(fraction - 0.5) < 1e-6) | ~(scaled >= 1e8) | ~(scaled < 1e9) | (np.abs(exponent) > 300))
    scaled = np.where(ambiguous, 1e8, scaled)
    mantissa = np.floor(scaled + 0.5)
    carry = mantissa >= 1e9
    mantissa[carry] = 1e8
    exponent[carry] += 1
    m = mantissa.astype(np.int64)
    m[~regular] = 0

    digits = np.empty((cells, _DIGITS), dtype=np.uint8)
    rest = m.copy()
    for k in range(_DIGITS - 1, -1, -1):
        digits[:, k] = rest % 10
        rest //= 10
    # significant digits once trailing zeros are dropped (at least one)
    significant = np.full(cells, _DIGITS, dtype=np.int64)
    for k in range(_DIGITS - 1, 0, -1):
        significant = np.where((significant == k + 1) & (digits[:, k] == 0), k, significant)

    sign = negative.astype(np.int64)
    out[rows[negative], 0] = ord("-")
    positional = regular & (exponent >= -4) & (exponent < _DIGITS)
    whole = positional & (exponent >= 0)
    fractional = positional & (exponent < 0)
    scientific = regular & ~positional

    # columns of each digit, per layout
    ks = np.arange(_DIGITS)[None, :]
    e = exponent[:, None]
    s = sign[:, None]
    col = np.where(
        whole[:, None],
        s + ks + (ks > e),
        np.where(fractional[:, None], s + 2 + (-e - 1) + ks, s + ks + (ks > 0)),
    )
    keep = (ks < significant[:, None]) | (whole[:, None] & (ks <= e))
    keep &= regular[:, None]
    flat_index = (rows[:, None] * _WIDTH + col)[keep]
    out.reshape(-1)[flat_index] = (digits + ord("0"))[keep]

    # decimal points and leading "0.000"
    point_whole = whole & (significant > exponent + 1)
    out[rows[point_whole], (sign + exponent + 1)[point_whole]] = ord(".")
    out[rows[fractional], sign[fractional]] = ord("0")
    out[rows[fractional], sign[fractional] + 1] = ord(".")
    for z in range(1, 4):  # exponent -2..-4: one to three zeros after the point
        has = fractional & (-exponent - 1 >= z)
        out[rows[has], sign[has] + 1 + z] = ord("0")
    point_sci = scientific & (significant > 1)
    out[rows[point_sci], sign[point_sci] + 1] = ord(".")

    # the exponent of scientific cells: e+XX / e-XX (three digits from 100)
    at = sign + significant + (significant > 1)
    sci_rows = rows[scientific]
    at_sci = at[scientific]
    exp_sci = exponent[scientific]
    out[sci_rows, at_sci] = ord("e")
    out[sci_rows, at_sci + 1] = np.where(exp_sci < 0, ord("-"), ord("+"))
    magnitude_exp = np.abs(exp_sci)
    three = magnitude_exp >= 100
    out[sci_rows[three], at_sci[three] + 2] = magnitude_exp[three] // 100 + ord("0")
    shift = three.astype(np.int64)
    out[sci_rows, at_sci + 2 + shift] = (magnitude_exp // 10) % 10 + ord("0")
    out[sci_rows, at_sci + 3 + shift] = magnitude_exp % 10 + ord("0")

    # zeros: "0" / "-0"
    out[rows[zero], sign[zero]] = ord("0")

    # cells Python formats itself: non-finite values and those next to a rounding tie
    special = np.flatnonzero(~finite | ambiguous)
    for index in special.tolist():
        text = format(float(values[index]), ".9g").encode()
        out[index] = 0
        out[index, : len(text)] = np.frombuffer(text, np.uint8)

    return out
