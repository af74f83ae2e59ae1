"""The magics driven through a real IPython shell against the session's local engine."""

from __future__ import annotations

import time

import numpy as np
import pytest
from IPython.core.error import UsageError

from shell import get_ipython, loaded_in, run  # tests/shell.py


@pytest.fixture(scope="module")
def ip(engine, mnist):
    """A real InteractiveShell with the extension loaded, pointed at the session engine."""
    with loaded_in(get_ipython(), engine) as shell:
        (x, y), (vx, vy), (tx, ty) = mnist
        shell.user_ns.update(x=x[:1500], y=y[:1500], vx=vx, tx=tx, ty=ty, np=np)
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


def test_load_ext_says_which_backend(capsys, engine):
    with loaded_in(get_ipython(), engine) as shell:
        shell.run_line_magic("sm_jobs", "")  # waits for the backend chosen in the background
    out = capsys.readouterr().out
    assert "local SageMaker engine" in out and "chosen explicitly" in out


def test_train_deploy_predict_cleanup(ip, capsys):
    run(ip, "sm_train", "kmeans --as job --wait", "k: 10\nepochs: 2\ntrain: x\ntest: vx\n")
    job = ip.user_ns["job"]
    assert job.status == "Completed"
    assert set(job.final_metrics) >= {"train:msd", "test:msd"}
    run(ip, "sm_deploy", "job --as predictor --ttl 1h")
    predictor = ip.user_ns["predictor"]
    answer = predictor.predict(ip.user_ns["tx"][:50])
    assert answer["closest_cluster"].shape == (50,) and answer["closest_cluster"].dtype == np.int64
    assert set(answer["closest_cluster"]) <= set(range(10)) and len(set(answer["closest_cluster"])) >= 5
    assert np.all(answer["distance_to_cluster"] > 0)
    sagemaker = predictor.backend.client("sagemaker")
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=predictor.description["EndpointArn"])["Tags"]}
    assert tags["sm_magics:created-by"] == "sm_magics" and "sm_magics:expires-at" in tags
    capsys.readouterr()
    run(ip, "sm_cleanup", "")
    assert predictor.name in capsys.readouterr().out  # listed, not deleted, without -f
    assert sagemaker.describe_endpoint(EndpointName=predictor.name)["EndpointStatus"] == "InService"
    run(ip, "sm_cleanup", "-f")
    assert "deleted endpoint" in capsys.readouterr().out
    for call, key in ((sagemaker.describe_endpoint, "EndpointName"), (sagemaker.describe_endpoint_config, "EndpointConfigName"),
                      (sagemaker.describe_model, "ModelName")):
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            call(**{key: predictor.name})


def test_python_body_is_tracked(ip, capsys):
    body = """
import boto3
from sm_magics.formats import recordio
s3 = boto3.client("s3")
s3.create_bucket(Bucket="tracked-bodies")
s3.put_object(Bucket="tracked-bodies", Key="train/data.pbr", Body=recordio.encode_dense(x[:300]))
boto3.client("sagemaker").create_training_job(
    TrainingJobName=tracked_name,
    AlgorithmSpecification={"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1", "TrainingInputMode": "File"},
    RoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
    InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://tracked-bodies/train/"}}}],
    OutputDataConfig={"S3OutputPath": "s3://tracked-bodies/out"},
    ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
    StoppingCondition={"MaxRuntimeInSeconds": 600},
    HyperParameters={"k": "4", "feature_dim": "784"},
)
"""
    ip.user_ns["tracked_name"] = name = f"tracked-{int(time.time())}"
    run(ip, "sm_train", "", body)
    out = capsys.readouterr().out
    assert f"training-job {name}" in out
    magics = ip.find_magic("sm_jobs").__self__
    handle = magics.handles[name].wait(timeout=60)
    assert handle.status == "Completed"
    tags = {t["Key"] for t in magics.backend.client("sagemaker").list_tags(ResourceArn=handle.description["TrainingJobArn"])["Tags"]}
    assert "sm_magics:notebook" in tags


def test_attach_from_a_fresh_magics_instance_finds_the_job(ip):
    from sm_magics.magics import SMMagics

    run(ip, "sm_train", "kmeans --as first --wait", "k: 4\ntrain: x[:400]\n")
    name = ip.user_ns["first"].name
    fresh = SMMagics(shell=ip)  # what a restarted kernel has: no handles, only SageMaker's own state
    assert name not in fresh.handles
    fresh.sm_attach(f"{name} --as again")
    again = ip.user_ns["again"].wait(timeout=30)
    assert again.name == name and again.status == "Completed" and again.final_metrics


def test_tune_then_deploy_the_best(ip, capsys):
    body = "k: 10\nmini_batch_size: 100..1500 int\ninit_method: random|kmeans++\ntrain: x\ntest: vx\n"
    run(ip, "sm_tune", "kmeans --objective test:msd --max-jobs 4 --max-parallel 2 --strategy random --as tuner --wait", body)
    tuner = ip.user_ns["tuner"]
    assert tuner.status == "Completed"
    assert tuner.objective == {"Type": "Minimize", "MetricName": "test:msd"}
    values = [row["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for row in tuner.leaderboard]
    assert len(values) == 4 and values == sorted(values)
    assert tuner.best_job_name == tuner.leaderboard[0]["TrainingJobName"]
    for row in tuner.leaderboard:
        assert 100 <= int(row["TunedHyperParameters"]["mini_batch_size"]) <= 1500
        assert row["TunedHyperParameters"]["init_method"] in ("random", "kmeans++")
    run(ip, "sm_deploy", "tuner --as best")
    best = ip.user_ns["best"].wait(timeout=60)
    model = best.backend.client("sagemaker").describe_model(ModelName=best.name)
    assert tuner.best_job_name in model["PrimaryContainer"]["ModelDataUrl"]
    assert best.predict(ip.user_ns["tx"][:5])["closest_cluster"].shape == (5,)
    best.delete()


def test_deploy_with_a_short_ttl_is_gone_after_it_passes(ip, capsys):
    """`%sm_deploy --ttl`: the local engine deletes the endpoint, its config and model once the time passes."""
    import time

    from sm_magics.workflow.fleet import fleet_of

    run(ip, "sm_train", "kmeans --as ttl_job --wait", "k: 4\ntrain: x[:300]\n")
    run(ip, "sm_deploy", "ttl_job --as short_lived --ttl 3s --wait")
    endpoint = ip.user_ns["short_lived"]
    sagemaker = endpoint.backend.client("sagemaker")
    row = next(r for r in fleet_of(endpoint.backend).endpoints().rows if r.name == endpoint.name)
    assert row.ttl_seconds_left is not None and row.ttl_seconds_left <= 3
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and endpoint.name in {r.name for r in fleet_of(endpoint.backend).endpoints().rows}:
        time.sleep(0.5)
    for call, key in ((sagemaker.describe_endpoint, "EndpointName"), (sagemaker.describe_endpoint_config, "EndpointConfigName"),
                      (sagemaker.describe_model, "ModelName")):
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            call(**{key: endpoint.name})
    endpoint.refresh()
    assert endpoint.status == "Deleted"  # what its widget shows


@pytest.mark.parametrize("magic", ["sm_train", "sm_tune", "sm_deploy", "sm_endpoints", "sm_delete", "sm_cleanup", "sm_jobs",
                                   "sm_attach", "sm_backend"])
def test_every_magic_explains_itself(ip, capsys, magic):
    """`%sm_train?` (the docstring IPython shows) and `--help` list every option the magic takes."""
    method = ip.find_magic(magic) or ip.find_cell_magic(magic)
    doc = method.__doc__
    parser = method.parser
    options = [o for o in parser._option_string_actions if o.startswith("--")]
    assert "--help" in options and all(option in doc for option in options), doc
    assert run(ip, magic, "--help") is None
    printed = capsys.readouterr().out
    assert all(option in printed for option in options) and printed.lstrip().startswith(f"%{magic} ")


def test_jobs_and_endpoints_are_dataframes(ip):
    run(ip, "sm_train", "kmeans --as listed --wait", "k: 3\ntrain: x[:200]\n")
    jobs = run(ip, "sm_jobs", "--last 5")
    assert list(jobs.columns) == ["name", "kind", "status", "created_at", "ended_at", "seconds"]
    mine = jobs[jobs["name"] == ip.user_ns["listed"].name].iloc[0]
    assert mine["kind"] == "training" and mine["status"] == "Completed" and mine["seconds"] >= 0
    assert set(jobs["kind"]) <= {"training", "tuning"} and jobs["created_at"].is_monotonic_decreasing
    endpoints = run(ip, "sm_endpoints", "")
    assert {"name", "status", "usd_per_hour", "usd_so_far", "expires_at"} <= set(endpoints.columns)


def test_deploy_with_an_idle_guard_shows_it_everywhere(ip):
    """`%sm_deploy --idle 5m`: the tag the engine acts on, `%sm_endpoints`' column, the widget's line."""
    from sm_magics.widgets.endpoint import EndpointWidget

    run(ip, "sm_train", "kmeans --as idle_job --wait", "k: 3\ntrain: x[:200]\n")
    run(ip, "sm_deploy", "idle_job --as guarded --idle 5m --wait")
    endpoint = ip.user_ns["guarded"]
    sagemaker = endpoint.backend.client("sagemaker")
    arn = sagemaker.describe_endpoint(EndpointName=endpoint.name)["EndpointArn"]
    assert {"Key": "sm_magics:idle-after", "Value": "300"} in sagemaker.list_tags(ResourceArn=arn)["Tags"]
    listing = run(ip, "sm_endpoints", "")
    assert listing.set_index("name").loc[endpoint.name, "idle_seconds"] == 300
    view = EndpointWidget(endpoint)
    try:
        assert "idle 5m" in view.static_bundle["text/plain"] and "idle 5m" in view.static_bundle["text/html"]
    finally:
        endpoint.unobserve(view._update)
    run(ip, "sm_delete", f"{endpoint.name}")


def test_dummies_and_nullable_integer_columns_are_numbers(ip):
    """`pd.get_dummies` gives bool columns and pandas' nullable integers hold Int64: both are numbers to train on."""
    import pandas as pd

    x = ip.user_ns["x"][:300]
    frame = pd.DataFrame(x[:, :20], columns=[f"p{i}" for i in range(20)])
    frame["bucket"] = pd.array((x[:, 300] * 10).astype(int), dtype="Int64")
    frame["shade"] = ["dark" if v > 0.5 else "light" for v in x[:, 400]]
    ip.user_ns["frame"] = pd.get_dummies(frame, columns=["shade"])
    run(ip, "sm_train", "kmeans --as from_frame --wait", "k: 3\ntrain: frame\n")
    job = ip.user_ns["from_frame"]
    assert job.status == "Completed" and job.description["HyperParameters"]["feature_dim"] == "23"
    ip.user_ns["text_frame"] = frame  # still holding the text column
    with pytest.raises(UsageError, match="channel 'train' has non-numeric column\\(s\\) 'shade'; encode them"):
        run(ip, "sm_train", "kmeans", "k: 3\ntrain: text_frame\n")


def test_a_stopped_engine_says_how_to_start_it(ip, engine):
    import socket

    from sm_magics.workflow.session import Backend

    magics = ip.find_magic("sm_jobs").__self__
    saved = magics.choice.current
    held = socket.socket()  # bound, never listening: nothing else can take the port while the test runs
    held.bind(("127.0.0.1", 0))
    magics.choice.current = Backend("local", "us-east-1", "test", endpoint_url=f"http://127.0.0.1:{held.getsockname()[1]}", engine=engine)
    try:
        with pytest.raises(UsageError, match=r"the local SageMaker engine at 127\.0\.0\.1:\d+ is not running: start it with `sm-magics local start`"):
            run(ip, "sm_jobs", "")
    finally:
        magics.choice.current = saved
        held.close()


def test_one_line_errors_stay_one_line_after_rich_takes_over_tracebacks(ip, capsys):
    """`import sagemaker` installs rich's traceback display (through sagemaker-core); our errors keep their one line."""
    import sys

    rich_traceback = pytest.importorskip("rich.traceback")
    saved = {name: ip.__dict__.get(name) for name in ("_showtraceback", "showtraceback")}
    saved_hook = sys.excepthook
    try:
        rich_traceback.install()
        ip.run_cell("pass")  # the next cell: the one-liners are taken back before it runs
        capsys.readouterr()
        ip.run_cell("from sm_magics.workflow.data import DataError\nraise DataError('pass rows of 23 values')")
        assert [line for line in capsys.readouterr().out.splitlines() if line.strip()] == ["DataError: pass rows of 23 values"]
        ip.run_cell("1 / 0")  # anything else is still drawn by the library that asked to draw it
        drawn = capsys.readouterr()
        assert "Traceback (most recent call last)" in drawn.err and "ZeroDivisionError" in drawn.err
    finally:
        sys.excepthook = saved_hook
        for name, value in saved.items():
            if value is None:
                ip.__dict__.pop(name, None)
            else:
                setattr(ip, name, value)
