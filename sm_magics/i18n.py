"""What the kernel side says, in the user's language: gettext catalogs, and which language that is.

The panel's strings go through JupyterLab's own translator (``sm_magics.po`` compiled to JSON);
everything the kernel prints or renders (magics, widgets, the CLI) goes through the
``sm_magics_kernel`` catalogs here. Catalogs are kept as ``.po`` files only and read with Babel
(which JupyterLab's server already depends on), so no compiled binary is committed and an edited
translation shows at the next kernel start.

Which language: ``%config SMMagics.language`` if set, else JupyterLab's own language setting
(what the user chose in Settings → Language, read from the lab's user settings), else the
kernel's locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English. The lab setting is read
again when its file changes, so switching JupyterLab's language takes effect without a restart.

``python -m sm_magics.i18n extract|check`` rebuilds the template from the code and checks that
French and Traditional Chinese translate every message.
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
import os
import sys
from pathlib import Path
from typing import Any

DOMAIN = "sm_magics_kernel"
LOCALE_DIR = Path(__file__).with_name("locale")
# language code used by the widgets -> the locale folder holding its catalog (None: the source strings)
CATALOGS: dict[str, str | None] = {"en": None, "fr": "fr_FR", "zh_TW": "zh_TW"}
LANGUAGES = tuple(CATALOGS)
_TRANSLATION_SETTINGS = Path("@jupyterlab", "translation-extension", "plugin.jupyterlab-settings")

_override: str | None = None


def code_of(name: str) -> str | None:
    """'fr_CA.UTF-8' -> 'fr', 'zh-Hant' / 'zh_TW' -> 'zh_TW'; None for no preference (C, POSIX, default)
    or a language without a catalog."""
    base = name.split(".")[0].split("@")[0].replace("-", "_").lower()
    if base in ("", "c", "posix", "default"):
        return None
    language = base.split("_")[0]
    if language == "zh":  # only Traditional Chinese is provided; closer to any Chinese reader than English
        return "zh_TW"
    return language if language in CATALOGS else None


def set_language(name: str | None) -> None:
    """``%config SMMagics.language``: a language for this kernel whatever JupyterLab and the locale say
    (None or "" goes back to following them). An unknown language is refused with the choices."""
    global _override
    if not name:
        _override = None
        return
    code = code_of(name)
    if code is None:
        raise ValueError(gettext("language {name} is not provided; use one of {choices}").format(
            name=repr(name), choices=", ".join(LANGUAGES)))
    _override = code


def lab_settings_file() -> Path:
    """Where JupyterLab keeps the user's language choice (``JUPYTERLAB_SETTINGS_DIR`` moves it)."""
    folder = os.environ.get("JUPYTERLAB_SETTINGS_DIR")
    if not folder:
        from jupyter_core.paths import jupyter_config_dir

        folder = os.path.join(jupyter_config_dir(), "lab", "user-settings")
    return Path(folder) / _TRANSLATION_SETTINGS


@functools.lru_cache(maxsize=8)
def _lab_locale(path: Path, mtime_ns: int) -> str | None:
    import json5

    try:
        value = json5.loads(path.read_text(encoding="utf-8")).get("locale")
    except (OSError, ValueError, AttributeError):
        return None  # a settings file JupyterLab itself would not accept states no preference
    return value if isinstance(value, str) else None


def lab_language() -> str | None:
    """The language chosen in JupyterLab's settings, if any (and if we have it)."""
    path = lab_settings_file()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    locale = _lab_locale(path, mtime)
    return code_of(locale) if locale else None


def locale_language() -> str | None:
    """The kernel's locale; ``C`` / ``POSIX`` state no preference, a language we lack means English."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        code = code_of(value)
        if code is not None:
            return code
        if value.split(".")[0] not in ("", "C", "POSIX"):
            return "en"
    return None


def current_language() -> str:
    """The language the kernel speaks now: the %config override, JupyterLab's setting, the locale, English."""
    return _override or lab_language() or locale_language() or "en"


@functools.lru_cache(maxsize=None)
def catalog(language: str) -> _gettext.NullTranslations:
    """The messages of one language, read from its ``.po`` (English: the source strings themselves)."""
    folder = CATALOGS.get(language)
    po = LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}.po" if folder else None
    if po is None or not po.exists():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        messages = read_po(handle, locale=folder)
    compiled = io.BytesIO()
    write_mo(compiled, messages)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(message: str, language: str | None = None) -> str:
    """``message`` in ``language`` (default: the current one); the English source where it lacks one."""
    return catalog(language or current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int, language: str | None = None) -> str:
    return catalog(language or current_language()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (a table of labels, a constant)."""
    return message


# ------------------------------------------------------------------ extraction and checks

SOURCES = ("sm_magics",)
# the engine speaks AWS's wire protocol, whose messages are English as AWS words them
EXCLUDED = ("sm_magics/local/**", "sm_magics/labextension/**")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract(root: Path) -> Any:
    """The template catalog built from the code's marked messages."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="sm_magics", domain=DOMAIN, charset="utf-8")
    for source in SOURCES:
        found = extract_from_dir(root / source, method_map=[("local/**.py", "ignore"), ("labextension/**", "ignore"),
                                                           ("**.py", "python")], keywords=KEYWORDS)
        for filename, lineno, message, comments, context in found:
            template.add(message, locations=[(f"{source}/{filename}", lineno)], auto_comments=comments, context=context)
    for filename, lineno, docstring in magic_docstrings(root):
        template.add(docstring, locations=[(filename, lineno)], auto_comments=["the magic's description in %magic? and --help"])
    return template


def magic_docstrings(root: Path) -> list[tuple[str, int, str]]:
    """The docstrings of the magics (functions under ``@magic_arguments()``): argparse shows each as its
    magic's description in ``%sm_train?`` and ``--help``, so each is a message too (``inspect.cleandoc``'d,
    as the help formatter looks it up)."""
    import ast

    found = []
    for path in sorted((root / "sm_magics" / "magics").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorated = any(isinstance(d, ast.Call) and getattr(d.func, "id", None) == "magic_arguments" for d in node.decorator_list)
            docstring = ast.get_docstring(node, clean=True)
            if decorated and docstring:
                found.append((path.relative_to(root).as_posix(), node.lineno, docstring))
    return found


def problems(root: Path) -> list[str]:
    """Every message of the code that French or Traditional Chinese lacks, or translates with other placeholders."""
    import re

    from babel.messages.pofile import read_po

    template = extract(root)
    placeholders = re.compile(r"\{[^{}]*\}")
    found: list[str] = []
    for language, folder in CATALOGS.items():
        if folder is None:
            continue
        po = root / "sm_magics" / "locale" / folder / "LC_MESSAGES" / f"{DOMAIN}.po"
        with po.open("rb") as handle:
            translated = read_po(handle, locale=folder)
        for message in template:
            if not message.id:
                continue
            entry = translated.get(message.id, message.context)
            where = f"{language}: {message.id!r} ({message.locations[0][0]}:{message.locations[0][1]})"
            if entry is None or not entry.string or entry.fuzzy or (isinstance(entry.string, tuple) and not all(entry.string)):
                found.append(f"{where} is not translated")
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if any(sorted(placeholders.findall(s)) != sorted(placeholders.findall(ids[0])) for s in strings):
                found.append(f"{where} has other {{placeholders}} in its translation")
    return found


def main(argv: list[str]) -> int:
    """``extract``: write the template; ``update``: merge it into the .po files; ``check``: list what is missing."""
    from babel.messages.pofile import read_po, write_po

    root = Path(__file__).resolve().parents[1]
    command = argv[0] if argv else "check"
    if command in ("extract", "update"):
        template = extract(root)
        with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
            write_po(handle, template, width=120, omit_header=True)  # no dated header: the file changes only with the messages
        if command == "update":
            for folder in filter(None, CATALOGS.values()):
                po = LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}.po"
                with po.open("rb") as handle:
                    existing = read_po(handle, locale=folder)
                existing.update(template, no_fuzzy_matching=True)
                with po.open("wb") as handle:
                    write_po(handle, existing, width=120, ignore_obsolete=True)
        return 0
    if command == "check":
        missing = problems(root)
        for line in missing:
            print(line)
        print(f"{len(missing)} problem(s)")
        return 1 if missing else 0
    print("usage: python -m sm_magics.i18n extract|update|check")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
