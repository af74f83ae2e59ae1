"""``sm-magics``: the terminal side of sm_magics: the local engine, and endpoints for servers without JupyterLab or cron jobs."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from . import launcher
from .i18n import _, ngettext


def _local_start(args: argparse.Namespace) -> int:
    info, started = launcher.start_or_find(port=args.port, data_dir=args.data_dir)
    message = (_("local SageMaker engine started at {url} (pid {pid}, data in {data_dir})") if started
               else _("local SageMaker engine already running at {url} (pid {pid}, data in {data_dir})"))
    print(message.format(url=info.url, pid=info.pid, data_dir=info.data_dir))
    if args.port and args.port != info.port:
        print(_("(not on port {port}: one engine serves a data dir; stop it first to move it to another port)").format(port=args.port))
    found = launcher.durability(info).get("recovery") or []
    for line in found:
        print(_("recovered with a loss: {problem}").format(problem=line))
    return 1 if found else 0


def _local_stop(args: argparse.Namespace) -> int:
    outcome = launcher.stop_engine(args.data_dir)
    if not outcome.was_running:
        print(_("no local SageMaker engine is running for {data_dir}").format(data_dir=args.data_dir or launcher.default_data_dir()))
    elif outcome.problems:
        for problem in outcome.problems:
            print(_("local SageMaker engine stopped, but it reported that it {problem}").format(problem=problem))
        return 1
    else:
        print(_("local SageMaker engine stopped; every change it acknowledged is saved"))
    return 0


def _local_status(args: argparse.Namespace) -> int:
    info = launcher.status(args.data_dir)
    if info is None:
        print(_("not running (start it with `sm-magics local start`)"))
        return 1
    print(_("running at {url} (pid {pid}, data in {data_dir})").format(url=info.url, pid=info.pid, data_dir=info.data_dir))
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
        raise SystemExit(_("sm-magics local run: name a command after --, e.g. `sm-magics local run -- python train.py`"))
    info = launcher.start(port=args.port, data_dir=args.data_dir)
    env = {k: v for k, v in os.environ.items() if k not in launcher.CLEARED_ENV}
    env.update(launcher.client_env(info, args.region))
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, env)
    except FileNotFoundError:
        raise SystemExit(_("sm-magics local run: command not found: {command}").format(command=command[0])) from None


def _backend(args: argparse.Namespace):
    from .workflow.session import choose_backend

    return choose_backend(args.backend, args.profile, args.region)


def _endpoints_list(args: argparse.Namespace) -> int:
    from .workflow.fleet import fleet_of

    backend = _backend(args)
    listing = fleet_of(backend).endpoints("all" if args.all_regions else None)
    if args.json:
        print(json.dumps([row.to_json() for row in listing.rows], indent=1))
        return 0
    for problem in listing.region_errors:
        print(f"{problem['region']}: {problem['message']}", file=sys.stderr)
    if not listing.rows:
        print(_("no endpoints"))
        return 0
    burning = f"${listing.usd_per_hour or 0.0:.3f}"
    print(_("{count} endpoint(s), {rate}/h together").format(count=len(listing.rows), rate=burning)
          + (_(" (local engine: not billed)") if backend.kind == "local" else ""))
    for row in listing.rows:
        print(row.text_line())
    return 0


def _endpoints_delete(args: argparse.Namespace) -> int:
    from .workflow.endpoints import delete_endpoint_cascade

    if not args.yes:
        if not sys.stdin.isatty():
            print(_("sm-magics endpoints delete: pass --yes to delete without a prompt (no terminal to ask on)"), file=sys.stderr)
            return 2
        answer = input(_("Delete {names} with their endpoint configs and models? [y/N] ").format(names=", ".join(args.names)))
        if answer.strip().lower() not in ("y", "yes"):
            print(_("nothing deleted"))
            return 1
    backend = _backend(args)
    failed = False
    for name in args.names:
        report = delete_endpoint_cascade(backend, name, keep_model=args.keep_model, delete_artifacts=args.delete_artifacts)
        print(report)
        failed = failed or bool(report.errors)
    return 1 if failed else 0


def _tutorials(args: argparse.Namespace) -> int:
    from . import tutorials

    try:
        written = tutorials.copy(args.dir, args.lang, force=args.force)
    except (tutorials.TutorialError, OSError) as exc:
        print(f"sm-magics tutorials: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    notebooks = sum(path.suffix == ".ipynb" for path in written)
    print(ngettext("{n} notebook in {folder}; open it with: jupyter lab {quoted}",
                   "{n} notebooks in {folder}; open them with: jupyter lab {quoted}", notebooks).format(
        n=notebooks, folder=args.dir, quoted=shlex.quote(str(args.dir))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .argparse_i18n import TranslatedArgumentParser  # argparse's own words (usage, errors) in the user's language

    parser = TranslatedArgumentParser(prog="sm-magics", description=_("Amazon SageMaker from notebooks and terminals."))
    groups = parser.add_subparsers(dest="group", required=True)
    local = groups.add_parser("local", help=_("the embedded local SageMaker engine (no AWS account needed)"))
    commands = local.add_subparsers(dest="command", required=True)

    def add(name: str, handler, help_text: str, *, port: bool = True, region: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--data-dir", type=Path, default=None, help=_("where the engine keeps its state (default: the user cache dir)"))
        if port:
            sub.add_argument("--port", type=int, default=None, help=_("loopback port (default {port})").format(port=launcher.default_port()))
        if region:
            sub.add_argument("--region", default=None, help=_("AWS region the clients use (default us-east-1)"))
        sub.set_defaults(handler=handler)
        return sub

    add("start", _local_start, _("start the engine in the background (does nothing if it runs)"))
    add("stop", _local_stop, _("stop the engine (every change it acknowledged is already on disk)"), port=False)
    add("status", _local_status, _("say whether the engine runs, and where"), port=False)
    add("env", _local_env, _("print `export` lines that point boto3 and the SageMaker SDKs at the engine"), region=True)
    run = add("run", _local_run, _("run a command with boto3 and the SDKs pointed at the engine"), region=True)
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")

    endpoints = groups.add_parser("endpoints", help=_("live endpoints: what they cost, and deleting them properly"))
    verbs = endpoints.add_subparsers(dest="command", required=True)
    for verb, handler, text in (("list", _endpoints_list, _("list endpoints with their cost, most expensive first")),
                                ("delete", _endpoints_delete, _("delete endpoints with their endpoint configs and models"))):
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument("--backend", choices=("auto", "local", "aws"), default=None, help=_("as %%sm_backend (default: auto)"))
        sub.add_argument("--profile", default=None)
        sub.add_argument("--region", default=None)
        sub.set_defaults(handler=handler)
        if verb == "list":
            sub.add_argument("--all-regions", action="store_true", help=_("every region the account has enabled"))
            sub.add_argument("--json", action="store_true")
        else:
            sub.add_argument("names", nargs="+", metavar="NAME")
            sub.add_argument("--yes", action="store_true", help=_("do not ask"))
            sub.add_argument("--keep-model", action="store_true")
            sub.add_argument("--delete-artifacts", action="store_true", help=_("also delete the models' artifacts in S3"))

    tutorials = groups.add_parser("tutorials", help=_("copy the tutorial notebooks into a folder, to open them in Jupyter"))
    tutorials.add_argument("dir", nargs="?", type=Path, default=Path("sm-magics-tutorials"),
                           help=_("where to put them (default: ./sm-magics-tutorials)"))
    tutorials.add_argument("--lang", default=None, metavar="LANG",
                           help=_("only this language (en, fr or zh-TW), its notebooks directly in DIR; default: all, one folder each"))
    tutorials.add_argument("--force", action="store_true", help=_("overwrite notebooks already there"))
    tutorials.set_defaults(handler=_tutorials)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except launcher.EngineError as exc:
        print(f"sm-magics: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .workflow.session import BackendError

        if isinstance(exc, BackendError):
            print(f"sm-magics: {exc}", file=sys.stderr)
            return 2
        if type(exc).__module__.startswith(("botocore", "boto3")):
            from .workflow.errors import explain

            print(f"sm-magics: {explain(exc)}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
