"""Magics benchmarks, measured side by side in one run.

1. ``%load_ext sm_magics`` in a fresh interpreter beside ``import sagemaker`` (goal: load <= 0.3 s).
2. The magic's own overhead from cell start to CreateTrainingJob for a 50 000 x 784 array
   (conversion to RecordIO, upload, request), measured by timing the CreateTrainingJob call's start.
3. Describe calls per job-minute while a widget (here: a handle's poller) watches a running job,
   from the poller's schedule (2 s for the first minute, then backing off).

Usage: python benchmarks/magics.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LOAD = "import time; t=time.perf_counter(); from IPython.testing.globalipapp import start_ipython; start_ipython(); import IPython; ip=IPython.get_ipython(); t=time.perf_counter(); ip.run_line_magic('load_ext','sm_magics'); print(time.perf_counter()-t)"
SDK = "import time; t=time.perf_counter(); import sagemaker; print(time.perf_counter()-t)"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def median_of(code: str, runs: int, env: dict[str, str]) -> float:
    values = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
        values.append(float(out.strip().splitlines()[-1]))
    return statistics.median(values)


def overhead_to_create(rows: int, data_dir: Path) -> tuple[float, float]:
    """Seconds from the magic's start to the moment CreateTrainingJob is sent, and the whole magic call."""
    from botocore.client import BaseClient

    import IPython
    from IPython.testing.globalipapp import start_ipython

    start_ipython()
    ip = IPython.get_ipython()
    ip.run_line_magic("load_ext", "sm_magics")
    ip.run_line_magic("sm_jobs", "")  # the engine is up: leave its start out of the measurement
    ip.user_ns["big"] = np.random.default_rng(0).random((rows, 784), dtype=np.float32)
    sent: list[float] = []
    original = BaseClient._make_api_call

    def timed(self, operation, params):  # type: ignore[no-untyped-def]
        if operation == "CreateTrainingJob":
            sent.append(time.perf_counter())
        return original(self, operation, params)

    BaseClient._make_api_call = timed
    try:
        start = time.perf_counter()
        ip.run_cell_magic("sm_train", "kmeans --as big_job", "k: 10\ntrain: big\n")
        done = time.perf_counter()
    finally:
        BaseClient._make_api_call = original
    ip.user_ns["big_job"].wait(timeout=600)
    return sent[0] - start, done - start


def describes_per_minute() -> list[tuple[str, float]]:
    from sm_magics.workflow.jobs import poll_interval

    rows = []
    for label, start, end in (("first minute", 0, 60), ("minutes 1-10", 60, 600), ("minutes 10-60", 600, 3600), ("after an hour", 3600, 7200)):
        t, calls = float(start), 0
        while t < end:
            calls += 1
            t += poll_interval(t)
        rows.append((label, calls / ((end - start) / 60)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        from sm_magics import launcher

        env = {**os.environ, "SM_MAGICS_BACKEND": "local", "SM_MAGICS_LOCAL_DATA_DIR": data_dir, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}
        os.environ.update({k: env[k] for k in ("SM_MAGICS_BACKEND", "SM_MAGICS_LOCAL_DATA_DIR")})
        launcher.start(port=free_port(), data_dir=Path(data_dir))
        try:
            load = median_of(LOAD, args.runs, env)
            try:
                sdk = median_of(SDK, args.runs, env)
            except subprocess.CalledProcessError:
                sdk = float("nan")
            to_create, whole = overhead_to_create(args.rows, Path(data_dir))
        finally:
            launcher.stop(Path(data_dir))
    print(f"\n1. import cost, median of {args.runs} fresh interpreters (goal: %load_ext <= 0.3 s)")
    print(f"   %load_ext sm_magics      {load:7.3f} s")
    print(f"   import sagemaker         {sdk:7.3f} s   ({sdk / load:.0f}x the extension's load)")
    print(f"\n2. %%sm_train on {args.rows} x 784 float32: magic start -> CreateTrainingJob sent")
    print(f"   to CreateTrainingJob     {to_create:7.3f} s")
    print(f"   whole magic call         {whole:7.3f} s   (returns after the upload; the Create call and training go on in the background)")
    print("\n3. describe calls per job-minute while a job is watched (poller schedule)")
    for label, rate in describes_per_minute():
        print(f"   {label:<22} {rate:7.2f} / min")


if __name__ == "__main__":
    main()
