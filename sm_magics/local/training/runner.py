"""Supervises training hosts: starts their processes, relays what they report, enforces limits.

Training never runs in a request thread: each host is a process from a
forkserver that has numpy, scikit-learn and boto3 already imported, so a job
starts in tens of milliseconds instead of the second a cold interpreter takes,
and a crashing or runaway algorithm cannot take the server down with it.

Hosts end with their job and with the engine: a job whose host dies (killed,
out of memory, crashed) fails within a fraction of a second, as SageMaker
fails a job when one of its instances' algorithm exits non-zero, and its
other hosts are stopped; the engine's own end takes every host with it
(``lifeline``).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import lifeline
from .container import run_host

PRELOAD = ["numpy", "boto3", "sklearn.cluster", "sm_magics.local.training.container"]

EventSink = Callable[[str, tuple], None]
# how often a supervisor looks at its hosts, its job's stop request and its deadline
CHECK_SECONDS = 0.1


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


@dataclass
class _Run:
    job_name: str
    processes: list[Any]
    events: Any
    gather: Any  # kept referenced: a queue collected early breaks the hosts that still read it
    peers: Any  # the hosts' pids, shared with them (kept referenced for the same reason)
    sink: EventSink
    deadline: float | None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    supervisor: threading.Thread | None = None


class TrainingRunner:
    """Runs training jobs' hosts and tells each job's ``sink(job_name, event)`` what happens.

    Events: ("status", secondary, message), ("log", host, line),
    ("metric", name, value), and exactly one terminal event per job:
    ("completed", model_uri), ("failed", reason) or ("stopped", secondary).
    """

    def __init__(self) -> None:
        self._ctx = _context()
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        # the write end lives in this process only and is never written: hosts watch the read end for EOF
        self._lifeline_read, self._lifeline_write = lifeline.new(self._ctx)

    def warm_up(self) -> None:
        """Start the forkserver now, so the first job does not pay for its imports."""
        process = self._ctx.Process(target=time.sleep, args=(0,), daemon=True)
        process.start()
        process.join()

    def start(self, spec: dict[str, Any], sink: EventSink) -> None:
        events, gather = self._ctx.Queue(), self._ctx.Queue()
        count = spec["instance_count"]
        with self._lock:
            busy = sum(len(r.processes) for r in self._runs.values()) + count
        # Hosts share the machine: each gets its slice of the cores for BLAS / OpenMP, so parallel
        # jobs (tuning) do not oversubscribe the CPU and run slower together than one after another.
        spec = {**spec, "threads": max(1, (os.cpu_count() or 1) // busy)}
        peers = self._ctx.Array("q", count, lock=False)
        processes = [
            self._ctx.Process(
                target=run_host,
                args=(spec, host, events, gather, self._lifeline_read, peers),
                daemon=True,
                name=f"{spec['job_name']}/algo-{host}",
            )
            for host in range(1, count + 1)
        ]
        max_runtime = spec.get("max_runtime")
        run = _Run(spec["job_name"], processes, events, gather, peers, sink, time.monotonic() + max_runtime if max_runtime else None)
        with self._lock:
            self._runs[run.job_name] = run
        for index, process in enumerate(processes):
            process.start()
            peers[index] = process.pid
        run.supervisor = threading.Thread(target=self._supervise, args=(run,), daemon=True, name=f"supervise {run.job_name}")
        run.supervisor.start()

    def stop(self, job_name: str) -> bool:
        with self._lock:
            run = self._runs.get(job_name)
        if run is None:
            return False
        run.stop_requested.set()
        return True

    def close(self, timeout: float = 10.0) -> None:
        """The engine is stopping: end every host now and wait for their supervisors; no host outlives the engine."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop_requested.set()
            for process in run.processes:
                process.kill()  # (a no-op for a host already reaped)
        deadline = time.monotonic() + timeout
        for run in runs:
            if run.supervisor is not None:
                run.supervisor.join(timeout=max(0.0, deadline - time.monotonic()))
        self._lifeline_write.close()

    def _supervise(self, run: _Run) -> None:
        terminal: tuple | None = None
        next_check = 0.0
        try:
            while terminal is None:
                try:
                    event = run.events.get(timeout=CHECK_SECONDS)
                except queue.Empty:
                    event = None
                if event is not None:
                    if event[0] in ("completed", "failed"):
                        terminal = event
                        break
                    run.sink(run.job_name, event)
                # a chatty host (a log line per epoch) must not keep its job from being stopped or failed
                if event is not None and time.monotonic() < next_check:
                    continue
                next_check = time.monotonic() + CHECK_SECONDS
                if run.stop_requested.is_set():
                    terminal = ("stopped", "Stopped")
                elif run.deadline is not None and time.monotonic() > run.deadline:
                    terminal = ("stopped", "MaxRuntimeExceeded")
                elif _crashed(run):
                    # one host is gone: the job cannot finish (its leader would wait for that host's share)
                    drained = self._drain(run)
                    terminal = drained if drained and drained[0] == "completed" else self._crash_reason(run)
                elif all(not p.is_alive() for p in run.processes):
                    terminal = self._drain(run) or self._crash_reason(run)
            if terminal[0] == "failed" and _crashed(run):
                terminal = self._crash_reason(run)  # a peer's crash, not what the leader made of it, is the cause
        finally:
            for process in run.processes:
                if process.is_alive():
                    if terminal and terminal[0] == "completed":
                        process.join(timeout=5)
                    process.terminate()
                    process.join(timeout=2)
                if process.is_alive():
                    process.kill()
                process.join(timeout=5)
            # anything the hosts said before they ended still belongs in the log
            self._drain(run)
            with self._lock:
                self._runs.pop(run.job_name, None)
            run.sink(run.job_name, terminal or ("failed", "InternalServerError: the training supervisor stopped"))

    def _drain(self, run: _Run) -> tuple | None:
        terminal = None
        while True:
            try:
                event = run.events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return terminal
            if event[0] in ("completed", "failed"):
                terminal = terminal or event
            else:
                run.sink(run.job_name, event)

    @staticmethod
    def _crash_reason(run: _Run) -> tuple:
        crashed = [p for p in run.processes if p.exitcode not in (None, 0)]
        if crashed:
            hosts = ", ".join(f"{_host(p)} exited with code {p.exitcode} ({_how(p.exitcode)})" for p in crashed)
            others = "; the job's other hosts were stopped" if len(run.processes) > len(crashed) else ""
            return ("failed", f"AlgorithmError: {hosts} before the training job finished{others}")
        codes = ", ".join(f"{_host(p)} exit code {p.exitcode}" for p in run.processes)
        return ("failed", f"AlgorithmError: the training process ended without a result ({codes})")


def _crashed(run: _Run) -> bool:
    """Whether a host ended abnormally (a signal or a non-zero status): hosts that fail cleanly report it and exit 0."""
    return any(p.exitcode not in (None, 0) for p in run.processes)


def _host(process: Any) -> str:
    return process.name.rsplit("/", 1)[-1]


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"
