"""New ``bytes`` objects written in place by numpy, without the copy ``ndarray.tobytes()`` makes.

Why this exists: the encoders build a channel's whole body (hundreds of MB) and hand it on as
``bytes``, the type boto3, files and the SDKs take. Building it in a numpy buffer and calling
``tobytes()`` writes every byte twice, and the second buffer is allocated by ``malloc`` without
transparent huge pages, so the copy pays a page fault every 4 kB: for 160 MB the copy alone costs
more than the encoding. Here the ``bytes`` object is allocated first, uninitialised, exactly as C
code does it (``PyBytes_FromStringAndSize(NULL, size)``), its memory is advised to use huge pages as
numpy advises its own large buffers, and the encoder writes its result straight into that memory
through a writable numpy view. Nothing else sees the object until it is complete, so it is an
ordinary immutable ``bytes`` to every caller. Where the C API is not reachable (not CPython), the
numpy buffer and ``tobytes()`` are used instead: the same bytes, one copy more.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Callable

import numpy as np

__all__ = ["filled_bytes"]

_HUGE_PAGE = 1 << 21
_ADVISE_FROM = 4 << 20  # numpy advises huge pages for buffers from 4 MiB on; so do we
_PyBUF_WRITE = 0x200


def _c_api() -> tuple[Callable[..., bytes], Callable[..., int], Callable[..., memoryview]] | None:
    if sys.implementation.name != "cpython":
        return None
    try:
        api = ctypes.pythonapi
        new = api.PyBytes_FromStringAndSize
        new.restype, new.argtypes = ctypes.py_object, (ctypes.c_void_p, ctypes.c_ssize_t)
        address = api.PyBytes_AsString
        address.restype, address.argtypes = ctypes.c_void_p, (ctypes.py_object,)
        view = api.PyMemoryView_FromMemory
        view.restype, view.argtypes = ctypes.py_object, (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)
    except (AttributeError, OSError):
        return None
    return new, address, view


def _madvise() -> Callable[[int, int], None] | None:
    advice = getattr(mmap, "MADV_HUGEPAGE", None)  # Linux only
    if advice is None:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.madvise
    except (AttributeError, OSError):
        return None
    function.restype, function.argtypes = ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)

    def advise(start: int, size: int) -> None:
        first = -(-start // _HUGE_PAGE) * _HUGE_PAGE  # only whole huge pages inside the buffer
        last = (start + size) // _HUGE_PAGE * _HUGE_PAGE
        if last > first:
            function(first, last - first, advice)  # advice only: a refusal changes nothing but speed

    return advise


_API = _c_api()
_ADVISE = _madvise() if _API is not None else None


def filled_bytes(size: int, fill: Callable[[np.ndarray], None]) -> bytes:
    """A new ``bytes`` of ``size`` bytes whose content ``fill`` writes into the 1-D uint8 array it is given.

    ``fill`` must write every byte (the memory starts uninitialised) and must not keep the array:
    it views the returned object's memory and is only valid during the call.
    """
    if _API is None or size == 0:
        out = np.empty(size, dtype=np.uint8)
        fill(out)
        return out.tobytes()
    new, address, view = _API
    result = new(None, size)
    start = address(result)
    if _ADVISE is not None and size >= _ADVISE_FROM:
        _ADVISE(start, size)
    fill(np.frombuffer(view(start, size, _PyBUF_WRITE), dtype=np.uint8))
    return result
