"""The kernel side's language: catalogs complete, and the language the user chose in JupyterLab followed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sm_magics import i18n
from sm_magics.widgets.confusion import ConfusionMatrix

ROOT = Path(__file__).resolve().parents[1]


def test_every_marked_message_is_translated_in_french_and_traditional_chinese():
    assert i18n.problems(ROOT) == []


def test_the_check_finds_a_message_nobody_translated(tmp_path):
    shutil.copytree(ROOT / "sm_magics" / "locale", tmp_path / "sm_magics" / "locale")
    (tmp_path / "sm_magics" / "new.py").write_text('from sm_magics.i18n import _\nprint(_("Your endpoint is on fire"))\n')
    found = i18n.problems(tmp_path)
    assert any("fr: 'Your endpoint is on fire' (sm_magics/new.py:2) is not translated" == line for line in found), found
    assert any(line.startswith("zh_TW: 'Your endpoint is on fire'") for line in found)


def test_widgets_follow_jupyterlab_language_setting_and_its_changes(lab_settings):
    truth = [0, 1, 1, 0]
    assert "Accuracy" in ConfusionMatrix(truth, truth).summary()  # nothing chosen anywhere: English
    lab_settings("fr_FR")
    assert "Exactitude" in ConfusionMatrix(truth, truth).summary()
    lab_settings("zh_TW")
    assert "準確率" in ConfusionMatrix(truth, truth).summary()
    lab_settings("default")  # the lab's "English (default)" choice
    assert "Accuracy" in ConfusionMatrix(truth, truth).summary()


def test_config_language_overrides_jupyterlab_and_refuses_unknown_languages(lab_settings):
    from IPython.testing.globalipapp import start_ipython
    from traitlets import TraitError

    from sm_magics.magics import SMMagics

    lab_settings("fr_FR")
    magics = SMMagics(shell=start_ipython() or __import__("IPython").get_ipython())
    magics.language = "zh_TW"  # what %config SMMagics.language = "zh_TW" sets
    assert "準確率" in ConfusionMatrix([0, 1], [0, 1]).summary()
    with pytest.raises(TraitError, match=r"^SMMagics.language 不支援 'de'；請使用下列其中之一：en, fr, zh_TW$"):
        magics.language = "de"  # refused in the language of the moment (the override stays zh_TW)
    magics.language = ""  # back to following JupyterLab
    assert "Exactitude" in ConfusionMatrix([0, 1], [0, 1]).summary()


def test_magic_errors_speak_the_chosen_language(lab_settings):
    import IPython
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import start_ipython

    from sm_magics.magics import SMMagics

    start_ipython()
    magics = SMMagics(shell=IPython.get_ipython())  # the line is refused before any backend is needed
    lab_settings("fr_FR")
    with pytest.raises(UsageError, match=r"^option inconnue --instance-typ ; vouliez-vous dire --instance-type \?$"):
        magics.sm_train("kmeans --instance-typ ml.m5.large", "k: 2\n")
    lab_settings("zh_TW")
    with pytest.raises(UsageError, match=r"^--ttl: '0m'：請給 1s 到 365d 之間的時間$"):
        magics.sm_deploy("job --ttl 0m")


MAGICS_WITH_HELP = sorted(name for name, value in vars(__import__("sm_magics.magics", fromlist=["SMMagics"]).SMMagics).items()
                          if hasattr(value, "parser"))


@pytest.fixture
def shell():
    """An IPython shell with the magics registered (help and line errors need no backend)."""
    import IPython
    from IPython.testing.globalipapp import start_ipython

    from sm_magics.magics import SMMagics

    start_ipython()
    ip = IPython.get_ipython()
    magics = SMMagics(shell=ip)
    ip.register_magics(magics)
    return ip, magics


def helps(ip, magics, capsys) -> dict[str, str]:
    """Each magic's help as the user gets it: ``%sm_x?`` (IPython's inspector) and ``%sm_x --help`` (printed)."""
    shown = {}
    for name in MAGICS_WITH_HELP:
        capsys.readouterr()
        getattr(magics, name)("--help")
        shown[name] = ip.object_inspect_text(f"%{name}") + "\n" + capsys.readouterr().out
    return shown


def test_in_english_the_detector_finds_every_option_description_of_every_magic(shell, lab_settings, capsys):
    """The check below proves something only if, untranslated, each description would be caught."""
    from helpers import english_left

    ip, magics = shell
    lab_settings("default")
    for name, text in helps(ip, magics, capsys).items():
        parser = getattr(magics, name).parser
        described = {action.help for action in parser._actions if action.help}
        for language in ("fr", "zh_TW"):
            left = set(english_left(text, language))
            assert described <= left, (name, language, described - left)
            assert "positional arguments" in left or name in ("sm_cleanup", "sm_endpoints", "sm_jobs")


@pytest.mark.parametrize(("locale", "language", "expected"), [
    ("fr_FR", "fr", ["arguments positionnels", "afficher cette aide", "Entraîner un algorithme intégré"]),
    ("zh_TW", "zh_TW", ["位置引數", "顯示此說明", "以筆記本中的資料訓練內建演算法", "執行個體數量"]),
])
def test_every_magics_help_speaks_the_chosen_language_with_its_options_as_typed(shell, lab_settings, capsys, locale, language, expected):
    from helpers import english_left

    ip, magics = shell
    lab_settings(locale)
    shown = helps(ip, magics, capsys)
    for name, text in shown.items():
        assert english_left(text, language) == [], (name, text)
        parser = getattr(magics, name).parser
        for action in parser._actions:  # option names stay what the user types
            assert all(option in text for option in action.option_strings), (name, action.option_strings)
        assert f"%{name}" in text
    assert all(phrase in shown["sm_train"] for phrase in expected), shown["sm_train"]
    assert "%config SMMagics.instance_type" in " ".join(shown["sm_train"].split())  # argparse's %% came out as one %


@pytest.mark.parametrize(("locale", "line", "expected"), [
    ("fr_FR", "kmeans --max-jobs", "--max-jobs attend une valeur"),
    ("zh_TW", "kmeans --max-jobs", "--max-jobs 需要一個值"),
    ("fr_FR", "kmeans --objective test:msd --wait=yes", "--wait ne prend pas de valeur : écrivez --wait seul, sans =yes"),
    ("zh_TW", "kmeans --objective test:msd --wait=yes", "--wait 不接受值：請只寫 --wait，不要加 =yes"),
])
def test_argparse_own_errors_speak_the_chosen_language(shell, lab_settings, locale, line, expected):
    from IPython.core.error import UsageError

    _, magics = shell
    lab_settings(locale)
    with pytest.raises(UsageError) as caught:
        magics.sm_tune(line, "k: 2\n")
    assert str(caught.value) == expected


def bad_widget_inputs():
    """Widget calls a user gets wrong, each refused with one line before anything is drawn."""
    import numpy as np

    from sm_magics.widgets.gallery import ClusterGallery

    images = np.zeros((5, 4, 4))
    return [
        lambda: ClusterGallery(images, [0, 1]),
        lambda: ClusterGallery(images, "not json, not csv"),
        lambda: ClusterGallery(images, {"label": [1, 2]}),
        lambda: ClusterGallery(images, [0, 1, 2, 3, -1]),
        lambda: ClusterGallery(images, [0, 0, 1, 1, 2], k=2),
        lambda: ClusterGallery(images, [0, 0, 1, 1, 2], layout="grid"),
        lambda: ConfusionMatrix([0, 1, 1], [0, 1]),
        lambda: ConfusionMatrix([], []),
        lambda: ConfusionMatrix([0, 1], {"label": [1, 0]}),
        lambda: ConfusionMatrix([0, 2], scores=[0.1, 0.9]),
        lambda: ConfusionMatrix([0, 1], scores=[0.1, 0.9], threshold=3),
        lambda: ConfusionMatrix([0, 1], [1, 0], threshold=0.5),
    ]


@pytest.mark.parametrize(("locale", "language"), [("fr_FR", "fr"), ("zh_TW", "zh_TW")])
def test_gallery_and_confusion_input_errors_speak_the_chosen_language(lab_settings, locale, language):
    from helpers import english_left

    def said() -> list[str]:
        lines = []
        for call in bad_widget_inputs():
            with pytest.raises(ValueError) as caught:
                call()
            lines.append(str(caught.value))
        return lines

    lab_settings("default")
    english = said()
    assert all(english_left(line, language) for line in english), english  # each is a catalog message
    lab_settings(locale)
    translated = said()
    for before, after in zip(english, translated):
        assert after != before and english_left(after, language) == [], (before, after)
    assert "\n" not in "".join(translated)  # still one line each


CLI_MISTAKES = [["endpoints"], ["bogus"], ["local", "start", "--port", "x"], ["endpoints", "list", "--backend", "x"],
                ["local", "status", "--nope"], ["local", "start", "--port"]]


@pytest.mark.parametrize(("locale", "language", "usage"), [("fr_FR", "fr", "utilisation : "), ("zh_TW", "zh_TW", "用法：")])
def test_the_cli_help_and_argparse_errors_speak_the_chosen_language(lab_settings, capsys, locale, language, usage):
    """``sm-magics --help`` and a mistyped command line: argparse's own words (usage, sections, errors) included."""
    from helpers import english_left
    from sm_magics import cli

    def said(argv: list[str]) -> str:
        with pytest.raises(SystemExit) as caught:
            cli.main(argv)
        captured = capsys.readouterr()
        assert caught.value.code == (0 if "--help" in argv else 2), (argv, captured)
        return captured.out + captured.err

    lab_settings("default")
    english = [said(argv) for argv in [["--help"], ["local", "start", "--help"], *CLI_MISTAKES]]
    assert all("usage: " in text for text in english) and "the following arguments are required" in english[2]
    lab_settings(locale)
    for argv in [["--help"], ["local", "start", "--help"], ["endpoints", "delete", "--help"], *CLI_MISTAKES]:
        text = said(argv)
        assert english_left(text, language) == [] and text.startswith(usage), (argv, text)
        assert "usage" not in text and "error" not in text and not re.search(r"\bargument \S+:", text), (argv, text)
