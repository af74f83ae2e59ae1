"""``sm-magics``: the terminal side of sm_magics (the local engine today; endpoints later)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from .local import launcher


def _local_start(args: argparse.Namespace) -> int:
    already = launcher.status(args.data_dir)
    info = launcher.start(port=args.port, data_dir=args.data_dir)
    state = "already running" if already else "started"
    print(f"local SageMaker engine {state} at {info.url} (pid {info.pid}, data in {info.data_dir})")
    return 0


def _local_stop(args: argparse.Namespace) -> int:
    if launcher.stop(args.data_dir):
        print("local SageMaker engine stopped; its state is saved")
    else:
        print("no local SageMaker engine is running for", args.data_dir or launcher.default_data_dir())
    return 0


def _local_status(args: argparse.Namespace) -> int:
    info = launcher.status(args.data_dir)
    if info is None:
        print("not running (start it with `sm-magics local start`)")
        return 1
    print(f"running at {info.url} (pid {info.pid}, data in {info.data_dir})")
    return 0


def _local_env(args: argparse.Namespace) -> int:
    info = launcher.status(args.data_dir)
    if info is None:
        info = launcher.start(port=args.port, data_dir=args.data_dir)
    print(f"unset {' '.join(launcher.CLEARED_ENV)}")
    for key, value in launcher.client_env(info, args.region).items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _local_run(args: argparse.Namespace) -> int:
    command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not command:
        raise SystemExit("sm-magics local run: name a command after --, e.g. `sm-magics local run -- python train.py`")
    info = launcher.start(port=args.port, data_dir=args.data_dir)
    env = {k: v for k, v in os.environ.items() if k not in launcher.CLEARED_ENV}
    env.update(launcher.client_env(info, args.region))
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        raise SystemExit(f"sm-magics local run: command not found: {command[0]}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sm-magics", description="Amazon SageMaker from notebooks and terminals.")
    groups = parser.add_subparsers(dest="group", required=True)
    local = groups.add_parser("local", help="the embedded local SageMaker engine (no AWS account needed)")
    commands = local.add_subparsers(dest="command", required=True)

    def add(name: str, handler, help_text: str, *, port: bool = True, region: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--data-dir", type=Path, default=None, help="where the engine keeps its state (default: the user cache dir)")
        if port:
            sub.add_argument("--port", type=int, default=None, help=f"loopback port (default {launcher.default_port()})")
        if region:
            sub.add_argument("--region", default=None, help="AWS region the clients use (default us-east-1)")
        sub.set_defaults(handler=handler)
        return sub

    add("start", _local_start, "start the engine in the background (does nothing if it runs)")
    add("stop", _local_stop, "stop the engine, saving its state", port=False)
    add("status", _local_status, "say whether the engine runs, and where", port=False)
    add("env", _local_env, "print `export` lines that point boto3 and the SageMaker SDKs at the engine", region=True)
    run = add("run", _local_run, "run a command with boto3 and the SDKs pointed at the engine", region=True)
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except launcher.EngineError as exc:
        print(f"sm-magics: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
