"""Bad input, every magic: one line that says what to fix, and nothing created.

The corpus below is what a learner mistypes: misspelt algorithms, options and hyperparameters, names
SageMaker refuses, instance types that do not exist, counts and durations out of bounds, data the
algorithm would fail on (labels against predictor_type / num_class, k against rows, feature counts),
ranges the algorithm refuses, objectives it does not report, stray words on the line. Each cell runs in a
real IPython shell against the session's local engine and must raise UsageError with the expected
phrase on a single line; the engine's whole inventory (training, tuning and transform jobs, models,
endpoint configs, endpoints, every S3 object) is the same after it as before, and no cost line was
printed (it comes right before creating).
"""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.error import UsageError

from shell import created_between, get_ipython, inventory, loaded_in, quiet, run

KM_TUNE = "kmeans --objective test:msd"
KM_DATA = "train: x\ntest: tx\n"
LL = "linear-learner --objective validation:binary_f_beta"
LL_DATA = "train: x, y % 2\nvalidation: vx, vy % 2\n"
BINARY = "predictor_type: binary_classifier\n"

TRAIN = [
    # the algorithm and the magic line
    ("kmens", "k: 3\ntrain: x\n", "unknown algorithm 'kmens'; did you mean kmeans?"),
    ("", "k: 3\ntrain: x\n", "name the algorithm on the magic line, e.g. %%sm_train kmeans"),
    ("kmeans", "", "the cell body is empty. Did you mean the line magic %sm_train"),
    ("kmeans --instance-cont 2", "k: 3\ntrain: x\n", "unknown option --instance-cont; did you mean --instance-count?"),
    ("kmeans --bogus", "k: 3\ntrain: x\n", "unknown option --bogus (options: "),
    ("kmeans extra", "k: 3\ntrain: x\n", "unexpected 'extra' on the magic line (%sm_train"),
    # names
    ("kmeans --as 1bad", "k: 3\ntrain: x\n", "--as '1bad' is not a Python name"),
    ("kmeans --as class", "k: 3\ntrain: x\n", "--as 'class' is not a Python name"),
    ("kmeans --name 1_bad", "k: 3\ntrain: x\n", "training job name '1_bad' is not allowed"),
    ("kmeans --name " + "a" * 64, "k: 3\ntrain: x\n", "use 1 to 63 letters, digits and hyphens"),
    # instances, counts, runtimes, spot
    ("kmeans --instance-type ml.m5.lrge", "k: 3\ntrain: x\n", "'ml.m5.lrge' is not a SageMaker training instance type; did you mean ml.m5.large?"),
    ("kmeans --instance-type ml.t2.medium", "k: 3\ntrain: x\n", "'ml.t2.medium' is not a SageMaker training instance type"),
    ("kmeans --instance-count 0", "k: 3\ntrain: x\n", "--instance-count: '0': give 1 or more"),
    ("kmeans --instance-count two", "k: 3\ntrain: x\n", "--instance-count: 'two' is not a whole number"),
    ("kmeans --max-runtime 0", "k: 3\ntrain: x\n", "--max-runtime: '0': give 1 or more"),
    ("kmeans --max-runtime 99999999", "k: 3\ntrain: x\n", "at most 2419200 seconds (28 days)"),
    ("kmeans --inst ml.m5.large", "k: 3\ntrain: x\n", "unknown option --inst; did you mean --instance-count or --instance-type?"),
    ("kmeans --max-wait 10", "k: 3\ntrain: x\n", "--max-wait only applies with --spot"),
    ("kmeans --spot --max-wait 10 --max-runtime 100", "k: 3\ntrain: x\n", "--max-wait (10 s) must be at least the maximum run time (100 s)"),
    # --max-cost: what it can cost on AWS, checked before anything is made
    ("kmeans --max-cost 0.01", "k: 3\ntrain: x\n",
     "--max-cost $0.01: this can cost up to $2.76 (1 x ml.m5.large at $0.115/h x 24 h); lower --max-runtime, --instance-count, or raise --max-cost"),
    ("kmeans --instance-count 4 --max-runtime 3600 --max-cost 0.4", "k: 3\ntrain: x\n",
     "--max-cost $0.40: this can cost up to $0.46 (4 x ml.m5.large at $0.115/h x 1 h)"),
    ("kmeans --max-cost nothing", "k: 3\ntrain: x\n", "--max-cost: 'nothing': write an amount in US dollars, like 2 or 0.50"),
    ("kmeans --max-cost 0", "k: 3\ntrain: x\n", "--max-cost: '0': give an amount above $0"),
    ("kmeans --instance-type ml.c5.xlarge --max-cost 5", "k: 3\ntrain: x\n",
     "--max-cost $5.00: no price is known for ml.c5.xlarge in us-east-1, so the most this can cost cannot be checked"),
    # the cell's lines
    ("kmeans", "k 3\ntrain: x\n", "line 1: expected `name: value`, got 'k 3'"),
    ("kmeans", "k: 3\nk: 4\ntrain: x\n", "line 2: 'k' is already set on line 1"),
    ("kmeans", "k: 3\ntrain: x\ntrain: x\n", "line 3: 'train' is already set on line 2"),
    ("kmeans", "train: x\n", "kmeans needs k"),
    ("pca", "train: x\n", "pca needs num_components: add a line like `num_components: <value>`"),
    ("linear-learner", "train: x, y % 2\n", "linear-learner needs predictor_type: add a line like `predictor_type: <value>`"),
    # hyperparameters: names, types, ranges, rules across them
    ("kmeans", "k: 10\nepoch: 2\ntrain: x\n", "line 2: 'epoch' is not a kmeans hyperparameter; did you mean 'epochs'?"),
    ("kmeans", "k: 3\ntrain: x\nbogus_channel: x\n", "line 3: 'bogus_channel' is not a kmeans hyperparameter"),
    ("kmeans", "k: ten\ntrain: x\n", "line 1: Hyperparameter 'k': 'ten' is not valid under any of the given schemas; expected an integer"),
    ("kmeans", "k: 10\nlocal_lloyd_tol: 2\ntrain: x\n", "line 2: Hyperparameter 'local_lloyd_tol'"),
    ("kmeans", "k: 10\ninit_method: best\ntrain: x\n", "line 2: Hyperparameter 'init_method': 'best'"),
    ("xgboost", "num_round: 5\neta: 2\ntrain: x, y\n", "line 2: Hyperparameter eta: 2.0 is not in [0, 1]"),
    ("pca", "num_components: 0\ntrain: x\n", "line 1: Hyperparameter 'num_components': '0' is not valid"),
    ("pca", "num_components: 1000\ntrain: x\n", "num_components (1000) must not be greater than feature_dim (784)"),
    # channels: what they are
    ("kmeans", "k: 10\ntrain: not_defined\n", "line 2: name 'not_defined' is not defined"),
    ("kmeans", "k: 3\ntrain: 1 / 0\n", "line 2: `1 / 0` raised ZeroDivisionError"),
    ("kmeans", "k: 3\ntrain: x * np.nan\n", "line 2: channel 'train' contains"),
    ("kmeans", "k: 3\ntrain: x[:0]\n", "line 2: channel 'train' is empty"),
    ("kmeans", "k: 3\ntrain: np.zeros((5, 0))\n", "line 2: channel 'train' is empty"),
    ("kmeans", "k: 3\ntrain: 'text'\n", "line 2: channel 'train' is the string 'text'; give an s3:// URI or an array"),
    ("kmeans", "k: 3\ntrain: [[1, 'a']]\n", "line 2: channel 'train' has dtype <U21; pass numbers"),
    ("kmeans", "k: 3\ntrain: x.astype(str)\n", "channel 'train' has dtype <U32; pass numbers"),
    ("kmeans", "k: 3\ntrain: x.reshape(-1)\n", "pass a 2-D array (rows x features), e.g. x.reshape(-1, 1)"),
    ("kmeans", "k: 3\ntrain: x\ntest: vx[:, :5]\n", "line 2: channel 'test' has 5 features but 'train' has 784; they must match"),
    ("xgboost", "num_round: 5\ntrain: x\n", "line 2: xgboost needs labels for channel 'train': write `train: X, y`"),
    ("xgboost", "num_round: 5\ntrain: x, y[:10]\n", "line 2: channel 'train' has 10 labels for 400 rows"),
    # data the algorithm would refuse
    ("linear-learner", BINARY + "train: x, y\n", "line 2: channel 'train': predictor_type binary_classifier needs labels 0 or 1; it has label "),
    ("linear-learner", BINARY + "train: x, y % 2\nvalidation: vx, vy\n", "line 3: channel 'validation': predictor_type binary_classifier needs labels 0 or 1"),
    ("linear-learner", "predictor_type: multiclass_classifier\ntrain: x, y\n", "num_classes"),
    ("linear-learner", "predictor_type: multiclass_classifier\nnum_classes: 5\ntrain: x, y\n",
     "channel 'train': multiclass_classifier with num_classes 5 needs labels 0 ... 4; it has label "),
    ("xgboost", "num_round: 5\nobjective: binary:logistic\ntrain: x, y\n", "channel 'train': objective binary:logistic needs labels in [0, 1]; it has label "),
    ("xgboost", "num_round: 5\nobjective: multi:softmax\ntrain: x, y\n", "num_class"),
    ("xgboost", "num_round: 5\nobjective: multi:softmax\nnum_class: 3\ntrain: x, y\n", "objective multi:softmax with num_class 3 needs labels 0 ... 2"),
    ("xgboost", "num_round: 5\nobjective: count:poisson\ntrain: x, y - 5\n", "objective count:poisson needs labels of 0 or more"),
    ("kmeans", "k: 50\ntrain: x[:20]\n", "k is 50 but channel 'train' has 20 rows; k-means needs at least k rows"),
]

TUNE = [
    # the magic line
    ("", "k: 2..5 int\n" + KM_DATA, "usage: %%sm_tune ALGORITHM --objective METRIC"),
    ("kmeans", "k: 2..5 int\n" + KM_DATA, "name the metric to optimise with --objective, e.g. --objective test:msd (kmeans: test:msd, test:ssd)"),
    (KM_TUNE + " --strategy Sideways", "k: 2..5 int\n" + KM_DATA, "--strategy Sideways: use Bayesian, Random, Grid or Hyperband"),
    (KM_TUNE + " --max-jobs 0", "k: 2..5 int\n" + KM_DATA, "--max-jobs: '0': give 1 or more"),
    (KM_TUNE + " --max-parallel 0", "k: 2..5 int\n" + KM_DATA, "--max-parallel: '0': give 1 or more"),
    (KM_TUNE + " --max-jobs 2 --max-parallel 3", "k: 2..5 int\n" + KM_DATA, "cannot exceed --max-jobs"),
    (KM_TUNE + " --seed -1", "k: 2..5 int\n" + KM_DATA, "--seed: '-1': give 0 or more"),
    (KM_TUNE + " --seed x", "k: 2..5 int\n" + KM_DATA, "--seed: 'x' is not a whole number"),
    (KM_TUNE + " --as 1t", "k: 2..5 int\n" + KM_DATA, "--as '1t' is not a Python name"),
    (KM_TUNE + " --max-cost 1", "k: 2..5 int\n" + KM_DATA,
     "--max-cost $1.00: this can cost up to $16.56 (1 x ml.m5.large at $0.115/h x 24 h x 6 jobs); lower --max-runtime, --instance-count, --max-jobs, or raise --max-cost"),
    (KM_TUNE + " --max-runtime 0", "k: 2..5 int\n" + KM_DATA, "--max-runtime: '0': give 1 or more"),
    (KM_TUNE + " --instance-type ml.m5.lrge", "k: 2..5 int\n" + KM_DATA, "'ml.m5.lrge' is not a SageMaker training instance type; did you mean ml.m5.large?"),
    # how ranges are written
    (KM_TUNE, "k: 10\n" + KM_DATA, "no ranges to tune"),
    (KM_TUNE, "k: 2..5 intt\n" + KM_DATA, "line 1: unknown range option 'intt'; use int, log, linear or reverse-log"),
    (KM_TUNE, "k: 2..\n" + KM_DATA, "line 1: '2..' is not a range: write both bounds, e.g. `k: 1..10 int`"),
    (KM_TUNE, "k: 3\nepochs: 5..1 int\n" + KM_DATA, "line 2: range of 'epochs' goes from 5 down to 1"),
    (KM_TUNE, "k: 2..5 int\ninit_method: random|\n" + KM_DATA, "line 2: empty choice in 'random|'; write choices like `sgd|adam`"),
    # bounds and types against the algorithm's schema
    (LL, BINARY + "learning_rate: -5..1\n" + LL_DATA,
     "line 2: the range of 'learning_rate' has lower bound -5.0, which linear-learner refuses (expected a number > 0); "
     "write e.g. `learning_rate: 1e-05..1 log`"),
    ("xgboost --objective validation:auc", "num_round: 5\nobjective: binary:logistic\neta: 0.1..1.5\n" + LL_DATA,
     "line 3: the range of 'eta' has upper bound 1.5, which xgboost refuses (expected a value in [0, 1]); write e.g. `eta: 0.1..0.5`"),
    (KM_TUNE, "k: 0..10 int\n" + KM_DATA,
     "line 1: the range of 'k' has lower bound 0, which kmeans refuses (expected an integer >= 1): narrow the range"),
    (LL, BINARY + "mini_batch_size: 100..1000\n" + LL_DATA, "line 2: 'mini_batch_size' is an integer: write `mini_batch_size: 100..1000 int`"),
    (LL, BINARY + "optimizer: 1..3 int\n" + LL_DATA,
     "line 2: 'optimizer' takes one of a set of values, not a number range: write choices like `optimizer: a|b`"),
    (LL, BINARY + "optimizer: sgd|adamw\n" + LL_DATA,
     "line 2: the range of 'optimizer' has choice adamw, which linear-learner refuses (expected one of auto, sgd, adam, rmsprop): narrow the range"),
    (LL, BINARY + "learnin_rate: 0.01..0.1\n" + LL_DATA,
     "line 2: 'learnin_rate' is not a linear-learner hyperparameter, so it cannot be tuned; did you mean 'learning_rate'?"),
    (KM_TUNE, "k: 3\nfeature_dim: 10..20 int\n" + KM_DATA,
     "line 2: 'feature_dim' is the number of columns of the data, not a setting to tune: remove its range"),
    (LL, BINARY + "beta_1: 0.5..1\n" + LL_DATA, "line 2: with 'beta_1' at 1.0, linear-learner refuses the job: Hyperparameter 'beta_1': '1.0' is not valid"),
    # the objective against the algorithm and the channels
    ("linear-learner --objective validation:mse", BINARY + "learning_rate: 0.001..0.1 log\n" + LL_DATA,
     "The objective metric 'validation:mse' is not supported for predictor_type binary_classifier"),
    ("kmeans --objective validation:auc", "k: 10\nepochs: 1..3 int\ntrain: x\n", "kmeans cannot be tuned on 'validation:auc'"),
    ("kmeans --objective train:msd", "k: 2..5 int\n" + KM_DATA,
     "kmeans cannot be tuned on 'train:msd': did you mean --objective test:msd? its objectives are test:msd, test:ssd"),
    ("pca --objective test:msd", "num_components: 2..5 int\n" + KM_DATA,
     "pca reports no metric that tuning can optimise (SageMaker documents none for it): train it with %%sm_train instead"),
    (KM_TUNE, "k: 2..5 int\ntrain: x\n",
     "--objective test:msd is measured on the test channel, which this cell does not give: add a line `test: <data>`"),
    (LL, BINARY + "wd: 0.001..0.1 log\ntrain: x, y % 2\ntest: tx, ty % 2\n",
     "--objective validation:binary_f_beta is measured on the validation channel, which this cell does not give: "
     "add a line `validation: <data>`, or tune on a test:* objective"),
    # strategies
    (LL + " --strategy Grid", BINARY + "learning_rate: 0.001..0.1 log\n" + LL_DATA,
     "line 2: --strategy Grid tries every combination of choices, so it takes choice ranges only"),
    ("xgboost --objective validation:auc --strategy Hyperband", "num_round: 5\nobjective: binary:logistic\neta: 0.1..0.5\n" + LL_DATA,
     "--strategy Hyperband stops children by epochs and reads how many from a fixed `epochs: N` line"),
    # data the algorithm would refuse, at any point of the search
    ("kmeans --objective test:msd", "k: 5..500 int\ntrain: x[:100]\ntest: vx\n", "the range of k goes up to 500 but channel 'train' has 100 rows"),
    (LL, BINARY + "learning_rate: 0.001..0.1 log\ntrain: x, y\nvalidation: vx, vy % 2\n", "predictor_type binary_classifier needs labels 0 or 1"),
]

DEPLOY = [
    ("", "usage: %sm_deploy JOB"),
    ("nothere", "'nothere' is neither a variable of this notebook nor a training job name"),
    ("x", "'x' is a ndarray, not a training or tuning job"),
    ("job extra", "unexpected 'extra' on the magic line (%sm_deploy"),
    ("job --bogus", "unknown option --bogus (options: --as, --idle"),
    ("job --as 2x", "--as '2x' is not a Python name"),
    ("job --name bad_name", "endpoint name 'bad_name' is not allowed"),
    ("job --instance-type ml.m5.huge", "'ml.m5.huge' is not a SageMaker hosting instance type"),
    ("job --instance-count 0", "--instance-count: '0': give 1 or more"),
    ("job --instance-count 2.5", "--instance-count: '2.5' is not a whole number"),
    ("job --ttl 0m", "--ttl: '0m': give a time between 1s and 365d"),
    ("job --ttl 99999999999d", "--ttl: '99999999999d': give a time between 1s and 365d"),
    ("job --ttl soon", "--ttl: 'soon': write a duration like 30m, 2h or 1d"),
    ("job --ttl 30", "--ttl: '30': write a duration like 30m, 2h or 1d"),
    ("job --idle 0m", "--idle: '0m': give between 5m and 1d"),
    ("job --idle 99999999999d", "give between 5m and 1d (longer than a day: use --ttl)"),
    ("job --idle 90s", "--idle: '90s': give between 5m and 1d"),
    ("job --idle 7.5m", "--idle: '7.5m': give whole minutes"),
    ("job --idle soon", "--idle: 'soon': write a duration like 30m or 2h"),
    ("job --max-cost 1", "--max-cost $1.00: an endpoint bills until it is deleted; add --ttl so that what it can cost has a limit"),
    ("job --ttl 1d --max-cost 1", "--max-cost $1.00: this can cost up to $2.76 (1 x ml.m5.large at $0.115/h x 24 h); lower --ttl, --instance-count, or raise --max-cost"),
    ("job --max-cost $", "--max-cost: '$': write an amount in US dollars, like 2 or 0.50"),
]

OTHER_LINES = [
    ("sm_transform", "", "usage: %sm_transform JOB DATA"),
    ("sm_transform", "job", "usage: %sm_transform JOB DATA"),
    ("sm_transform", "nothere x", "'nothere' is neither a variable of this notebook nor a training job name"),
    ("sm_transform", "job not_defined", "'not_defined' is neither a variable of this notebook nor an s3:// URI"),
    ("sm_transform", "job s3://", "transform input is the string 's3://'; give an s3:// URI, an array or a DataFrame"),
    ("sm_transform", "job x --instance-type ml.m5.lrge", "'ml.m5.lrge' is not a SageMaker transform instance type; did you mean ml.m5.large?"),
    ("sm_transform", "job x --instance-count 0", "--instance-count: '0': give 1 or more"),
    ("sm_transform", "job x --as 1x", "--as '1x' is not a Python name"),
    ("sm_transform", "job x[:, :5]", "unexpected ':5]' on the magic line (%sm_transform"),
    ("sm_delete", "", "usage: %sm_delete ENDPOINT"),
    ("sm_delete", "bad_name!", "endpoint name 'bad_name!' is not allowed: use 1 to 63 letters, digits and hyphens"),
    ("sm_delete", "x --keep-models", "unknown option --keep-models; did you mean --keep-model?"),
    ("sm_backend", "mars", "unknown backend 'mars': use local, aws or auto"),
    ("sm_backend", "", "usage: %sm_backend local|aws|auto"),
    ("sm_backend", "local extra", "unexpected 'extra' on the magic line (%sm_backend"),
    ("sm_backend", "--regio us-east-1", "unknown option --regio; did you mean --region?"),
    ("sm_jobs", "--last 0", "--last: '0': give 1 or more"),
    ("sm_jobs", "--last many", "--last: 'many' is not a whole number"),
    ("sm_jobs", "extra", "unexpected 'extra' on the magic line (%sm_jobs"),
    ("sm_endpoints", "--all", "unknown option --all; did you mean --all-regions?"),
    ("sm_endpoints", "extra", "unexpected 'extra' on the magic line (%sm_endpoints"),
    ("sm_attach", "", "usage: %sm_attach NAME"),
    ("sm_attach", "nothere", "no training job or endpoint named 'nothere' in us-east-1"),
    ("sm_cleanup", "--forse", "unknown option --forse; did you mean --force?"),
    ("sm_cleanup", "extra", "unexpected 'extra' on the magic line (%sm_cleanup"),
]

CASES = (
    [pytest.param("sm_train", line, body, message, id=f"train-{i}") for i, (line, body, message) in enumerate(TRAIN)]
    + [pytest.param("sm_tune", line, body, message, id=f"tune-{i}") for i, (line, body, message) in enumerate(TUNE)]
    + [pytest.param("sm_deploy", line, None, message, id=f"deploy-{i}") for i, (line, message) in enumerate(DEPLOY)]
    + [pytest.param(magic, line, None, message, id=f"{magic}-{i}") for i, (magic, line, message) in enumerate(OTHER_LINES)]
)


@pytest.fixture(scope="module")
def ip(engine, mnist):
    with loaded_in(get_ipython(), engine) as shell:
        (x, y), (vx, vy), (tx, ty) = mnist
        shell.user_ns.update(x=x[:400], y=y[:400], vx=vx[:200], vy=vy[:200], tx=tx[:200], ty=ty[:200], np=np)
        run(shell, "sm_train", "kmeans --as job --wait", "k: 3\ntrain: x[:200]\n")  # what deploy and transform cells name
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


def test_the_corpus_is_the_size_the_issue_tried() -> None:
    assert len(CASES) >= 110 and len({(c.values[0], c.values[1], c.values[2]) for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("magic", "line", "body", "message"), CASES)
def test_a_bad_cell_is_one_line_that_says_what_to_fix_and_creates_nothing(ip, capsys, magic, line, body, message):
    quiet(ip)
    before = inventory(ip)
    with pytest.raises(UsageError) as caught:
        run(ip, magic, line, body)
    text = str(caught.value)
    assert message in text, text
    assert "\n" not in text and len(text) < 400, text
    assert "Traceback" not in text and "botocore" not in text
    quiet(ip)
    assert created_between(before, inventory(ip)) == {kind: set() for kind in before}
    assert "would cost" not in capsys.readouterr().out  # refused before the cost line, which comes right before creating
