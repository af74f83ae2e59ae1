"""Before spending: the cost line of %%sm_train, %%sm_tune and %sm_deploy, and the data that fits what the algorithm
needs going through (data it would refuse is in ``test_bad_input.py``). Driven through a real IPython shell against
the session's local engine.
"""

from __future__ import annotations


import numpy as np
import pytest

from shell import get_ipython, inventory, loaded_in, quiet, run  # tests/shell.py


@pytest.fixture(scope="module")
def ip(engine, mnist):
    with loaded_in(get_ipython(), engine) as shell:
        (x, y), (vx, vy), (tx, ty) = mnist
        shell.user_ns.update(x=x[:400], y=y[:400], vx=vx[:200], vy=vy[:200], tx=tx, ty=ty, np=np)
        yield shell
        shell.run_line_magic("sm_cleanup", "-f")


# ------------------------------------------------------------------ the cost line


def test_training_states_its_ceiling_on_aws_before_it_starts(ip, capsys):
    run(ip, "sm_train", "kmeans --instance-count 2 --max-runtime 3600 --as priced", "k: 3\ntrain: x[:200]\n")
    out = capsys.readouterr().out
    line = next(text for text in out.splitlines() if "training job would cost" in text)
    assert line.startswith("sm_magics: on AWS this training job would cost at most $0.23 (2 x ml.m5.large at $0.115/h x 1 h max runtime)")
    assert "the local engine bills nothing" in line and "· price: AWS Price List API answer" in line and "2026-08-11" in line
    assert out.count("would cost") == 1
    job = ip.user_ns["priced"]
    assert job.name in inventory(ip)["training"]
    from sm_magics.widgets.training_job import TrainingJobWidget

    job.wait()
    view = TrainingJobWidget(job)  # the widget shows the price it counts with, and its source on hover
    view._update(job)
    assert "$0.115/h, $" in view._header.value and "title='AWS Price List API answer, as quoted publicly, 2026-08-11" in view._header.value


def test_spot_and_an_unpriced_instance_type_say_so(ip, capsys):
    run(ip, "sm_train", "kmeans --spot --max-runtime 600 --max-wait 1200", "k: 3\ntrain: x[:200]\n")
    assert "this on-demand figure is the upper bound" in capsys.readouterr().out
    run(ip, "sm_train", "kmeans --instance-type ml.c5.xlarge --max-runtime 600 --as unpriced --wait", "k: 3\ntrain: x[:200]\n")
    assert "sm_magics: cost unknown: price not in the bundled table for ml.c5.xlarge training in us-east-1" in capsys.readouterr().out
    from sm_magics.widgets.training_job import TrainingJobWidget

    view = TrainingJobWidget(ip.user_ns["unpriced"])
    view._update(ip.user_ns["unpriced"])
    assert "1 x ml.c5.xlarge · price not in the bundled table" in view._header.value and view.usd_so_far == -1


def test_spot_with_only_a_max_wait_runs_at_most_that_long(ip, capsys):
    """--max-wait covers the wait and the training, so alone it also caps the run (SageMaker wants wait >= runtime)."""
    run(ip, "sm_train", "kmeans --spot --max-wait 1800 --as waited", "k: 3\ntrain: x[:200]\n")
    stopping = ip.user_ns["waited"].wait().description["StoppingCondition"]
    assert stopping == {"MaxRuntimeInSeconds": 1800, "MaxWaitTimeInSeconds": 1800}
    assert ip.user_ns["waited"].description["EnableManagedSpotTraining"] is True


def test_tuning_ceiling_counts_every_job(ip, capsys):
    run(ip, "sm_tune", "kmeans --objective test:msd --max-jobs 4 --max-parallel 2 --as priced_tuner",
        "k: 3\nepochs: 1..2 int\ntrain: x[:200]\ntest: vx\n")
    out = capsys.readouterr().out
    assert ("on AWS this tuning job would cost at most $11.04 (4 jobs x 1 x ml.m5.large at $0.115/h x 24 h max runtime each;"
            " 2 at a time, so up to 48 h in all)") in out


def test_deploy_states_per_hour_per_day_and_until_its_ttl(ip, capsys):
    run(ip, "sm_train", "kmeans --as to_host --wait", "k: 3\ntrain: x[:200]\n")
    capsys.readouterr()
    run(ip, "sm_deploy", "to_host --ttl 2h --as hosted")
    out = capsys.readouterr().out
    assert ("sm_magics: on AWS this endpoint would cost $0.115/h, $2.76/day (1 x ml.m5.large at $0.115/h until deleted;"
            " at most $0.23 before its TTL of 2 h deletes it)") in out
    run(ip, "sm_delete", "hosted")


# ------------------------------------------------------------------ data checks: one line, nothing created


@pytest.mark.parametrize(
    ("line", "body"),
    [
        ("linear-learner --max-runtime 600", "predictor_type: regressor\ntrain: x[:200], y[:200] * 1.5 - 3\n"),
        ("linear-learner --max-runtime 600", "predictor_type: binary_classifier\ntrain: x[:200], y[:200] % 2\n"),
        ("linear-learner --max-runtime 600", "predictor_type: multiclass_classifier\nnum_classes: 10\ntrain: x[:200], y[:200]\n"),
        ("xgboost --max-runtime 600", "num_round: 2\nobjective: multi:softmax\nnum_class: 10\ntrain: x[:200], y[:200]\n"),
    ],
)
def test_labels_that_fit_are_accepted(ip, line, body):
    """The other side of each check: labels the checks let through, the algorithm trains on."""
    quiet(ip)
    before = inventory(ip)["training"]
    run(ip, "sm_train", line + " --as accepted --wait", body)
    job = ip.user_ns["accepted"]
    assert inventory(ip)["training"] - before == {job.name}
    assert job.status == "Completed", job.description.get("FailureReason")


def test_predict_refuses_another_feature_count_in_one_line_and_takes_dummies(ip, capsys):
    """Trained on a `pd.get_dummies` frame (bool and Int64 columns), it predicts from such a frame; a frame of
    another width is one line naming both counts, shown without a traceback."""
    import pandas as pd

    x = ip.user_ns["x"][:300]
    frame = pd.DataFrame(x[:, :20], columns=[f"p{i}" for i in range(20)])
    frame["bucket"] = pd.array((x[:, 300] * 10).astype(int), dtype="Int64")
    frame["shade"] = ["dark" if v > 0.5 else "light" for v in x[:, 400]]
    ip.user_ns["dummies"] = pd.get_dummies(frame, columns=["shade"])
    run(ip, "sm_train", "kmeans --as framed --wait", "k: 3\ntrain: dummies\n")
    run(ip, "sm_deploy", "framed --as framed_predictor --wait")
    capsys.readouterr()
    result = ip.run_cell("answer = framed_predictor.predict(dummies[:10])")
    assert result.success and ip.user_ns["answer"]["closest_cluster"].shape == (10,)
    result = ip.run_cell("framed_predictor.predict(dummies.drop(columns=['bucket'])[:10])")
    assert not result.success
    shown = [text for text in capsys.readouterr().out.splitlines() if text.strip()]
    assert shown == [f"DataError: predict input has 22 features per row but the model behind {ip.user_ns['framed_predictor'].name} "
                     "was trained on 23; pass rows of 23 values"]
    run(ip, "sm_delete", "framed_predictor")


def test_a_max_cost_over_the_ceiling_lets_each_kind_start(ip, capsys):
    """`--max-cost` refuses only what can cost more (tests/magics/test_bad_input.py); a ceiling under it starts as usual."""
    run(ip, "sm_train", "kmeans --max-runtime 600 --max-cost 0.05 --as capped --wait", "k: 3\ntrain: x[:200]\n")
    assert ip.user_ns["capped"].status == "Completed"
    run(ip, "sm_tune", "kmeans --objective test:msd --max-jobs 2 --max-parallel 2 --max-runtime 600 --max-cost 0.05 --as capped_tuning --wait",
        "k: 2..4 int\ntrain: x[:200]\ntest: vx[:50]\n")
    tuner = ip.user_ns["capped_tuning"]
    assert tuner.status == "Completed"
    described = tuner.backend.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuner.name)
    assert described["TrainingJobDefinition"]["StoppingCondition"]["MaxRuntimeInSeconds"] == 600
    run(ip, "sm_deploy", "capped --ttl 1h --max-cost 0.2 --as capped_endpoint")
    endpoint = ip.user_ns["capped_endpoint"]
    try:
        assert "$0.115 before its TTL of 1 h deletes it" in capsys.readouterr().out
    finally:
        endpoint.delete()
