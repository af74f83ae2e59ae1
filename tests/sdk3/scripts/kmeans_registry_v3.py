"""MNIST k-means through the model registry and a monitoring schedule with the SageMaker Python SDK 3.x.

ModelTrainer trains; the version is registered into a ModelPackageGroup (boto3's
create_model_package: SDK 3's ModelPackage.create reads a ModelPackageName the
API does not return), read back with ModelPackage.get, approved, hosted with
Model(containers=[ContainerDefinition(model_package_name=...)]) / EndpointConfig
/ Endpoint, watched by a MonitoringSchedule, and cleaned up: schedules found with
MonitoringSchedule.get_all(endpoint_name=...) first, then endpoint, config,
model, version and group. Nothing here knows about a local engine; SDK 3 ships
no RecordIO-protobuf writer, so the data is encoded with sm_magics' encoder.
The last line printed is a JSON summary.
"""

import gzip
import io
import json
import pickle
import time
import uuid

import boto3
from sagemaker.core import image_uris
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.resources import Endpoint, EndpointConfig, Model, ModelPackage, ModelPackageGroup, MonitoringSchedule
from sagemaker.core.shapes import (
    ContainerDefinition, EndpointInput, MonitoringAppSpecification, MonitoringClusterConfig, MonitoringInput,
    MonitoringJobDefinition, MonitoringOutput, MonitoringOutputConfig, MonitoringResources, MonitoringS3Output,
    MonitoringScheduleConfig, ProductionVariant, ScheduleConfig,
)
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, OutputDataConfig

from sm_magics.formats.recordio import encode_dense

session = Session()
region = session.boto_region_name
bucket = session.default_bucket()
role = get_execution_role(session)
sm = boto3.client("sagemaker")

s3 = boto3.client("s3")
body = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
train_set, valid_set, test_set = pickle.load(io.BytesIO(gzip.decompress(body)), encoding="latin1")
prefix = "kmeans-registry-v3"
s3.put_object(Bucket=bucket, Key=f"{prefix}/train/mnist.pbr", Body=encode_dense(train_set[0][:5000]))

image = image_uris.retrieve("kmeans", region)
trainer = ModelTrainer(
    training_image=image,
    role=role,
    sagemaker_session=session,
    base_job_name="kmeans-registry-v3",
    hyperparameters={"k": 10, "feature_dim": 784},
    compute=Compute(instance_type="ml.c4.xlarge", instance_count=1),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/output"),
)
trainer.train(
    input_data_config=[InputData(channel_name="train", data_source=f"s3://{bucket}/{prefix}/train/",
                                 content_type="application/x-recordio-protobuf")],
    wait=True,
    logs=False,
)
job = trainer._latest_training_job
job.refresh()
model_data = job.model_artifacts.s3_model_artifacts

suffix = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:4]}"
group = ModelPackageGroup.create(model_package_group_name=f"kmeans-v3-{suffix}", model_package_group_description="MNIST k-means")
package_arn = sm.create_model_package(
    ModelPackageGroupName=group.model_package_group_name,
    ModelPackageDescription="k=10",
    InferenceSpecification={
        "Containers": [{"Image": image, "ModelDataUrl": model_data}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["application/json"],
    },
)["ModelPackageArn"]
package = ModelPackage.get(model_package_name=package_arn)
status_before = package.model_approval_status
sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved")
status_after = ModelPackage.get(model_package_name=package_arn).model_approval_status

name = f"kmeans-v3-reg-{suffix}"
model = Model.create(model_name=name, containers=[ContainerDefinition(model_package_name=package_arn)], execution_role_arn=role)
config = EndpointConfig.create(
    endpoint_config_name=name,
    production_variants=[ProductionVariant(variant_name="AllTraffic", model_name=name, initial_instance_count=1, instance_type="ml.m4.xlarge")],
)
endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
endpoint.wait_for_status("InService")
csv = "\n".join(",".join(f"{v:.4f}" for v in row) for row in valid_set[0][:100])
predictions = json.loads(endpoint.invoke(body=csv, content_type="text/csv", accept="application/json").body.read())["predictions"]

schedule = MonitoringSchedule.create(
    monitoring_schedule_name=f"kmeans-v3-mon-{suffix}",
    monitoring_schedule_config=MonitoringScheduleConfig(
        schedule_config=ScheduleConfig(schedule_expression="cron(0 * ? * * *)"),
        monitoring_job_definition=MonitoringJobDefinition(
            monitoring_inputs=[MonitoringInput(endpoint_input=EndpointInput(endpoint_name=name, local_path="/opt/ml/processing/input"))],
            monitoring_output_config=MonitoringOutputConfig(monitoring_outputs=[MonitoringOutput(
                s3_output=MonitoringS3Output(s3_uri=f"s3://{bucket}/{prefix}/monitoring", local_path="/opt/ml/processing/output"))]),
            monitoring_resources=MonitoringResources(
                cluster_config=MonitoringClusterConfig(instance_count=1, instance_type="ml.m5.large", volume_size_in_gb=20)),
            monitoring_app_specification=MonitoringAppSpecification(
                image_uri=f"156813124566.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"),
            role_arn=role,
        ),
    ),
)
schedule.wait_for_status("Scheduled")
schedule_status = schedule.monitoring_schedule_status

# Clean up: the endpoint's schedules first, then hosting, then the registry.
found = list(MonitoringSchedule.get_all(endpoint_name=name))
for each in found:
    each.delete()
endpoint.delete()
config.delete()
model.delete()
sm.delete_model_package(ModelPackageName=package_arn)
group.delete()

print(
    json.dumps(
        {
            "group": group.model_package_group_name,
            "package_arn": package_arn,
            "status_before": status_before,
            "status_after": status_after,
            "name": name,
            "schedule_name": schedule.monitoring_schedule_name,
            "schedule_status": schedule_status,
            "found": [s.monitoring_schedule_name for s in found],
            "clusters": [p["closest_cluster"] for p in predictions],
            "distances": [p["distance_to_cluster"] for p in predictions],
        }
    )
)
