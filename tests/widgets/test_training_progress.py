"""The training widget from the cell's start: conversion and upload progress before the job exists, then the
phases the job went through, in a real kernel against a real engine (widget state read from the comm messages)."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from kernel import Kernel, kernel_env, wait_for_widget  # noqa: E402

from sm_magics import launcher  # noqa: E402
from helpers import free_port  # noqa: E402


class RecordingKernel(Kernel):
    """A kernel whose front end also keeps every update each widget model received, in order."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []
        super().__init__(env, cwd)

    def _absorb(self, message: dict[str, Any]) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "comm_open":
            self.updates.append((content["comm_id"], dict(content["data"].get("state", {}))))
        elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
            self.updates.append((content["comm_id"], dict(content["data"].get("state", {}))))
        super()._absorb(message)

    def history(self, comm_id: str) -> list[dict[str, Any]]:
        return [state for cid, state in self.updates if cid == comm_id]

    def comm_of(self, **match: Any) -> str:
        view = self.widget(**match)
        return next(cid for cid, state in self.models.items() if state is view)


def clients(engine: Any) -> tuple[Any, Any]:
    kwargs = dict(endpoint_url=engine.url, region_name="us-east-1", **engine.credentials.as_boto3())
    return boto3.client("sagemaker", **kwargs), boto3.client("s3", **kwargs)


@pytest.fixture(scope="module")
def kernel(engine, tmp_path_factory):
    k = RecordingKernel(kernel_env(engine, "progress-test.ipynb"), str(tmp_path_factory.mktemp("kernel")))
    k.run("%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n"
          "(x, y), _, (tx, ty) = mnist_splits()\nx = x[:3000]")
    yield k
    k.run("%sm_cleanup -f")
    k.close()


def test_the_widget_shows_conversion_and_upload_before_the_job_then_the_phases_it_went_through(kernel, engine):
    sagemaker, _ = clients(engine)
    kernel.run("%%sm_train kmeans --as job\nk: 10\nepochs: 1\ntrain: x\ntest: tx[:500]\n")
    name = kernel.run("print(job.name)").strip()
    view = wait_for_widget(kernel, 120, job_name=name, status="Completed")
    seen = kernel.history(kernel.comm_of(job_name=name, status="Completed"))

    steps = [state["preparation"] for state in seen if state.get("preparation")]
    kinds = [step["step"] for step in steps]
    assert kinds[0] == "preparing" and kinds[-1] == "creating", kinds
    # each channel converted, then uploaded, in the order of the cell
    assert [(s["step"], s["channel"]) for s in steps if s["step"] == "converting"] == [("converting", "train"), ("converting", "test")]
    for channel in ("train", "test"):
        uploads = [s for s in steps if s["step"] == "uploading" and s["channel"] == channel]
        total = uploads[0]["total"]
        assert total > 0 and uploads[0]["sent"] == 0
        sent = [s["sent"] for s in uploads]
        assert sent == sorted(sent) and sent[-1] == total  # progress only grows, and reaches every byte
        assert uploads[-1]["rate"] > 0
    # the train channel (3000 x 784 float32 in RecordIO, over boto3's 8 MB multipart threshold) reports parts on the way
    train = [s for s in steps if s["step"] == "uploading" and s["channel"] == "train"]
    assert train[0]["total"] > 3000 * 784 * 4 and len({s["sent"] for s in train}) >= 10  # every 5 %
    # all of this before the job existed: no state described by SageMaker came before the last preparation step
    last_step = max(i for i, state in enumerate(seen) if state.get("preparation"))
    assert not any(state.get("timeline") or state.get("secondary_status") for state in seen[:last_step + 1])
    cleared = [i for i, state in enumerate(seen) if "preparation" in state and not state["preparation"]]
    assert cleared and cleared[-1] > last_step  # and once created, the widget shows SageMaker's state instead

    # the phases the job went through, as SageMaker's SecondaryStatusTransitions say, each with how long it took
    truth = sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatusTransitions"]
    assert [t["status"] for t in view["timeline"]] == [t["Status"] for t in truth]
    assert [t["Status"] for t in truth] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    for before, after in zip(truth, truth[1:]):
        assert before["EndTime"] == after["StartTime"]  # one phase ends where the next begins
    assert all("seconds" in t and t["seconds"] >= 0 for t in view["timeline"])
    html = view["static_bundle"]["text/html"]
    assert "Downloading" in html and "Training" in html and "Uploading" in html


def test_the_tuner_widget_shows_conversion_and_upload_from_the_cell_start_before_the_tuning_job_exists(kernel, engine):
    """%%sm_tune reports its channels' conversion and upload in the same words as %%sm_train (one shared line)."""
    sagemaker, _ = clients(engine)
    kernel.run("%%sm_tune kmeans --objective test:msd --max-jobs 2 --max-parallel 2 --as tuner\n"
               "k: 10\nepochs: 1\nmini_batch_size: 100..500 int\ntrain: x\ntest: tx[:500]\n")
    name = kernel.run("print(tuner.name)").strip()
    wait_for_widget(kernel, 300, tuning_job_name=name, status="Completed")
    seen = kernel.history(kernel.comm_of(tuning_job_name=name, status="Completed"))

    steps = [state["preparation"] for state in seen if state.get("preparation")]
    kinds = [step["step"] for step in steps]
    assert kinds[0] == "preparing" and kinds[-1] == "creating", kinds
    assert [s["channel"] for s in steps if s["step"] == "converting"] == ["train", "test"]
    for channel in ("train", "test"):
        uploads = [s for s in steps if s["step"] == "uploading" and s["channel"] == channel]
        sent = [s["sent"] for s in uploads]
        assert uploads[0]["total"] > 0 and sent[0] == 0 and sent == sorted(sent) and sent[-1] == uploads[0]["total"]
        assert uploads[-1]["rate"] > 0
    train = [s for s in steps if s["step"] == "uploading" and s["channel"] == "train"]
    assert len({s["sent"] for s in train}) >= 10  # multipart: progress on the way, not only at the end
    # what the user read meanwhile (the rendering a saved notebook keeps follows each step): bytes of the total and the rate
    shown = [html_text(state["static_bundle"]["text/html"]) for state in seen if state.get("static_bundle")]
    assert any(re.search(r"Uploading train: [\d.]+ [kMG]?B of [\d.]+ [kMG]?B · [\d.]+ [kMG]?B/s", text) for text in shown), shown
    assert any("Creating the hyperparameter tuning job" in text for text in shown)
    # all before the tuning job existed: SageMaker's description came only after the last preparation step
    last_step = max(i for i, state in enumerate(seen) if state.get("preparation"))
    assert not any(state.get("counters") or state.get("leaderboard") for state in seen[:last_step + 1])
    assert any("preparation" in state and not state["preparation"] for state in seen[last_step + 1:])
    described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    channels = described["TrainingJobDefinition"]["InputDataConfig"]
    assert [c["ChannelName"] for c in channels] == ["train", "test"]  # the data the widget said it uploaded


@pytest.fixture
def own_engine(tmp_path):
    """An engine of this test's own, to stop in the middle of a cell."""
    info = launcher.start(port=free_port(), data_dir=tmp_path / "engine")
    yield info
    launcher.stop(tmp_path / "engine")


@pytest.mark.parametrize("stopped_at", ["train", "test"])
def test_an_engine_stopped_during_the_upload_is_one_line_in_the_widget_and_the_cell(own_engine, tmp_path, stopped_at):
    """Stopped as the first channel's upload starts: nothing was written and nothing is left. Stopped as the
    second one's starts: the first is already in S3 and cannot be removed while S3 is gone; the line names it."""
    k = RecordingKernel(kernel_env(own_engine, "stopped-test.ipynb"), str(tmp_path))
    try:
        k.run("%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n(x, y), _, (tx, ty) = mnist_splits()\n"
              "x = x[:2000]\n%sm_jobs")  # the backend chosen before the engine goes away
        # what a user sees if the engine goes away (`sm-magics local stop` in a terminal) as an upload starts
        k.run("import ipywidgets, pathlib\nfrom sm_magics import launcher\n"
              "def _stop_when_uploading(change):\n"
              f"    if change['new'].get('step') == 'uploading' and change['new'].get('channel') == {stopped_at!r}:\n"
              f"        launcher.stop(pathlib.Path({str(own_engine.data_dir)!r}))\n"
              "def _hook(widget):\n"
              "    if type(widget).__name__ == 'TrainingJobWidget':\n"
              "        widget.observe(_stop_when_uploading, names='preparation')\n"
              "ipywidgets.Widget.on_widget_constructed(_hook)")
        out = k.run("%%sm_train kmeans --name stopped-upload\nk: 10\ntrain: x\ntest: tx[:300]\n", timeout=300)
        lines = out.strip().splitlines()
        assert lines[0].startswith("sm_magics: on AWS this training job would cost at most")  # the announcement, as always
        assert len(lines) == 2, out  # then the error: one line, no traceback
        line = lines[1]
        assert line.startswith("UsageError: the local SageMaker engine at 127.0.0.1:") and "is not running" in line
        view = k.widget(job_name="stopped-upload")
        assert view["status"] == "Failed" and view["error"] == line.removeprefix("UsageError: ")
        assert html_text(view["static_bundle"]["text/html"]).count(view["error"]) == 1
        # the kernel keeps no handle of it (%sm_deploy stopped-upload would not find a job that never existed)
        assert k.run("print('stopped-upload' in get_ipython().find_magic('sm_jobs').__self__.handles)").strip() == "False"
    finally:
        k.close()
    # the engine back: no training job; no object of the cell but the one the line named
    info = launcher.start(port=own_engine.port, data_dir=own_engine.data_dir)
    sagemaker, s3 = clients(info)
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    left = [f"s3://{bucket['Name']}/{item['Key']}" for bucket in s3.list_buckets()["Buckets"]
            for item in s3.list_objects_v2(Bucket=bucket["Name"], Prefix="sm_magics/stopped-upload").get("Contents", [])]
    if stopped_at == "train":
        assert left == [] and "could not be removed" not in line
    else:
        assert len(left) == 1 and left[0].endswith("/sm_magics/stopped-upload/train/data.pbr")
        assert line.endswith(f"the data already uploaded could not be removed, delete it once S3 answers: {left[0]}")


def html_text(markup: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", markup))
