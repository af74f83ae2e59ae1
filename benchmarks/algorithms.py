"""Built-in algorithms on the local engine beside the library doing the same math in-process.

For each algorithm: the training job's wall time on the engine (CreateTrainingJob to Completed, data
already in S3) beside the bare library on the same data (goal: engine <= 1.5x the library for jobs
longer than 5 s), then a 6-job tuning run with 2 in parallel beside 6 x the single job.

Data: MNIST-sized (rows x 784, default 20 000), the engine's real MNIST digits repeated with a little
noise (sigma 0.02); labels for Linear Learner are "is it a zero?"; XGBoost gets CSV, the others
RecordIO-protobuf.

Usage: python benchmarks/algorithms.py [--rows N] [--skip-tuning]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from threadpoolctl import threadpool_limits

from sm_magics.formats import recordio
from sm_magics import launcher
from sm_magics.local import settings

from local_engine import clients, free_port, mnist_rows  # noqa: E402  (sibling benchmark module)

IMAGES = {
    "kmeans": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1",
    "pca": "382416733822.dkr.ecr.us-east-1.amazonaws.com/pca:1",
    "linear-learner": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    "xgboost": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
}


def labels_for(rows: int) -> np.ndarray:
    from sm_magics.local.sample_data import mnist_splits

    (_, y), _, _ = mnist_splits()
    reps = -(-rows // len(y))
    return (np.tile(y, reps)[:rows] == 0).astype(np.float32)


def upload(c: dict, bucket: str, algorithm: str, x: np.ndarray, y: np.ndarray) -> tuple[str, str]:
    if algorithm == "xgboost":
        body = "\n".join(",".join([f"{label:g}"] + [f"{v:.4g}" for v in row]) for label, row in zip(y, x)).encode()
        kind = "text/csv"
    elif algorithm == "linear-learner":
        body, kind = recordio.encode_dense(x, y), "application/x-recordio-protobuf"
    else:
        body, kind = recordio.encode_dense(x), "application/x-recordio-protobuf"
    key = f"{algorithm}/train/data"
    c["s3"].put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{algorithm}/train/", kind


HYPERPARAMETERS = {
    "kmeans": {"k": "10", "feature_dim": "784", "epochs": "5", "mini_batch_size": "1000"},
    "pca": {"num_components": "50", "feature_dim": "784", "mini_batch_size": "1000"},
    "linear-learner": {"predictor_type": "binary_classifier", "feature_dim": "784", "epochs": "5", "mini_batch_size": "1000", "num_models": "1"},
    "xgboost": {"num_round": "50", "objective": "binary:logistic", "max_depth": "5", "eta": "0.2"},
}


def library_seconds(algorithm: str, x: np.ndarray, y: np.ndarray) -> float:
    """The same math with the library alone, in this process."""
    started = time.perf_counter()
    if algorithm == "kmeans":
        from sklearn.cluster import MiniBatchKMeans

        MiniBatchKMeans(n_clusters=10, batch_size=1000, max_iter=5, n_init=1, random_state=0).fit(x)
    elif algorithm == "pca":
        from sklearn.decomposition import PCA

        PCA(n_components=50, svd_solver="full").fit(x)
    elif algorithm == "linear-learner":
        from sklearn.linear_model import SGDClassifier

        SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0).fit(x, y)
    else:
        import xgboost

        xgboost.train({"objective": "binary:logistic", "max_depth": 5, "eta": 0.2}, xgboost.DMatrix(x, label=y), num_boost_round=50)
    return time.perf_counter() - started


def engine_job(c: dict, algorithm: str, uri: str, kind: str, bucket: str) -> float:
    name = f"bench-{algorithm}-{int(time.time() * 1000)}"
    started = time.perf_counter()
    c["sagemaker"].create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGES[algorithm], "TrainingInputMode": "File"},
        RoleArn=settings.ROLE_ARN,
        InputDataConfig=[{"ChannelName": "train", "ContentType": kind,
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/out"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters=HYPERPARAMETERS[algorithm],
    )
    wait_for(lambda: c["sagemaker"].describe_training_job(TrainingJobName=name)["TrainingJobStatus"], ("Completed", "Failed", "Stopped"))
    seconds = time.perf_counter() - started
    status = c["sagemaker"].describe_training_job(TrainingJobName=name)
    assert status["TrainingJobStatus"] == "Completed", status.get("FailureReason")
    return seconds


def wait_for(read: Callable[[], str], done: tuple[str, ...]) -> None:
    while read() not in done:
        time.sleep(0.2)


def tuning_run(c: dict, uri: str, bucket: str) -> float:
    name = f"bench-tune-{int(time.time()) % 100000}"
    started = time.perf_counter()
    c["sagemaker"].create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "train:msd"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "500", "MaxValue": "1500"}]},
        },
        TrainingJobDefinition={
            "StaticHyperParameters": {k: v for k, v in HYPERPARAMETERS["kmeans"].items() if k != "mini_batch_size"},
            "AlgorithmSpecification": {"TrainingImage": IMAGES["kmeans"], "TrainingInputMode": "File"},
            "RoleArn": settings.ROLE_ARN,
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}],
            "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tune"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
    )
    wait_for(lambda: c["sagemaker"].describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"],
             ("Completed", "Failed", "Stopped"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--skip-tuning", action="store_true")
    args = parser.parse_args()
    x, y = mnist_rows(args.rows), labels_for(args.rows)
    results: list[tuple[str, float, float]] = []
    tuning: float | None = None
    with tempfile.TemporaryDirectory() as data_dir:
        info = launcher.start(port=free_port(), data_dir=Path(data_dir))
        try:
            c = clients(info.url)
            bucket = "bench-algorithms"
            c["s3"].create_bucket(Bucket=bucket)
            uris: dict[str, Any] = {}
            for algorithm in IMAGES:
                uris[algorithm] = upload(c, bucket, algorithm, x, y)
                engine_seconds = engine_job(c, algorithm, *uris[algorithm], bucket)
                with threadpool_limits(None):
                    results.append((algorithm, engine_seconds, library_seconds(algorithm, x, y)))
            if not args.skip_tuning:
                tuning = tuning_run(c, uris["kmeans"][0], bucket)
        finally:
            launcher.stop(Path(data_dir))
    print(f"\nTraining on {args.rows} x 784 (goal: engine <= 1.5x the library for jobs longer than 5 s)")
    print(f"   {'algorithm':<16}{'engine job s':>13}{'library s':>11}{'ratio':>8}")
    for algorithm, engine_seconds, library in results:
        print(f"   {algorithm:<16}{engine_seconds:>13.2f}{library:>11.2f}{engine_seconds / library:>8.2f}")
    if tuning is not None:
        single = dict((a, e) for a, e, _ in results)["kmeans"]
        print(f"\n6-job k-means tuning, 2 in parallel: {tuning:.2f} s  vs 6 x the single job: {6 * single:.2f} s  ({tuning / (6 * single):.2f}x)")


if __name__ == "__main__":
    main()
