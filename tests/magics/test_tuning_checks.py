"""The other side of the tuning checks: the notebook's own ``%%sm_tune`` cell and the tutorial's ranges pass them and run.

Before the checks, ``learning_rate: -5..1`` started six jobs of which five failed, and the tuner said
Completed; the refusals (one line, nothing created) are in ``test_bad_input.py`` with every other bad cell.
"""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError

from shell import get_ipython, inventory, loaded_in, quiet, run  # tests/shell.py

LL = "linear-learner --objective validation:binary_f_beta"
LL_DATA = "train: x, y % 2\nvalidation: vx, vy % 2\n"


@pytest.fixture(scope="module")
def ip(engine, mnist):
    with loaded_in(get_ipython(), engine) as shell:
        (x, y), (vx, vy), (tx, ty) = mnist
        shell.user_ns.update(x=x[:300], y=y[:300], vx=vx[:150], vy=vy[:150], tx=tx[:150], np=np)
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


@pytest.mark.parametrize(("locale", "language", "line_word"), [("fr_FR", "fr", "ligne 2"), ("zh_TW", "zh_TW", "第 2 行")])
@pytest.mark.parametrize(("line", "body", "names"), [
    (LL, "predictor_type: binary_classifier\nlearnin_rate: 0.01..0.1\n" + LL_DATA, ["'learnin_rate'", "'learning_rate'"]),
    (LL, "predictor_type: binary_classifier\nmini_batch_size: 100..1000\n" + LL_DATA, ["`mini_batch_size: 100..1000 int`"]),
    ("kmeans --objective test:msd --strategy Grid", "k: 3\nmini_batch_size: 100..500 int\ntrain: x\ntest: tx\n",
     ["--strategy Grid", "`mini_batch_size: a|b|c`", "--strategy Bayesian"]),
])
def test_a_bad_tuning_cell_is_refused_in_the_chosen_language_at_its_line(ip, lab_settings, locale, language, line_word, line, body, names):
    """The same refusals in French and Traditional Chinese: no English sentence of ours, the cell line still named,
    and the names and syntax to write kept as typed."""
    from helpers import english_left

    quiet(ip)
    lab_settings(locale)
    with pytest.raises(UsageError) as caught:
        run(ip, "sm_tune", line, body)
    text = str(caught.value)
    assert english_left(text, language) == [] and text.startswith(line_word), text
    assert all(name in text for name in names), text


NOTEBOOK_02_CELL = """predictor_type: binary_classifier
epochs: 5
learning_rate: 1e-4..1 log
mini_batch_size: 100..1000 int
optimizer: sgd|adam
train: x, y % 2
validation: vx, vy % 2
"""
# the classic "is it a zero?" tuning tutorial's ranges (as tests/local/algorithms/test_quality.py sends them with boto3)
TUTORIAL_CELL = """predictor_type: binary_classifier
wd: 1e-7..1 log
learning_rate: 0.0001..0.1
mini_batch_size: 100..2000 int
train: x, y % 2
validation: vx, vy % 2
"""


@pytest.mark.parametrize("body", [NOTEBOOK_02_CELL, TUTORIAL_CELL], ids=["notebook-02", "tutorial"])
def test_ranges_that_fit_run(ip, body):
    """The notebook's own cell and the tutorial's ranges pass the checks, and every job they start completes."""
    quiet(ip)
    before = inventory(ip)["tuning"]
    run(ip, "sm_tune", LL + " --max-jobs 2 --max-parallel 2 --as fits --wait", body)
    tuner = ip.user_ns["fits"]
    assert inventory(ip)["tuning"] - before == {tuner.name}
    sagemaker = ip.find_magic("sm_jobs").__self__.backend.client("sagemaker")
    described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuner.name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 2, described["TrainingJobStatusCounters"]
