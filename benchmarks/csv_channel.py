"""Benchmark: preparing an XGBoost CSV channel of 50 000 MNIST digits (label + 784 pixels), side by side.

* sm_magics ``prepare_channel(...).payload()`` (the checks, the label column, ``csv_text.format_rows``);
* the per-cell Python formatting it replaced (``",".join(f"{v:.9g}" ...)``, the same bytes), on a
  sample of rows and scaled up (it takes about a minute in full);
* pandas ``DataFrame.to_csv`` with the same format (``float_format="%.9g"``) and with its default
  (skipped with ``--no-pandas``: they take minutes);
* with ``--engine``: preparation + conversion + upload to a local engine's S3, converted whole then
  uploaded beside converted part by part while uploading (what the cell does); and the goal itself,
  ``%%sm_train xgboost`` on that data in a kernel against a local
  engine, from the cell's start to the moment CreateTrainingJob is sent (goal: <= 3 s), with the CPU
  seconds the kernel and the engine spent meanwhile (the wall time depends on what else the machine runs:
  the load average is printed beside it). The Create call itself is stopped there: no job is trained.

The 50 000 rows are the engine's 3 572 real training digits repeated (pixel values k/255 as the
tutorials load them); ``--noise`` adds Gaussian noise so that nearly every cell is a distinct value
(the formatter's worst case).

    python benchmarks/csv_channel.py [--rows N] [--noise] [--engine] [--no-pandas]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sm_magics.local.sample_data import mnist_splits  # noqa: E402
from sm_magics.workflow.algorithms import ALGORITHMS  # noqa: E402
from sm_magics.workflow.data import prepare_channel  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--noise", action="store_true")
    parser.add_argument("--engine", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true")
    args = parser.parse_args()
    (train, labels), _, _ = mnist_splits()
    reps = -(-args.rows // len(train))
    x = np.tile(train, (reps, 1))[: args.rows].astype(np.float32)
    y = (np.tile(labels, reps)[: args.rows] == 0).astype(np.float32)
    if args.noise:
        x = np.clip(x + np.random.default_rng(0).normal(0, 0.02, size=x.shape).astype(np.float32), 0, 1)
    info = ALGORITHMS["xgboost"]
    ours, body = timed(lambda: prepare_channel(info, "train", x, y).payload(), args.repeat)

    sample = min(2000, args.rows)
    table = np.column_stack([y, x])
    per_cell_sample, text = timed(lambda: ("\n".join(",".join(f"{v:.9g}" for v in row) for row in table[:sample]) + "\n").encode(), 1)
    per_cell = per_cell_sample * args.rows / sample
    identical = body.startswith(text)

    print(f"{args.rows} x {x.shape[1]} + label column -> {len(body) / 1e6:.1f} MB of CSV; "
          f"{'noisy (nearly all cells distinct)' if args.noise else 'MNIST pixel values'}; pandas {pd.__version__}, numpy {np.__version__}")
    print(f"   {'sm_magics prepare_channel + conversion':<48}{ours:>8.2f} s   (median of {args.repeat})")
    old_label = 'per-cell f"{v:.9g}" (old code; from %d rows)' % sample
    print(f"   {old_label:<48}{per_cell:>8.2f} s   same bytes: {'yes' if identical else 'NO'}   ({per_cell / ours:.0f}x ours)")
    if not args.no_pandas:
        frame = pd.DataFrame(table)
        pandas_fmt, pandas_bytes = timed(lambda: frame.to_csv(header=False, index=False, float_format="%.9g", lineterminator="\n").encode(), 1)
        pandas_default, _ = timed(lambda: frame.to_csv(header=False, index=False, lineterminator="\n").encode(), 1)
        pandas_label = 'pandas to_csv(float_format="%.9g")'
        print(f"   {pandas_label:<48}{pandas_fmt:>8.2f} s   same bytes: {'yes' if pandas_bytes == body else 'no'}")
        print(f"   {'pandas to_csv() default':<48}{pandas_default:>8.2f} s")
    if args.engine:
        for label, seconds in uploads_to_engine(x, y, args.repeat):
            print(f"   {label:<48}{seconds:>8.2f} s")
        runs = cells_to_create(x, y, args.repeat)
        wall = statistics.median(run[0] for run in runs)
        print(f"   {'cell start -> CreateTrainingJob (%sm_train)':<48}{wall:>8.2f} s   goal <= 3 s: {'met' if wall <= 3 else 'missed'}"
              f"   (runs {', '.join(f'{run[0]:.2f}' for run in runs)} s)")
        for label, index in (("   CPU in the kernel (conversion, upload)", 1), ("   CPU in the engine (S3: receive, hash, store)", 2)):
            print(f"   {label:<48}{statistics.median(run[index] for run in runs):>8.2f} s")
    print(f"   load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def uploads_to_engine(x: np.ndarray, y: np.ndarray, repeat: int) -> list[tuple[str, float]]:
    """Conversion + upload to a local engine's S3 as the cell does it (boto3's managed multipart upload),
    converted whole then uploaded, and converted part by part while the parts already written are sent."""
    import boto3

    from sm_magics import launcher
    from sm_magics.workflow.training import _put

    info = ALGORITHMS["xgboost"]
    times: dict[str, list[float]] = {"converted, then uploaded": [], "converted while uploading (what the cell does)": []}
    with tempfile.TemporaryDirectory() as data_dir:
        engine = launcher.start(port=_free_port(), data_dir=Path(data_dir))
        try:
            s3 = boto3.Session(**engine.credentials.as_boto3(), region_name="us-east-1").client("s3", endpoint_url=engine.url)
            s3.create_bucket(Bucket="csv-bench")
            for run in range(repeat):  # alternated, so that both see the same load
                for label, body in (("converted, then uploaded", lambda channel: channel.payload()),
                                    ("converted while uploading (what the cell does)", lambda channel: channel.plan())):
                    start = time.perf_counter()
                    _put(s3, "csv-bench", f"train/{run}.csv", body(prepare_channel(info, "train", x, y)), "train", None)
                    times[label].append(time.perf_counter() - start)
        finally:
            launcher.stop(Path(data_dir))
    return [(label, statistics.median(values)) for label, values in times.items()]


class _Stop(Exception):
    """Raised in place of the CreateTrainingJob call: the benchmark ends at the moment it is sent."""


def cells_to_create(x: np.ndarray, y: np.ndarray, repeat: int) -> list[tuple[float, float, float]]:
    """Per run of the cell: seconds from its start to CreateTrainingJob, and the kernel's and the engine's CPU seconds meanwhile."""
    import IPython
    from botocore.client import BaseClient
    from IPython.testing.globalipapp import start_ipython

    from sm_magics import launcher

    runs = []
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update(SM_MAGICS_BACKEND="local", SM_MAGICS_LOCAL_DATA_DIR=data_dir)
        engine = launcher.start(port=_free_port(), data_dir=Path(data_dir))
        original = BaseClient._make_api_call
        sent: list[tuple[float, float, float]] = []

        def stop_at_create(self, operation, params):  # type: ignore[no-untyped-def]
            if operation == "CreateTrainingJob":
                sent.append((time.perf_counter(), time.process_time(), _cpu_seconds(engine.pid)))
                raise _Stop()
            return original(self, operation, params)

        try:
            start_ipython()
            ip = IPython.get_ipython()
            ip.run_line_magic("load_ext", "sm_magics")
            ip.run_line_magic("sm_jobs", "")  # the engine is up: leave its start out of the measurement
            ip.user_ns.update(X=x, y=y)
            BaseClient._make_api_call = stop_at_create
            for run in range(repeat):
                sent.clear()
                start, kernel_cpu, engine_cpu = time.perf_counter(), time.process_time(), _cpu_seconds(engine.pid)
                ip.run_cell_magic("sm_train", f"xgboost --as bench_job_{run}", "num_round: 1\nobjective: binary:logistic\ntrain: X, y\n")
                deadline = time.monotonic() + 600
                while not sent and time.monotonic() < deadline:  # the Create call is sent from the job's poller thread
                    time.sleep(0.01)
                runs.append((sent[0][0] - start, sent[0][1] - kernel_cpu, sent[0][2] - engine_cpu))
                time.sleep(1.0)  # the refused call's clean-up (the uploaded channel is removed again)
        finally:
            BaseClient._make_api_call = original
            launcher.stop(Path(data_dir))
    return runs


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
