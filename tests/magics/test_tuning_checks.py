"""A tuning cell's ranges, objective and strategy, refused in one line before anything is uploaded or created.

Before these checks, ``learning_rate: -5..1`` started six jobs of which five failed, and the tuner
said Completed. Driven through a real IPython shell against the session's local engine; "nothing
created" is the engine's inventory (tuning and training jobs, S3 objects, ...) before and after.
The other side: the notebook's own ``%%sm_tune`` cell and the tutorial's ranges still run.
"""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError

from test_cost_and_data_checks import inventory, quiet
from test_magics_shell import get_ipython, loaded_in, run

LL = "linear-learner --objective validation:binary_f_beta"
LL_DATA = "train: x, y % 2\nvalidation: vx, vy % 2\n"


@pytest.fixture(scope="module")
def ip(engine, mnist):
    with loaded_in(get_ipython(), engine) as shell:
        (x, y), (vx, vy), (tx, ty) = mnist
        shell.user_ns.update(x=x[:300], y=y[:300], vx=vx[:150], vy=vy[:150], tx=tx[:150], np=np)
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        # a bound the schema refuses, with SageMaker's recommended range as what to write
        (LL, "predictor_type: binary_classifier\nlearning_rate: -5..1\n" + LL_DATA,
         "line 2: the range of 'learning_rate' has lower bound -5.0, which linear-learner refuses (expected a number > 0); "
         "write e.g. `learning_rate: 1e-05..1 log`"),
        ("xgboost --objective validation:auc", "num_round: 5\nobjective: binary:logistic\neta: 0.1..1.5\n" + LL_DATA,
         "line 3: the range of 'eta' has upper bound 1.5, which xgboost refuses (expected a value in [0, 1]); "
         "write e.g. `eta: 0.1..0.5`"),
        ("kmeans --objective test:msd", "k: 0..10 int\ntrain: x\ntest: tx\n",
         "line 1: the range of 'k' has lower bound 0, which kmeans refuses (expected an integer >= 1): narrow the range"),
        # type: an integer hyperparameter given a continuous range, a choice given numbers, a choice not offered
        (LL, "predictor_type: binary_classifier\nmini_batch_size: 100..1000\n" + LL_DATA,
         "line 2: 'mini_batch_size' is an integer: write `mini_batch_size: 100..1000 int`"),
        (LL, "predictor_type: binary_classifier\noptimizer: 1..3 int\n" + LL_DATA,
         "line 2: 'optimizer' takes one of a set of values, not a number range: write choices like `optimizer: a|b`"),
        (LL, "predictor_type: binary_classifier\noptimizer: sgd|adamw\n" + LL_DATA,
         "line 2: the range of 'optimizer' has choice adamw, which linear-learner refuses "
         "(expected one of auto, sgd, adam, rmsprop): narrow the range"),
        # names: unknown, and what the data decides
        (LL, "predictor_type: binary_classifier\nlearnin_rate: 0.01..0.1\n" + LL_DATA,
         "line 2: 'learnin_rate' is not a linear-learner hyperparameter, so it cannot be tuned; did you mean 'learning_rate'?"),
        ("kmeans --objective test:msd", "k: 3\nfeature_dim: 10..20 int\ntrain: x\ntest: tx\n",
         "line 2: 'feature_dim' is the number of columns of the data, not a setting to tune: remove its range"),
        # across hyperparameters: the container's own rules at each bound
        (LL, "predictor_type: binary_classifier\nbeta_1: 0.5..1\n" + LL_DATA,
         "line 2: with 'beta_1' at 1.0, linear-learner refuses the job: Hyperparameter 'beta_1': '1.0' is not valid"),
        ("linear-learner --objective validation:mse", "predictor_type: binary_classifier\nlearning_rate: 0.001..0.1 log\n" + LL_DATA,
         "The objective metric 'validation:mse' is not supported for predictor_type binary_classifier"),
        # the objective against the algorithm and the channels
        ("kmeans --objective train:msd", "k: 2..5 int\ntrain: x\ntest: tx\n",
         "kmeans cannot be tuned on 'train:msd': did you mean --objective test:msd? its objectives are test:msd, test:ssd"),
        ("pca --objective test:msd", "num_components: 2..5 int\ntrain: x\ntest: tx\n",
         "pca reports no metric that tuning can optimise (SageMaker documents none for it): train it with %%sm_train instead"),
        ("kmeans --objective test:msd", "k: 2..5 int\ntrain: x\n",
         "--objective test:msd is measured on the test channel, which this cell does not give: add a line `test: <data>`"),
        ("linear-learner --objective validation:binary_f_beta", "predictor_type: binary_classifier\nwd: 0.001..0.1 log\n"
         "train: x, y % 2\ntest: tx, y[:150] % 2\n",
         "--objective validation:binary_f_beta is measured on the validation channel, which this cell does not give: "
         "add a line `validation: <data>`, or tune on a test:* objective"),
        # strategies
        (LL + " --strategy Grid", "predictor_type: binary_classifier\nlearning_rate: 0.001..0.1 log\n" + LL_DATA,
         "line 2: --strategy Grid tries every combination of choices, so it takes choice ranges only: write 'learning_rate' "
         "as choices like `learning_rate: a|b|c` or use --strategy Bayesian"),
        ("xgboost --objective validation:auc --strategy Hyperband",
         "num_round: 5\nobjective: binary:logistic\neta: 0.1..0.5\n" + LL_DATA,
         "--strategy Hyperband stops children by epochs and reads how many from a fixed `epochs: N` line"),
    ],
)
def test_a_bad_tuning_cell_is_one_line_and_creates_nothing(ip, capsys, line, body, message):
    quiet(ip)
    before = inventory(ip)
    with pytest.raises(UsageError) as caught:
        run(ip, "sm_tune", line, body)
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text
    after = inventory(ip)
    assert {kind: after[kind] - before[kind] for kind in after} == {kind: set() for kind in after}
    assert "would cost" not in capsys.readouterr().out  # refused before the cost line, which comes right before creating


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
# the classic "is it a zero?" tuning tutorial's ranges (as tests/algorithms/test_quality.py sends them with boto3)
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
