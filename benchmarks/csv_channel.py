"""Benchmark: preparing an XGBoost CSV channel of 50 000 MNIST digits (label + 784 pixels), side by side.

* sm_magics ``prepare_channel`` (what ``%%sm_train xgboost`` runs before uploading: checks, label column,
  ``csv_text.format_rows``);
* the per-cell Python formatting it replaced (``",".join(f"{v:.9g}" ...)``, the same bytes), on a
  sample of rows and scaled up (it takes about a minute in full);
* pandas ``DataFrame.to_csv`` with the same format (``float_format="%.9g"``) and with its default;
* with ``--engine``: the upload of the channel's body to a local engine's S3 (``put_object``), so that
  prepare + upload is what the cell spends before CreateTrainingJob (goal: <= 3 s).

The 50 000 rows are the engine's 3 572 real training digits repeated (pixel values k/255 as the
tutorials load them); ``--noise`` adds Gaussian noise so that nearly every cell is a distinct value
(the formatter's worst case).

    python benchmarks/csv_channel.py [--rows N] [--noise] [--engine]
"""

from __future__ import annotations

import argparse
import io
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
    args = parser.parse_args()
    (train, labels), _, _ = mnist_splits()
    reps = -(-args.rows // len(train))
    x = np.tile(train, (reps, 1))[: args.rows].astype(np.float32)
    y = (np.tile(labels, reps)[: args.rows] == 0).astype(np.float32)
    if args.noise:
        x = np.clip(x + np.random.default_rng(0).normal(0, 0.02, size=x.shape).astype(np.float32), 0, 1)
    info = ALGORITHMS["xgboost"]
    ours, channel = timed(lambda: prepare_channel(info, "train", x, y), args.repeat)
    body = channel.body

    sample = min(2000, args.rows)
    table = np.column_stack([y, x])
    per_cell_sample, text = timed(lambda: ("\n".join(",".join(f"{v:.9g}" for v in row) for row in table[:sample]) + "\n").encode(), 1)
    per_cell = per_cell_sample * args.rows / sample
    identical = body.startswith(text)
    frame = pd.DataFrame(table)
    pandas_fmt, pandas_bytes = timed(lambda: frame.to_csv(header=False, index=False, float_format="%.9g", lineterminator="\n").encode(), 1)
    pandas_default, _ = timed(lambda: frame.to_csv(header=False, index=False, lineterminator="\n").encode(), 1)

    print(f"{args.rows} x {x.shape[1]} + label column -> {len(body) / 1e6:.1f} MB of CSV; "
          f"{'noisy (nearly all cells distinct)' if args.noise else 'MNIST pixel values'}; pandas {pd.__version__}, numpy {np.__version__}")
    print(f"   {'sm_magics prepare_channel':<48}{ours:>8.2f} s")
    old_label = 'per-cell f"{v:.9g}" (old code; from %d rows)' % sample
    pandas_label = 'pandas to_csv(float_format="%.9g")'
    print(f"   {old_label:<48}{per_cell:>8.2f} s   same bytes: {'yes' if identical else 'NO'}")
    print(f"   {pandas_label:<48}{pandas_fmt:>8.2f} s   same bytes: {'yes' if pandas_bytes == body else 'no'}")
    print(f"   {'pandas to_csv() default':<48}{pandas_default:>8.2f} s")
    if args.engine:
        import boto3

        from sm_magics.local import launcher

        with tempfile.TemporaryDirectory() as data_dir:
            engine = launcher.start(port=_free_port(), data_dir=Path(data_dir))
            try:
                s3 = boto3.Session(**engine.credentials.as_boto3(), region_name="us-east-1").client("s3", endpoint_url=engine.url)
                s3.create_bucket(Bucket="csv-bench")
                upload, _ = timed(lambda: s3.put_object(Bucket="csv-bench", Key="train/data.csv", Body=io.BytesIO(body)), 1)
            finally:
                launcher.stop(Path(data_dir))
        print(f"   {'upload to the engine (put_object, durable)':<48}{upload:>8.2f} s")
        print(f"   {'prepare + upload (goal <= 3 s)':<48}{ours + upload:>8.2f} s")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
