"""The result widgets' labels, by key, translated through the kernel's gettext catalogs (``sm_magics.i18n``).

The widgets name their labels by short keys (the confusion matrix and the gallery render the same
label in several places); each key's English text is the catalog's message id, marked with ``N_``
so extraction finds it. A widget's language is its own (``language=``) or the kernel's current one.
"""

from __future__ import annotations

from typing import Any

from traitlets import HasTraits, TraitError, Unicode, validate

from .. import i18n
from ..i18n import LANGUAGES, N_

__all__ = ["LANGUAGES", "MESSAGES", "Localized", "resolve_language", "translate"]

MESSAGES: dict[str, str] = {
    "accuracy": N_("Accuracy"), "precision": N_("Precision"), "recall": N_("Recall"), "f1": N_("F1"),
    "support": N_("Support"), "predicted": N_("predicted"), "true": N_("true"), "threshold": N_("threshold"),
    "class": N_("class"), "confusion_title": N_("Confusion matrix (rows: true, columns: predicted)"),
    "cluster": N_("Cluster {cluster}"), "clusters": N_("{k} clusters"), "images": N_("{n} images"), "empty": N_("empty"),
    "majority": N_("majority {label}"), "purity": N_("purity {value}"), "overall_purity": N_("overall purity {value}"),
    "ari": N_("adjusted Rand index {value}"), "differ": N_("{n} differ (red frame)"), "show_more": N_("Show {n} more"),
    "showing": N_("showing {shown} of {n}"),
}


def resolve_language(language: str | None = None) -> str:
    """``language`` if given (ValueError naming the choices if we lack it), else the kernel's current one:
    ``%config SMMagics.language``, JupyterLab's language setting, the locale, English."""
    if language:
        code = i18n.code_of(language)
        if code is None:
            raise ValueError(i18n.gettext("language {name} is not provided; use one of {choices}").format(
                name=repr(language), choices=", ".join(LANGUAGES)))
        return code
    return i18n.current_language()


def translate(key: str, language: str, **values: Any) -> str:
    """One label in ``language``, formatted with ``values``."""
    text = i18n.gettext(MESSAGES[key], language)
    return text.format(**values) if values else text


class Localized(HasTraits):
    """Mixin for a result widget (put before the widget class): a ``language`` of its own, synced, that
    refuses a language without a catalog with the list of those there are."""

    language = Unicode("en").tag(sync=True)

    @validate("language")
    def _check_language(self, proposal: Any) -> str:
        try:
            return resolve_language(proposal["value"])
        except ValueError as exc:
            raise TraitError(str(exc)) from exc
