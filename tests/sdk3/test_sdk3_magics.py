"""An SDK 3.x body under %%sm_train in a real kernel: its ModelTrainer job is tracked, shown and deployable."""

from __future__ import annotations

import pytest

sagemaker = pytest.importorskip("sagemaker.train", reason="needs the SageMaker SDK 3.x (the .venv-sdk3 environment)")
pytest.importorskip("ipykernel")

from kernel import Kernel, kernel_env, wait_for_widget  # noqa: E402

pytestmark = pytest.mark.sdk3

BODY = """%%sm_train
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, OutputDataConfig
import boto3
from sm_magics.formats.recordio import encode_dense

session = Session()
bucket = session.default_bucket()
boto3.client("s3").put_object(Bucket=bucket, Key="v3-body/train/x.pbr", Body=encode_dense(x[:400]))
trainer = ModelTrainer(
    training_image=image_uris.retrieve("kmeans", session.boto_region_name),
    role=get_execution_role(session),
    sagemaker_session=session,
    base_job_name="kmeans-v3-body",
    hyperparameters={"k": 5, "feature_dim": 784, "mini_batch_size": 200},
    compute=Compute(instance_type="ml.c4.xlarge", instance_count=1),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/v3-body/output"),
)
trainer.train(input_data_config=[InputData(channel_name="train", data_source=f"s3://{bucket}/v3-body/train/",
                                           content_type="application/x-recordio-protobuf")], wait=True, logs=False)
v3_job = trainer._latest_training_job.training_job_name
"""


def test_sdk3_model_trainer_body_is_tracked(engine, tmp_path):
    kernel = Kernel(kernel_env(engine, "sdk3-kernel.ipynb"), str(tmp_path))
    try:
        kernel.run("%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n(x, y), _, (tx, ty) = mnist_splits()")
        printed = kernel.run(BODY, timeout=300)
        job = kernel.run("print(v3_job)").strip()
        assert f"training-job {job}" in printed
        view = wait_for_widget(kernel, 60, job_name=job, status="Completed")
        assert "train:msd" in view["final_metrics"]
        kernel.run(f"%sm_deploy {job} --as v3_predictor")
        assert kernel.run("print(v3_predictor.predict(tx[:4])['closest_cluster'].tolist())").strip().startswith("[")
        kernel.run("v3_predictor.delete()")
    finally:
        kernel.close()
