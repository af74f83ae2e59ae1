"""Benchmark: dense RecordIO-protobuf encoding, sm_magics vs the SageMaker SDK 2.x writer.

Encodes an MNIST-sized float32 matrix (50 000 x 784) with float32 labels, a few times
with each writer, checks the outputs are byte-identical and prints medians side by side.

    python benchmarks/recordio_encode.py            # full size
    python benchmarks/recordio_encode.py --rows 2000   # quick run
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sm_magics.formats.recordio import encode_dense  # noqa: E402


def _time(fn: Callable[[], bytes], repeat: int) -> tuple[list[float], bytes]:
    times, out = [], b""
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def _sdk_writer() -> tuple[Callable[[np.ndarray, np.ndarray], bytes] | None, str]:
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import sagemaker
            from sagemaker.amazon.common import write_numpy_to_dense_tensor
    except ImportError as exc:
        return None, f"SageMaker SDK 2.x not importable ({exc}); SDK column skipped"

    def encode(features: np.ndarray, labels: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        write_numpy_to_dense_tensor(buffer, features, labels)
        return buffer.getvalue()

    return encode, f"sagemaker {sagemaker.__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--cols", type=int, default=784)
    parser.add_argument("--repeat", type=int, default=7, help="runs of the sm_magics writer")
    parser.add_argument("--sdk-repeat", type=int, default=3, help="runs of the SDK writer (slow)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    features = rng.random((args.rows, args.cols), dtype=np.float32)
    labels = rng.integers(0, 10, args.rows).astype(np.float32)

    ours, our_bytes = _time(lambda: encode_dense(features, labels), args.repeat)
    sdk_encode, sdk_label = _sdk_writer()
    print(f"{args.rows} x {args.cols} float32 + labels -> {len(our_bytes) / 1e6:.1f} MB; "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs; SDK: {sdk_label}")

    rows = [("sm_magics encode_dense", ours)]
    identical = "n/a"
    if sdk_encode is not None:
        theirs, sdk_bytes = _time(lambda: sdk_encode(features, labels), args.sdk_repeat)
        rows.append(("SDK write_numpy_to_dense_tensor", theirs))
        identical = "yes" if sdk_bytes == our_bytes else "NO"

    base = statistics.median(ours)
    print(f"{'writer':<34}{'runs':>5}{'median s':>11}{'min s':>9}{'x slower than ours':>20}")
    for name, times in rows:
        median = statistics.median(times)
        print(f"{name:<34}{len(times):>5}{median:>11.4f}{min(times):>9.4f}{median / base:>20.1f}")
    print(f"byte-identical output: {identical}")
    if len(rows) > 1:
        ratio = statistics.median(rows[1][1]) / base
        print(f"goal >= 100x the SDK's writer: {ratio:.0f}x, {'met' if ratio >= 100 else 'missed'} "
              f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)")
    return 1 if identical == "NO" else 0


if __name__ == "__main__":
    raise SystemExit(main())
