"""The legacy-XGBoost host: runs inside the side environment (xgboost 3.0.5), one process per hosted model.

Why a separate process: the xgboost installed beside the engine (3.1 and
later) no longer reads the binary formats SageMaker's xgboost:1, 0.90-x ...
1.7-1 containers wrote, and one Python process cannot hold two xgboost versions.
SageMaker gives each image its own library; this process is that image's
library for one model.

This file is run by path with the side environment's interpreter
(``python -I legacy_xgboost_server.py``); it imports nothing from sm_magics
and nothing but the standard library, numpy and xgboost. It never unpickles:
the engine hands it the raw model bytes that its restricted unpickler took
out of a pickled Booster (or the file ``save_model`` wrote), and xgboost's
own deserializers read them.

Protocol (stdin -> stdout, one request answered before the next is read).
Every message is a frame: an 8-byte big-endian header of two uint32, the
length of a UTF-8 JSON document and the length of a binary payload, then
the JSON, then the payload.

* ``{"op": "load"}`` + model bytes -> ``{"ok": true, "num_features": n,
  "best_iteration": i | null, "booster": "gbtree"|"gblinear"|"dart",
  "xgboost": "3.0.5"}``. Loading again replaces the model.
* ``{"op": "predict", "rows": r, "cols": c, "iteration_end": k}`` + r*c
  little-endian float32 (row-major, NaN = missing) -> ``{"ok": true,
  "shape": [...]}`` + the predictions as little-endian float32.
* Any failure -> ``{"ok": false, "error": "<one line>"}`` and no payload;
  the process keeps serving.

The process ends at EOF on stdin, which is also what the engine's death
looks like, so it never outlives the engine. XGBoost's own messages (the
"Loading model from XGBoost < 1.0.0" warning) go to stderr, which the
engine copies into the endpoint's log; stdout carries frames only.
"""

from __future__ import annotations

import json
import os
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct(">II")
MAX_JSON = 1 << 20


def read_exact(stream: BinaryIO, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def write_frame(stream: BinaryIO, doc: dict[str, Any], payload: bytes = b"") -> None:
    text = json.dumps(doc).encode()
    stream.write(HEADER.pack(len(text), len(payload)) + text + payload)
    stream.flush()


def one_line(exc: BaseException) -> str:
    """XGBoost's error without its native stack trace."""
    return " ".join(str(exc).split("\nStack trace:")[0].split())[:2000] or type(exc).__name__


class Host:
    def __init__(self) -> None:
        import numpy as np
        import xgboost as xgb

        self.np, self.xgb = np, xgb
        self.booster: Any = None

    def load(self, data: bytes) -> dict[str, Any]:
        xgb = self.xgb
        booster = xgb.Booster()
        try:  # a pickled Booster of xgboost >= 1.0 holds its memory snapshot: the unserializer reads it
            booster.__setstate__({"handle": bytearray(data)})
        except Exception:
            booster = xgb.Booster()
            booster.load_model(bytearray(data))  # save_model output, or a pre-1.0 pickle's raw model
        booster.set_param("nthread", 1)  # one thread per request, as the container sets it
        try:
            name = json.loads(booster.save_config())["learner"]["gradient_booster"]["name"]
        except Exception:
            name = "gbtree"
        best = booster.attr("best_iteration")
        self.booster = booster
        return {
            "ok": True,
            "num_features": int(booster.num_features()),
            "best_iteration": int(best) if best is not None else None,
            "booster": str(name),
            "xgboost": xgb.__version__,
        }

    def predict(self, doc: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
        np, xgb = self.np, self.xgb
        if self.booster is None:
            raise ValueError("no model loaded")
        rows, cols = int(doc["rows"]), int(doc["cols"])
        if rows * cols * 4 != len(payload):
            raise ValueError(f"payload holds {len(payload)} bytes, not {rows}x{cols} float32")
        x = np.frombuffer(payload, dtype="<f4").reshape(rows, cols)
        end = int(doc.get("iteration_end") or 0)
        preds = self.booster.predict(
            xgb.DMatrix(x, missing=np.nan), iteration_range=(0, end), validate_features=False
        )
        out = np.ascontiguousarray(preds, dtype="<f4")
        return {"ok": True, "shape": list(out.shape)}, out.tobytes()


def main() -> int:
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed (xgboost's log callback prints) goes to stderr, never into a frame
    sys.stdout = sys.stderr
    proto_in = os.fdopen(os.dup(0), "rb")
    host = Host()
    write_frame(proto_out, {"ok": True, "ready": True, "xgboost": host.xgb.__version__})
    while True:
        header = read_exact(proto_in, HEADER.size)
        if header is None:
            return 0
        json_len, payload_len = HEADER.unpack(header)
        if json_len > MAX_JSON:
            return 2  # not a frame the engine writes: the stream is out of step, stop
        text = read_exact(proto_in, json_len)
        payload = read_exact(proto_in, payload_len)
        if text is None or payload is None:
            return 0
        try:
            doc = json.loads(text)
            if doc.get("op") == "load":
                write_frame(proto_out, host.load(payload))
            elif doc.get("op") == "predict":
                answer, data = host.predict(doc, payload)
                write_frame(proto_out, answer, data)
            else:
                write_frame(proto_out, {"ok": False, "error": f"unknown op {doc.get('op')!r}"})
        except Exception as exc:
            write_frame(proto_out, {"ok": False, "error": one_line(exc)})


if __name__ == "__main__":
    sys.exit(main())
