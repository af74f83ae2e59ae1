"""bytes written in place (formats/buffers.py): ordinary bytes objects, whatever the size or the path."""

from __future__ import annotations

import numpy as np
import pytest

from sm_magics.formats import buffers
from sm_magics.formats.buffers import filled_bytes


@pytest.mark.parametrize("size", [0, 1, 7, 4 << 20, (4 << 20) + 12345])
@pytest.mark.parametrize("c_api", [True, False])
def test_filled_bytes_holds_what_fill_wrote(size, c_api, monkeypatch) -> None:
    if not c_api:
        monkeypatch.setattr(buffers, "_API", None)
    pattern = (np.arange(size) * 7 % 251).astype(np.uint8)

    def fill(out: np.ndarray) -> None:
        assert out.dtype == np.uint8 and out.shape == (size,) and (size == 0 or out.flags.writeable)
        out[:] = pattern

    data = filled_bytes(size, fill)
    assert type(data) is bytes and data == pattern.tobytes()
    assert hash(data) == hash(pattern.tobytes())
    with pytest.raises(TypeError):
        data[0:1] = b"x"  # type: ignore[index]  # immutable, as any bytes


def test_a_failing_fill_raises_and_returns_nothing() -> None:
    def fill(out: np.ndarray) -> None:
        out[:10] = 1
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        filled_bytes(100, fill)
    assert filled_bytes(3, lambda out: out.__setitem__(slice(None), 9)) == b"\t\t\t"  # later calls unaffected
