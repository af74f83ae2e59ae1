"""XGBoost models of SageMaker's older containers, served by a historical xgboost in a side environment.

Why: SageMaker's 0.90-x, 1.0-1 and 1.2-x containers saved ``pickle.dump(booster)``
and 1.3-1 ... 1.7-1 saved ``Booster.save_model`` in XGBoost's binary formats
(the pre-1.0 one and ``binf``). The xgboost installed beside the engine (3.1
and later) reads neither, and one Python process cannot import two xgboost
versions. SageMaker gives each image its own library; the engine does the
same: a virtual environment with xgboost 3.0.5, the last release that reads
every one of those formats (3.1 removed them), and a host process in it per
model. Checked by experiment: 1.7.6, 2.1.4 and 3.0.5 all load boosters
written by 0.72.1, 0.90, 1.0.2, 1.2.1, 1.5.2 and 1.7.6, pickled or saved, and
predict what those predicted (within one float32 ulp); 3.0.5 is the newest of
them, supports numpy 2, and its CPU-only wheel (``xgboost-cpu``, half the size
of 1.7.6's, no CUDA libraries) installs in seconds.

The environment is made on first need with ``python -m venv`` and ``pip
install xgboost-cpu==3.0.5`` (plain ``xgboost`` on macOS, whose wheel is
CPU-only anyway) in the engine's cache dir
(``<data dir>/cache/legacy-xgboost-3.0.5``), built in a temporary folder and
renamed into place only once it imports, so a half-made one is never used.
pip's progress goes to the log the caller gives (the endpoint's CloudWatch
stream); the endpoint stays ``Creating`` meanwhile and fails with a
FailureReason that says what to do when pip cannot install (offline with an
empty pip cache, for one). ``SM_MAGICS_LOCAL_LEGACY_XGBOOST_PYTHON`` names an
interpreter that already has xgboost 3.0.x (or 1.7.x, 2.x) instead, for
machines that never reach PyPI.

Processes: one host per loaded model (a hosted legacy model owns one
``LegacyBooster``), as each SageMaker endpoint has its own container; it
lives as long as the model object (endpoint deleted or updated, transform job
done: the finalizer ends it), ends at engine exit (atexit), and reads EOF on
its stdin when the engine dies any other way (kill -9 included), which ends it
too. A host that dies under a model is started again at the next request.
One process per model rather than a shared pool: a model's crash or memory
stays its own, and a host costs under a second to start and ~60 MB.

The host never unpickles: it gets the raw model bytes the engine's
restricted unpickler took out of a Booster pickle, or the file ``save_model``
wrote. The wire protocol is in ``legacy_xgboost_server``.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

__all__ = [
    "LegacyEnvError", "LegacyHostError", "LegacyBooster", "SIDE_XGBOOST", "configure", "progress_log", "side_python",
]  # fmt: skip

SIDE_XGBOOST = "3.0.5"
REQUIREMENTS = (  # the CPU-only build where dmlc publishes one (the plain Linux wheel pulls in NCCL's CUDA libraries)
    f'xgboost-cpu=={SIDE_XGBOOST}; sys_platform == "linux" or sys_platform == "win32"',
    f'xgboost=={SIDE_XGBOOST}; sys_platform == "darwin"',
)
PYTHON_ENV = "SM_MAGICS_LOCAL_LEGACY_XGBOOST_PYTHON"
SERVER = Path(__file__).with_name("legacy_xgboost_server.py")
BUILD_TIMEOUT = 900.0  # pip download of ~100 MB (xgboost-cpu, numpy, scipy) on a slow line
START_TIMEOUT = 60.0
HEADER = struct.Struct(">II")
MAX_LOG_LINES = 200  # of one host's stderr, per model: its warnings, not a flood

Log = Callable[[str], None]

# Where the caller wants progress (the endpoint's log); set by Hosting.load around one model load.
progress_log: contextvars.ContextVar[Log | None] = contextvars.ContextVar("legacy_xgboost_log", default=None)

_cache_dir: Path | None = None
_build_lock = threading.Lock()


class LegacyEnvError(RuntimeError):
    """The side environment could not be made; the message says why and what to do."""


class LegacyHostError(RuntimeError):
    """The host process refused a request or is gone; the message is one line."""


def configure(cache_dir: Path) -> None:
    """Where the side environment lives: the engine's cache dir (survives restarts, one per data dir)."""
    global _cache_dir
    _cache_dir = Path(cache_dir)


def _log(line: str) -> None:
    sink = progress_log.get()
    if sink is not None:
        try:
            sink(line)
        except Exception:  # a log that cannot be written must not fail the load
            pass


def env_dir() -> Path:
    root = _cache_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "sm-magics-cache"
    return root / f"legacy-xgboost-{SIDE_XGBOOST}"


def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def side_python() -> Path:
    """The side environment's interpreter, made first if need be (slow once: pip installs ~100 MB)."""
    configured = os.environ.get(PYTHON_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.exists():
            raise LegacyEnvError(f"{PYTHON_ENV} names {configured}, which does not exist")
        return path
    folder = env_dir()
    with _build_lock:
        if (folder / "ready.json").exists():
            return _venv_python(folder)
        return _build(folder)


def _build(folder: Path) -> Path:
    started = time.monotonic()
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = folder.parent / f".{folder.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    what = f"the XGBoost {SIDE_XGBOOST} environment for models of SageMaker's 0.90-x ... 1.7-1 XGBoost containers"
    _log(f"Creating {what} (one time, usually under a minute): {folder}")
    try:
        _run([sys.executable, "-m", "venv", str(building)], "python -m venv", BUILD_TIMEOUT)
        python = _venv_python(building)
        _log(f"Installing xgboost {SIDE_XGBOOST} (xgboost-cpu where published) with pip")
        _run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
             *REQUIREMENTS],
            "pip install", BUILD_TIMEOUT - (time.monotonic() - started),
        )  # fmt: skip
        version = _run([str(python), "-I", "-c", "import xgboost; print(xgboost.__version__)"], "import xgboost", 120).strip()
        if version.splitlines()[-1:] != [SIDE_XGBOOST]:  # the check that the environment is whole
            raise LegacyEnvError(f"the new environment imports xgboost {version!r}, not {SIDE_XGBOOST}")
        (building / "ready.json").write_text(json.dumps({"xgboost": SIDE_XGBOOST, "requirements": list(REQUIREMENTS)}))
        shutil.rmtree(folder, ignore_errors=True)  # a leftover without ready.json
        building.rename(folder)
    except LegacyEnvError as exc:
        shutil.rmtree(building, ignore_errors=True)
        raise LegacyEnvError(
            f"could not create {what}: {exc}. The engine needs PyPI (or a pip cache or index holding "
            f"xgboost-cpu {SIDE_XGBOOST}) once; or set {PYTHON_ENV} to a Python that has xgboost {SIDE_XGBOOST}"
        ) from None
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _log(f"Created the XGBoost {SIDE_XGBOOST} environment in {time.monotonic() - started:.1f} s")
    return _venv_python(folder)


def _run(command: list[str], what: str, timeout: float) -> str:
    """Runs one build step, copying its output lines to the progress log; the last error line on failure."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, text=True)
    lines: list[str] = []
    timer = threading.Timer(max(timeout, 1.0), process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            if not line:
                continue
            lines.append(line)
            if line.startswith(("Collecting", "Downloading", "Installing", "Successfully", "ERROR", "Using cached")):
                _log(line.strip())
        code = process.wait()
    finally:
        timer.cancel()
    if code != 0:
        errors = [line.strip() for line in lines if "ERROR" in line or "Error" in line]
        detail = (errors or lines or [f"exit status {code}"])[-1]
        if code < 0:
            detail = f"stopped after {timeout:.0f} s"
        raise LegacyEnvError(f"{what} failed ({detail})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the host process

_live: "weakref.WeakSet[LegacyBooster]" = weakref.WeakSet()


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    parts, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise LegacyHostError("the legacy XGBoost host process ended")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _stop(holder: list[subprocess.Popen]) -> None:
    """Closes the host's stdin (it exits at EOF), then kills it if it lingers."""
    for process in holder:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=2)
        except Exception:
            process.kill()
            try:
                process.wait(timeout=2)
            except Exception:
                pass


class LegacyBooster:
    """One model served by a host process in the side environment; answers like an xgboost Booster would.

    A host that dies (a crash in xgboost's C++ code, an OOM kill) fails the
    request it was serving; the next request starts a fresh host with the same
    model bytes, as SageMaker replaces a failed container.
    """

    def __init__(self, model: bytes, log: Log | None = None) -> None:
        self._python = side_python()
        self._model = model
        self._sink = log or progress_log.get()
        self._lock = threading.Lock()
        self._holder: list[subprocess.Popen] = []  # the live host, in a list the finalizer can see replaced
        self._finalizer = weakref.finalize(self, _stop, self._holder)
        try:
            with self._lock:
                info = self._spawn()
        except BaseException:
            self._finalizer()  # a model the host refused leaves no process behind
            raise
        self._num_features = int(info["num_features"])
        self.best_iteration: int | None = info.get("best_iteration")
        self.booster_name = str(info.get("booster", "gbtree"))
        _live.add(self)

    def _spawn(self) -> dict[str, Any]:
        """Starts a host, waits for its hello, loads the model into it; the load's answer. Holds the lock."""
        _stop(self._holder)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        env["OMP_NUM_THREADS"] = "1"
        process = subprocess.Popen(
            [str(self._python), "-I", str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, close_fds=True,
        )  # fmt: skip
        self._holder[:] = [process]
        threading.Thread(target=_copy_stderr, args=(process.stderr, self._sink), daemon=True, name="legacy xgboost stderr").start()
        ready, _ = self._answer(process, timeout=START_TIMEOUT)
        self.version = str(ready.get("xgboost"))
        answer, _ = self._exchange(process, {"op": "load"}, self._model)
        return answer

    @property
    def pid(self) -> int:
        return self._holder[0].pid if self._holder else 0

    def num_features(self) -> int:
        return self._num_features

    def predict_dense(self, x: np.ndarray, iteration_end: int) -> np.ndarray:
        """Predictions for a dense float32 matrix (NaN = missing) with trees [0, iteration_end) (0: all)."""
        x = np.ascontiguousarray(x, dtype="<f4")
        rows, cols = x.shape
        doc, payload = self._call({"op": "predict", "rows": rows, "cols": cols, "iteration_end": iteration_end}, x.tobytes())
        return np.frombuffer(payload, dtype="<f4").reshape(doc["shape"]).copy()

    def close(self) -> None:
        self._finalizer()

    # -------------------------------------------------------------- the wire

    def _call(self, doc: dict[str, Any], payload: bytes = b"") -> tuple[dict[str, Any], bytes]:
        with self._lock:
            if not self._finalizer.alive:
                raise LegacyHostError("the model was unloaded")
            if not self._holder or self._holder[0].poll() is not None:
                self._spawn()  # the last host died: a fresh one, as SageMaker replaces a failed container
            return self._exchange(self._holder[0], doc, payload)

    def _exchange(self, process: subprocess.Popen, doc: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes]:
        text = json.dumps(doc).encode()
        stdin = process.stdin
        if stdin is None:
            raise LegacyHostError("the legacy XGBoost host process ended")
        try:
            stdin.write(HEADER.pack(len(text), len(payload)) + text)
            stdin.write(payload)
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise LegacyHostError("the legacy XGBoost host process ended") from None
        answer, data = self._answer(process)
        if not answer.get("ok"):
            raise LegacyHostError(str(answer.get("error", "the legacy XGBoost host refused the request")))
        return answer, data

    @staticmethod
    def _answer(process: subprocess.Popen, timeout: float | None = None) -> tuple[dict[str, Any], bytes]:
        stdout = process.stdout
        assert stdout is not None
        timer = threading.Timer(timeout, process.kill) if timeout else None
        if timer:
            timer.start()
        try:
            json_len, payload_len = HEADER.unpack(_read_exact(stdout, HEADER.size))
            doc = json.loads(_read_exact(stdout, json_len))
            data = _read_exact(stdout, payload_len) if payload_len else b""
        finally:
            if timer:
                timer.cancel()
        return doc, data


def _copy_stderr(stream: IO[bytes] | None, sink: Log | None) -> None:
    """A host's stderr (xgboost's warnings) into the log it was started for, up to MAX_LOG_LINES lines."""
    if stream is None:
        return
    copied = 0
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip()
        if line and sink is not None and copied < MAX_LOG_LINES:
            copied += 1
            try:
                sink(f"[xgboost {SIDE_XGBOOST}] {line}")
            except Exception:
                pass


@atexit.register
def _stop_all() -> None:
    for booster in list(_live):
        booster.close()
