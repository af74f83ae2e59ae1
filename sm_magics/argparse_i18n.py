"""argparse's own English (the usage prefix, section titles, the -h line, its error messages) through our catalogs.

argparse words these with the standard library's ``gettext`` in its own domain, for which no catalog
of ours is ever installed (and installing one would change every other program in the process). So the
magics' parsers and the ``sm-magics`` CLI put their help together with a formatter that translates
the words argparse adds, and reword argparse's error messages here, by their fixed English shapes
(Python 3.10 to 3.13), into the catalog's sentences. Option names and values stay as the user typed them.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

from .i18n import N_, _

# argparse's section titles ("options" since Python 3.10), translated when a help is shown
SECTION_TITLES = (N_("positional arguments"), N_("options"), N_("optional arguments"))
HELP_LINE = N_("show this help")


def _option(name: str) -> str:
    return name.split("/")[0]  # "-h/--help" -> "-h" (argparse names an option by all its strings)


# (argparse's English shape, the catalog's sentence built from its parts)
_SHAPES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"unrecognized arguments: (.+)"),
     lambda m: _("unrecognized arguments: {words}").format(words=m[1])),
    (re.compile(r"the following arguments are required: (.+)"),
     lambda m: _("the following arguments are required: {names}").format(names=m[1])),
    (re.compile(r"argument (\S+): expected (?:one argument|at least one argument)"),
     lambda m: _("{option} needs a value").format(option=_option(m[1]))),
    (re.compile(r"argument (\S+): ignored explicit argument (.*)"),
     lambda m: _("{option} takes no value: write {option} alone, without {value}").format(
         option=_option(m[1]), value="=" + m[2].strip("'\""))),
    (re.compile(r"argument (-\S+): invalid choice: (.+?) \(choose from (.+)\)"),
     lambda m: _("{option}: {value} is not one of {choices}").format(option=_option(m[1]), value=m[2], choices=m[3])),
    (re.compile(r"argument \S+: invalid choice: (.+?) \(choose from (.+)\)"),  # a command word (its dest is no word of the user's)
     lambda m: _("{value} is not one of {choices}").format(value=m[1], choices=m[2])),
    (re.compile(r"argument (\S+): invalid \S+ value: (.*)"),
     lambda m: _("{option}: {value} is not a valid value").format(option=_option(m[1]), value=m[2])),
    (re.compile(r"argument (\S+): (.*)", re.S),  # a type function's own (translated) message
     lambda m: f"{_option(m[1])}: {m[2]}"),
]


def reword(message: str) -> str:
    """One of argparse's error messages in the catalog's words (unchanged if its shape is not known)."""
    for shape, build in _SHAPES:
        match = shape.fullmatch(message)
        if match:
            return build(match)
    return message


class TranslatedHelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, its own words (usage prefix, section titles) in the current language."""

    def start_section(self, heading: str | None) -> None:
        super().start_section(_(heading) if heading else heading)

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


class TranslatedArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors speak the current language; ``-h`` says so too.

    The language is the one current when the help or the error is shown, not when the parser was built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", TranslatedHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=HELP_LINE)

    def _get_formatter(self) -> argparse.HelpFormatter:
        formatter = super()._get_formatter()
        formatter._get_help_string = lambda action: _(action.help) if action.help else action.help  # type: ignore[method-assign]
        return formatter

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, _("{prog}: error: {message}").format(prog=self.prog, message=reword(message)) + "\n")
