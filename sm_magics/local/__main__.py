"""``python -m sm_magics.local serve``: run the engine in the foreground (the launcher runs it in the background)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from . import datadir_lock, settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sm_magics.local", description="Run the local SageMaker engine in the foreground.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, default=settings.DEFAULT_PORT)
    serve.add_argument("--data-dir", type=Path, required=True)
    serve.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = args.data_dir.expanduser().resolve()
    # before the heavy imports: a second engine for this data dir exits at once, naming the first
    datadir_lock.hold_or_exit(data_dir, f"http://{settings.HOST}:{args.port}")
    from .gateway import serve as run

    run(data_dir, args.port)


if __name__ == "__main__":
    main()
