"""The ``xgboost-model`` member: loading every format SageMaker's containers wrote, without running a pickle."""

from __future__ import annotations

import re
from typing import Any

from ..base import ClientError
from ..booster_pickle import RefusedPickle, read_booster_pickle

MODEL_MEMBER = "xgboost-model"


def load_booster(data: bytes, member: str = MODEL_MEMBER) -> Any:
    """The container's ``get_loaded_booster`` (a pickled Booster first, then ``Booster.load_model``), executing nothing.

    A pickle is read by ``booster_pickle``, which calls nothing the pickle
    names and yields the Booster's serialized bytes; xgboost's own
    deserializer (the one ``Booster.__setstate__`` uses) then rebuilds the
    model from those bytes, with ``load_model`` as the fallback for pre-1.0
    pickles that held a plain model. Anything else goes to ``load_model``
    (JSON, UBJSON, legacy binary). A pickle that refers to anything but a
    Booster's parts is refused with the reason, and nothing in it runs.

    Model bytes the installed xgboost cannot read (the binary formats of the
    xgboost:1, 0.90-x ... 1.7-1 containers, which XGBoost 3.1 dropped) are served by
    xgboost 3.0.5 (the last release that reads them) in a host process of its own (``runtime.legacy_xgboost``):
    the result is then a ``LegacyBooster``, given the same plain bytes.
    """
    import xgboost as xgb

    refused: RefusedPickle | None = None
    serialized: bytes | None = None
    try:
        serialized = read_booster_pickle(data)
    except RefusedPickle as exc:
        refused = exc
    except Exception:  # not a pickle: a file written by Booster.save_model
        pass
    if serialized is not None:
        booster = xgb.Booster()
        try:
            booster.__setstate__({"handle": bytearray(serialized)})  # xgboost's own loader, given plain bytes only
            return booster
        except Exception:
            data = serialized  # a pre-1.0 pickle holds the model itself, as save_raw wrote it
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
    except Exception as exc_xgb:
        if refused is not None:  # checked after load_model: a JSON model reads as a pickle of a dict
            raise ClientError(
                f"Unable to load model: {member} is a pickle the local engine will not load, because {refused}. "
                "The engine runs nothing from a model artifact; save the model with Booster.save_model "
                "(JSON or UBJSON) or pickle the Booster itself."
            ) from None
        # only what looks like an older xgboost's model goes to the side environment (random bytes build nothing)
        if not (data.startswith(b"CONFIG-offset:") or _old_binary_model(data)):
            if data[:4] == b"binf":
                raise ClientError(
                    f"Unable to load model: {member} starts like XGBoost's legacy binary format ('binf') but holds no "
                    "model after it (a truncated or damaged file); save the model again with Booster.save_model"
                ) from None
            raise ClientError(f"Unable to load model: {member} is not an XGBoost model ({xgboost_message(exc_xgb)})") from None
        return _legacy_booster(data, member, xgb.__version__, xgboost_message(exc_xgb))
    return booster


def _old_binary_model(data: bytes) -> bool:
    """XGBoost's binary model layout (``binf`` of 1.0-1.7, or the bare pre-1.0 one): worth the side environment.

    (A pickled Booster of xgboost 1.0 ... 1.7 holds a memory snapshot that starts
    ``CONFIG-offset:``, then such a model, then its JSON configuration.)

    Both hold a 136-byte ``LearnerModelParam`` and then the objective's and the
    booster's names as length-prefixed strings; checking those keeps random
    bytes from starting a side environment only to be told they are no model.
    """
    body = data[4:] if data[:4] == b"binf" else data
    offset = 136
    names = []
    for _ in range(2):
        if len(body) < offset + 8:
            return False
        size = int.from_bytes(body[offset : offset + 8], "little")
        if not 0 < size <= 64 or len(body) < offset + 8 + size:
            return False
        names.append(body[offset + 8 : offset + 8 + size])
        offset += 8 + size
    return all(re.fullmatch(rb"[a-z_:@0-9\-]+", name) for name in names) and names[1] in (b"gbtree", b"gblinear", b"dart")


def _legacy_booster(data: bytes, member: str, installed: str, why: str) -> Any:
    """An older binary model, served by the side environment's xgboost in its own process (made on first need)."""
    from ...runtime import legacy_xgboost

    try:
        return legacy_xgboost.LegacyBooster(data)
    except legacy_xgboost.LegacyEnvError as exc:
        raise ClientError(
            f"Unable to load model: {member} is in an XGBoost binary format the xgboost {installed} installed beside "
            f"the local engine no longer reads, and {exc}."
        ) from None
    except legacy_xgboost.LegacyHostError as exc:
        raise ClientError(
            f"Unable to load model: {member} is not an XGBoost model (xgboost {installed}: {why}; "
            f"xgboost {legacy_xgboost.SIDE_XGBOOST}: {exc})"
        ) from None


def xgboost_message(exc: BaseException) -> str:
    """XGBoost's error without its native stack trace."""
    return str(exc).split("\nStack trace:")[0].strip()
