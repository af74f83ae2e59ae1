"""A notebook's channel on its way to S3 (workflow/training.py ``_upload``), against the real engine.

An XGBoost channel is converted to CSV part by part while boto3 uploads the parts already written: what
lands in S3 must be exactly the text the per-cell formatting gives (label first, no header, no index),
parse back to the same float32 values, and the progress the job's view shows must still count every
byte of a total known from the start. A conversion that fails half-way leaves nothing behind.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from helpers import unique
from sm_magics.formats import csv_text
from sm_magics.workflow import training
from sm_magics.workflow.algorithms import ALGORITHMS
from sm_magics.workflow.data import prepare_channel
from sm_magics.workflow.jobs import TrainingJob
from sm_magics.workflow.session import Backend


@pytest.fixture
def backend(engine):
    return Backend("local", "us-east-1", "test", endpoint_url=engine.url, engine=engine)


@pytest.fixture
def bucket(engine_clients):
    name = unique("channel-upload")
    engine_clients.s3.create_bucket(Bucket=name)
    return name


def per_cell(table: np.ndarray) -> bytes:
    return ("\n".join(",".join(f"{v:.9g}" for v in row) for row in table) + "\n").encode()


def recorded(backend: Backend, name: str) -> tuple[TrainingJob, list]:
    job = TrainingJob(backend, name, "xgboost")
    steps: list = []
    job.observe(lambda handle: steps.append(handle.preparation))
    return job, steps


def test_an_xgboost_channel_is_uploaded_as_it_is_converted_byte_for_byte(backend, bucket, engine_clients, mnist):
    (x, y), _, _ = mnist
    x = x[:4000].copy()  # the fixture is shared by the session: changed here on a copy
    labels = (y[:4000] == 3).astype(np.float32)
    x[0, :4] = [-0.0, 1e-45, 16777216.0, 3.4028235e38]  # awkward values a notebook may hold
    prepared = prepare_channel(ALGORITHMS["xgboost"], "train", x, labels)
    job, steps = recorded(backend, "csv-upload")

    channels, keys = training._upload(backend, bucket, "csv-upload", [prepared], 1, job)

    assert keys == ["sm_magics/csv-upload/train/data.csv"] and channels[0]["ContentType"] == "text/csv"
    body = engine_clients.s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    table = np.column_stack([labels, x.astype(np.float32)])
    assert body == per_cell(table)  # label first, no header, no index: what XGBoost's container reads
    assert body == csv_text.format_rows(x, labels)
    parsed = pd.read_csv(io.BytesIO(body), header=None, dtype=np.float64).to_numpy()
    assert parsed.astype(np.float32).view(np.uint32).tolist() == table.view(np.uint32).tolist()

    shown = [step for step in steps if step is not None]
    assert [step.step for step in shown][:2] == ["converting", "uploading"]
    uploads = [step for step in shown if step.step == "uploading"]
    assert uploads[0].total == len(body) > 8 << 20 and uploads[0].sent == 0  # the size is known before any part is sent
    sent = [step.sent for step in uploads]
    assert sent == sorted(sent) and sent[-1] == len(body) and len(set(sent)) >= 5  # parts on the way, every byte counted
    assert uploads[-1].rate > 0


def test_a_conversion_failing_half_way_leaves_no_object_and_no_open_upload(backend, bucket, engine_clients, mnist, monkeypatch):
    (x, y), _, _ = mnist
    prepared = prepare_channel(ALGORITHMS["xgboost"], "train", x[:4000], (y[:4000] == 3).astype(np.float32))
    written = []
    real_text = csv_text._Block.text

    def text(block):  # the third block's conversion fails (the first parts are already uploading)
        written.append(block)
        if len(written) == 3:
            raise MemoryError("no memory left for the next part")
        return real_text(block)

    monkeypatch.setattr(csv_text._Block, "text", text)
    job, _ = recorded(backend, "csv-failed")
    with pytest.raises(MemoryError, match="no memory left for the next part"):
        training._upload(backend, bucket, "csv-failed", [prepared], 1, job)
    assert len(written) == 3
    assert engine_clients.s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert engine_clients.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_bool_and_nullable_integer_columns_become_numbers_and_a_missing_one_is_refused():
    """A DataFrame from pd.get_dummies and nullable Int64 columns, as a notebook hands them over: 1/0 and
    the integers in the CSV text; a missing value is one line naming it, before anything is converted."""
    from sm_magics.workflow.data import DataError

    frame = pd.DataFrame({
        "flag": [True, False, True],
        "count": pd.array([3, -2, 16777217], dtype="Int64"),
        "value": np.array([-0.0, 1e-45, 2.5], dtype=np.float32),
    })
    labels = pd.Series([1, 0, 1], dtype="boolean")
    prepared = prepare_channel(ALGORITHMS["xgboost"], "train", frame, labels)
    assert prepared.payload() == b"1,1,3,-0\n0,0,-2,1.40129846e-45\n1,1,16777216,2.5\n"  # float32: 2**24 + 1 rounds
    frame.loc[1, "count"] = pd.NA
    with pytest.raises(DataError, match="contains 1 NaN/infinite value"):
        prepare_channel(ALGORITHMS["xgboost"], "train", frame, labels)
