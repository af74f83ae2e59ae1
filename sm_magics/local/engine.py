"""The engine's parts wired together: regional SageMaker backends, training, hosting, logs, state on disk."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

from . import credentials, moto_services, persistence, sample_data, settings
from .runtime.hosting import Hosting
from .sagemaker.models import SageMakerBackend, from_jsonable, to_jsonable
from .training.runner import TrainingRunner

log = logging.getLogger("sm_magics.local")


class Engine:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://{settings.HOST}:{port}"
        self.work_dir = data_dir / "work"
        self.credentials = credentials.load_or_create(data_dir)
        self.backends: dict[str, SageMakerBackend] = {}
        self._backends_lock = threading.Lock()
        self.runner = TrainingRunner()
        self.hosting = Hosting(moto_services.read_object, cache_dir=data_dir / "cache")
        self.logs = moto_services.LogsWriter()
        self._dirty = threading.Event()
        self._closing = threading.Event()
        # Set at the stop signal, before the server stops answering: what running jobs report after
        # that (connection errors, mostly) is not their outcome; they are failed at the next start.
        self.stopping = threading.Event()
        self._saver = threading.Thread(target=self._save_loop, daemon=True, name="state saver")

    def backend(self, region: str) -> SageMakerBackend:
        with self._backends_lock:
            if region not in self.backends:
                self.backends[region] = SageMakerBackend(region, self)
            return self.backends[region]

    # -------------------------------------------------------------- lifecycle

    def open(self) -> None:
        """Restore what the last run left, seed identities and sample data, warm the worker pool."""
        shutil.rmtree(self.work_dir, ignore_errors=True)
        objects = persistence.restore_s3(self.data_dir / "s3")
        persistence.restore_logs(self.data_dir / "logs.json")
        moto_services.ensure_identity(self.credentials)
        sample_data.seed(self.data_dir / "cache")
        state = persistence.load_json(self.data_dir / "sagemaker.json") or {}
        for region, snapshot in state.items():
            self.backend(region).restore(from_jsonable(snapshot))
        log.info("restored %d S3 objects and %d region(s) of SageMaker state", objects, len(state))
        self.runner.warm_up()
        self._saver.start()
        self.save_soon()

    def close(self) -> None:
        self._closing.set()
        self._saver.join(timeout=5)
        self.save_state()
        persistence.save_s3(self.data_dir / "s3")
        persistence.save_logs(self.data_dir / "logs.json", sorted(set(self.backends) | {settings.DEFAULT_REGION}))
        shutil.rmtree(self.work_dir, ignore_errors=True)

    # ----------------------------------------------------------------- state

    def save_soon(self) -> None:
        """Ask for the SageMaker state to be written; bursts of changes cost one write."""
        self._dirty.set()

    def save_state(self) -> None:
        snapshot = {region: to_jsonable(backend.snapshot()) for region, backend in list(self.backends.items())}
        persistence.save_json(self.data_dir / "sagemaker.json", snapshot)

    def _save_loop(self) -> None:
        """Writes state after changes; also the TTL guard (expired endpoints are deleted)."""
        from .sagemaker.models import utcnow

        while not self._closing.is_set():
            for backend in list(self.backends.values()):
                for name in backend.expire_endpoints(utcnow()):
                    log.info("endpoint %s (%s) reached its sm_magics:expires-at time and was deleted", name, backend.region)
            if self._dirty.wait(timeout=0.5):
                self._dirty.clear()
                try:
                    self.save_state()
                except Exception:  # keep serving; the next change tries again
                    log.exception("could not write the SageMaker state")
