"""The magics in a real Jupyter kernel: cells run as a front end runs them, widget state read from the comm messages."""

from __future__ import annotations

import boto3
import pytest

pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from kernel import Kernel, kernel_env, wait_for_widget  # noqa: E402


@pytest.fixture(scope="module")
def kernel(engine, tmp_path_factory):
    k = Kernel(kernel_env(engine, "kernel-test.ipynb"), str(tmp_path_factory.mktemp("kernel")))
    k.run("%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n"
          "(x, y), (vx, vy), (tx, ty) = mnist_splits()\nx, y = x[:1200], y[:1200]")
    yield k
    k.close()


@pytest.fixture(scope="module")
def sagemaker(engine):
    return boto3.client("sagemaker", endpoint_url=engine.url, region_name="us-east-1", **engine.credentials.as_boto3())


def test_declarative_train_deploy_predict_cleanup(kernel, sagemaker):
    kernel.run("%%sm_train kmeans --as job\nk: 10\nepochs: 2\ntrain: x\ntest: vx\n")
    # "Run all": the deploy cell runs at once and waits for the training job itself
    kernel.run("%sm_deploy job --as predictor --ttl 1h")
    job_name = kernel.run("print(job.name)").strip()
    endpoint = kernel.run("print(predictor.name)").strip()
    job_view = wait_for_widget(kernel, 60, job_name=job_name, status="Completed")
    assert "test:msd" in job_view["final_metrics"] and job_view["model_artifact"].endswith("model.tar.gz")
    assert [step["status"] for step in job_view["timeline"]][-1] == "Completed"
    endpoint_view = wait_for_widget(kernel, 60, endpoint_name=endpoint, status="InService")
    assert endpoint_view["usd_per_hour"] > 0 and endpoint_view["ttl_seconds_left"] > 3000
    out = kernel.run("r = predictor.predict(tx[:20]); print(sorted(set(r['closest_cluster'].tolist())), r['closest_cluster'].dtype)")
    clusters, dtype = out.rsplit(" ", 1)
    assert dtype.strip() == "int64" and set(eval(clusters)) <= set(range(10))
    printed = kernel.run("%sm_cleanup -f")
    assert f"deleted endpoint {endpoint}" in printed
    gone = wait_for_widget(kernel, 10, endpoint_name=endpoint, status="Deleted")  # the view no longer claims InService
    assert gone["usd_so_far"] >= 0
    for call, key in ((sagemaker.describe_endpoint, "EndpointName"), (sagemaker.describe_endpoint_config, "EndpointConfigName"),
                      (sagemaker.describe_model, "ModelName")):
        with pytest.raises(sagemaker.exceptions.ClientError, match="Could not find"):
            call(**{key: endpoint})


def test_sdk2_body_is_tracked_and_deployable(kernel, sagemaker):
    pytest.importorskip("sagemaker", minversion="2")
    printed = kernel.run(
        "%%sm_train\n"
        "import sagemaker\n"
        "from sagemaker import KMeans\n"
        "session = sagemaker.Session()\n"
        "kmeans = KMeans(role='arn:aws:iam::123456789012:role/SageMakerRole', instance_count=1, instance_type='ml.c4.xlarge',\n"
        "                output_path=f's3://{session.default_bucket()}/sdk-body', k=5, sagemaker_session=session)\n"
        "kmeans.fit(kmeans.record_set(x[:400]), wait=True, logs=False)\n"
        "sdk_job = kmeans.latest_training_job.name\n"
    )
    job = kernel.run("print(sdk_job)").strip()
    assert f"training-job {job}" in printed
    folded = kernel.widget(_model_name="AccordionModel", titles=["Output of the cell's code (SDK progress, logs, prints)"])
    assert folded["selected_index"] is None  # the SDK's own output is folded away, the job's widget is on top
    assert wait_for_widget(kernel, 60, job_name=job, status="Completed")
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobArn"])["Tags"]}
    assert tags["sm_magics:notebook"] == "kernel-test.ipynb"
    kernel.run(f"%sm_deploy {job} --as sdk_predictor")
    assert kernel.run("print(sdk_predictor.predict(tx[:3])['closest_cluster'].shape)").strip() == "(3,)"
    kernel.run("%sm_delete sdk_predictor")
    assert wait_for_widget(kernel, 10, endpoint_name=kernel.run("print(sdk_predictor.name)").strip(), status="Deleted")


def test_tuning_leaderboard(kernel):
    kernel.run("%%sm_tune kmeans --objective test:msd --max-jobs 4 --max-parallel 2 --as tuner\n"
               "k: 10\nmini_batch_size: 100..1000 int\ninit_method: random|kmeans++\ntrain: x\ntest: vx\n")
    name = kernel.run("print(tuner.name)").strip()
    view = wait_for_widget(kernel, 120, tuning_job_name=name, status="Completed")
    board = view["leaderboard"]
    assert len(board) == 4
    values = [row["objective"] for row in board]
    assert values == sorted(values) and view["best"] == board[0]["name"]


def test_widgets_fall_back_to_a_summary_line_without_a_widget_front_end(kernel):
    kernel.run("%%sm_train kmeans --as plain --wait\nk: 3\ntrain: x[:200]\n")
    text = kernel.run("from sm_magics.widgets import view_for\nprint(view_for(plain)._repr_mimebundle_()['text/plain'])").strip()
    assert text.startswith(f"training job {kernel.run('print(plain.name)').strip()}: Completed")


def test_reattach_after_kernel_restart(kernel):
    kernel.run("%%sm_train kmeans --as before --wait\nk: 4\ntrain: x[:300]\n")
    name = kernel.run("print(before.name)").strip()
    kernel.restart()
    kernel.run("%load_ext sm_magics")
    kernel.run(f"%sm_attach {name} --as again")
    view = wait_for_widget(kernel, 60, job_name=name, status="Completed")
    assert "train:msd" in view["final_metrics"]
    assert kernel.run("print(again.status)").strip() == "Completed"



def test_endpoint_view_stays_true_when_deleted_elsewhere(kernel, sagemaker):
    """Deleted from outside the kernel (the panel, a TTL, another notebook): the view says so within one
    describe, with its final cost, and predicting is one line that says what happened."""
    kernel.run("%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n(wx, _), _, (wtx, _) = mnist_splits()\n"
               "from sm_magics.workflow.endpoints import Endpoint\nEndpoint.WATCH_SECONDS = 2")  # one poll, test-sized
    kernel.run("%%sm_train kmeans --as watched_job --wait\nk: 3\ntrain: wx[:300]\n")
    said = kernel.run("%sm_deploy watched_job --as watched")
    assert "Error" not in said, said
    name = kernel.run("print(watched.name)").strip()
    live = wait_for_widget(kernel, 60, endpoint_name=name, status="InService")
    first = live["usd_so_far"]
    ticking = wait_for_widget(kernel, 15, endpoint_name=name, status="InService")
    kernel.drain(6)  # a tick (5 s) without any describe: the cost so far moves on
    assert kernel.widget(endpoint_name=name)["usd_so_far"] > first >= 0 and ticking["elapsed_seconds"] >= 0

    sagemaker.delete_endpoint(EndpointName=name)
    gone = wait_for_widget(kernel, 20, endpoint_name=name, status="Deleted")
    final = gone["usd_so_far"]
    kernel.drain(6)
    assert kernel.widget(endpoint_name=name)["usd_so_far"] == final  # the final cost no longer grows
    said = kernel.run("try:\n    watched.predict(wtx[:2])\nexcept Exception as e:\n    print(type(e).__name__, '|', e, '|', len(e._render_traceback_()))")
    kind, message, lines = (part.strip() for part in said.split("|"))
    assert kind == "SageMakerError" and lines == "1"
    assert name in message and ("no longer exists" in message or "is Deleted" in message)
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    sagemaker.delete_model(ModelName=name)
