"""An unmodified SageMaker SDK 2.x script tuning XGBoost with warm start, run by ``sm-magics local run``.

``xgboost_warm_start_tuner.py`` tunes a parent (Random, 3 jobs), then a child
with ``WarmStartConfig(IDENTICAL_DATA_AND_ALGORITHM, parents={parent})`` and a
third tuner from ``identical_dataset_and_algorithm_tuner``; the test checks
what the script printed against what boto3 describes.
"""

from __future__ import annotations

from pathlib import Path

from sdk_common import all_children, needs_sdk, run_user_script

SCRIPTS = Path(__file__).resolve().parent / "scripts"

pytestmark = needs_sdk(2, "run in .venv")


def test_warm_start_tuner_from_the_sdk(engine, aws, tmp_path: Path) -> None:
    run = run_user_script(engine, SCRIPTS / "xgboost_warm_start_tuner.py", tmp_path, timeout=240)
    result = run.succeeded()
    assert result["warm_status"] == "Completed" and result["again_status"] == "Completed"
    assert result["warm_start_config"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": result["parent"]}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    parent_children = all_children(aws, result["parent"])
    warm_children = all_children(aws, result["warm"])
    assert len(parent_children) == 3 and len(warm_children) == 2
    assert result["best"] in [c["TrainingJobName"] for c in warm_children]
    # the overall best is the highest AUC among the parent's and the warm start job's children
    values = {c["TrainingJobName"]: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in parent_children + warm_children}
    assert values[result["overall_best"]] == max(values.values())
    again = aws.sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=result["again"])
    assert again["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"
    assert {p["HyperParameterTuningJobName"] for p in again["WarmStartConfig"]["ParentHyperParameterTuningJobs"]} == {
        result["parent"], result["warm"]
    }
