"""The magics driven through a real IPython shell against the session's local engine."""

from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython


def get_ipython():
    """The test shell: started on first use, the same object afterwards."""
    import IPython

    start_ipython()
    return IPython.get_ipython()


@contextlib.contextmanager
def loaded_in(shell, engine):
    """The extension loaded on the session engine; afterwards the process's environment and botocore are as before."""
    saved = dict(os.environ)
    os.environ["SM_MAGICS_LOCAL_DATA_DIR"] = str(engine.data_dir)
    os.environ["SM_MAGICS_BACKEND"] = "local"
    shell.run_line_magic("reload_ext", "sm_magics")
    magics = [m for m in shell.configurables if type(m).__name__ == "SMMagics"][-1]  # the one reload_ext made
    # the backend is chosen (and put in the environment) in the background: wait for it here, so the
    # environment a test starts with is the one the fixture set up, not one still changing
    magics.choice.wait()
    try:
        yield shell
    finally:
        magics.choice.release()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def ip(engine, mnist):
    """A real InteractiveShell with the extension loaded, pointed at the session engine."""
    with loaded_in(get_ipython(), engine) as shell:
        (x, y), (vx, vy), (tx, ty) = mnist
        shell.user_ns.update(x=x[:1500], y=y[:1500], vx=vx, tx=tx, ty=ty, np=np)
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


def run(ip, magic: str, line: str, body: str | None = None):
    if body is None:
        return ip.run_line_magic(magic, line)
    return ip.run_cell_magic(magic, line, body)


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


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("kmeans", "k: 10\nepoch: 2\ntrain: x\n", "line 2: 'epoch' is not a kmeans hyperparameter; did you mean 'epochs'?"),
        ("kmeans", "k: 10\ntrain: not_defined\n", "line 2: name 'not_defined' is not defined"),
        ("kmeans", "k: 3\ntrain: x * np.nan\n", "line 2: channel 'train' contains"),
        ("kmeans", "train: x\n", "kmeans needs k"),
        ("kmeans", "k: 3\ntrain: x[:0]\n", "line 2: channel 'train' is empty"),
        ("kmens", "k: 3\ntrain: x\n", "unknown algorithm 'kmens'; did you mean kmeans?"),
        ("kmeans --instance-cont 2", "k: 3\ntrain: x\n", "unknown option --instance-cont; did you mean --instance-count?"),
        ("kmeans", "k: 3\ntrain: 1 / 0\n", "line 2: `1 / 0` raised ZeroDivisionError"),
        ("xgboost", "num_round: 5\ntrain: x, y[:10]\n", "line 2: channel 'train' has 10 labels for 1500 rows"),
        ("kmeans --max-wait 10", "k: 3\ntrain: x\n", "--max-wait only applies with --spot"),
        ("kmeans --as 1bad", "k: 3\ntrain: x\n", "--as '1bad' is not a Python name"),
        ("kmeans --as class", "k: 3\ntrain: x\n", "--as 'class' is not a Python name"),
        ("kmeans --name 1_bad", "k: 3\ntrain: x\n", "training job name '1_bad' is not allowed"),
        ("kmeans --name " + "a" * 64, "k: 3\ntrain: x\n", "use 1 to 63 letters, digits and hyphens"),
        ("kmeans --instance-type ml.m5.lrge", "k: 3\ntrain: x\n", "'ml.m5.lrge' is not a SageMaker training instance type; did you mean ml.m5.large?"),
        ("kmeans --instance-type ml.t2.medium", "k: 3\ntrain: x\n", "'ml.t2.medium' is not a SageMaker training instance type"),
    ],
)
def test_bad_cells_are_one_line_and_create_nothing(ip, line, body, message):
    sagemaker = ip.find_magic("sm_jobs").__self__.backend.client("sagemaker")
    before = {j["TrainingJobName"] for j in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]}
    with pytest.raises(UsageError) as caught:
        run(ip, "sm_train", line, body)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    after = {j["TrainingJobName"] for j in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]}
    assert after == before


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


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("kmeans --objective test:msd", "k: 10\ntrain: x\n", "no ranges to tune"),
        ("kmeans --objective validation:auc", "k: 10\nepochs: 1..3 int\ntrain: x\n", "kmeans cannot be tuned on 'validation:auc'"),
        ("kmeans --objective test:msd", "k: 10\nepochs: 5..1 int\ntrain: x\n", "line 2: range of 'epochs' goes from 5 down to 1"),
        ("kmeans --objective test:msd --max-jobs 2 --max-parallel 3", "k: 10\nepochs: 1..3 int\ntrain: x\n", "cannot exceed --max-jobs"),
    ],
)
def test_bad_tuning_cells(ip, line, body, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(ip, "sm_tune", line, body)


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("kmeans", "k: ten\ntrain: x\n", "line 1: Hyperparameter 'k': 'ten' is not valid under any of the given schemas; expected an integer"),
        ("kmeans", "k: 10\nlocal_lloyd_tol: 2\ntrain: x\n", "line 2: Hyperparameter 'local_lloyd_tol'"),
        ("kmeans", "k: 10\ninit_method: best\ntrain: x\n", "line 2: Hyperparameter 'init_method': 'best'"),
        ("xgboost", "num_round: 5\neta: 2\ntrain: x, y\n", "line 2: Hyperparameter eta: 2.0 is not in [0, 1]"),
    ],
)
def test_wrong_types_and_ranges_are_refused_before_anything_is_created(ip, line, body, message):
    sagemaker = ip.find_magic("sm_jobs").__self__.backend.client("sagemaker")
    before = {j["TrainingJobName"] for j in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]}
    with pytest.raises(UsageError) as caught:
        run(ip, "sm_train", line, body)
    assert message in str(caught.value)
    after = {j["TrainingJobName"] for j in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]}
    assert after == before


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


@pytest.mark.parametrize(
    ("magic", "line", "message"),
    [
        ("sm_train", "kmeans --instance-count 0", "--instance-count: '0': give 1 or more"),
        ("sm_train", "kmeans --instance-count two", "--instance-count: 'two' is not a whole number"),
        ("sm_train", "kmeans --max-runtime 0", "--max-runtime: '0': give 1 or more"),
        ("sm_train", "kmeans --max-runtime 99999999", "at most 2419200 seconds (28 days)"),
        ("sm_train", "kmeans --inst ml.m5.large", "unknown option --inst; did you mean --instance-count or --instance-type?"),
        ("sm_deploy", "job --ttl 0m", "--ttl: '0m': give a time between 1s and 365d"),
        ("sm_deploy", "job --ttl 99999999999d", "--ttl: '99999999999d': give a time between 1s and 365d"),
        ("sm_deploy", "job --ttl soon", "--ttl: 'soon': write a duration like 30m, 2h or 1d"),
        ("sm_tune", "kmeans --objective test:msd --max-jobs 0", "--max-jobs: '0': give 1 or more"),
        ("sm_tune", "kmeans --objective test:msd --seed -1", "--seed: '-1': give 0 or more"),
        ("sm_tune", "kmeans --objective test:msd --seed x", "--seed: 'x' is not a whole number"),
        ("sm_delete", "x --keep-models", "unknown option --keep-models; did you mean --keep-model?"),
    ],
)
def test_bad_options_are_one_line(ip, magic, line, message):
    with pytest.raises(UsageError) as caught:
        run(ip, magic, line, "k: 3\ntrain: x\n" if magic in ("sm_train", "sm_tune") else None)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_jobs_and_endpoints_are_dataframes(ip):
    run(ip, "sm_train", "kmeans --as listed --wait", "k: 3\ntrain: x[:200]\n")
    jobs = run(ip, "sm_jobs", "--last 5")
    assert list(jobs.columns) == ["name", "kind", "status", "created_at", "ended_at", "seconds"]
    mine = jobs[jobs["name"] == ip.user_ns["listed"].name].iloc[0]
    assert mine["kind"] == "training" and mine["status"] == "Completed" and mine["seconds"] >= 0
    assert set(jobs["kind"]) <= {"training", "tuning"} and jobs["created_at"].is_monotonic_decreasing
    endpoints = run(ip, "sm_endpoints", "")
    assert {"name", "status", "usd_per_hour", "usd_so_far", "expires_at"} <= set(endpoints.columns)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--as 2x", "--as '2x' is not a Python name"),
        ("--name bad_name", "endpoint name 'bad_name' is not allowed"),
        ("--instance-type ml.m5.huge", "'ml.m5.huge' is not a SageMaker hosting instance type"),
        ("--idle 0m", "--idle: '0m': give between 5m and 1d"),
        ("--idle 99999999999d", "give between 5m and 1d (longer than a day: use --ttl)"),
        ("--idle 90s", "--idle: '90s': give between 5m and 1d"),
        ("--idle 7.5m", "--idle: '7.5m': give whole minutes"),
        ("--idle soon", "--idle: 'soon': write a duration like 30m or 2h"),
    ],
)
def test_bad_deploys_are_one_line_and_create_nothing(ip, line, message):
    run(ip, "sm_train", "kmeans --as to_deploy --wait", "k: 3\ntrain: x[:200]\n")
    sagemaker = ip.find_magic("sm_jobs").__self__.backend.client("sagemaker")
    before = ({m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]},
              {e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]})
    with pytest.raises(UsageError) as caught:
        run(ip, "sm_deploy", f"to_deploy {line}")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    after = ({m["ModelName"] for m in sagemaker.list_models(MaxResults=100)["Models"]},
             {e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]})
    assert after == before


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
