"""`sm-magics endpoints list|delete`: the terminal side of the same listing and cascade the magics use."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from helpers import deploy, train_kmeans


def cli(engine, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_"))}
    env.update(SM_MAGICS_LOCAL_DATA_DIR=str(engine.data_dir))
    return subprocess.run([sys.executable, "-m", "sm_magics.cli", "endpoints", *args, "--backend", "local"],
                          capture_output=True, text=True, env=env, input=stdin, timeout=120)


def test_list_shows_cost_and_ttl_and_delete_cascades(engine, aws, mnist):
    (x, _), _, _ = mnist
    job = train_kmeans(aws, x[:300], k=3)
    cheap = deploy(aws, job["ModelArtifacts"]["S3ModelArtifacts"])
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).isoformat(timespec="seconds")
    aws.sagemaker.add_tags(ResourceArn=aws.sagemaker.describe_endpoint(EndpointName=cheap)["EndpointArn"],
                           Tags=[{"Key": "sm_magics:expires-at", "Value": expires}, {"Key": "sm_magics:notebook", "Value": "nb.ipynb"}])
    listed = cli(engine, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = next(r for r in json.loads(listed.stdout) if r["name"] == cheap)
    assert (row["instance_type"], row["instance_count"], row["usd_per_hour"]) == ("ml.m4.xlarge", 1, None)  # not in the us-east-1 table
    assert 7000 < row["ttl_seconds_left"] <= 7200 and row["notebook"] == "nb.ipynb"
    assert (row["config_name"], row["models"], row["region"]) == (cheap, [cheap], "us-east-1")
    table = cli(engine, "list")
    assert cheap in table.stdout and "not billed" in table.stdout and "nb.ipynb" in table.stdout

    refused = cli(engine, "delete", cheap)  # no terminal to ask on, no --yes: nothing happens
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert aws.sagemaker.describe_endpoint(EndpointName=cheap)["EndpointStatus"] == "InService"

    deleted = cli(engine, "delete", cheap, "does-not-exist", "--yes")
    assert f"deleted endpoint {cheap}, endpoint config {cheap}, model {cheap}" in deleted.stdout
    assert "endpoint does-not-exist does not exist" in deleted.stdout and deleted.returncode == 1
    assert cheap not in cli(engine, "list").stdout
