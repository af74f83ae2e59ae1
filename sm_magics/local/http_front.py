"""The engine's HTTP server: keep-alive connections, a bounded pool of worker threads.

The WSGI application (``server.EngineApp``) does the admitting, authenticating
and routing; this module only carries its requests. SDK clients (boto3's
connection pool) keep their connections open between calls, so the server must
too: a server that closes after every response makes each call pay a new TCP
connection (werkzeug's development server did: an InvokeEndpoint p50 of 1.85x a
keep-alive do-nothing server's).

cheroot (CherryPy's server, a maintained pure-Python WSGI server) streams the
request body to the application as it arrives, so the per-API body limits and the
signature's claim are still checked before a body is read (waitress, the other
candidate, buffers every body before the application runs), and it parks idle
keep-alive connections in a selector instead of holding a thread for each.
``benchmarks/engine_auth.py`` measures the InvokeEndpoint latency it gives.

Bounds, against a local page or process that opens many connections:

* ``WORKER_THREADS`` threads serve requests; more requests wait in a queue;
* at most ``MAX_CONNECTIONS`` connections are open at once: beyond that a new
  connection is closed at once, before anything is read from it (the oldest
  idle keep-alive connections are not dropped for it: a client that is served
  keeps being served);
* a connection idle, or a request that stalls, for ``IDLE_TIMEOUT`` seconds is
  closed, which frees its thread (a header trickled byte by byte holds a thread
  at most that long between bytes, and only ``WORKER_THREADS`` of them can);
* at most ``KEEP_ALIVE_LIMIT`` idle connections are kept open for reuse;
* at most ``QUEUED_REQUESTS`` requests wait for a worker (beyond that: 503 at once), and a request
  line with its headers is at most ``MAX_HEADER_BYTES`` (beyond that: 413).
"""

from __future__ import annotations

import io
import logging
import socket
import threading
from typing import Any, Callable

from cheroot import connections as cheroot_connections
from cheroot import makefile as cheroot_makefile
from cheroot import server as cheroot_server
from cheroot import wsgi as cheroot_wsgi

log = logging.getLogger("sm_magics.local")

WORKER_THREADS = 16
MAX_CONNECTIONS = 256
KEEP_ALIVE_LIMIT = 64
QUEUED_REQUESTS = 256
LISTEN_BACKLOG = 128
MAX_HEADER_BYTES = 1024 * 1024
IDLE_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 5.0
SERVER_NAME = "sm_magics-local"


class _BoundedConnections(cheroot_connections.ConnectionManager):
    """cheroot's connection manager, with a cap on idle connections and no thread for a silent one.

    cheroot hands a new connection to a worker thread at once, which then waits
    for its first bytes: a few connections that send nothing would hold every
    worker. Here a new connection waits in the selector, like an idle keep-alive
    one, until it has something to read (or ``IDLE_TIMEOUT`` closes it).
    """

    def _from_server_socket(self, server_socket: Any) -> Any:
        conn = super()._from_server_socket(server_socket)
        if conn is None:
            return None
        if self._num_connections >= MAX_CONNECTIONS:
            log.warning("refused a connection: %d idle connections are already open", self._num_connections)
            conn.close()
            return None
        try:
            # small responses go out at once: without it, headers and body written separately wait
            # ~40 ms for the client's delayed ACK on every call
            conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.put(conn)  # to a worker once readable
        return None


class _SocketReader(io.BufferedReader):
    """cheroot's request reader on CPython's C buffered reader.

    cheroot reads requests through ``_pyio``'s pure-Python BufferedReader, so every header line
    costs Python-level buffering; the C reader does the same buffering natively. cheroot asks one
    more thing of it, ``has_data()`` (whether a parked keep-alive connection already holds the next
    request's bytes), which must not block: it peeks with the socket non-blocking for that moment.
    """

    def __init__(self, sock: socket.socket, bufsize: int = io.DEFAULT_BUFFER_SIZE) -> None:
        super().__init__(socket.SocketIO(sock, "rb"), bufsize)
        self._sock = sock
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.bytes_read += len(line)
        return line

    def has_data(self) -> bool:
        timeout = self._sock.gettimeout()
        self._sock.setblocking(False)
        try:
            return bool(self.peek(1))
        except (BlockingIOError, OSError, ValueError):  # nothing yet, or a connection already gone
            return False
        finally:
            try:
                self._sock.settimeout(timeout)
            except OSError:
                pass


def _makefile(sock: socket.socket, mode: str = "r", bufsize: int = io.DEFAULT_BUFFER_SIZE) -> Any:
    if "r" in mode:
        return _SocketReader(sock, bufsize)
    return cheroot_makefile.StreamWriter(sock, mode, bufsize)  # cheroot's writer sends each write at once


class _Connection(cheroot_server.HTTPConnection):
    def __init__(self, server: Any, sock: Any, makefile: Any = None) -> None:
        super().__init__(server, sock, makefile=_makefile)


class _Server(cheroot_wsgi.Server):
    ConnectionClass = _Connection
    keep_alive_conn_limit = KEEP_ALIVE_LIMIT
    # request line + headers (cheroot's default is no limit); bodies are bounded per API by the application
    max_request_header_size = MAX_HEADER_BYTES

    def prepare(self) -> None:
        super().prepare()
        self._connections = _BoundedConnections(self)

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        """cheroot's own complaints (a client gone mid-response, a malformed request line) go to our log."""
        log.log(logging.DEBUG if level < logging.WARNING else level, "http: %s", msg, exc_info=traceback)


def _with_raw_uri(app: Callable[..., Any]) -> Callable[..., Any]:
    """moto reads the request target as sent from ``RAW_URI`` (werkzeug's and gunicorn's name), else it
    rebuilds it from the decoded path, where an encoded ``?`` in an S3 key would end the path. cheroot
    names the same thing ``REQUEST_URI``."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if "RAW_URI" not in environ and "REQUEST_URI" in environ:
            environ["RAW_URI"] = environ["REQUEST_URI"]
        return app(environ, start_response)

    return wrapped


class Front:
    """One listening socket serving ``app`` until ``shutdown()``."""

    def __init__(self, host: str, port: int, app: Callable[..., Any]) -> None:
        self._server = _Server(
            (host, port),
            _with_raw_uri(app),
            numthreads=WORKER_THREADS,
            max=WORKER_THREADS,
            server_name=SERVER_NAME,
            timeout=int(IDLE_TIMEOUT),
            shutdown_timeout=int(SHUTDOWN_TIMEOUT),
            request_queue_size=LISTEN_BACKLOG,
            accepted_queue_size=QUEUED_REQUESTS,
            accepted_queue_timeout=0.05,  # a full queue answers 503 at once rather than stall the accepting loop
        )
        self._stopped = threading.Event()
        self._server.prepare()  # binds now: a port in use fails here with OSError, before anything else starts

    @property
    def port(self) -> int:
        return int(self._server.bind_addr[1])

    def serve_forever(self) -> None:
        """Serve until ``shutdown()``; returns once the listening socket is closed and the workers have ended."""
        try:
            self._server.serve()
        finally:
            self._stopped.wait()

    def shutdown(self) -> None:
        """Stop accepting, finish the requests in flight (``SHUTDOWN_TIMEOUT`` at most), end the workers."""
        try:
            self._server.stop()
        finally:
            self._stopped.set()
