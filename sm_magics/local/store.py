"""Everything the engine keeps across restarts: one SQLite database (WAL) and content-addressed blobs.

Why this shape: a request is answered only after what it changed is on disk,
so a ``kill -9`` (or a power cut, see ``SYNCHRONOUS``) never loses an
acknowledged write, and a disk that is full or read-only fails the request
that could not be saved instead of the whole engine later. SQLite gives
atomic, crash-safe transactions and its own recovery (the WAL is replayed at
open); S3 bytes live beside it as files named by their SHA-256, written to a
temporary file, fsynced, renamed and the directory fsynced *before* the index
row that names them is committed. A torn write therefore leaves at worst a
temporary file or an unreferenced blob, both removed at the next start.

This is the only module that speaks SQL. The SageMaker backends see it through
``RegionStore`` (put / delete one record), the S3 layer (``durable_s3.py``)
through the blob and object methods, ``LogsWriter`` through ``append_logs``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol


DB_NAME = "state.sqlite3"
BLOB_DIR = "blobs"

# Benchmark only (benchmarks/durability.py): "0" turns every fsync off, blobs and SQLite alike, to
# show what durability costs. An engine run with it loses acknowledged writes on a power cut; never
# set it for real use.
FSYNC_ENV = "SM_MAGICS_LOCAL_FSYNC"
# FULL: each commit fsyncs the WAL, so an acknowledged change survives a power cut as well as a
# kill -9 (NORMAL in WAL mode survives a process crash only). The blobs are fsynced anyway, so the
# index rows that name them get the same promise; measured cost in benchmarks/durability.py.
# Also benchmark-switchable: SM_MAGICS_LOCAL_SYNCHRONOUS=NORMAL.
SYNCHRONOUS_ENV = "SM_MAGICS_LOCAL_SYNCHRONOUS"

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    region TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (region, kind, name)
);
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, region TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, metadata TEXT NOT NULL, last_modified TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
CREATE INDEX IF NOT EXISTS objects_by_blob ON objects (blob);
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL, grp TEXT NOT NULL, stream TEXT NOT NULL,
    ts INTEGER NOT NULL, message TEXT NOT NULL
);
"""


class PersistError(Exception):
    """A change could not be written to the data dir; the message says what and why (errno text included)."""


def describe_failure(what: str, exc: BaseException) -> str:
    """``<what> could not be saved: [Errno 28] No space left on device`` — the one wording every caller uses."""
    if isinstance(exc, PersistError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        cause = f"[Errno {exc.errno}] {exc.strerror}"
    else:
        cause = str(exc) or type(exc).__name__
    return f"{what} could not be saved: {cause}"


@dataclass(frozen=True)
class ObjectRow:
    bucket: str
    key: str
    blob: str
    size: int
    etag: str
    metadata: dict[str, str]
    last_modified: str


class RecordSink(Protocol):
    """What a region's SageMaker state needs from persistence: write or drop one record, atomically in groups."""

    def put(self, kind: str, name: str, value: Any) -> None: ...

    def delete(self, kind: str, name: str) -> None: ...

    def transaction(self, what: str) -> Any: ...


class Store:
    """The data dir's database and blob files. Thread-safe: one connection, one lock, short transactions."""

    def __init__(self, data_dir: Path, fsync: bool | None = None, synchronous: str | None = None) -> None:
        self.data_dir = data_dir
        self.path = data_dir / DB_NAME
        self.blob_dir = data_dir / BLOB_DIR
        self.tmp_dir = self.blob_dir / "tmp"
        self.fsync = os.environ.get(FSYNC_ENV, "1") != "0" if fsync is None else fsync
        chosen = synchronous or os.environ.get(SYNCHRONOUS_ENV, "FULL")
        self.synchronous = "OFF" if not self.fsync else ("NORMAL" if chosen.upper() == "NORMAL" else "FULL")
        self._lock = threading.RLock()
        self._depth = 0
        self._db: sqlite3.Connection | None = None

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Open (SQLite replays its WAL here) and make the tables; PersistError when the data dir cannot be used."""
        try:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"could not switch the database to WAL mode (got {mode})")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            cause = describe_failure("", exc).split(" could not be saved: ", 1)[-1]
            raise PersistError(f"the engine's state in {self.path} could not be opened for writing: {cause}") from exc
        self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                try:
                    self._db.close()
                finally:
                    self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise PersistError("the engine's state database is not open")
        return self._db

    @contextmanager
    def transaction(self, what: str = "the change") -> Iterator[None]:
        """All writes inside commit together or not at all; nested uses join the outer one."""
        with self._lock:
            outer = self._depth == 0
            try:
                if outer:
                    self.db.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                if outer:
                    self.db.execute("COMMIT")
            except BaseException as exc:
                if outer and self._db is not None and self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.Error):
                    # SQLite words I/O failures without their errno; find it by trying a write ourselves
                    cause = self._os_cause()
                    text = describe_failure(what, exc) + (f" ({cause})" if cause else "")
                    raise PersistError(text) from exc
                if isinstance(exc, OSError):
                    raise PersistError(describe_failure(what, exc)) from exc
                raise

    def _os_cause(self) -> str | None:
        """Why the data dir refuses writes, in the OS's words (``[Errno 30] Read-only file system``), or None."""
        probe = self.tmp_dir / f"probe.{threading.get_ident()}.tmp"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"\0" * 65536)
                os.fsync(fd)
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError as exc:
            return f"[Errno {exc.errno}] {exc.strerror}"
        return None

    # ------------------------------------------------------- SageMaker records

    def region(self, region: str) -> "RegionStore":
        return RegionStore(self, region)

    def put_record(self, region: str, kind: str, name: str, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"))
        with self.transaction(f"{kind} {name}"):
            self.db.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", (region, kind, name, text))

    def delete_record(self, region: str, kind: str, name: str) -> None:
        with self.transaction(f"the deletion of {kind} {name}"):
            self.db.execute("DELETE FROM records WHERE region = ? AND kind = ? AND name = ?", (region, kind, name))

    def records(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{region: {kind: {name: value}}} of every stored record."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        with self._lock:
            rows = self.db.execute("SELECT region, kind, name, doc FROM records").fetchall()
        for region, kind, name, text in rows:
            found.setdefault(region, {}).setdefault(kind, {})[name] = json.loads(text)
        return found

    # ------------------------------------------------------------------ blobs

    def blob_path(self, digest: str) -> Path:
        return self.blob_dir / digest[:2] / digest

    def write_blob(self, data: bytes) -> str:
        """Store bytes under their SHA-256 (fsynced, renamed, directory fsynced) and return the digest."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if path.exists() and path.stat().st_size == len(data):
            return digest  # content-addressed: the same bytes are already durable
        path.parent.mkdir(exist_ok=True)
        tmp = self.tmp_dir / f"{digest}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if self.fsync:
            _fsync_dir(path.parent)
        return digest

    def has_blob(self, digest: str, size: int) -> bool:
        try:
            return self.blob_path(digest).stat().st_size == size
        except (OSError, ValueError):
            return False

    def read_blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def drop_blob_if_unused(self, digest: str) -> None:
        """Remove a blob no object names any more (called after the change that released it committed)."""
        with self._lock:
            used = self.db.execute("SELECT 1 FROM objects WHERE blob = ? LIMIT 1", (digest,)).fetchone()
            if used is None:
                self.blob_path(digest).unlink(missing_ok=True)

    def collect_garbage(self) -> int:
        """At start: remove temporary files of torn writes and blobs that no index row names."""
        removed = 0
        for tmp in self.tmp_dir.iterdir():
            tmp.unlink(missing_ok=True)
            removed += 1
        with self._lock:
            used = {row[0] for row in self.db.execute("SELECT DISTINCT blob FROM objects")}
        for folder in self.blob_dir.iterdir():
            if folder == self.tmp_dir or not folder.is_dir():
                continue
            for blob in folder.iterdir():
                if blob.name not in used:
                    blob.unlink(missing_ok=True)
                    removed += 1
        return removed

    # --------------------------------------------------------------------- S3

    def put_bucket(self, name: str, region: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?)", (name, region))

    def delete_bucket(self, name: str) -> None:
        self.db.execute("DELETE FROM objects WHERE bucket = ?", (name,))
        self.db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    def put_object(self, row: ObjectRow) -> str | None:
        """Upsert one object row (inside a transaction); returns the blob it replaced, if another."""
        before = self.db.execute("SELECT blob FROM objects WHERE bucket = ? AND key = ?", (row.bucket, row.key)).fetchone()
        self.db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.bucket, row.key, row.blob, row.size, row.etag, json.dumps(row.metadata), row.last_modified),
        )
        return before[0] if before and before[0] != row.blob else None

    def delete_object(self, bucket: str, key: str) -> str | None:
        """Drop one object row (inside a transaction); returns the blob it named."""
        before = self.db.execute("SELECT blob FROM objects WHERE bucket = ? AND key = ?", (bucket, key)).fetchone()
        self.db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))
        return before[0] if before else None

    def buckets(self) -> list[tuple[str, str]]:
        with self._lock:
            return self.db.execute("SELECT name, region FROM buckets").fetchall()

    def objects(self) -> list[ObjectRow]:
        with self._lock:
            rows = self.db.execute("SELECT bucket, key, blob, size, etag, metadata, last_modified FROM objects").fetchall()
        return [ObjectRow(b, k, blob, size, etag, json.loads(meta), modified) for b, k, blob, size, etag, meta, modified in rows]

    # ------------------------------------------------------------------- logs

    def append_logs(self, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        with self.transaction(f"log events of {group}/{stream}"):
            self.db.executemany(
                "INSERT INTO log_events (region, grp, stream, ts, message) VALUES (?, ?, ?, ?, ?)",
                [(region, group, stream, ts, message) for ts, message in events],
            )

    def log_events(self) -> list[tuple[str, str, str, int, str]]:
        with self._lock:
            return self.db.execute("SELECT region, grp, stream, ts, message FROM log_events ORDER BY id").fetchall()


class RegionStore:
    """One region's SageMaker records: the narrow interface the backends get (``RecordSink``)."""

    def __init__(self, store: Store, region: str) -> None:
        self._store = store
        self.region = region

    def put(self, kind: str, name: str, value: Any) -> None:
        self._store.put_record(self.region, kind, name, value)

    def delete(self, kind: str, name: str) -> None:
        self._store.delete_record(self.region, kind, name)

    def transaction(self, what: str) -> Any:
        return self._store.transaction(what)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
