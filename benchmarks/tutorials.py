"""Wall time of each tutorial notebook, top to bottom, on the local engine, printed as a table.

Every notebook under ``notebooks/<language>/`` (English, French, Traditional Chinese) is run by
nbclient in a fresh kernel, as "Run All Cells" would, against one engine started for this run in a
temporary data dir; the kernel's ``LANG`` is the notebook's language. The engine is started and its
sample data seeded before the first notebook, so the times are the notebooks' own, as a reader who
has the engine running sees them (goal: <= 60 s each on the project's 2-core machine). A notebook
that fails is reported with its error, and the run goes on.

Usage: python benchmarks/tutorials.py [--lang en|fr|zh-TW] [--only 01_kmeans_mnist.ipynb ...]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LOCALES = {"en": "en_US.UTF-8", "fr": "fr_FR.UTF-8", "zh-TW": "zh_TW.UTF-8"}
GOAL_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_one(path: Path, language: str, data_dir: Path, workdir: Path) -> tuple[float, str]:
    """Seconds to run the notebook, and '' or the error that stopped it."""
    notebook = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_")) and k not in ("LC_ALL", "LC_MESSAGES")}
    env.update(SM_MAGICS_BACKEND="local", SM_MAGICS_LOCAL_DATA_DIR=str(data_dir), SAGEMAKER_SUPPRESS_V2_WARNING="1",
               JPY_SESSION_NAME=f"benchmark/{language}/{path.name}", LANG=LOCALES.get(language, "C.UTF-8"))
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(workdir)}})
    started = time.monotonic()
    try:
        client.execute(env=env)
    except Exception as exc:  # the table says which notebook failed and why; the others still run
        return time.monotonic() - started, f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:100]}"
    return time.monotonic() - started, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(LOCALES), action="append", help="only these languages (default: all)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these notebooks (file names)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from sm_magics.local import launcher

    languages = args.lang or [p.name for p in sorted(NOTEBOOKS.iterdir()) if p.is_dir()]
    names = sorted({p.name for lang in languages for p in (NOTEBOOKS / lang).glob("*.ipynb")})
    if args.only:
        names = [n for n in names if n in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="sm-magics-bench-") as tmp:
        data_dir = Path(tmp) / "engine"
        started = time.monotonic()
        launcher.start(port=free_port(), data_dir=data_dir)
        engine_start = time.monotonic() - started
        try:
            for name in names:
                for language in languages:
                    path = NOTEBOOKS / language / name
                    if not path.is_file():
                        continue
                    workdir = Path(tmp) / language / name.removesuffix(".ipynb")
                    workdir.mkdir(parents=True)
                    seconds, error = run_one(path, language, data_dir, workdir)
                    rows.append((name, language, seconds, error))
                    print(f"  {language}/{name}: {seconds:.1f} s {error}", file=sys.stderr, flush=True)
        finally:
            launcher.stop(data_dir)
    print(f"\nTutorial notebooks on the local engine ({os.cpu_count()} CPUs; engine start {engine_start:.1f} s, not counted)\n")
    print(f"| notebook | {' | '.join(languages)} |")
    print(f"|---|{'---|' * len(languages)}")
    by = {(n, lang): (s, e) for n, lang, s, e in rows}
    for name in names:
        cells = []
        for language in languages:
            if (name, language) not in by:
                cells.append("-")
                continue
            seconds, error = by[name, language]
            cells.append(f"FAILED after {seconds:.1f} s" if error else f"{seconds:.1f} s")
        print(f"| {name} | {' | '.join(cells)} |")
    ok = [s for _, _, s, e in rows if not e]
    if ok:
        print(f"\nslowest {max(ok):.1f} s, goal <= {GOAL_SECONDS:.0f} s each: {'met' if max(ok) <= GOAL_SECONDS else 'MISSED'}")
    for name, language, _, error in rows:
        if error:
            print(f"{language}/{name}: {error}")
    return 1 if any(e for *_, e in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
