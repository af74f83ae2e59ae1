"""The kernel side's language: catalogs complete, and the language the user chose in JupyterLab followed."""

from __future__ import annotations

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
    with pytest.raises(TraitError, match=r"^SMMagics.language 'de' is not provided; use one of en, fr, zh_TW$"):
        magics.language = "de"
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
