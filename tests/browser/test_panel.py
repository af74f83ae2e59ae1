"""The SageMaker sidebar panel in a real JupyterLab, in headless chromium, against the local engine.

Endpoints are made the way users make them, with the SageMaker SDK 2.x (a subprocess pointed at the
engine by ``sm-magics local`` 's environment); JupyterLab runs with the package's server extension and
prebuilt panel, picking the engine as the magics do. The test then does what a user does: opens the
panel, reads the costs, deletes one endpoint with one click and a confirmation, and checks with the
engine that the endpoint, its config and its model are gone. The French UI shows French strings.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from browser.conftest import screenshot, wait_for_text
from helpers import KMEANS_IMAGE, ROLE, train_kmeans, unique

pytestmark = pytest.mark.browser

SDK_DEPLOY = """\
import sys
import boto3
import sagemaker
from sagemaker.model import Model

name, region, instance_type, count, model_data, notebook, image, role = sys.argv[1:]
session = sagemaker.Session(boto_session=boto3.Session(region_name=region))
model = Model(image_uri=image, model_data=model_data, role=role, sagemaker_session=session, name=name)
model.deploy(initial_instance_count=int(count), instance_type=instance_type, endpoint_name=name, wait=False,
             tags=[{"Key": "sm_magics:notebook", "Value": notebook}])
"""

REGIONS = "us-east-1,eu-west-1"


@pytest.fixture(scope="module")
def endpoints(engine, engine_clients, engine_env, mnist):
    """Three endpoints made by the SDK: two in us-east-1 (one of 3 instances), one in eu-west-1."""
    (x, _), _, _ = mnist
    model_data = train_kmeans(engine_clients, x[:300], k=3)["ModelArtifacts"]["S3ModelArtifacts"]
    made = {}
    for key, region, instance_type, count in (("cheap", "us-east-1", "ml.m5.large", 1), ("dear", "us-east-1", "ml.m5.large", 3),
                                              ("far", "eu-west-1", "ml.m5.large", 1)):
        name = unique(f"panel-{key}")
        subprocess.run([sys.executable, "-c", SDK_DEPLOY, name, region, instance_type, str(count), model_data, f"{key}.ipynb",
                        KMEANS_IMAGE, ROLE], env=engine_env, check=True, timeout=120, capture_output=True)
        made[key] = (name, region)
    for name, region in made.values():
        client = engine_clients.session.client("sagemaker", region_name=region, endpoint_url=engine.url)
        client.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1})
    return made


def open_panel(page, server):
    page.goto(server.with_token("lab"), wait_until="domcontentloaded")
    tab = page.locator(".jp-SideBar [data-id='sm-magics-panel']")
    tab.wait_for(timeout=90_000)
    tab.click()
    panel = page.locator("#sm-magics-panel")
    panel.wait_for(state="visible")
    return panel


def lab(jupyter_server, engine, **kwargs):
    return jupyter_server("lab", env={"SM_MAGICS_BACKEND": "local", "SM_MAGICS_LOCAL_DATA_DIR": str(engine.data_dir)},
                          args=[f"--SMMagicsPanel.regions={REGIONS}"], **kwargs)


def test_panel_lists_costs_and_one_click_deletes_endpoint_config_and_model(jupyter_server, engine, engine_clients, endpoints, page):
    server = lab(jupyter_server, engine)
    panel = open_panel(page, server)
    rows = {key: panel.locator(f".sm-magics-endpoint[data-name='{name}'][data-region='{region}']")
            for key, (name, region) in endpoints.items()}
    for row in rows.values():
        row.wait_for(timeout=60_000)
    assert "$0.345" in rows["dear"].locator(".sm-magics-rate").inner_text()  # 3 x ml.m5.large at the bundled $0.115
    assert "$0.115" in rows["cheap"].locator(".sm-magics-rate").inner_text()
    assert "—" in rows["far"].locator(".sm-magics-rate").inner_text()  # no bundled price outside us-east-1
    assert "dear.ipynb" in rows["dear"].inner_text() and "ml.m5.large × 3" in rows["dear"].inner_text()
    order = [panel.locator(".sm-magics-endpoint").nth(i).get_attribute("data-name") for i in range(panel.locator(".sm-magics-endpoint").count())]
    mine = [name for name in order if name in {n for n, _ in endpoints.values()}]
    assert mine == [endpoints["dear"][0], endpoints["cheap"][0], endpoints["far"][0]]  # most expensive first
    burning = panel.locator(".sm-magics-burning").inner_text()
    assert re.search(r"burning \$\d+\.\d\d/h", burning), burning
    assert panel.locator(".sm-magics-not-billed").is_visible() and "2 regions" in panel.inner_text()  # the server's SMMagicsPanel.regions
    assert re.search(r"updated \d\d:\d\d:\d\d", panel.locator(".sm-magics-updated").inner_text())
    page.set_viewport_size({"width": 1280, "height": 640})  # the panel fills the sidebar's height: no blank tail on the picture
    screenshot(panel, "panel")

    name, region = endpoints["cheap"]
    sagemaker = engine_clients.session.client("sagemaker", region_name=region, endpoint_url=engine.url)
    config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
    models = [v["ModelName"] for v in sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]]
    rows["cheap"].locator(".sm-magics-delete").click()
    dialog = page.locator(".jp-Dialog .sm-magics-confirm")
    text = wait_for_text(dialog, name)
    assert config in text and all(model in text for model in models), text  # the dialog names what will go
    artifact = sagemaker.describe_model(ModelName=models[0])["PrimaryContainer"]["ModelDataUrl"]
    assert f"kept: {artifact} (model " in text, text  # the dear endpoint's model loads the same model.tar.gz
    assert dialog.locator(".sm-magics-delete-artifacts").count() == 0  # so there is no S3 object to offer deleting
    page.locator(".jp-Dialog .jp-mod-accept").click()
    rows["cheap"].wait_for(state="detached", timeout=30_000)
    for call, kwargs in ((sagemaker.describe_endpoint, {"EndpointName": name}),
                         (sagemaker.describe_endpoint_config, {"EndpointConfigName": config}),
                         *((sagemaker.describe_model, {"ModelName": m}) for m in models)):
        with pytest.raises(ClientError, match="Could not find"):
            call(**kwargs)
    assert rows["dear"].is_visible() and rows["far"].is_visible()  # nothing else touched


def test_panel_speaks_french(jupyter_server, engine, endpoints, page):
    server = lab(jupyter_server, engine, settings={"@jupyterlab/translation-extension:plugin": {"locale": "fr_FR"}})
    panel = open_panel(page, server)
    name, region = endpoints["dear"]
    panel.locator(f".sm-magics-endpoint[data-name='{name}']").wait_for(timeout=60_000)
    text = panel.inner_text()
    assert "Points de terminaison" in text and "dépense" in text and "moteur local : non facturé" in text, text
    assert "burning" not in text and "Endpoints" not in text
    page.set_viewport_size({"width": 1280, "height": 560})
    screenshot(panel, "panel_fr")
    # Traditional Chinese: served to the panel the same way (this machine has no CJK font to look at it)
    import json
    import urllib.request

    request = urllib.request.Request(f"{server.url}lab/api/translations/zh_TW", headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        catalogue = json.loads(answer.read())["data"]["sm_magics"]
    assert catalogue["Endpoints"] == ["端點"] and catalogue[""]["language"] == "zh-TW"


def test_ttl_extend_bulk_delete_and_stop_a_job(jupyter_server, engine, engine_clients, endpoints, mnist, page):
    from helpers import training_request, upload_recordio

    (x, _), _, _ = mnist
    job = unique("panel-job")
    uri = upload_recordio(engine_clients, x[:1000], f"data/{job}")
    engine_clients.sagemaker.create_training_job(**training_request(job, uri, {  # minutes, unless stopped
        "k": "10", "feature_dim": "784", "mini_batch_size": "100", "epochs": "5000"}))
    server = lab(jupyter_server, engine)
    panel = open_panel(page, server)
    job_row = panel.locator(f".sm-magics-job[data-name='{job}']")
    job_row.wait_for(timeout=60_000)
    job_row.locator(".sm-magics-stop").click()
    wait_for_text(job_row, "Stopping")  # shown at once; the request is on its way
    import time

    deadline = time.monotonic() + 30
    while (status := engine_clients.sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"]) == "InProgress":
        assert time.monotonic() < deadline, "the panel's Stop never reached the engine"
        time.sleep(0.25)
    assert status in ("Stopping", "Stopped")

    (dear, dear_region), (far, far_region) = endpoints["dear"], endpoints["far"]
    dear_row = panel.locator(f".sm-magics-endpoint[data-name='{dear}']")
    far_row = panel.locator(f".sm-magics-endpoint[data-name='{far}']")
    dear_row.wait_for(timeout=60_000)
    assert "no TTL" in dear_row.locator(".sm-magics-ttl").inner_text()
    dear_row.locator(".sm-magics-ttl-extend").click()
    wait_for_text(dear_row.locator(".sm-magics-ttl"), re.compile(r"TTL (59|60) min|TTL 1 h"))
    sagemaker = engine_clients.session.client("sagemaker", region_name=dear_region, endpoint_url=engine.url)
    arn = sagemaker.describe_endpoint(EndpointName=dear)["EndpointArn"]
    assert "sm_magics:expires-at" in {t["Key"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}  # what the engine acts on

    dear_row.locator(".sm-magics-select").check()
    far_row.locator(".sm-magics-select").check()
    panel.locator(".sm-magics-delete-selected").click()
    dialog = page.locator(".jp-Dialog .sm-magics-confirm")
    text = wait_for_text(dialog, far)
    assert dear in text, text  # one confirmation lists both
    page.locator(".jp-Dialog .jp-mod-accept").click()
    dear_row.wait_for(state="detached", timeout=30_000)
    far_row.wait_for(state="detached", timeout=30_000)
    for name, region in ((dear, dear_region), (far, far_region)):
        client = engine_clients.session.client("sagemaker", region_name=region, endpoint_url=engine.url)
        with pytest.raises(ClientError, match="Could not find"):
            client.describe_endpoint(EndpointName=name)
        with pytest.raises(ClientError, match="Could not find"):
            client.describe_endpoint_config(EndpointConfigName=name)
