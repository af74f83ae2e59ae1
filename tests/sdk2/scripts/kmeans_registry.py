"""MNIST k-means through the model registry, with a data-quality monitor, as a SageMaker SDK 2.x user writes it.

Train, register() the model into a model package group, approve the version,
deploy the approved ModelPackage from its ARN, predict, put a monitoring
schedule on the endpoint, then clean up the documented way: delete the
endpoint's monitors (found with list_monitors), the model and the endpoint.
Nothing here knows about a local engine. The last line it prints is a JSON summary.
"""

import gzip
import json
import pickle
import time

import boto3
import sagemaker
from sagemaker import KMeans, ModelPackage, get_execution_role
from sagemaker import KMeansPredictor
from sagemaker.model_monitor import CronExpressionGenerator, DefaultModelMonitor

role = get_execution_role()
sess = sagemaker.Session()
bucket = sess.default_bucket()
sm = boto3.client("sagemaker")

s3 = boto3.client("s3")
s3.download_file("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl.gz", "mnist.pkl.gz")
with gzip.open("mnist.pkl.gz", "rb") as f:
    train_set, valid_set, test_set = pickle.load(f, encoding="latin1")

kmeans = KMeans(
    role=role,
    instance_count=1,
    instance_type="ml.c4.xlarge",
    output_path=f"s3://{bucket}/kmeans_registry/output",
    k=10,
    data_location=f"s3://{bucket}/kmeans_registry/data",
)
kmeans.fit(kmeans.record_set(train_set[0][:5000]), logs=False)

group = f"mnist-kmeans-{int(time.time() * 1000)}"
registered = kmeans.register(
    content_types=["application/x-recordio-protobuf", "text/csv"],
    response_types=["application/json", "application/x-recordio-protobuf"],
    inference_instances=["ml.m4.xlarge"],
    transform_instances=["ml.m4.xlarge"],
    model_package_group_name=group,
    approval_status="PendingManualApproval",
    description="k-means on MNIST",
)
package_arn = registered.model_package_arn
print(f"registered {package_arn}")

versions = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
status_before = versions[0]["ModelApprovalStatus"]
sm.update_model_package(ModelPackageArn=package_arn, ModelApprovalStatus="Approved", ApprovalDescription="clusters look right")

# Elsewhere (another notebook, a deployment pipeline): deploy the approved version by its ARN.
model = ModelPackage(role=role, model_package_arn=package_arn, sagemaker_session=sess, predictor_cls=KMeansPredictor)
predictor = model.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge")
endpoint_name = predictor.endpoint_name
print(f"\ndeployed {endpoint_name}")
config_name = sm.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
model_name = model.name

result = predictor.predict(valid_set[0][0:100])
clusters = [r.label["closest_cluster"].float32_tensor.values[0] for r in result]
distances = [r.label["distance_to_cluster"].float32_tensor.values[0] for r in result]

monitor = DefaultModelMonitor(role=role, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=sess)
monitor.create_monitoring_schedule(
    endpoint_input=endpoint_name,
    output_s3_uri=f"s3://{bucket}/kmeans_registry/monitoring",
    schedule_cron_expression=CronExpressionGenerator.hourly(),
)
schedule_name = monitor.monitoring_schedule_name
schedule_status = monitor.describe_schedule()["MonitoringScheduleStatus"]

# Clean up: monitors first (SageMaker will not delete a monitored endpoint), then the model and the endpoint.
monitors = predictor.list_monitors()
monitor_names = [m.monitoring_schedule_name for m in monitors]
for m in monitors:
    m.delete_monitoring_schedule()
predictor.delete_model()
predictor.delete_predictor()

print(
    json.dumps(
        {
            "group": group,
            "package_arn": package_arn,
            "status_before": status_before,
            "endpoint_name": endpoint_name,
            "config_name": config_name,
            "model_name": model_name,
            "clusters": clusters,
            "distances": distances,
            "schedule_name": schedule_name,
            "schedule_status": schedule_status,
            "monitor_names": monitor_names,
        }
    )
)
