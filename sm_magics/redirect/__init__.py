"""Re-points AWS clients that pin a public endpoint (SDK STS calls) at the local engine.

Both SageMaker SDK majors build their STS client with an explicit
``https://sts.<region>.amazonaws.com`` endpoint, which ``AWS_ENDPOINT_URL``
cannot override. This folder is put on ``PYTHONPATH`` by ``sm-magics local
run``: its ``sitecustomize`` loads ``sm_magics_aws_redirect`` (standalone, so
it works in any Python environment the command uses) and patches botocore's
client factory the moment botocore is imported. In-process callers (the
kernel) use ``redirect_in_process``.
"""

from __future__ import annotations

import os

FOLDER = os.path.dirname(os.path.abspath(__file__))


def redirect_in_process(endpoint_url: str) -> None:
    from . import sm_magics_aws_redirect

    sm_magics_aws_redirect.install(endpoint_url)


def undo_redirect_in_process() -> None:
    """Clients made from now on go where botocore sends them (AWS) again: the kernel switched away from the engine."""
    from . import sm_magics_aws_redirect

    sm_magics_aws_redirect.uninstall()
