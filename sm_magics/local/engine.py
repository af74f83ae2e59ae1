"""The engine's parts wired together: regional SageMaker backends, training, hosting, logs, state on disk."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import credentials, moto_services, persistence, sample_data, settings
from .durable_s3 import DurableS3
from .runtime.hosting import Hosting
from .sagemaker import idle
from .sagemaker.models import SageMakerBackend, utcnow
from .store import Store
from .training.runner import TrainingRunner

log = logging.getLogger("sm_magics.local")

TTL_INTERVAL = 0.5  # seconds between two looks for expired endpoints
WARM_UP_THREADS = 2  # restored endpoints whose models load in the background at once


class Engine:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://{settings.HOST}:{port}"
        self.work_dir = data_dir / "work"
        self.credentials = credentials.load_or_create(data_dir)
        self.store = Store(data_dir)
        self.s3 = DurableS3(self.store)
        self.backends: dict[str, SageMakerBackend] = {}
        self._backends_lock = threading.Lock()
        self.runner = TrainingRunner()
        self.hosting = Hosting(moto_services.read_object, cache_dir=data_dir / "cache")
        self.logs = moto_services.LogsWriter(self.store)
        self.recovery: list[str] = []  # one line per thing found broken at start and dropped
        self.last_refusal: str | None = None  # the last SageMaker request refused because it could not be saved
        self._closing = threading.Event()
        # Set at the stop signal, before the server stops answering: what running jobs report after
        # that (connection errors, mostly) is not their outcome; they are failed at the next start.
        self.stopping = threading.Event()
        self.idle_scale = idle.idle_scale()  # 1, or a test's shortening of sm_magics:idle-after
        self._ttl_guard = threading.Thread(target=self._ttl_loop, daemon=True, name="ttl guard")

    def backend(self, region: str) -> SageMakerBackend:
        with self._backends_lock:
            if region not in self.backends:
                self.backends[region] = SageMakerBackend(region, self, self.store.region(region))
            return self.backends[region]

    # -------------------------------------------------------------- lifecycle

    def open(self) -> None:
        """Recover what the last run left (torn writes included), seed identities and sample data.

        PersistError when the data dir cannot hold the engine's state (the caller exits with it).
        """
        started = time.monotonic()
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.store.open()
        removed = self.store.collect_garbage()
        if removed:
            log.info("recovery: removed %d temporary or unreferenced blob file(s) of interrupted writes", removed)
        self.s3.install(moto_services.s3_backend())
        objects, restored, problems = self.s3.restore()
        self.recovery += problems
        self._restore_logs()
        self.recovery += persistence.migrate_legacy(self)
        moto_services.ensure_identity(self.credentials)
        sample_data.seed(self.data_dir / "cache")
        records = self.store.records()
        for region, kinds in records.items():
            self.backend(region).restore(kinds)
        log.info(
            "restored %d S3 objects and %d region(s) of SageMaker state in %.2f s",
            objects, len(records), time.monotonic() - started,
        )
        # Neither blocks answering: the first training job or invocation waits for what it needs.
        threading.Thread(target=self.runner.warm_up, daemon=True, name="forkserver warm-up").start()
        threading.Thread(target=self._warm_endpoints, daemon=True, name="endpoint warm-up").start()
        threading.Thread(target=self.s3.verify, args=(restored, self.recovery), daemon=True, name="s3 verify").start()
        self._ttl_guard.start()

    def close(self) -> list[str]:
        """Stop background work and close the database; never raises. Returns what could not be saved."""
        problems: list[str] = []
        self.runner.close()  # first: no host keeps computing (or writing to S3) while the state is written
        self._closing.set()
        try:
            self._ttl_guard.join(timeout=5)
            for backend in list(self.backends.values()):
                idle.save_invocations(backend)
                problems += backend.retry_unsaved()
            if self.logs.unsaved:
                problems.append(f"{self.logs.unsaved} log line(s): {self.logs.last_failure}")
            self.store.close()
        except Exception as exc:  # the process is ending: say what went wrong, do not die in the middle
            log.exception("closing the engine's state failed")
            problems.append(f"closing the state database: {exc}")
        shutil.rmtree(self.work_dir, ignore_errors=True)
        for problem in problems:
            log.error("not saved: %s", problem)
        return problems

    def durability(self) -> dict[str, object]:
        """What the health check reports: writes refused or left unsaved since start, and recovery findings."""
        unsaved: list[str] = []
        for backend in list(self.backends.values()):
            with backend.lock:
                unsaved += [f"{kind} {name} ({backend.region}): {why}" for (kind, name), why in backend.unsaved.items()]
        if self.logs.unsaved:
            unsaved.append(f"{self.logs.unsaved} log line(s): {self.logs.last_failure}")
        return {
            "unsaved": unsaved,
            "refused_s3_writes": self.s3.refused,
            "last_refusal": self.s3.last_failure or self.last_refusal,
            "recovery": list(self.recovery),
        }

    # ---------------------------------------------------------------- helpers

    def _restore_logs(self) -> None:
        streams: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
        for region, group, stream, ts, message in self.store.log_events():
            streams.setdefault((region, group, stream), []).append((ts, message))
        for (region, group, stream), events in streams.items():
            self.logs.replay(group, stream, events, region)

    def _warm_endpoints(self) -> None:
        """Load restored endpoints' models a few at a time, so most are warm before anyone asks."""
        pending = [(backend, endpoint) for backend in list(self.backends.values()) for endpoint in backend.restored_endpoints()]
        with ThreadPoolExecutor(WARM_UP_THREADS, thread_name_prefix="endpoint warm-up") as pool:
            for backend, endpoint in pending:
                if self._closing.is_set():
                    break
                pool.submit(backend.load_restored, endpoint)

    def _ttl_loop(self) -> None:
        """The TTL guard: endpoints whose ``sm_magics:expires-at`` time has passed are deleted, and
        those idle past their ``sm_magics:idle-after`` (marked expired by ``idle.sweep`` first)."""
        while not self._closing.wait(TTL_INTERVAL):
            for backend in list(self.backends.values()):
                try:
                    idle.sweep(backend, utcnow(), self.idle_scale)
                    for name in backend.expire_endpoints(utcnow()):
                        log.info("endpoint %s (%s) reached its sm_magics:expires-at time and was deleted", name, backend.region)
                except Exception:  # keep guarding; the next round tries again
                    log.exception("the TTL guard failed in %s", backend.region)

