"""The seeded tutorial data config in a data directory an older engine seeded.

Engines before this one wrote ``{region: {"default_bucket": ...}}`` to
``s3://example-notebooks-data-config/config/data_config.json``, which the
SDK's ``S3DataConfig.get_data_bucket()`` hands to ``download_file`` as a
bucket name. Such a data directory must come back with the layout AWS
publishes (region -> bucket name, plus ``default``).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from helpers import free_port
from sm_magics import launcher

CONFIG = {"Bucket": "example-notebooks-data-config", "Key": "config/data_config.json"}


def s3_client(info: launcher.EngineInfo):
    return boto3.client("s3", endpoint_url=info.url, region_name="us-east-1", **info.credentials.as_boto3())


def test_an_old_layout_config_is_rewritten_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine"
    try:
        s3 = s3_client(launcher.start(port=free_port(), data_dir=data_dir))
        old = {"us-east-1": {"default_bucket": "sagemaker-example-files-prod-us-east-1"}}
        s3.put_object(Body=json.dumps(old).encode(), **CONFIG)
        assert launcher.stop(data_dir) is True

        s3 = s3_client(launcher.start(port=free_port(), data_dir=data_dir))
        config = json.loads(s3.get_object(**CONFIG)["Body"].read())
        assert config["us-east-1"] == "sagemaker-example-files-prod-us-east-1"
        assert config["default"] == "sagemaker-sample-files"
        assert all(isinstance(bucket, str) for bucket in config.values())
    finally:
        launcher.stop(data_dir)
