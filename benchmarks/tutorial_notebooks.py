"""Wall time of each tutorial notebook, run top to bottom against a fresh local engine (goal: <= 60 s each).

Every notebook is executed by nbclient as "Run All Cells" would, in a new kernel pointed at one
engine started for this run (its start is not counted). The slowest cells are printed beside each
total, so a regression points at its cell. The machine's 1-minute load average is printed with
each row: on a shared machine it says how far a number can be trusted.

Usage: python benchmarks/tutorial_notebooks.py [--lang en] [--runs 1] [NAME_PREFIX ...]
       e.g. python benchmarks/tutorial_notebooks.py 03 04 05 --runs 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_once(path: Path, data_dir: Path, workdir: Path) -> tuple[float, list[tuple[float, str]]]:
    """Seconds for the whole notebook, and (seconds, first line) of each code cell."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_"))}
    env.update(SM_MAGICS_BACKEND="local", SM_MAGICS_LOCAL_DATA_DIR=str(data_dir), SAGEMAKER_SUPPRESS_V2_WARNING="1",
               JPY_SESSION_NAME=f"benchmark/{path.parent.name}/{path.name}")
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, record_timing=True,
                            resources={"metadata": {"path": str(workdir)}})
    started = time.monotonic()
    client.execute(env=env)
    total = time.monotonic() - started
    cells = []
    for cell in notebook.cells:
        timing = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            begin, end = (dt.datetime.fromisoformat(timing[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply"))
            cells.append(((end - begin).total_seconds(), cell.source.splitlines()[0][:60]))
    return total, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="notebook name prefixes, e.g. 03 04 (default: all)")
    parser.add_argument("--lang", default="en", choices=("en", "fr", "zh-TW"))
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    paths = sorted(p for p in (NOTEBOOKS / args.lang).glob("*.ipynb") if not args.prefixes or p.name.startswith(tuple(args.prefixes)))
    if not paths:
        sys.exit(f"no notebook in {NOTEBOOKS / args.lang} starts with {' or '.join(args.prefixes)}")

    from sm_magics.local import launcher

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "engine"
        launcher.start(port=free_port(), data_dir=data_dir)
        try:
            print(f"{'notebook':<44} {'run':>3} {'seconds':>8} {'load':>5}  slowest cells")
            for path in paths:
                for run in range(1, args.runs + 1):
                    total, cells = run_once(path, data_dir, Path(tmp))
                    slowest = ", ".join(f"{s:.1f} s {line!r}" for s, line in sorted(cells, reverse=True)[:3])
                    print(f"{args.lang + '/' + path.name:<44} {run:>3} {total:>8.1f} {os.getloadavg()[0]:>5.1f}  {slowest}", flush=True)
        finally:
            launcher.stop(data_dir)


if __name__ == "__main__":
    main()
