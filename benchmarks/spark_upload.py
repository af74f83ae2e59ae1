"""Benchmark: a Spark DataFrame to a training channel, written by the executors vs collected to the driver.

A cached DataFrame of ROWS x 784 random pixels in 4 partitions (generated inside Spark, so the driver
never holds it) becomes a k-means channel on a local engine, two ways:

* executors: ``sm_magics.workflow.spark`` (one checking aggregation, then each partition encoded and
  put by its own executor, one object per partition);
* collect: ``df.collect()`` to the driver, a numpy matrix, then the numpy path
  (``workflow.data.prepare_channel`` + one PutObject), what one would do without Spark support.

Both ways start warm: the frame cached and Spark's Python workers started (starting them costs the
first executor-side use of a session some seconds, the collect way none). Each (way, size) runs in a fresh process, so that its peak RSS is its own: printed are the seconds
from the DataFrame to the objects in S3 and the driver's peak RSS above what it was once Spark and the
engine were up. In local mode the driver and the executors share one JVM, so only the Python driver's
memory is the "driver" here (the Python workers and the JVM are other processes).

    python benchmarks/spark_upload.py                       # 12 500 and 50 000 rows
    python benchmarks/spark_upload.py --rows 2000 4000      # quick run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

COLUMNS, PARTITIONS = 784, 4


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def one(way: str, rows: int) -> dict[str, float]:
    """One measurement in this process: start the engine and Spark, build the frame, upload it one way."""
    import socket

    import numpy as np
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from sm_magics.local import launcher
    from sm_magics.workflow import algorithms, data, spark as spark_io
    from sm_magics.workflow.session import Backend
    from sm_magics.workflow.training import default_bucket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data_dir = Path(tempfile.mkdtemp(prefix="sm-spark-bench-"))
    engine = launcher.start(port=port, data_dir=data_dir)
    try:
        backend = Backend("local", "us-east-1", "benchmark", endpoint_url=engine.url, engine=engine)
        bucket = default_bucket(backend)
        session = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "2g").getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        pixels = F.array(*[F.rand(seed=i) for i in range(COLUMNS)])
        frame = session.range(0, rows, numPartitions=PARTITIONS).select(array_to_vector(pixels).alias("features")).cache()
        frame.count()  # generated once into Spark's cache (the JVM's memory): not part of either way's cost
        frame.rdd.mapPartitions(lambda rows: [0]).collect()  # Spark's Python workers started (once per session)
        info = algorithms.lookup("kmeans")
        baseline = _peak_mb()
        started = time.perf_counter()
        if way == "executors":
            channel = spark_io.prepare_channel(info, "train", frame)
            keys = spark_io.write(channel, spark_io.S3Target.of(backend, bucket, f"bench/{way}-{rows}"))
            objects = len(keys)
        else:
            x = np.vstack([row.features.toArray() for row in frame.collect()]).astype(np.float32)
            prepared = data.prepare_channel(info, "train", x)
            backend.client("s3").put_object(Bucket=bucket, Key=f"bench/{way}-{rows}/data.pbr", Body=prepared.body)
            objects = 1
        seconds = time.perf_counter() - started
        session.stop()
        return {"seconds": seconds, "baseline_mb": baseline, "peak_mb": _peak_mb(), "objects": objects}
    finally:
        launcher.stop(data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[12_500, 50_000])
    parser.add_argument("--one", nargs=2, metavar=("WAY", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    results = {}
    for rows in args.rows:
        for way in ("executors", "collect"):
            done = subprocess.run([sys.executable, __file__, "--one", way, str(rows)], capture_output=True, text=True, env=env)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            results[(way, rows)] = json.loads(lines[-1])
    print(f"{'rows x 784, 4 partitions':>26} | {'executors write':>30} | {'collect + numpy path':>30}")
    print(f"{'':>26} | {'seconds':>9} {'driver peak +MB':>20} | {'seconds':>9} {'driver peak +MB':>20}")
    for rows in args.rows:
        cells = []
        for way in ("executors", "collect"):
            r = results[(way, rows)]
            cells.append(f"{r['seconds']:>9.2f} {r['peak_mb'] - r['baseline_mb']:>20.0f}")
        print(f"{rows:>26,} | {cells[0]} | {cells[1]}")
    order = [results[(way, rows)] for rows in args.rows for way in ("executors", "collect")]
    print("driver peak +MB: the Python driver's peak RSS above its level once Spark and the engine were up (baselines "
          + ", ".join(f"{r['baseline_mb']:.0f}" for r in order) + " MB); objects written: "
          + ", ".join(str(r["objects"]) for r in order))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
