"""The k-means MNIST tutorial, end to end, as plain boto3 against whatever AWS endpoint the environment names.

Run it through `sm-magics local run -- python scripts/kmeans_mnist.py` (what `scripts/demo` does) and it
trains and hosts on the local engine; run it with AWS credentials and it does the same on SageMaker.
It prints each cluster's size and writes a gallery PNG of the digits each cluster holds.
"""

from __future__ import annotations

import gzip
import json
import pickle
import sys
import time
from pathlib import Path

import boto3
import numpy as np

from sm_magics.formats import recordio

REGION = boto3.Session().region_name or "us-east-1"
IMAGE = f"382416733822.dkr.ecr.{REGION}.amazonaws.com/kmeans:1"  # us-east-1's account; see sagemaker.image_uris


def main(out: Path) -> None:
    sts, s3, sm, runtime = (boto3.client(name) for name in ("sts", "s3", "sagemaker", "sagemaker-runtime"))
    account = sts.get_caller_identity()["Account"]
    role = f"arn:aws:iam::{account}:role/SageMakerRole"
    bucket = f"sagemaker-{REGION}-{account}"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)

    raw = s3.get_object(Bucket="sagemaker-sample-files", Key="datasets/image/MNIST/mnist.pkl.gz")["Body"].read()
    (train_x, _), _, (test_x, test_y) = pickle.loads(gzip.decompress(raw), encoding="latin1")
    print(f"MNIST: {len(train_x)} training digits, {len(test_x)} test digits")

    job = f"kmeans-mnist-{time.strftime('%Y%m%d-%H%M%S')}"
    s3.put_object(Bucket=bucket, Key=f"{job}/train/train.pbr", Body=recordio.encode_dense(train_x))
    started = time.perf_counter()
    sm.create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=role,
        InputDataConfig=[{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{job}/train/",
                                            "S3DataDistributionType": "FullyReplicated"}},
            "ContentType": "application/x-recordio-protobuf",
        }],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/kmeans-mnist/output"},
        ResourceConfig={"InstanceType": "ml.c4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters={"k": "10", "feature_dim": "784", "mini_batch_size": "500"},
    )
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=job)
    described = sm.describe_training_job(TrainingJobName=job)
    if described["TrainingJobStatus"] != "Completed":
        sys.exit(f"training failed: {described.get('FailureReason')}")
    print(f"trained {job} in {time.perf_counter() - started:.1f} s -> {described['ModelArtifacts']['S3ModelArtifacts']}")

    sm.create_model(ModelName=job, ExecutionRoleArn=role,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"]})
    sm.create_endpoint_config(EndpointConfigName=job, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": job, "InitialInstanceCount": 1, "InstanceType": "ml.m4.xlarge"}])
    sm.create_endpoint(EndpointName=job, EndpointConfigName=job)
    try:
        sm.get_waiter("endpoint_in_service").wait(EndpointName=job)
        body = "\n".join(",".join(f"{v:.4g}" for v in row) for row in test_x[:500])
        answer = runtime.invoke_endpoint(EndpointName=job, ContentType="text/csv", Body=body)
        clusters = np.array([p["closest_cluster"] for p in json.loads(answer["Body"].read())["predictions"]], dtype=int)
    finally:
        sm.delete_endpoint(EndpointName=job)
        sm.delete_endpoint_config(EndpointConfigName=job)
        sm.delete_model(ModelName=job)
    print("endpoint, endpoint config and model deleted")

    print("cluster  size  most common digit")
    for cluster in range(10):
        members = test_y[:500][clusters == cluster]
        common = np.bincount(members, minlength=10).argmax() if len(members) else "-"
        print(f"{cluster:>7}  {len(members):>4}  {common}")
    write_gallery(test_x[:500], clusters, out)
    print(f"gallery written to {out}")


def write_gallery(images: np.ndarray, clusters: np.ndarray, path: Path, per_row: int = 20) -> None:
    """One row per cluster, composed into a single image (one figure, not one subplot per digit)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = int(clusters.max()) + 1 if len(clusters) else 0
    canvas = np.ones((k * 30, per_row * 30), dtype=np.float32)
    for cluster in range(k):
        for slot, image in enumerate(images[clusters == cluster][:per_row]):
            canvas[cluster * 30 + 1 : cluster * 30 + 29, slot * 30 + 1 : slot * 30 + 29] = 1.0 - image.reshape(28, 28)
    fig, ax = plt.subplots(figsize=(per_row * 0.45, k * 0.5 + 0.6))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1)
    ax.set_yticks([c * 30 + 14 for c in range(k)], [f"cluster {c} ({int((clusters == c).sum())})" for c in range(k)])
    ax.set_xticks([])
    ax.set_title("k-means on MNIST: the first digits of each cluster")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("kmeans_mnist_gallery.png"))
