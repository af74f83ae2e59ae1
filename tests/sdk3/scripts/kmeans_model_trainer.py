"""MNIST k-means with the SageMaker Python SDK 3.x: ModelTrainer, then hosting through sagemaker.core.resources.

Nothing here knows about a local engine. SDK 3 ships no RecordIO-protobuf
writer, so the data is encoded with sm_magics' encoder. The last line printed
is a JSON summary.
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
from sagemaker.core.resources import Endpoint, EndpointConfig, Model
from sagemaker.core.shapes import ContainerDefinition, ProductionVariant
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, OutputDataConfig

from sm_magics.formats.recordio import encode_dense

session = Session()
region = session.boto_region_name
bucket = session.default_bucket()
role = get_execution_role(session)
print(f"role {role}, bucket {bucket}, region {region}")

# MNIST from the public sample bucket, as RecordIO-protobuf in the default bucket.
s3 = boto3.client("s3")
body = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
train_set, valid_set, test_set = pickle.load(io.BytesIO(gzip.decompress(body)), encoding="latin1")
prefix = "kmeans-v3"
s3.put_object(Bucket=bucket, Key=f"{prefix}/train/mnist.pbr", Body=encode_dense(train_set[0]))
train_uri = f"s3://{bucket}/{prefix}/train/"

image = image_uris.retrieve("kmeans", region)
trainer = ModelTrainer(
    training_image=image,
    role=role,
    sagemaker_session=session,
    base_job_name="kmeans-v3",
    hyperparameters={"k": 10, "feature_dim": 784, "mini_batch_size": 500},
    compute=Compute(instance_type="ml.c4.xlarge", instance_count=1),
    output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/{prefix}/output"),
)
trainer.train(
    input_data_config=[InputData(channel_name="train", data_source=train_uri, content_type="application/x-recordio-protobuf")]
)
job = trainer._latest_training_job
job.refresh()
model_data = job.model_artifacts.s3_model_artifacts
print(f"training job {job.training_job_name}: {job.training_job_status}, model {model_data}")

# Hosting, 1:1 with the API.
name = f"kmeans-v3-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:4]}"
model = Model.create(
    model_name=name,
    primary_container=ContainerDefinition(image=image, model_data_url=model_data),
    execution_role_arn=role,
)
config = EndpointConfig.create(
    endpoint_config_name=name,
    production_variants=[
        ProductionVariant(variant_name="AllTraffic", model_name=name, initial_instance_count=1, instance_type="ml.m4.xlarge")
    ],
)
endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
endpoint.wait_for_status("InService")
print(f"endpoint {endpoint.endpoint_name}: {endpoint.endpoint_status}")

rows = valid_set[0][:100]
csv = "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows)
response = endpoint.invoke(body=csv, content_type="text/csv", accept="application/json")
predictions = json.loads(response.body.read())["predictions"]
print(f"{len(predictions)} predictions, first: {predictions[0]}")

endpoint.delete()
config.delete()
model.delete()

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "job_name": job.training_job_name,
            "job_status": job.training_job_status,
            "model_data": model_data,
            "name": name,
            "endpoint_status": endpoint.endpoint_status,
            "response_content_type": response.content_type,
            "clusters": [p["closest_cluster"] for p in predictions],
            "distances": [p["distance_to_cluster"] for p in predictions],
        }
    )
)
