"""Send botocore clients built for ``https://*.amazonaws.com`` to the local engine instead.

Standalone on purpose (no sm_magics import): it runs from ``sitecustomize``
in whatever interpreter ``sm-magics local run`` starts.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

_MARK = "_sm_magics_local_endpoint"


def _patch(client_module: Any, endpoint_url: str) -> None:
    creator = client_module.ClientCreator
    current = creator.create_client
    if getattr(current, _MARK, None) is not None:
        setattr(current, _MARK, endpoint_url)
        return
    import inspect

    signature = inspect.signature(current)

    def create_client(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        url = bound.arguments.get("endpoint_url")
        if isinstance(url, str) and ".amazonaws.com" in url:
            bound.arguments["endpoint_url"] = getattr(create_client, _MARK)
        return current(*bound.args, **bound.kwargs)

    setattr(create_client, _MARK, endpoint_url)
    create_client.__wrapped__ = current  # type: ignore[attr-defined]
    creator.create_client = create_client


class _PatchOnImport:
    """Waits for ``botocore.client`` to be imported, then patches it (importing botocore early costs ~0.1 s)."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "botocore.client":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader, endpoint_url = spec.loader, self.endpoint_url
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            _patch(module, endpoint_url)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def uninstall() -> None:
    """Undo ``install``: botocore's own client factory again, and no patch waiting for its import."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _PatchOnImport)]
    client_module = sys.modules.get("botocore.client")
    if client_module is None:
        return
    current = client_module.ClientCreator.create_client
    if getattr(current, _MARK, None) is not None:
        client_module.ClientCreator.create_client = current.__wrapped__


def install(endpoint_url: str) -> None:
    if "botocore.client" in sys.modules:
        _patch(sys.modules["botocore.client"], endpoint_url)
    elif not any(isinstance(finder, _PatchOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport(endpoint_url))
