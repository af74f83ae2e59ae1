"""boto3 made ready while the local engine starts, so a notebook's first boto3 cell does not wait for it.

``%load_ext sm_magics`` starts the engine in the background and the next cell waits for it
(seconds on a fresh data dir). That next cell is typically ``boto3.client(...)``: importing
boto3 and parsing the JSON models botocore reads for S3, SageMaker and STS costs a few
hundred milliseconds more, which can be spent while the engine starts instead of after.

Only botocore's model files are read ahead, never the environment: the default session is
made after the backend has set the kernel's AWS variables, exactly as a cell would make it,
and only its model loader is the one warmed here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

# what a notebook's first boto3 / SageMaker SDK calls read
SERVICES = ("s3", "sagemaker", "sagemaker-runtime", "sts")
MODEL_KINDS = ("service-2", "endpoint-rule-set-1")
SHARED_DATA = ("endpoints", "partitions", "sdk-default-configuration", "_retry")


class BotoWarmUp:
    """Imports boto3 and fills a botocore model loader in a thread, from construction on."""

    def __init__(self) -> None:
        self._loader: Any = None
        self._thread = threading.Thread(target=self._read_models, daemon=True, name="boto3 warm-up")
        self._thread.start()

    def _read_models(self) -> None:
        try:
            import boto3  # noqa: F401  (the import itself is most of the saving)
            import botocore.loaders

            loader = botocore.loaders.create_loader()
            for service in SERVICES:
                for kind in MODEL_KINDS:
                    loader.load_service_model(service, kind)
            for name in SHARED_DATA:
                loader.load_data(name)
            self._loader = loader
        except Exception as exc:  # noqa: BLE001 - best effort: the cell will read the models itself
            log.debug("boto3 warm-up skipped: %s", exc)

    def install_default_session(self, timeout: float = 10.0) -> bool:
        """Make boto3's default session now, from the environment in force, with the warmed loader.

        Returns whether it did. It does not when a default session exists already, or when the
        user points botocore at model files of their own (``AWS_DATA_PATH`` / ``data_path``).
        """
        self._thread.join(timeout)
        if self._loader is None:
            return False
        import boto3
        import botocore.session

        if boto3.DEFAULT_SESSION is not None:
            return False
        session = botocore.session.get_session()
        if session.get_config_variable("data_path"):
            return False
        session.register_component("data_loader", self._loader)
        boto3.setup_default_session(botocore_session=session)
        return True
