"""S3 objects written through to disk before the engine answers: moto stays the wire, ``store.py`` holds the bytes.

Every way an object or bucket changes in moto's S3 backend goes through four
of its methods: ``put_object`` (PutObject, POST uploads, and inside
CopyObject and CompleteMultipartUpload), ``delete_object`` (also inside
DeleteObjects), ``create_bucket`` and ``delete_bucket``. ``install`` wraps
those on the backend instance; each call notes the bucket / key it touches
in the current *transaction* and takes the S3 write lock. The transaction
ends when the HTTP request does (``wsgi`` wraps moto's WSGI app), after
moto has also set the object's metadata, content type and tags; only then
are the touched objects written out: blob files first, then one SQLite
transaction for their index rows. If that fails, the touched keys are put
back as the disk has them (the disk is what was last acknowledged) and the
client gets S3's ``InternalError`` naming the cause, never a 200.

Writes are serialised by the S3 write lock from their first backend change
to the end of their save (the bytes themselves are written and fsynced
before it, so concurrent uploads overlap); reads are not, so a GET racing a
PUT may see the new object a moment before it is saved.

In-process writers (``moto_services.put_object``: transform output, sample
data) use ``transaction()`` directly. Object tags, ACLs and old versions of
versioned buckets are not persisted; the latest version of every key is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator
from xml.sax.saxutils import escape

from .store import ObjectRow, PersistError, Store, describe_failure

log = logging.getLogger("sm_magics.local")

@dataclass
class _Transaction:
    keys: dict[tuple[str, str], None] = field(default_factory=dict)  # ordered set
    buckets: dict[str, None] = field(default_factory=dict)
    multiparts: list[tuple[Any, str, Any]] = field(default_factory=list)  # (bucket obj, upload id, multipart)
    prewritten: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # key -> (blob, size)
    locked: bool = False
    depth: int = 0


class DurableS3:
    """Hooks moto's S3 backend so that its changes are committed to ``store`` at the end of each request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._original: dict[str, Callable[..., Any]] = {}
        self.backend: Any = None
        self.refused = 0  # writes refused because they could not be saved
        self.last_failure: str | None = None

    # ---------------------------------------------------------------- hooks

    def install(self, backend: Any) -> None:
        """Wrap the backend instance's write methods (instance attributes shadow moto's class methods)."""
        self.backend = backend
        for name in ("put_object", "delete_object", "create_bucket", "delete_bucket", "complete_multipart_upload"):
            original = getattr(backend, name)
            self._original[name] = original
            setattr(backend, name, self._hook(name, original))
        global _installed
        _installed = self

    def _hook(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def hooked(*args: Any, **kwargs: Any) -> Any:
            bucket = kwargs.get("bucket_name", args[0] if args else None)
            with self.transaction():
                if name == "put_object":
                    # the bytes go to disk (fsync included) before the write lock: other requests' saves overlap
                    key = kwargs.get("key_name", args[1] if len(args) > 1 else None)
                    value = kwargs.get("value", args[2] if len(args) > 2 else None)
                    if isinstance(value, (bytes, bytearray)):
                        try:
                            self._local.tx.prewritten[(bucket, key)] = (self.store.write_blob(bytes(value)), len(value))
                        except OSError:
                            pass  # the commit writes it again, and that failure refuses the request properly
                tx = self._begin_write()
                if name in ("put_object", "delete_object"):
                    key = kwargs.get("key_name", args[1] if len(args) > 1 else None)
                    tx.keys[(bucket, key)] = None
                elif name == "complete_multipart_upload":
                    upload_id = kwargs.get("multipart_id", args[1] if len(args) > 1 else None)
                    found = self.backend.buckets.get(bucket)
                    if found is not None and upload_id in found.multiparts:
                        tx.multiparts.append((found, upload_id, found.multiparts[upload_id]))
                else:
                    tx.buckets[bucket] = None
                return original(*args, **kwargs)

        hooked.__name__ = name
        return hooked

    def _begin_write(self) -> _Transaction:
        tx: _Transaction = self._local.tx
        if not tx.locked:
            self._write_lock.acquire()
            tx.locked = True
        return tx

    # ---------------------------------------------------------- transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group backend changes; at the outermost exit they are saved, or undone and PersistError raised."""
        tx = getattr(self._local, "tx", None)
        if tx is None:
            tx = self._local.tx = _Transaction()
        tx.depth += 1
        try:
            yield
        finally:
            tx.depth -= 1
            if tx.depth == 0:
                del self._local.tx
                if tx.locked:
                    try:
                        self._commit(tx)
                    finally:
                        self._write_lock.release()

    def _commit(self, tx: _Transaction) -> None:
        try:
            released = self._save(tx)
        except (OSError, PersistError) as exc:
            message = describe_failure(_what(tx), exc)
            self.refused += 1
            self.last_failure = message
            log.error("%s; the change was undone", message)
            self._undo(tx)
            raise PersistError(message) from exc
        for digest in released:
            try:
                self.store.drop_blob_if_unused(digest)
            except Exception:  # an unused blob left behind is removed at the next start
                log.warning("could not remove unused blob %s", digest, exc_info=True)

    def _save(self, tx: _Transaction) -> list[str]:
        """Blobs first (each fsynced), then the index rows in one SQLite transaction; returns blobs released."""
        backend = self.backend
        rows: list[ObjectRow | tuple[str, str]] = []
        for bucket_name, key_name in tx.keys:
            bucket = backend.buckets.get(bucket_name)
            key = bucket.keys.get(key_name) if bucket is not None else None
            if key is None or not hasattr(key, "value"):  # gone, or a delete marker
                rows.append((bucket_name, key_name))
                continue
            digest, size = tx.prewritten.get((bucket_name, key_name), ("", -1))
            # under the write lock no one changed the key since its bytes were written; the blob may only
            # have been dropped meanwhile by another key's release, and is then written again
            if size != key.size or not self.store.has_blob(digest, size):
                data = key.value
                digest, size = self.store.write_blob(data), len(data)
            rows.append(ObjectRow(bucket_name, key_name, digest, size, key.etag.strip('"'), dict(key.metadata), key.last_modified.isoformat()))
        released: list[str] = []
        with self.store.transaction(_what(tx)):
            for name in tx.buckets:
                bucket = backend.buckets.get(name)
                if bucket is None:
                    self.store.delete_bucket(name)
                else:
                    self.store.put_bucket(name, bucket.region_name)
            for row in rows:
                if isinstance(row, ObjectRow):
                    if row.bucket not in tx.buckets and row.bucket in backend.buckets:
                        self.store.put_bucket(row.bucket, backend.buckets[row.bucket].region_name)
                    old = self.store.put_object(row)
                else:
                    old = self.store.delete_object(*row)
                if old:
                    released.append(old)
        kept = {row.blob for row in rows if isinstance(row, ObjectRow)}
        released += [digest for digest, _ in tx.prewritten.values() if digest not in kept]  # puts that failed
        return released

    def _undo(self, tx: _Transaction) -> None:
        """Put the touched buckets and keys back as the disk has them: that is what was last acknowledged."""
        backend = self.backend
        stored_buckets = dict(self.store.buckets())
        for name in tx.buckets:
            if name in stored_buckets and name not in backend.buckets:
                self._original["create_bucket"](name, stored_buckets[name])
            elif name not in stored_buckets and name in backend.buckets:
                backend.buckets.pop(name)
                _bucket_accounts().pop(name, None)
        stored = {(row.bucket, row.key): row for row in self.store.objects() if (row.bucket, row.key) in tx.keys}
        for bucket_name, key_name in tx.keys:
            bucket = backend.buckets.get(bucket_name)
            if bucket is None:
                continue
            row = stored.get((bucket_name, key_name))
            if row is None:
                if key_name in bucket.keys:
                    bucket.keys.pop(key_name)
            else:
                self._load(row, self.store.read_blob(row.blob))
        for bucket, upload_id, multipart in tx.multiparts:
            bucket.multiparts[upload_id] = multipart

    # ------------------------------------------------------------- restore

    def restore(self) -> tuple[int, list[tuple[ObjectRow, Any]], list[str]]:
        """Put every stored bucket and object back into moto, the bytes left in their files until first read.

        Returns (objects restored, the restored keys for ``verify``, one line per row dropped: its file is
        missing or has the wrong size). Reading 10 000 files at start would cost more than the rest of it.
        """
        problems: list[str] = []
        for name, region in self.store.buckets():
            if name not in self.backend.buckets:
                self._original["create_bucket"](name, region)
        dropped: list[tuple[str, str]] = []
        restored: list[tuple[ObjectRow, Any]] = []
        key_class = _stored_key_class()
        for row in self.store.objects():
            bucket = self.backend.buckets.get(row.bucket)
            path = self.store.blob_path(row.blob)
            try:
                size = path.stat().st_size
            except OSError as exc:
                problem = f"s3://{row.bucket}/{row.key}: its data file is missing ({exc.strerror}); the object was dropped"
            else:
                if bucket is None:
                    problem = f"s3://{row.bucket}/{row.key}: its bucket is not stored; the object was dropped"
                elif size != row.size:
                    problem = f"s3://{row.bucket}/{row.key}: its data file is corrupt (size {size}, not {row.size}); the object was dropped"
                else:
                    key = key_class(
                        path, row, name=row.key, value=b"", account_id=self.backend.account_id,
                        region_name=self.backend.region_name, etag=row.etag, bucket_name=row.bucket,
                        is_versioned=bucket.is_versioned, version_id="null",
                    )
                    key.set_metadata(dict(row.metadata), replace=True)
                    key.last_modified = dt.datetime.fromisoformat(row.last_modified)
                    bucket.keys.setlist(row.key, [key])
                    restored.append((row, key))
                    continue
            log.error("recovery: %s", problem)
            problems.append(problem)
            dropped.append((row.bucket, row.key))
        if dropped:
            with self.store.transaction("the removal of unreadable objects"):
                for bucket_name, key_name in dropped:
                    self.store.delete_object(bucket_name, key_name)
        return len(restored), restored, problems

    def verify(self, restored: list[tuple[ObjectRow, Any]], problems: list[str]) -> None:
        """Check every restored object's file against its SHA-256 (in the background, after start);
        a corrupt one is reported in ``problems`` and dropped, unless it was replaced meanwhile."""
        for row, key in restored:
            try:
                with open(self.store.blob_path(row.blob), "rb") as handle:
                    intact = hashlib.file_digest(handle, "sha256").hexdigest() == row.blob
            except OSError:
                intact = False
            if intact:
                continue
            problem = f"s3://{row.bucket}/{row.key}: its data file is corrupt (checksum mismatch); the object was dropped"
            log.error("recovery: %s", problem)
            with self._write_lock:
                bucket = self.backend.buckets.get(row.bucket)
                if bucket is None or bucket.keys.get(row.key) is not key:
                    continue  # deleted or replaced since: nothing of the corrupt file is served
                bucket.keys.pop(row.key)
                try:
                    with self.store.transaction("the removal of a corrupt object"):
                        self.store.delete_object(row.bucket, row.key)
                except PersistError as exc:
                    log.error("%s", exc)
            problems.append(problem)

    def _load(self, row: ObjectRow, data: bytes) -> None:
        key = self._original["put_object"](row.bucket, row.key, data, etag=row.etag, disable_notification=True)
        key.set_metadata(dict(row.metadata), replace=True)
        key.last_modified = dt.datetime.fromisoformat(row.last_modified)

    # ----------------------------------------------------------------- wire

    def wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        """Wrap moto's WSGI app: a request's S3 changes are saved before its response goes out."""

        def durable_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
                return app(environ, start_response)
            held: list[Any] = []

            def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
                held[:] = [status, headers, exc_info]
                return _no_write

            try:
                with self.transaction():
                    body = app(environ, hold)
            except PersistError as exc:
                return _s3_error(start_response, environ, str(exc))
            start_response(*held)
            return body

        return durable_app


_installed: DurableS3 | None = None


@contextmanager
def transaction() -> Iterator[None]:
    """For in-process writers: their backend calls are saved together at the end (a no-op before ``install``)."""
    if _installed is None:
        yield
        return
    with _installed.transaction():
        yield


_STORED_KEY: Any = None


def _stored_key_class() -> Any:
    """moto's FakeKey, its bytes read from their blob file at first use (checked against the blob's SHA-256)."""
    global _STORED_KEY
    if _STORED_KEY is not None:
        return _STORED_KEY
    from moto.s3.models import FakeKey

    class StoredKey(FakeKey):  # type: ignore[misc]
        def __init__(self, path: Any, row: ObjectRow, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._load_lock = threading.Lock()
            self._blob_path = path
            self._row = row
            self.contentsize = row.size

        @property  # type: ignore[override]
        def value(self) -> bytes:
            with self._load_lock:
                if self._blob_path is not None:
                    data = self._blob_path.read_bytes()
                    if hashlib.sha256(data).hexdigest() != self._row.blob:
                        raise OSError(f"the data file of s3://{self._row.bucket}/{self._row.key} is corrupt")
                    FakeKey.value.fset(self, data)
                    self._blob_path = None
            return FakeKey.value.fget(self)

        @value.setter
        def value(self, new_value: bytes) -> None:
            self._blob_path = None
            FakeKey.value.fset(self, new_value)

        def __getstate__(self) -> dict[str, Any]:  # moto deep-copies keys when listing versions
            state = super().__getstate__()
            state.pop("_load_lock", None)
            return state

        def __setstate__(self, state: dict[str, Any]) -> None:
            self._load_lock = threading.Lock()
            super().__setstate__(state)

    _STORED_KEY = StoredKey
    return StoredKey


def _bucket_accounts() -> dict[str, Any]:
    from moto.s3.models import s3_backends

    return s3_backends.bucket_accounts


def _what(tx: _Transaction) -> str:
    names = [f"s3://{bucket}/{key}" for bucket, key in tx.keys] or [f"bucket {name}" for name in tx.buckets]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return shown or "the S3 change"


def _no_write(data: bytes) -> None:
    raise RuntimeError("moto's responses do not use the WSGI write() callable")


def _s3_error(start_response: Callable[..., Any], environ: dict[str, Any], message: str) -> list[bytes]:
    """S3's InternalError document, its message saying what could not be saved and why."""
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>InternalError</Code>"
        f"<Message>We encountered an internal error. Please try again. ({escape(message)})</Message>"
        f"<Resource>{escape(environ.get('PATH_INFO', ''))}</Resource><RequestId>{request_id}</RequestId></Error>"
    ).encode()
    start_response(
        "500 Internal Server Error",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("x-amz-request-id", request_id)],
    )
    return [body]
