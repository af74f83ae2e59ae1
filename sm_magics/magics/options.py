"""Reading a magic's line: IPython's ``magic_arguments`` parsers, the value types, one-line errors.

Every magic declares its options with ``magic_arguments`` (which is also what ``%sm_train?`` and
``--help`` show); this module turns a line into a dict of the options given, refuses abbreviations
(a typo must not pick an option silently) and words every mistake as one line that says what to write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import functools
import inspect
import keyword
import re
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicHelpFormatter, argument

from ..argparse_i18n import reword
from ..i18n import N_, _

MAX_TTL = dt.timedelta(days=365)
MAX_RUNTIME_SECONDS = 28 * 24 * 3600  # SageMaker's own limit on MaxRuntimeInSeconds


def duration(text: str) -> dt.timedelta:
    """``--ttl``: a duration like 90s, 30m, 2h or 1d, more than nothing and at most a year."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(_("{value}: write a duration like 30m, 2h or 1d").format(value=repr(text)))
    seconds = float(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    if seconds <= 0 or seconds > MAX_TTL.total_seconds():
        raise argparse.ArgumentTypeError(_("{value}: give a time between 1s and 365d").format(value=repr(text)))
    return dt.timedelta(seconds=seconds)


def idle(text: str) -> dt.timedelta:
    """``--idle``: whole minutes from 5m to 1d (workflow/idle.py says why), checked before anything is made."""
    from ..workflow.idle import check_idle

    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(_("{value}: write a duration like 30m or 2h").format(value=repr(text)))
    try:
        return dt.timedelta(seconds=check_idle(float(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]))
    except ValueError as exc:  # "--idle 0s: give ..." said with the user's own words
        raise argparse.ArgumentTypeError(f"{text!r}: {str(exc).split(': ', 1)[1]}") from None


def count(text: str) -> int:
    """A whole number of instances, jobs or seconds: 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a whole number").format(value=repr(text))) from None
    if value < 1:
        raise argparse.ArgumentTypeError(_("{value}: give 1 or more").format(value=repr(text)))
    return value


def seed(text: str) -> int:
    """A tuning job's RandomSeed: a whole number, 0 or more (SageMaker's own bound)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a whole number").format(value=repr(text))) from None
    if value < 0:
        raise argparse.ArgumentTypeError(_("{value}: give 0 or more").format(value=repr(text)))
    return value


def seconds(text: str) -> int:
    """A runtime in seconds, within SageMaker's 28-day limit (checked here, before any upload)."""
    value = count(text)
    if value > MAX_RUNTIME_SECONDS:
        raise argparse.ArgumentTypeError(_("{value}: SageMaker allows at most {limit} seconds (28 days)").format(value=repr(text), limit=MAX_RUNTIME_SECONDS))
    return value


def money(text: str) -> float:
    """``--max-cost``: US dollars, written 2, 0.50, $2 or 2USD; more than nothing."""
    match = re.fullmatch(r"\$?(\d+(?:\.\d+)?)\s*(?:usd|USD|\$)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(_("{value}: write an amount in US dollars, like 2 or 0.50").format(value=repr(text)))
    value = float(match[1])
    if value <= 0:
        raise argparse.ArgumentTypeError(_("{value}: give an amount above $0").format(value=repr(text)))
    return value


def parse(magic: Callable[..., Any], line: str) -> dict[str, Any] | None:
    """A magic line's options as a dict (options not given are left out); None once ``--help`` is printed."""
    parser = magic.parser  # type: ignore[attr-defined]
    parser.allow_abbrev = False
    try:
        args = parser.parse_argstring(line)
    except ValueError as exc:
        raise UsageError(_("cannot read the magic line: {error}").format(error=exc)) from None
    except UsageError as exc:
        raise UsageError(explain_option_error(parser, str(exc))) from None
    if args.help:
        print(help_text(parser).removeprefix("::\n\n"))  # the docstring's reST literal marker is for `%sm_train?`
        return None
    options = {key: value for key, value in vars(args).items() if value not in (None, False, []) and key != "help"}
    variable = options.get("as")
    if variable is not None and (not variable.isidentifier() or keyword.iskeyword(variable)):
        raise UsageError(_("--as {name} is not a Python name: use letters, digits and _, not starting with a digit").format(name=repr(variable)))
    return options


def explain_option_error(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's message made useful: a did-you-mean for an unknown option, the usage for a stray word,
    and argparse's own English wording (a value missing, a value given to a switch) said in the user's language."""
    if message.startswith("unrecognized arguments: "):
        word = message.split(": ", 1)[1].split()[0]
        if word.startswith("-"):
            known = sorted(o for o in parser._option_string_actions if o.startswith("--") and o != "--help")
            name = word.split("=", 1)[0]
            close = [o for o in known if o.startswith(name)] or difflib.get_close_matches(name, known, n=1)
            if close:
                return _("unknown option {option}; did you mean {choices}?").format(option=word, choices=_(" or ").join(close))
            return _("unknown option {option} (options: {choices})").format(option=word, choices=", ".join(known))
        usage = " ".join(parser.format_usage().replace("::", "").split())  # one line: argparse wraps it
        return _("unexpected {word} on the magic line ({usage})").format(word=repr(word), usage=usage)
    return reword(message)


class LocalizedHelpFormatter(MagicHelpFormatter):
    """IPython's magic help layout, its words in the kernel's language at the moment the help is shown.

    The parsers are built once, at import, in English (the source strings are the catalog's message
    ids); each help string, section title and magic description is looked up when formatted, so
    ``%sm_train?`` and ``--help`` follow a language chosen later. Option names, metavars and the usage
    line are syntax the user types, and stay as they are.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return _(action.help) if action.help else action.help

    def start_section(self, heading: str | None) -> None:
        super().start_section(_(heading) if heading else heading)

    def add_text(self, text: str | None) -> None:
        if text and text is not argparse.SUPPRESS:
            text = _(inspect.cleandoc(text))  # the docstring as extracted (i18n.magic_docstrings)
        super().add_text(text)


def help_text(parser: argparse.ArgumentParser) -> str:
    """A magic's help (``%sm_train?``, ``--help``) in the kernel's current language (its parser formats
    with :class:`LocalizedHelpFormatter` once ``localize_help`` has seen it)."""
    return parser.format_help()


def localize_help(magics_class: type) -> type:
    """Class decorator: every magic with a parser gives ``%magic?`` its help in the current language.

    IPython's inspector asks an object for ``getdoc()`` before reading ``__doc__`` (which
    ``magic_arguments`` froze in English at import); a bound method hands the lookup to its function."""
    for value in vars(magics_class).values():
        parser = getattr(value, "parser", None)
        if parser is not None:
            parser.formatter_class = LocalizedHelpFormatter
            value.getdoc = functools.partial(help_text, parser)
    return magics_class


# Options several magics share, declared once so that their help reads the same everywhere.
help_option = argument("-h", "--help", action="store_true", help=N_("show this help"))
as_option = argument("--as", dest="as", metavar="VAR", help=N_("the notebook variable that gets the job or endpoint handle"))
wait_option = argument("--wait", action="store_true", help=N_("block the cell until it has finished (by default it returns at once)"))
name_option = argument("--name", help=N_("the name to give it in SageMaker (default: algorithm-date-time)"))
instance_type_option = argument("--instance-type", metavar="TYPE", help=N_("e.g. ml.m5.large (default: %%config SMMagics.instance_type)"))
instance_count_option = argument("--instance-count", metavar="N", type=count, help=N_("how many instances (default 1)"))
max_cost_option = argument("--max-cost", metavar="USD", type=money,
                           help=N_("refuse to start when what it can cost on AWS is more than this many US dollars"))
