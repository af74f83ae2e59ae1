"""docs/api-coverage.md is what the code says: every SageMaker operation of botocore's model, served or not."""

from __future__ import annotations

from sm_magics.local import coverage
from sm_magics.local.sagemaker.responses import HANDLERS
from sm_magics.local.wire import service_model


def test_committed_coverage_document_is_up_to_date() -> None:
    committed = coverage.DOC.read_text()
    assert committed == coverage.render(), (
        "docs/api-coverage.md is out of date with botocore's model or responses.HANDLERS: "
        "run python -m sm_magics.local.coverage --write"
    )


def test_every_operation_is_listed_once_with_what_the_engine_does() -> None:
    text = coverage.render()
    listed = [line.split(" | ")[:2] for line in text.splitlines()
              if line.startswith("| ") and line.count(" | ") >= 2 and line.split(" | ")[1] in ("yes", "no")]
    rows = {name[2:]: served for name, served in listed}
    operations = set(service_model("sagemaker").operation_names)
    assert len(listed) == len(rows), "an operation is listed twice"
    assert set(rows) == operations
    assert {op for op, served in rows.items() if served == "yes"} == set(HANDLERS)
    assert f"serves **{len(HANDLERS)} of {len(operations)}**" in text
