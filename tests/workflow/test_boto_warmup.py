"""boto3 read ahead while the engine starts: the default session it leaves is the one a cell would make."""

from __future__ import annotations

import boto3
import pytest

from sm_magics.workflow.boto_warmup import BotoWarmUp


@pytest.fixture
def no_default_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    for name in ("AWS_PROFILE", "AWS_DATA_PATH", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_the_default_session_takes_the_environment_in_force_when_installed_not_when_warmed(
    no_default_session: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSOWNKEY00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-users-own-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    warm = BotoWarmUp()  # reads model files while "the engine starts"...
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENGINEKEY0000000")  # ...then the backend sets the kernel's environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-engines-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")

    assert warm.install_default_session() is True
    s3 = boto3.client("s3")
    keys = s3._request_signer._credentials.get_frozen_credentials()
    assert (keys.access_key, keys.secret_key, s3.meta.region_name) == ("AKIAENGINEKEY0000000", "the-engines-secret", "ap-northeast-1")
    # the models came from the warmed loader: the S3 model was parsed once, before the client was made
    loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
    assert loader is warm._loader
    assert any("s3" in str(key) and "service-2" in str(key) for key in loader._cache)


def test_a_user_model_path_or_an_existing_session_is_left_alone(no_default_session: None, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    assert BotoWarmUp().install_default_session() is False
    assert boto3.DEFAULT_SESSION is None

    monkeypatch.delenv("AWS_DATA_PATH")
    mine = boto3.session.Session(region_name="us-west-2")
    boto3.DEFAULT_SESSION = mine
    assert BotoWarmUp().install_default_session() is False
    assert boto3.DEFAULT_SESSION is mine
