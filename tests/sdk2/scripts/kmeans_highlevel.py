"""MNIST k-means with the SageMaker Python SDK's KMeans estimator (the classic high-level tutorial).

Nothing here knows about a local engine: it is the notebook flow, as a script.
The last line it prints is a JSON summary.
"""

import gzip
import json
import pickle

import boto3
import sagemaker
from sagemaker import KMeans, get_execution_role

role = get_execution_role()
sess = sagemaker.Session()
bucket = sess.default_bucket()
region = sess.boto_region_name
print(f"role {role}, bucket {bucket}, region {region}")

# Download the MNIST dataset from the public sample bucket.
s3 = boto3.client("s3")
s3.download_file("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl.gz", "mnist.pkl.gz")
with gzip.open("mnist.pkl.gz", "rb") as f:
    train_set, valid_set, test_set = pickle.load(f, encoding="latin1")
print(f"training rows: {train_set[0].shape[0]}, features: {train_set[0].shape[1]}")

data_location = f"s3://{bucket}/kmeans_highlevel_example/data"
output_location = f"s3://{bucket}/kmeans_example/output"

kmeans = KMeans(
    role=role,
    instance_count=2,
    instance_type="ml.c4.xlarge",
    output_path=output_location,
    k=10,
    data_location=data_location,
)

kmeans.fit(kmeans.record_set(train_set[0]), logs=True)
job_name = kmeans.latest_training_job.name

kmeans_predictor = kmeans.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge")
endpoint_name = kmeans_predictor.endpoint_name

result = kmeans_predictor.predict(train_set[0][30:31])
print(result)
single = int(result[0].label["closest_cluster"].float32_tensor.values[0])

result = kmeans_predictor.predict(valid_set[0][0:100])
clusters = [r.label["closest_cluster"].float32_tensor.values[0] for r in result]
distances = [r.label["distance_to_cluster"].float32_tensor.values[0] for r in result]
for cluster in range(10):
    members = [i for i, c in enumerate(clusters) if int(c) == cluster]
    print(f"Cluster {cluster}: {len(members)} digits")

kmeans_predictor.delete_endpoint()

print(
    json.dumps(
        {
            "role": role,
            "bucket": bucket,
            "region": region,
            "job_name": job_name,
            "model_data": kmeans.model_data,
            "endpoint_name": endpoint_name,
            "single": single,
            "clusters": clusters,
            "distances": distances,
        }
    )
)
