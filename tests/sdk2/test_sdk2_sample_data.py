"""The tutorials' sample-data lookup, run unmodified (SDK 2.x) against the engine.

``S3DataConfig(...).get_data_bucket()`` returns ``config[region]`` from
``s3://example-notebooks-data-config/config/data_config.json`` and the
notebooks pass it straight to ``download_file``: the engine's seeded config
must map regions to bucket names that hold the MNIST pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

from sdk_common import needs_sdk, run_user_script

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(2, "run in .venv")


def test_s3_data_config_names_a_bucket_that_holds_mnist(engine, aws, tmp_path: Path) -> None:
    run = run_user_script(engine, SCRIPTS / "sample_data_config.py", tmp_path)
    result = run.succeeded()

    assert result["region"] == "us-east-1"
    assert result["data_bucket"] == "sagemaker-example-files-prod-us-east-1"
    assert f"Using data from {result['data_bucket']}" in run.stdout
    # a region the config does not list falls back to "default"
    assert result["default_bucket"] == "sagemaker-sample-files"
    # the pickle's layout: (train, valid, test) of 784-pixel float images in [0, 1] and digit labels
    assert [shape[1] for shape in result["shapes"]] == [784, 784, 784]
    assert [shape[0] for shape in result["shapes"]] == result["label_counts"]
    assert sum(result["label_counts"]) == 5000
    assert result["pixel_range"][0] == 0.0 and result["pixel_range"][1] <= 1.0
    assert result["labels"] == list(range(10))
    assert result["same_elsewhere"] and result["same_plain"]


def test_seeded_config_is_region_to_bucket_name(aws) -> None:
    """Every value of the config is the name of a seeded bucket holding the tutorials' key."""
    body = aws.s3.get_object(Bucket="example-notebooks-data-config", Key="config/data_config.json")["Body"].read()
    config = json.loads(body)
    assert config["default"] == "sagemaker-sample-files"
    assert config["us-west-2"] == "sagemaker-example-files-prod-us-west-2"
    for region, bucket in config.items():
        assert isinstance(bucket, str), f"{region}: {bucket!r} is not a bucket name"
        head = aws.s3.head_object(Bucket=bucket, Key="datasets/image/MNIST/mnist.pkl.gz")
        assert head["ContentLength"] > 1_000_000
