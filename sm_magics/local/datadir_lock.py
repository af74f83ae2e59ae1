"""One engine per data dir: an exclusive lock on ``<data-dir>/engine.lock``, held for the engine's life.

Two engines on one data dir would each load the state, run their own jobs and
overwrite each other's ``sagemaker.json`` and S3 snapshot; a check of
``engine.json`` or a pid file cannot stop that, because two starts can both
look before either writes. The engine process instead takes an exclusive
``flock`` on ``engine.lock`` before it touches anything else in the dir and
keeps the file open until it exits. The kernel releases the lock when the
process ends, however it ends (kill -9 included), so there is never a stale
lock to clean up. A second engine fails to take it and exits at once, naming
the one that holds it; the holder writes its pid and URL into the lock file
right after taking it, for exactly that message.

``flock`` is POSIX (Linux and macOS, where the engine runs). The lock's file
descriptor is not inheritable, so neither the forkserver nor any training host
keeps the lock after the engine is gone.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .credentials import private_dir

LOCK_NAME = "engine.lock"
# the exit status of an engine process that found its data dir served by another engine
ALREADY_SERVED_EXIT = 3


@dataclass(frozen=True)
class Holder:
    """What the engine holding the lock wrote about itself."""

    pid: int
    url: str


class DataDirBusy(RuntimeError):
    """Another live engine holds the data dir's lock."""

    def __init__(self, data_dir: Path, holder: Holder | None) -> None:
        self.data_dir = data_dir
        self.holder = holder
        who = f"the local engine with pid {holder.pid} at {holder.url}" if holder else "another local engine (it is still starting)"
        super().__init__(
            f"{data_dir} is already served by {who}; one engine serves a data dir: use that one, "
            f"or stop it first with `sm-magics local stop --data-dir {data_dir}`"
        )


@dataclass(frozen=True)
class DataDirLock:
    """The held lock: an open descriptor of ``engine.lock``, kept open until the process ends."""

    data_dir: Path
    fd: int


# locks this process holds, by data dir: the engine takes its lock first thing (before its heavy imports,
# so a second engine exits at once) and ``serve`` asks again, getting the same lock
_held: dict[Path, DataDirLock] = {}


def acquire(data_dir: Path, url: str) -> DataDirLock:
    """Take the data dir's lock for this process, or raise DataDirBusy naming the engine that has it."""
    data_dir = data_dir.resolve()
    if data_dir in _held:
        return _held[data_dir]
    private_dir(data_dir)
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)  # not inheritable (PEP 446)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirBusy(data_dir, read_holder(data_dir)) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "url": url}).encode(), 0)
    lock = _held[data_dir] = DataDirLock(data_dir, fd)
    return lock


def hold_or_exit(data_dir: Path, url: str) -> DataDirLock:
    """``acquire`` for the engine process: when another engine has the dir, one line on stderr and exit."""
    try:
        return acquire(data_dir, url)
    except DataDirBusy as busy:
        print(f"sm-magics local engine: {busy}", file=sys.stderr, flush=True)
        raise SystemExit(ALREADY_SERVED_EXIT) from None


def is_free(data_dir: Path) -> bool:
    """Whether no process holds the data dir's lock, i.e. its engine has ended (a zombie holds nothing).

    Known only by taking the lock, which this drops again at once; an engine
    starting in that instant exits as if another held the dir, and its
    launcher, finding no live holder, starts it again.
    """
    data_dir = data_dir.resolve()
    if data_dir in _held:
        return False
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY)  # flock needs no write access: a read-only dir is fine
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # (closing drops the lock, if this took it)
    return True


def read_holder(data_dir: Path, wait: float = 2.0) -> Holder | None:
    """The pid and URL the lock's holder wrote, once it has (a holder writes right after locking).

    Until then the file is empty or still names the previous engine, which is
    dead; both read as "not yet", for up to ``wait`` seconds.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            about = json.loads((data_dir / LOCK_NAME).read_bytes() or b"null")
            holder = Holder(int(about["pid"]), str(about["url"]))
        except (OSError, ValueError, TypeError, KeyError):
            holder = None
        if holder is not None and _alive(holder.pid):
            return holder
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
