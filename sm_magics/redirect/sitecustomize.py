"""Loaded by every Python that ``sm-magics local run`` starts: points pinned AWS endpoints at the engine."""

import os as _os
import sys as _sys


def _sm_magics_local() -> None:
    here = _os.path.dirname(_os.path.abspath(__file__))
    url = _os.environ.get("SM_MAGICS_LOCAL_ENDPOINT")
    if url:
        if here not in _sys.path:
            _sys.path.insert(0, here)
        import sm_magics_aws_redirect

        sm_magics_aws_redirect.install(url)
    # A sitecustomize further down the path (a distribution's own) still runs.
    import importlib.machinery
    import importlib.util

    rest = [p for p in _sys.path if _os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_sm_magics_local()
