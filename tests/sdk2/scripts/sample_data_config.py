"""The classic SageMaker MNIST tutorials' data-ingestion cell, unmodified (SDK 2.x).

It asks the SDK's ``S3DataConfig`` which public bucket holds the sample data
for the session's region, downloads the MNIST pickle from it and unpacks it, as
the notebooks do; then does the same for a region the config does not list
(which falls back to ``default``), and reads the uncompressed pickle the
Developer Guide's get-started tutorial downloads. Nothing here knows about a
local engine. The last line it prints is a JSON summary.
"""

import gzip
import json
import pickle

import boto3
import sagemaker
from sagemaker.utils import S3DataConfig

sm_session = sagemaker.Session()
region = sm_session.boto_region_name
s3 = boto3.client("s3")

config = S3DataConfig(sm_session, "example-notebooks-data-config", "config/data_config.json")
data_bucket = config.get_data_bucket()
print(f"Using data from {data_bucket}")
s3.download_file(data_bucket, "datasets/image/MNIST/mnist.pkl.gz", "mnist.pkl.gz")
with gzip.open("mnist.pkl.gz", "rb") as f:
    train_set, valid_set, test_set = pickle.load(f, encoding="latin1")

elsewhere = config.get_data_bucket("sa-east-1")
s3.download_file(elsewhere, "datasets/image/MNIST/mnist.pkl.gz", "elsewhere.pkl.gz")
with gzip.open("elsewhere.pkl.gz", "rb") as f:
    elsewhere_train, _, _ = pickle.load(f, encoding="latin1")

s3.download_file("sagemaker-sample-files", "datasets/image/MNIST/mnist.pkl", "mnist.pkl")
with open("mnist.pkl", "rb") as f:
    plain_train, _, _ = pickle.load(f)

print(
    json.dumps(
        {
            "region": region,
            "data_bucket": data_bucket,
            "default_bucket": elsewhere,
            "shapes": [list(part[0].shape) for part in (train_set, valid_set, test_set)],
            "label_counts": [len(part[1]) for part in (train_set, valid_set, test_set)],
            "pixel_range": [float(train_set[0].min()), float(train_set[0].max())],
            "labels": sorted({int(v) for v in train_set[1]}),
            "same_elsewhere": bool((elsewhere_train[0] == train_set[0]).all()),
            "same_plain": bool((plain_train[0] == train_set[0]).all() and (plain_train[1] == train_set[1]).all()),
        }
    )
)
