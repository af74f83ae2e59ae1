"""The backend a kernel uses is the one it says, and switching gives the user's own AWS setup back.

A real kernel whose environment holds the user's own (fake) AWS keys and region,
with the local engine chosen for sm_magics: "Run All" reaches the engine with a
plain boto3 call in the very next cell; ``%sm_backend aws`` puts the user's keys,
region and botocore's own endpoints back (nothing is sent to AWS: the clients'
resolved endpoints and credentials are read, not called); ``%sm_backend local``
points everything at the engine again, any number of times.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from kernel import Kernel, kernel_env  # noqa: E402

USER_KEY = "AKIAUSERSOWNKEY00001"
USER_REGION = "eu-west-1"

PROBE = """
import boto3, json, os
_s3 = boto3.client("s3")
_sts = boto3.client("sts")  # the SDKs pin https://sts.<region>.amazonaws.com: the redirect's business
print(json.dumps({
    "key": _s3._request_signer._credentials.access_key,
    "region": _s3.meta.region_name,
    "s3_url": _s3.meta.endpoint_url,
    "sts_url": boto3.client("sts", endpoint_url=f"https://sts.{_s3.meta.region_name}.amazonaws.com").meta.endpoint_url,
    "endpoint_env": os.environ.get("AWS_ENDPOINT_URL"),
    "profile_env": os.environ.get("AWS_PROFILE"),
}))
"""


@pytest.fixture
def user_kernel(engine, tmp_path):
    env = kernel_env(engine, "switching.ipynb")
    env.update(AWS_ACCESS_KEY_ID=USER_KEY, AWS_SECRET_ACCESS_KEY="users-own-secret", AWS_DEFAULT_REGION=USER_REGION,
               AWS_PROFILE="users-profile")
    (tmp_path / "aws-config").write_text("[profile users-profile]\nregion = eu-west-1\n")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "aws-config")
    kernel = Kernel(env, str(tmp_path))
    yield kernel
    kernel.close()


def probe(kernel: Kernel) -> dict:
    return json.loads(kernel.run(PROBE).strip().splitlines()[-1])


def test_run_all_then_switch_local_aws_local_aws(user_kernel, engine):
    # "Run All": the cell after %load_ext runs while the engine may still be starting, and must find it
    user_kernel.run("%load_ext sm_magics")
    buckets = user_kernel.run("import boto3\nprint(sorted(b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']))")
    assert "sagemaker-sample-files" in buckets  # the engine's seeded public bucket: this call reached the engine

    on_engine = probe(user_kernel)
    assert on_engine["key"] == engine.credentials.access_key_id and on_engine["s3_url"] == engine.url
    assert on_engine["sts_url"] == engine.url and on_engine["profile_env"] is None

    for _ in range(2):
        said = user_kernel.run("%sm_backend aws")
        assert "AWS SageMaker" in said and f"region {USER_REGION}" in said
        on_aws = probe(user_kernel)
        assert on_aws == {"key": USER_KEY, "region": USER_REGION, "s3_url": f"https://s3.{USER_REGION}.amazonaws.com",
                          "sts_url": f"https://sts.{USER_REGION}.amazonaws.com", "endpoint_env": None,
                          "profile_env": "users-profile"}

        said = user_kernel.run("%sm_backend local")
        assert f"local SageMaker engine at {engine.url}" in said
        again = probe(user_kernel)
        assert again["key"] == engine.credentials.access_key_id and again["s3_url"] == engine.url
        assert again["sts_url"] == engine.url
        assert "sagemaker-sample-files" in user_kernel.run(
            "print([b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])")


def test_a_refused_switch_keeps_the_backend_in_use(engine, tmp_path):
    env = kernel_env(engine, "refused.ipynb")  # no AWS credentials of the user's at all
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    kernel = Kernel(env, str(tmp_path))
    try:
        kernel.run("%load_ext sm_magics")
        said = kernel.run("%sm_backend aws")  # a UsageError: IPython prints it as one line
        assert "UsageError: no AWS credentials found" in said and said.strip().endswith("(still using local)")
        still = probe(kernel)
        assert still["key"] == engine.credentials.access_key_id and still["s3_url"] == engine.url
    finally:
        kernel.close()
