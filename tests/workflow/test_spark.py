"""Spark DataFrames through the magics, on the session's engine, with a real local Spark (``local[2]``).

What a user of the SageMaker Spark library's PCA -> k-means pipeline would do with today's PySpark: a
DataFrame of MNIST digits (a vector ``features`` column and a ``label``) trains PCA, ``%sm_transform``
gives the projections back as a DataFrame, k-means trains on them and clusters the digits. The same
pipeline on the same digits as numpy arrays must give the same clusters' purity. Each partition is one
shard written by the executors; a bad DataFrame is one line and leaves nothing in S3. One SparkSession
serves the whole module (Spark starts slowly) and the data is kept small.
"""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest
from IPython.core.error import UsageError

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (the optional `spark` extra: pip install -e '.[spark]')")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java and `java` is not on PATH (Debian: apt-get install default-jre-headless)", allow_module_level=True)

from magics.test_magics_shell import get_ipython, loaded_in  # noqa: E402  (the magics' own shell fixture mechanics)

ROWS, PARTITIONS = 1200, 4


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("sm_magics tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def digits(mnist):
    (x, y), _, _ = mnist
    return x[:ROWS], y[:ROWS]


@pytest.fixture(scope="module")
def frame(spark, digits):
    """The digits as a libsvm-shaped DataFrame in PARTITIONS contiguous partitions (the numpy order, shard by shard)."""
    from pyspark.ml.linalg import DenseVector

    x, y = digits
    rows = [(float(label), DenseVector(image)) for image, label in zip(x.astype(np.float64), y)]
    return spark.sparkContext.parallelize(rows, PARTITIONS).toDF(["label", "features"]).cache()


@pytest.fixture(scope="module")
def ip(engine, spark, frame, digits):
    with loaded_in(get_ipython(), engine) as shell:
        shell.user_ns.update(frame=frame, x=digits[0], y=digits[1])
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


def purity(labels, clusters) -> float:
    """Share of points whose cluster's most common digit is their own."""
    by_cluster: dict[int, Counter] = {}
    for label, cluster in zip(labels, clusters):
        by_cluster.setdefault(int(cluster), Counter())[int(label)] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(labels)


def objects(ip) -> set[str]:
    backend = _backend(ip)
    s3 = backend.client("s3")
    bucket = f"sagemaker-{backend.region}-{backend.account}"
    try:
        return {f"{bucket}/{o['Key']}" for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                for o in page.get("Contents", [])}
    except s3.exceptions.NoSuchBucket:
        return set()


def _backend(ip):
    return [m for m in ip.configurables if type(m).__name__ == "SMMagics"][-1].backend


@pytest.fixture(scope="module")
def spark_pipeline(ip):
    """PCA(50) -> k-means(10) from the DataFrame, through %%sm_train and %sm_transform."""
    ip.run_cell_magic("sm_train", "pca --as pca_job --wait", "num_components: 50\ntrain: frame\n")
    projected = ip.run_line_magic("sm_transform", "pca_job frame --wait --as pca_transform")
    from pyspark.sql import functions as F

    ip.user_ns["projected"] = projected.select("label", F.col("projection").alias("features")).cache()
    # a fixed name: k-means draws its initial centres from a seed its job's name gives, so the run is reproducible
    ip.run_cell_magic("sm_train", "kmeans --name spark-path-kmeans --as kmeans_job --wait", "k: 10\ntrain: projected\n")
    clustered = ip.run_line_magic("sm_transform", "kmeans_job projected --wait")
    return projected, ip.user_ns["projected"], clustered


def channel_bytes(job) -> bytes:
    """The training channel's objects, in key order (the order a host reads them), joined."""
    source = job.description["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    bucket, _, prefix = source["S3Uri"][len("s3://"):].partition("/")
    s3 = job.backend.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"])
    return b"".join(s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys)


def test_pca_then_kmeans_from_a_dataframe_matches_the_numpy_path(ip, spark_pipeline, frame, digits):
    projected, _, clustered = spark_pipeline
    assert ip.user_ns["pca_job"].status == "Completed" and ip.user_ns["kmeans_job"].status == "Completed"
    rows = clustered.select("label", "closest_cluster", "distance_to_cluster").collect()
    assert len(rows) == ROWS
    assert {r.closest_cluster for r in rows} <= set(map(float, range(10))) and all(r.distance_to_cluster >= 0 for r in rows)
    spark_purity = purity([r.label for r in rows], [r.closest_cluster for r in rows])

    ip.run_cell_magic("sm_train", "pca --as pca_np --wait", "num_components: 50\ntrain: x\n")
    ip.user_ns["projected_np"] = ip.run_line_magic("sm_transform", "pca_np x --wait")["projection"]
    ip.run_cell_magic("sm_train", "kmeans --name numpy-path-kmeans --as kmeans_np --wait", "k: 10\ntrain: projected_np\n")
    clusters_np = ip.run_line_magic("sm_transform", "kmeans_np projected_np --wait")["closest_cluster"]
    numpy_purity = purity(digits[1], clusters_np)
    # the same data: the executors' shards, read in key order, are byte for byte the numpy path's one object
    # (features and labels), and PCA projects each digit the same way on both paths
    assert channel_bytes(ip.user_ns["pca_job"]) == channel_bytes(ip.user_ns["pca_np"])
    spark_projection = np.array([r.projection.toArray() for r in projected.select("projection").collect()])
    assert np.allclose(spark_projection, ip.user_ns["projected_np"], atol=1e-4)
    print(f"\npurity: Spark path {spark_purity:.4f}, numpy path {numpy_purity:.4f}")
    assert spark_purity > 0.4, spark_purity  # ten clusters of real digits, far above chance (0.1)
    # k-means starts from a random draw seeded by each job's own name (as each SageMaker job draws its own),
    # so the two paths' clusterings differ by their initialisation only; the names are fixed, so the two
    # purities are the same on every run (with random names they differed by up to 0.08 now and then)
    assert abs(spark_purity - numpy_purity) <= 0.05, (spark_purity, numpy_purity)


def test_sm_transform_returns_the_rows_with_the_projection(spark_pipeline, frame, digits):
    from pyspark.ml.linalg import VectorUDT

    projected, _, _ = spark_pipeline
    handle_rows = frame.count()
    assert projected.columns == ["label", "features", "projection"]  # the input's columns, then the algorithm's
    assert isinstance(projected.schema["projection"].dataType, VectorUDT)
    rows = projected.collect()
    assert len(rows) == handle_rows == ROWS
    assert np.array_equal(np.array([r.features.toArray() for r in rows], dtype=np.float32), digits[0])
    matrix = np.array([r.projection.toArray() for r in rows])
    assert matrix.shape == (ROWS, 50) and np.isfinite(matrix).all() and matrix.std(axis=0).max() > 0
    assert [r.label for r in rows] == [float(v) for v in digits[1]]  # each row kept its own label, in order


def test_each_partition_is_one_shard_spread_by_key(ip, spark_pipeline, frame):
    job = ip.user_ns["pca_job"]
    (channel,) = job.description["InputDataConfig"]
    source = channel["DataSource"]["S3DataSource"]
    assert source["S3DataDistributionType"] == "ShardedByS3Key"
    bucket, _, prefix = source["S3Uri"][len("s3://"):].partition("/")
    keys = [o["Key"] for o in job.backend.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert len(keys) == frame.rdd.getNumPartitions() == PARTITIONS
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == [f"part-{i:05d}.pbr" for i in range(PARTITIONS)]
    transform = ip.user_ns["pca_transform"]
    out_bucket, _, out_prefix = transform.output_uri[len("s3://"):].partition("/")
    outputs = job.backend.client("s3").list_objects_v2(Bucket=out_bucket, Prefix=out_prefix)["Contents"]
    assert len(outputs) == PARTITIONS  # the transform's input was written the same way, one answer object per shard


def test_two_instances_share_the_shards(ip, spark_pipeline):
    ip.run_cell_magic("sm_train", "kmeans --instance-count 2 --as kmeans_two --wait", "k: 10\ntrain: projected\n")
    job = ip.user_ns["kmeans_two"]
    assert job.status == "Completed", job.description.get("FailureReason")
    assert job.description["ResourceConfig"]["InstanceCount"] == 2
    streams = job.backend.client("logs").describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                                               logStreamNamePrefix=job.name + "/")["logStreams"]
    hosts = {s["logStreamName"].split("/", 1)[1] for s in streams}
    assert any(h.startswith("algo-1") for h in hosts) and any(h.startswith("algo-2") for h in hosts), hosts


def test_more_instances_than_partitions_is_one_line(ip, spark_pipeline):
    before = objects(ip)
    ip.user_ns["two_parts"] = ip.user_ns["projected"].coalesce(2)
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("sm_train", "kmeans --instance-count 3", "k: 10\ntrain: two_parts\n")
    message = str(caught.value)
    assert "\n" not in message and "2 Spark partition(s) for 3 instances" in message and "repartition(3)" in message
    assert objects(ip) == before


@pytest.mark.parametrize("case", ["no features column", "mixed vector sizes", "NaN feature"])
def test_a_bad_dataframe_is_one_line_and_nothing_is_uploaded(ip, spark, spark_pipeline, case):
    from pyspark.ml.linalg import Vectors

    if case == "no features column":
        bad = spark.createDataFrame([(1.0, 2.0, 3.0)], ["label", "pixel_1", "pixel_2"])
        expected = "without a 'features' column (it has label, pixel_1, pixel_2)"
    elif case == "mixed vector sizes":
        bad = spark.createDataFrame([(1.0, Vectors.dense([1.0, 2.0, 3.0])), (0.0, Vectors.sparse(5, {0: 1.0}))], ["label", "features"])
        expected = "different sizes (from 3 to 5)"
    else:
        bad = spark.createDataFrame([(1.0, Vectors.dense([1.0, float("nan")])), (0.0, Vectors.dense([1.0, 2.0]))], ["label", "features"])
        expected = "1 row(s) hold NaN/infinite features"
    ip.user_ns["bad"] = bad
    sagemaker = _backend(ip).client("sagemaker")
    jobs_before = len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])
    before = objects(ip)
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("sm_train", "pca", "num_components: 1\ntrain: bad\n")
    message = str(caught.value)
    assert "\n" not in message and expected in message and "channel 'train'" in message, message
    transforms_before = len(sagemaker.list_transform_jobs(MaxResults=100)["TransformJobSummaries"])
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("sm_transform", "pca_job bad")
    assert "\n" not in str(caught.value) and expected in str(caught.value)
    assert objects(ip) == before
    assert len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]) == jobs_before
    assert len(sagemaker.list_transform_jobs(MaxResults=100)["TransformJobSummaries"]) == transforms_before


def test_a_write_failing_part_way_leaves_nothing(ip, spark, frame):
    """A partition whose executor fails after others were written: every object under the prefix is deleted."""
    from sm_magics.workflow import spark as spark_io
    from sm_magics.workflow.data import DataError

    backend = _backend(ip)
    channel = spark_io.inspect(frame, "channel 'train'")
    channel.name = "train"

    def fail_last(index, rows):
        if index == PARTITIONS - 1:
            import time

            time.sleep(1.5)  # the other partitions are written first
            raise RuntimeError("executor lost its disk")
        return rows

    channel.frame = frame.rdd.mapPartitionsWithIndex(fail_last).toDF(frame.schema)
    from sm_magics.workflow.training import default_bucket

    bucket = default_bucket(backend)
    target = spark_io.S3Target.of(backend, bucket, "sm_magics/partial-write-test/train")
    with pytest.raises(DataError) as caught:
        spark_io.write(channel, target)
    assert "executor lost its disk" in str(caught.value) and "nothing was kept" in str(caught.value)
    assert backend.client("s3").list_objects_v2(Bucket=bucket, Prefix=target.prefix + "/")["KeyCount"] == 0


def test_predict_on_an_endpoint_gives_the_transform_answers(ip, spark_pipeline):
    _, projected, clustered = spark_pipeline
    ip.run_line_magic("sm_deploy", "kmeans_job --as kmeans_endpoint --ttl 1h")
    answered = ip.user_ns["kmeans_endpoint"].predict(projected)
    by_endpoint = [r.closest_cluster for r in answered.select("closest_cluster").collect()]
    by_transform = [r.closest_cluster for r in clustered.select("closest_cluster").collect()]
    assert by_endpoint == by_transform
    assert set(answered.columns) == {"label", "features", "closest_cluster", "distance_to_cluster"}


def test_the_sample_bucket_holds_mnist_in_libsvm(ip, spark, tmp_path, mnist):
    """As the SageMaker Spark examples read it (here downloaded first: s3a's jars are not available)."""
    backend = _backend(ip)
    s3 = backend.client("s3")
    bucket = f"sagemaker-sample-data-{backend.region}"
    for split in ("train", "test"):
        folder = tmp_path / split
        folder.mkdir()
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"spark/mnist/{split}/")["Contents"]:
            s3.download_file(bucket, item["Key"], str(folder / item["Key"].rsplit("/", 1)[1]))
    train = spark.read.format("libsvm").option("numFeatures", "784").load(str(tmp_path / "train"))
    test = spark.read.format("libsvm").option("numFeatures", "784").load(str(tmp_path / "test"))
    (x, y), _, (tx, ty) = mnist
    assert train.count() == len(y) and test.count() == len(ty)
    first = train.limit(3).collect()
    assert [r.label for r in first] == [float(v) for v in y[:3]]
    assert np.array_equal(np.array([r.features.toArray() for r in first], dtype=np.float32), x[:3])
