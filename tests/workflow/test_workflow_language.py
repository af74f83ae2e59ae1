"""The workflow's errors and cost lines, and the CLI, speak the language chosen in JupyterLab.

The language is chosen as a user does (JupyterLab's Settings → Language writes the translation
extension's settings file); the checks run the real code paths: the request checks a cell goes
through, the real engine's price table and its answers, the CLI as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from botocore.exceptions import ClientError

from sm_magics.workflow import costs
from sm_magics.workflow.checks import check_instance_type, check_name
from sm_magics.workflow.errors import explain
from sm_magics.workflow.session import Backend
from sm_magics.workflow.training import TrainingSpec, prepare
from helpers import write_lab_language

ACCESS_DENIED = ("User: arn:aws:sts::123456789012:assumed-role/Analyst/me is not authorized to perform: "
                 "sagemaker:CreateTrainingJob on resource: arn:aws:sagemaker:us-east-1:123456789012:training-job/x")


def _refusal(call, *args) -> str:
    with pytest.raises(ValueError) as caught:
        call(*args)
    return str(caught.value)


def _binary_with_bad_label() -> TrainingSpec:
    features = np.arange(12, dtype=np.float32).reshape(6, 2)
    return TrainingSpec("linear-learner", {"predictor_type": "binary_classifier"},
                        {"train": (features, np.array([0, 1, 0, 2, 1, 0]))})


def _cost_line(engine) -> str:
    backend = Backend("local", "us-east-1", "test", endpoint_url=engine.url, engine=engine)
    return costs.training_line(backend, "ml.m5.large", 2, 3600)


def test_workflow_refusals_in_english_when_nothing_is_chosen(lab_settings, engine):
    assert _refusal(check_name, "training job", "my_job") == (
        "training job name 'my_job' is not allowed: use 1 to 63 letters, digits and hyphens, starting and ending with a letter or digit")
    assert _refusal(check_instance_type, "hosting", "ml.m5.larg") == (
        "'ml.m5.larg' is not a SageMaker hosting instance type; did you mean ml.m5.large?")
    assert _refusal(prepare, _binary_with_bad_label()) == (
        "channel 'train': predictor_type binary_classifier needs labels 0 or 1; it has label 2 at row 3 (1 such row). "
        "Encode the classes as 0/1 or use multiclass_classifier")
    assert _cost_line(engine).startswith("sm_magics: on AWS this training job would cost at most $")


def test_workflow_refusals_follow_jupyterlab_settings(lab_settings, engine):
    lab_settings("fr_FR")
    assert _refusal(check_name, "endpoint", "my_endpoint") == (
        "le nom de point de terminaison 'my_endpoint' n'est pas autorisé : utilisez de 1 à 63 lettres, chiffres et tirets, "
        "en commençant et finissant par une lettre ou un chiffre")
    assert _refusal(check_instance_type, "training", "ml.m5.larg") == (
        "'ml.m5.larg' n'est pas un type d'instance SageMaker pour l'entraînement ; vouliez-vous dire ml.m5.large ?")
    assert _refusal(prepare, _binary_with_bad_label()) == (
        "canal 'train' : predictor_type binary_classifier demande des étiquettes 0 ou 1 ; il contient "
        "l'étiquette 2 à la ligne 3 (1 ligne de ce genre). Codez les classes en 0/1 ou utilisez multiclass_classifier")
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": ACCESS_DENIED}}, "CreateTrainingJob")
    # AWS's own words stay as AWS wrote them; only our framing is translated
    assert explain(denied) == f"accès refusé : {ACCESS_DENIED} — votre rôle a besoin de l'autorisation SageMaker qui y est nommée"
    line = _cost_line(engine)
    assert line.startswith("sm_magics : sur AWS, cette tâche d'entraînement coûterait au plus $"), line
    assert "2 x ml.m5.large à $" in line and "1 h de durée maximale" in line and "le moteur local ne facture rien" in line

    lab_settings("zh_TW")
    assert _refusal(check_name, "training job", "my_job") == (
        "不允許使用訓練任務名稱 'my_job'：請用 1 到 63 個字母、數字和連字號，並以字母或數字開頭和結尾")
    assert _refusal(check_instance_type, "transform", "ml.m5.larg") == (
        "'ml.m5.larg' 不是 SageMaker 批次轉換用的執行個體類型；您是指 ml.m5.large 嗎？")
    assert _refusal(prepare, _binary_with_bad_label()).startswith(
        "通道 'train'：predictor_type binary_classifier 需要 0 或 1 的標籤；其中有第 3 列的標籤 2（共 1 列如此）")
    assert explain(denied) == f"拒絕存取：{ACCESS_DENIED} — 您的角色需要其中所列的 SageMaker 權限"
    assert _cost_line(engine).startswith("sm_magics：在 AWS 上，這個訓練任務的費用最多 $")


def _cli(args: list[str], settings: Path, engine=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_", "LC_", "LANG"))}
    env.update(JUPYTERLAB_SETTINGS_DIR=str(settings), LANG="C.UTF-8")
    if engine is not None:
        env["SM_MAGICS_LOCAL_DATA_DIR"] = str(engine.data_dir)
    return subprocess.run([sys.executable, "-m", "sm_magics.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_speaks_french_when_jupyterlab_does(tmp_path, engine):
    settings = tmp_path / "settings"
    write_lab_language(settings, "fr_FR")
    status = _cli(["local", "status", "--data-dir", str(tmp_path / "no-engine")], settings)
    assert (status.returncode, status.stdout) == (1, "arrêté (démarrez-le avec `sm-magics local start`)\n")
    bare = _cli(["local", "run", "--data-dir", str(tmp_path / "no-engine")], settings)
    assert bare.returncode != 0 and bare.stderr.strip() == (
        "sm-magics local run : donnez une commande après --, par exemple `sm-magics local run -- python train.py`")
    gone = _cli(["endpoints", "delete", "no-such-endpoint", "--yes", "--backend", "local"], settings, engine)
    assert gone.returncode == 1, gone.stderr
    assert gone.stdout == ("no-such-endpoint : supprimé(s) : rien ; erreurs : "
                           "le point de terminaison no-such-endpoint n'existe pas (déjà supprimé ?)\n")
