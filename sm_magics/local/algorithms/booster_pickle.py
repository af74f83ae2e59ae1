"""Reads the pickled XGBoost Booster SageMaker's XGBoost containers wrote, without running anything from it.

Why: the containers for 0.90-x, 1.0-1 and 1.2-x saved ``pickle.dump(booster)``
as ``xgboost-model``, and the engine writes the same for those versions. A
pickle is a program, though: ``pickle.loads`` on an artifact someone put in
S3 runs whatever its ``__reduce__`` says (``os.system``, ``exec``, ...). So
this reader executes nothing a pickle names. Its ``find_class`` admits only
the globals a Booster pickle holds, each mapped to an inert stand-in written
here, never to the real object:

* ``xgboost.core.Booster`` -> ``PickledBooster``, which only records the
  state dict that BUILD hands it (xgboost's ``__getstate__`` is
  ``{"handle": <serialized model bytes>, ...}``);
* ``builtins.bytearray`` (``__builtin__`` in protocol 2) -> a function that
  makes a bytearray from bytes, or from a str with the latin-1 encoding;
* ``_codecs.encode`` (how protocol 2 spells bytes) -> latin-1 encoding of a
  str, nothing else.

The scikit-learn wrappers (``XGBClassifier``...) are not admitted: the
algorithm-mode containers never wrote them, only script mode does, which the
engine does not run. Every other global, persistent id or extension code is
refused with ``RefusedPickle`` before anything is called, and the state must be
plain data (bytes, str, numbers, lists, dicts). The caller then hands the
model bytes to xgboost's own loader.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

__all__ = ["PickledBooster", "RefusedPickle", "read_booster_pickle"]

_PLAIN = (bytes, bytearray, str, int, float, bool, type(None))
_MAX_DEPTH = 32


class RefusedPickle(pickle.UnpicklingError):
    """The pickle refers to something a Booster pickle never holds; nothing it names was called."""


class PickledBooster:
    """Stands in for ``xgboost.core.Booster`` while unpickling: keeps the state, runs no xgboost code."""

    state: dict[str, Any] | None = None  # NEWOBJ makes the instance with __new__ alone, so no __init__ sets it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise RefusedPickle("it calls xgboost.core.Booster with arguments, which a pickled Booster never does")

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise RefusedPickle(f"its Booster state is a {type(state).__name__}, not a dict")
        self.state = state


def _bytearray(*args: Any) -> bytearray:
    """``bytearray(bytes)`` or ``bytearray(str, 'latin-1')``, as pickle protocols 2-4 spell a bytearray."""
    if not args:
        return bytearray()
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytearray(args[0])
    if len(args) == 2 and isinstance(args[0], str) and args[1] in ("latin1", "latin-1"):
        return bytearray(args[0].encode("latin-1"))
    raise RefusedPickle("it calls bytearray with arguments a pickled Booster never uses")


def _latin1(text: Any, encoding: Any = None) -> bytes:
    """``_codecs.encode(str, 'latin1')``: protocol 2's spelling of a bytes object."""
    if isinstance(text, str) and encoding in ("latin1", "latin-1"):
        return text.encode("latin-1")
    raise RefusedPickle("it calls _codecs.encode with arguments a pickled Booster never uses")


_ADMITTED: dict[tuple[str, str], Any] = {
    ("xgboost.core", "Booster"): PickledBooster,
    ("builtins", "bytearray"): _bytearray,
    ("__builtin__", "bytearray"): _bytearray,
    ("_codecs", "encode"): _latin1,
}

_PYTHON2_NAMES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class _BoosterUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        admitted = _ADMITTED.get((module, name))
        if admitted is None:
            module = _PYTHON2_NAMES.get(module, module)  # protocol 2 spells Python 3's modules the old way
            raise RefusedPickle(
                f"it refers to {module}.{name}; a pickled XGBoost Booster refers only to xgboost.core.Booster "
                "and bytearray"
            )
        return admitted

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle("it holds a persistent id, which a pickled Booster never does")


def _check_plain(value: Any, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise RefusedPickle("its Booster state is nested too deeply")
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_plain(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, depth + 1)
            _check_plain(item, depth + 1)
        return
    raise RefusedPickle(f"its Booster state holds a {type(value).__name__}, not plain data")


def read_booster_pickle(data: bytes) -> bytes:
    """The serialized model bytes (``state['handle']``) of a pickled Booster, found without executing the pickle.

    Raises ``RefusedPickle`` for a pickle that names anything but a Booster's
    parts, and ``pickle.UnpicklingError`` (or another parse error) for bytes
    that are not a pickle at all.
    """
    try:
        obj = _BoosterUnpickler(io.BytesIO(data)).load()
    except RecursionError:
        raise RefusedPickle("it is nested too deeply") from None
    if not isinstance(obj, PickledBooster):
        raise RefusedPickle(f"it holds a {type(obj).__name__}, not an xgboost Booster")
    if obj.state is None:
        raise RefusedPickle("it holds a Booster without its state")
    _check_plain(obj.state)
    handle = obj.state.get("handle")
    if not isinstance(handle, (bytes, bytearray)) or not handle:
        raise RefusedPickle("its Booster state has no serialized model ('handle')")
    return bytes(handle)
