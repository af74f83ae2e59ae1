"""``%%sm_train`` with a cell of the user's own SDK / boto3 code: run it as written, show what it creates.

The code is not rewritten: ``workflow.tracking`` observes the SageMaker calls it makes, and each
training job or endpoint created gets a live widget; the SDK's own progress output is folded away
underneath so the widgets stay readable, and unfolded when the cell raises.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

from ..i18n import _, ngettext


def run_tracked(shell: Any, backend: Any, body: str, tags: list[dict[str, str]], handles: dict[str, Any],
                show: Callable[[Any, str | None], None]) -> None:
    """Run ``body`` in the notebook's namespace; tag and show each resource it creates as it appears."""
    from IPython.display import display

    from ..widgets import view_for, widgets_available
    from ..workflow.endpoints import Endpoint
    from ..workflow.jobs import TrainingJob
    from ..workflow.tracking import tracking

    created: list[Any] = []
    board = capture = folder = None
    if widgets_available():
        import ipywidgets as w

        from ..widgets.snapshot import StaticBox  # saved with its widgets' last states

        board, capture = StaticBox(), w.Output()
        folder = w.Accordion(children=[capture], titles=(_("Output of the cell's code (SDK progress, logs, prints)"),))
        folder.selected_index = None
        display(board)
        display(folder)

    def on_created(item: Any) -> None:
        handle = None
        if item.kind == "training-job":
            image = item.params.get("AlgorithmSpecification", {}).get("TrainingImage", "")
            handle = TrainingJob(backend, item.name, image.rsplit("/", 1)[-1].split(":")[0] or None)
        elif item.kind == "endpoint":
            handle = Endpoint(backend, item.name)
        arn_kind = {"training-job": "training-job", "model": "model", "endpoint-config": "endpoint-config", "endpoint": "endpoint"}.get(item.kind)
        if arn_kind:
            try:
                arn = f"arn:aws:sagemaker:{item.region}:{backend.account}:{arn_kind}/{item.name.lower()}"
                backend.client("sagemaker", item.region).add_tags(ResourceArn=arn, Tags=tags)
            except Exception:
                pass  # tagging is a convenience for %sm_cleanup; never break the user's code for it
        created.append(item)
        if handle is not None and board is not None:
            handles[handle.name] = handle
            board.children += (view_for(handle),)
        elif handle is not None:
            show(handle, None)

    with tracking(on_created), (capture if capture is not None else contextlib.nullcontext()):
        result = shell.run_cell(body, store_history=False)
    if folder is not None and not result.success:
        folder.selected_index = 0  # the traceback must be seen
    if created:
        listed = ", ".join(f"{c.kind} {c.name}" for c in created)
        print(ngettext("sm_magics tracked {n} resource: {listed}", "sm_magics tracked {n} resources: {listed}", len(created))
              .format(n=len(created), listed=listed))
    if not result.success:
        print(_("sm_magics: the cell raised; resources it created before that are listed above and stay tracked"))
