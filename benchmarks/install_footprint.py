"""What installing sm_magics costs: wheel + dependencies on disk, install time, and ./scripts/demo's first run.

For each source (a git revision given with ``--before``, and the working tree) it exports the tree
to a temporary folder, builds the wheel (with the already built panel copied in, so no Node.js
build is timed), installs it into a fresh virtual environment under /tmp and measures the
environment's site-packages and its largest distributions; with ``--demo`` it also runs
``./scripts/demo`` in another fresh copy (engine on a free port and a temporary data dir) and times
its first run, set-up included, then measures the environments it made. Nothing outside the temporary
folder is touched. pip's cache is used as it is, so times are for a warm cache; say so when quoting.

Usage: python benchmarks/install_footprint.py [--before REV] [--demo] [--keep]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PANEL = REPO / "sm_magics" / "labextension"


def export(revision: str | None, target: Path) -> Path:
    """The tree of ``revision``, or the working tree's files git would commit, without any build output."""
    target.mkdir(parents=True)
    if revision:
        archive = subprocess.run(["git", "archive", revision], cwd=REPO, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    else:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                                capture_output=True).stdout.decode().split("\0")
        for name in filter(None, listed):
            if not name.startswith("sm_magics/labextension") and (REPO / name).is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, target / name)
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    return target


def megabytes(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def largest(site: Path, count: int = 6) -> list[tuple[str, float]]:
    """The biggest distributions by the files their RECORD lists."""
    sizes = []
    for info in site.glob("*.dist-info"):
        record = info / "RECORD"
        if not record.is_file():
            continue
        total = 0
        for line in record.read_text().splitlines():
            path = site / line.split(",")[0]
            if path.is_file():
                total += path.stat().st_size
        sizes.append((info.name.split("-")[0], total / 1e6))
    return sorted(sizes, key=lambda item: -item[1])[:count]


def install(label: str, source: Path, work: Path) -> dict[str, object]:
    shutil.copytree(PANEL, source / "sm_magics" / "labextension")
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], check=True,
                   capture_output=True)
    (wheel,) = dist.glob("sm_magics-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.monotonic()
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True)
    seconds = time.monotonic() - started
    (site,) = (venv / "lib").glob("python*/site-packages")
    distributions = len(list(site.glob("*.dist-info")))
    return {"label": label, "wheel_mb": wheel.stat().st_size / 1e6, "site_mb": megabytes(site), "seconds": seconds,
            "distributions": distributions, "largest": largest(site)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo(label: str, source: Path, work: Path) -> dict[str, object]:
    data_dir = work / "engine"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_", "VIRTUAL_ENV"))}
    env.update(SM_MAGICS_LOCAL_DATA_DIR=str(data_dir), SM_MAGICS_LOCAL_PORT=str(free_port()))
    started = time.monotonic()
    done = subprocess.run(["./scripts/demo", str(work / "gallery.png")], cwd=source, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    subprocess.run([str(source / ".venv" / "bin" / "sm-magics"), "local", "stop"], env=env, capture_output=True)
    venvs = {p.name: megabytes(p) for p in source.glob(".venv*") if p.is_dir()}
    return {"label": label, "seconds": seconds, "ok": done.returncode == 0, "venvs": venvs,
            "tail": (done.stdout + done.stderr).strip().splitlines()[-3:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also measure this git revision, first")
    parser.add_argument("--demo", action="store_true", help="also time ./scripts/demo's first run in a fresh copy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if not (PANEL / "static" / "style.js").is_file():
        print("build the panel first (./scripts/setup)", file=sys.stderr)
        return 2
    sources = ([(f"{args.before}", args.before)] if args.before else []) + [("working tree", None)]
    root = Path(tempfile.mkdtemp(prefix="sm-magics-footprint-"))
    installs, demos = [], []
    try:
        for index, (label, revision) in enumerate(sources):
            work = root / f"s{index}"
            installs.append(install(label, export(revision, work / "src"), work))
            print(f"  installed {label}: {installs[-1]['site_mb']:.0f} MB in {installs[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
            if args.demo:
                demos.append(demo(label, export(revision, work / "demo"), work))
                print(f"  demo {label}: {demos[-1]['seconds']:.0f} s", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nInstall footprint, Python {sys.version_info.major}.{sys.version_info.minor}, {sys.platform}, pip cache warm\n")
    print("| source | wheel | site-packages after `pip install` | distributions | install time | largest |")
    print("|---|---|---|---|---|---|")
    for row in installs:
        big = ", ".join(f"{name} {mb:.0f} MB" for name, mb in row["largest"])  # type: ignore[union-attr]
        print(f"| {row['label']} | {row['wheel_mb']:.2f} MB | {row['site_mb']:.0f} MB | {row['distributions']} | "
              f"{row['seconds']:.0f} s | {big} |")
    if demos:
        print("\n| source | ./scripts/demo first run (set-up included) | environments made |")
        print("|---|---|---|")
        for row in demos:
            made = ", ".join(f"{name} {mb:.0f} MB" for name, mb in row["venvs"].items())  # type: ignore[union-attr]
            state = "" if row["ok"] else f" FAILED: {' / '.join(row['tail'])}"  # type: ignore[arg-type]
            print(f"| {row['label']} | {row['seconds']:.0f} s{state} | {made} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
