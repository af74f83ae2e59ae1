"""Training hosts die with the engine, however the engine dies.

A host is a process forked by multiprocessing's forkserver, not by the engine,
and nothing in the operating system ends a process when its grandparent ends.
Left alone, hosts of a killed engine (kill -9, a crash, the OOM killer) would
train on for minutes, and a leader waiting for its peers would wait for good.
Two ties keep them from outliving it:

* the lifeline: a pipe whose only write end the engine holds and never writes
  to. Each host watches the read end from a daemon thread; when the engine
  process ends, the kernel closes that end, the read returns EOF and the host
  exits at once. This works on Linux and macOS alike.
* on Linux, also ``PR_SET_PDEATHSIG``: the kernel sends the host SIGKILL when
  its parent, the forkserver, exits, which the forkserver does as soon as the
  engine is gone (its own "alive" pipe from the engine reaches EOF). This one
  fires even while the host's Python thread is stuck in C code that holds
  the GIL, where the watching thread could not run.

  For that chain to hold, the host lets go of the copy of the forkserver's
  "alive" write end that every forkserver child is handed (so that it could
  start processes of its own through the forkserver, which hosts never do):
  while any host kept it, the forkserver would wait for the hosts and the
  hosts for the forkserver.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from typing import Any

_PR_SET_PDEATHSIG = 1
# the status a host ends with when it finds the engine gone (nobody is left to read it; it shows in `ps` traces)
ENGINE_GONE_EXIT = 70


def new(ctx: Any) -> tuple[Any, Any]:
    """(read end for the hosts, write end the engine keeps open for its whole life)."""
    return ctx.Pipe(duplex=False)


def tie_to_engine(read_end: Any) -> None:
    """In a host process: end this process when the engine's process ends."""
    _drop_forkserver_alive_fd()
    if sys.platform.startswith("linux"):
        _die_with_parent()
    threading.Thread(target=_watch, args=(read_end,), daemon=True, name="engine lifeline").start()


def _watch(read_end: Any) -> None:
    try:
        while True:
            read_end.recv_bytes()  # the engine never writes: this returns only at EOF (EOFError)
    except (EOFError, OSError):
        pass
    os._exit(ENGINE_GONE_EXIT)


def _drop_forkserver_alive_fd() -> None:
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is None:  # not a forkserver child (the spawn start method), or a Python that hands out no such copy
        return
    server._forkserver_alive_fd = None
    try:
        os.close(fd)
    except OSError:
        pass


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no usable libc: the lifeline thread still ties the host to the engine
        return
    if os.getppid() == 1:  # the parent ended before prctl took effect: it will send no signal now
        os._exit(ENGINE_GONE_EXIT)
