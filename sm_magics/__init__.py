"""sm_magics: Amazon SageMaker in one notebook cell, with the cost in plain sight.

The package is import-light on purpose: nothing here imports the SageMaker SDK,
boto3 or the local engine, so ``%load_ext sm_magics`` stays fast.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext sm_magics``: register the magics and say which SageMaker they talk to."""
    from .magics import load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The REST API behind the JupyterLab panel (``sm_magics.server``)."""
    return [{"module": "sm_magics.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "sm-magics"}]
