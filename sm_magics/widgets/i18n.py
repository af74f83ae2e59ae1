"""The result widgets' strings in English, French and Traditional Chinese, and which one to use.

The widgets render in the kernel, so they follow the kernel's locale (or an explicit
``language=``); the lab panel's strings go through JupyterLab's own translator instead
(``sm_magics/locale/``).
"""

from __future__ import annotations

import os
from typing import Any


TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": {
        "accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F1", "support": "Support",
        "predicted": "predicted", "true": "true", "threshold": "threshold", "class": "class",
        "confusion_title": "Confusion matrix (rows: true, columns: predicted)",
        "cluster": "Cluster {cluster}", "clusters": "{k} clusters", "images": "{n} images", "empty": "empty",
        "majority": "majority {label}", "purity": "purity {value}", "overall_purity": "overall purity {value}",
        "ari": "adjusted Rand index {value}", "differ": "{n} differ (red frame)", "show_more": "Show {n} more",
        "showing": "showing {shown} of {n}",
    },
    "fr": {
        "accuracy": "Exactitude", "precision": "Précision", "recall": "Rappel", "f1": "F1", "support": "Effectif",
        "predicted": "prédit", "true": "réel", "threshold": "seuil", "class": "classe",
        "confusion_title": "Matrice de confusion (lignes : réel, colonnes : prédit)",
        "cluster": "Groupe {cluster}", "clusters": "{k} groupes", "images": "{n} images", "empty": "vide",
        "majority": "majorité {label}", "purity": "pureté {value}", "overall_purity": "pureté globale {value}",
        "ari": "indice de Rand ajusté {value}", "differ": "{n} différent(s) (cadre rouge)", "show_more": "Afficher {n} de plus",
        "showing": "{shown} sur {n} affichées",
    },
    "zh_TW": {
        "accuracy": "準確率", "precision": "精確率", "recall": "召回率", "f1": "F1", "support": "樣本數",
        "predicted": "預測", "true": "真實", "threshold": "閾值", "class": "類別",
        "confusion_title": "混淆矩陣（列：真實，欄：預測）",
        "cluster": "群集 {cluster}", "clusters": "{k} 個群集", "images": "{n} 張影像", "empty": "空",
        "majority": "多數標籤 {label}", "purity": "純度 {value}", "overall_purity": "整體純度 {value}",
        "ari": "調整蘭德指數 {value}", "differ": "{n} 張與多數不同（紅框）", "show_more": "再顯示 {n} 張",
        "showing": "顯示 {shown} / {n} 張",
    },
}
LANGUAGES = tuple(TRANSLATIONS)


def _language_code(name: str) -> str | None:
    """'fr_CA.UTF-8' -> 'fr', 'zh-Hant' -> 'zh_TW'; None for no preference (C, POSIX) or a language we lack."""
    base = name.split(".")[0].split("@")[0].replace("-", "_").lower()
    if base in ("", "c", "posix"):
        return None
    language = base.split("_")[0]
    if language == "zh":  # only Traditional Chinese is provided; closer to any Chinese reader than English
        return "zh_TW"
    return language if language in TRANSLATIONS else None


def resolve_language(language: str | None = None) -> str:
    """The language of the widgets' strings: ``language`` if given, else the locale
    (``LC_ALL``, ``LC_MESSAGES``, then ``LANG``; ``C`` / ``POSIX`` state no preference),
    else English. An explicit language that is not provided raises ValueError."""
    if language:
        code = _language_code(language)
        if code is None:
            raise ValueError(f"language {language!r} is not provided; use one of {', '.join(LANGUAGES)}")
        return code
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        code = _language_code(value)
        if code is not None:
            return code
        if value.split(".")[0] not in ("", "C", "POSIX"):
            return "en"  # a language we have no strings for
    return "en"


def translate(key: str, language: str, **values: Any) -> str:
    """One string of the table in ``language`` (English where it lacks the key), formatted with ``values``."""
    text = TRANSLATIONS.get(language, {}).get(key) or TRANSLATIONS["en"][key]
    return text.format(**values) if values else text
