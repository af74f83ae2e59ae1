"""The tutorial notebooks that ship with the package, and copying them out for ``sm-magics tutorials``.

The wheel carries them as ``sm_magics/notebooks/<language>/*.ipynb`` (see pyproject's wheel
``include``); in a source checkout they are the repository's ``notebooks/``. Copying checks every
target first, so a refusal (a file already there, without ``force``) leaves nothing half-copied, and
each file is written beside its target and renamed over it, so an existing symlink is replaced, not
followed.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .i18n import _

_PACKAGE = Path(__file__).resolve().parent


class TutorialError(Exception):
    """Something the user must fix; the message is one line that says what."""


def notebooks_dir() -> Path:
    """Where the notebooks are: inside the installed package, else the source checkout's ``notebooks/``."""
    for candidate in (_PACKAGE / "notebooks", _PACKAGE.parent / "notebooks"):
        if any(candidate.glob("*/*.ipynb")):
            return candidate
    raise TutorialError("this installation of sm_magics has no tutorial notebooks (reinstall it from its wheel)")


def languages(source: Path | None = None) -> list[str]:
    """The languages the notebooks are in (their folders), English first."""
    source = source or notebooks_dir()
    found = sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    return sorted(found, key=lambda name: (name != "en", name))


@dataclass(frozen=True)
class Copy:
    source: Path
    target: Path


def plan(destination: Path, language: str | None = None) -> list[Copy]:
    """What :func:`copy` would write: every language in its own folder with the index, or one language flat."""
    source = notebooks_dir()
    choices = languages(source)
    if language is not None and language not in choices:
        raise TutorialError(_("no tutorials in {language}; choose one of: {choices}").format(language=repr(language), choices=", ".join(choices)))
    copies = []
    if language is None:
        if (source / "README.md").is_file():
            copies.append(Copy(source / "README.md", destination / "README.md"))
        for lang in choices:
            copies += [Copy(p, destination / lang / p.name) for p in sorted((source / lang).glob("*.ipynb"))]
    else:
        copies = [Copy(p, destination / p.name) for p in sorted((source / language).glob("*.ipynb"))]
    return copies


def copy(destination: Path, language: str | None = None, *, force: bool = False) -> list[Path]:
    """Copy the notebooks into ``destination``; refuses (copying nothing) when a target exists, unless ``force``."""
    copies = plan(destination, language)
    if destination.exists() and not destination.is_dir():
        raise TutorialError(_("{path} exists and is not a folder").format(path=destination))
    if not force:
        existing = [c.target for c in copies if c.target.exists() or c.target.is_symlink()]
        if existing:
            if len(existing) > 1:
                raise TutorialError(_("{path} already exists (and {more} more); nothing copied; add --force to overwrite").format(
                    path=existing[0], more=len(existing) - 1))
            raise TutorialError(_("{path} already exists; nothing copied; add --force to overwrite").format(path=existing[0]))
    for folder in {c.target.parent for c in copies}:
        if folder.exists() and not folder.is_dir():
            raise TutorialError(_("{path} exists and is not a folder").format(path=folder))
    umask = os.umask(0)
    os.umask(umask)
    written = []
    for item in copies:
        item.target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=item.target.parent, prefix=f".{item.target.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(item.source.read_bytes())
            os.chmod(temporary, 0o666 & ~umask)  # as a plain copy would be
            os.replace(temporary, item.target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(item.target)
    return written
