"""``%sm_transform`` without Spark: arrays, pandas DataFrames and S3 prefixes, on the session's engine.

The answers come back as the input's kind (named arrays, a DataFrame with the input's index, the output
prefix); a bad input is one line and creates nothing; the model made for the job is gone once it ends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError

from magics.test_magics_shell import get_ipython, loaded_in  # noqa: E402  (the magics' own shell fixture mechanics)


@pytest.fixture(scope="module")
def ip(engine, mnist):
    (x, _), _, (tx, ty) = mnist
    with loaded_in(get_ipython(), engine) as shell:
        shell.user_ns.update(x=x[:600], tx=tx[:40], ty=ty[:40])
        shell.run_cell_magic("sm_train", "kmeans --as km --wait", "k: 5\ntrain: x\n")
        yield shell


def transform_jobs(ip) -> int:
    return len(ip.user_ns["km"].backend.client("sagemaker").list_transform_jobs(MaxResults=100)["TransformJobSummaries"])


def models(ip) -> set[str]:
    sagemaker = ip.user_ns["km"].backend.client("sagemaker")
    return {m["ModelName"] for page in sagemaker.get_paginator("list_models").paginate() for m in page["Models"]}


def test_an_array_gives_named_arrays_like_predict(ip):
    before = models(ip)
    answer = ip.run_line_magic("sm_transform", "km tx --wait --as tjob")
    assert answer["closest_cluster"].shape == (40,) and answer["closest_cluster"].dtype == np.int64
    assert set(answer["closest_cluster"]) <= set(range(5)) and np.all(answer["distance_to_cluster"] >= 0)
    job = ip.user_ns["tjob"]
    assert job.status == "Completed" and job.result() is answer
    assert models(ip) <= before  # the model made for the transform is deleted once it ends


def test_a_pandas_frame_gives_a_frame_with_its_index(ip):
    frame = pd.DataFrame(ip.user_ns["tx"], index=[f"digit-{i}" for i in range(40)])
    ip.user_ns["frame"] = frame
    answer = ip.run_line_magic("sm_transform", "km frame --wait")
    assert isinstance(answer, pd.DataFrame) and list(answer.index) == list(frame.index)
    assert list(answer.columns) == ["closest_cluster", "distance_to_cluster"]


def test_an_s3_prefix_gives_the_output_prefix(ip):
    job = ip.user_ns["tjob"]  # its input prefix holds the RecordIO the array became
    source = job.description["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    output = ip.run_line_magic("sm_transform", f"km {source} --wait")
    assert output.startswith("s3://") and output.endswith("/output/")
    bucket, _, prefix = output[len("s3://"):].partition("/")
    keys = [o["Key"] for o in job.backend.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert [k.rsplit("/", 1)[1] for k in keys] == ["data.pbr.out"]


@pytest.mark.parametrize("line, expected", [
    ("km nothing_here", "'nothing_here' is neither a variable of this notebook nor an s3:// URI"),
    ("km wrong_width", "transform input has 3 features but training job"),
    ("km tx --instance-type ml.m5.larg", "did you mean ml.m5.large"),
    ("km", "usage: %sm_transform JOB DATA"),
])
def test_bad_input_is_one_line_and_creates_nothing(ip, line, expected):
    ip.user_ns["wrong_width"] = np.ones((4, 3))
    before = transform_jobs(ip)
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("sm_transform", line)
    assert "\n" not in str(caught.value) and expected in str(caught.value), str(caught.value)
    assert transform_jobs(ip) == before
