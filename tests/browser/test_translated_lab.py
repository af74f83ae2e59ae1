"""JupyterLab in French, then in Traditional Chinese: no English string in what the magics and widgets show.

A real JupyterLab (its language chosen in the user settings, as Settings → Language writes it; the
kernel reads the same file) runs a notebook against the session's engine: a training cell, a deploy, a
prediction shown as a cluster gallery, ``%sm_jobs``, ``%sm_endpoints``, a magic's help, a widget given
bad input and a magic line with a bad value. Every visible text node of every output (and each
tooltip and image caption) is then compared with the kernel catalog's English messages (any one left
verbatim fails, no allow-list: ``helpers.english_left``), and with a few English words that must not
be shown at all.

What may stay English, on purpose and as the widgets show it everywhere: the words SageMaker itself
returns for these resources (their status values: InService, Completed, the training phases), names
(instance types, job names, the metric names of the algorithm), the option names and syntax the user
types, the column names of the DataFrames ``%sm_jobs`` / ``%sm_endpoints`` return (code reads them),
and IPython's own labels (``UsageError``, the inspector's ``Docstring:``).
"""

from __future__ import annotations

import re

import pytest

from browser.pages import cell, open_notebook, run_all_cells, wait_for_text, widget_in_cell, write_notebook
from helpers import engine_session, english_left
from sm_magics import i18n

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n"
    "(x, y), _, (tx, ty) = mnist_splits()\nx = x[:600]",
    "%%sm_train kmeans --as job\nk: 10\nepochs: 1\ntrain: x",
    "%sm_deploy job --as predictor --ttl 2h --idle 30m",
    "predictor.gallery(tx[:40], labels=ty[:40], cap=6)",  # a prediction, shown as a widget
    "%sm_jobs",
    "%sm_endpoints",
    "%sm_deploy?",
    "print(job.name, predictor.name)",
    "try:\n    predictor.gallery(tx[:5], labels=ty[:3])\nexcept ValueError as error:\n    print(error)",
    "%sm_deploy job --ttl 0m",  # a bad value: the cell fails with one line (last: a failed cell stops the rest)
]
TRAINING, ENDPOINT, GALLERY, JOBS, ENDPOINTS, HELP, NAMES, BAD_WIDGET_INPUT, BAD_LINE = range(1, 10)
FORBIDDEN = ("Training", "Endpoint", "Completed", "cost", "Delete")  # English words no output may show

# every visible text node, tooltip, image caption and accessible label of the outputs (not JupyterLab's own
# output chrome), each with whether it is a value in a DataFrame's cell: the DataFrames' column names and
# index are left out, and their values are data the user's code reads ("training", "InService")
TEXT_NODES = """outputs => {
  const out = [];
  for (const el of outputs) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const element = n.nodeType === Node.TEXT_NODE ? n.parentElement : n;
      if (!element || element.closest('style, script, table.dataframe thead, table.dataframe tbody th')) continue;
      if (!element.checkVisibility({visibilityProperty: true})) continue;
      const data = element.closest('table.dataframe td') !== null;
      if (n.nodeType === Node.TEXT_NODE) {
        if (n.textContent.trim()) out.push([n.textContent.trim(), data]);
      } else {
        for (const name of ['title', 'alt', 'aria-label', 'placeholder']) {
          const value = n.getAttribute(name);
          if (value && value.trim()) out.push([value.trim(), data]);
        }
      }
    }
  }
  return out;
}"""


def sagemaker_words(engine, job: str, endpoint: str) -> set[str]:
    """What SageMaker itself answered for this notebook's resources (their statuses, the phases the job went
    through and their status messages, shown as the timeline's tooltips), and the names the bundled price
    table gives its sources (quoted as the table names them; the words around them are ours)."""
    from sm_magics.workflow import pricing

    sagemaker = engine_session(engine).client("sagemaker", endpoint_url=engine.url)
    described = sagemaker.describe_training_job(TrainingJobName=job)
    words = {described["TrainingJobStatus"], described["SecondaryStatus"]}
    for transition in described.get("SecondaryStatusTransitions", []):
        words |= {transition["Status"], transition.get("StatusMessage", "")}
    words.add(sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])
    words |= {source["label"] for source in pricing.bundled()["sources"].values()}
    return words - {""}


def forbidden_in(nodes: list[str], allowed: set[str]) -> list[str]:
    """The FORBIDDEN words shown, outside a segment that is exactly one of SageMaker's own words (a status
    badge, a phase of the timeline, "Completed · 12 s · ..."): segments are split at the widgets' separators."""
    shown = []
    for node in nodes:
        for segment in re.split(r"\s*(?:·|→|\(|\)|,)\s*", node):
            if segment.strip() in allowed:
                continue
            shown += [word for word in FORBIDDEN if re.search(rf"(?<![\w-]){word}(?![\w-])", segment)]
    return shown


@pytest.mark.parametrize(("locale", "language"), [("fr_FR", "fr"), ("zh_TW", "zh_TW")])
def test_a_translated_jupyterlab_shows_no_english_in_the_magics_and_widgets(jupyter_server, engine, page, locale, language):
    server = jupyter_server("lab", env={"SM_MAGICS_BACKEND": "local", "SM_MAGICS_LOCAL_DATA_DIR": str(engine.data_dir),
                                        "SAGEMAKER_SUPPRESS_V2_WARNING": "1"},
                            settings={"@jupyterlab/translation-extension:plugin": {"locale": locale}})
    name = write_notebook(server.root_dir, f"translated-{language}.ipynb", CELLS)
    open_notebook(page, server, name, collapse_sidebar=True)
    run_all_cells(page, timeout=240)
    endpoint_name = ""
    try:
        job_name, endpoint_name = cell(page, NAMES).locator(".jp-OutputArea").inner_text().split()

        def say(message: str) -> str:  # the catalog's words, not the test's own
            return i18n.gettext(message, language)

        training = wait_for_text(widget_in_cell(page, TRAINING), re.compile(r"Completed\s"), timeout=90)
        endpoint = wait_for_text(widget_in_cell(page, ENDPOINT), "InService", timeout=90)
        gallery = widget_in_cell(page, GALLERY).inner_text()
        # the outputs are the translated ones, not empty ones (so that "no English" means something)
        assert say("model:") in training and say("Delete") in endpoint, (training, endpoint)
        assert say("overall purity {value}").split("{")[0].strip() in gallery, gallery
        assert say("show this help") in " ".join(cell(page, HELP).locator(".jp-OutputArea").inner_text().split())
        bad_input = cell(page, BAD_WIDGET_INPUT).locator(".jp-OutputArea").inner_text()
        advice = re.split(r"\{\w+\}", say("labels: {n} values (shape {shape}) for {m} images; give one per image"))[-1].strip()
        assert advice in bad_input, (advice, bad_input)
        bad_line = cell(page, BAD_LINE).locator(".jp-OutputArea").inner_text()
        assert "UsageError" in bad_line and "'0m'" in bad_line, bad_line

        allowed = sagemaker_words(engine, job_name, endpoint_name)
        for index in range(1, len(CELLS)):
            shown = cell(page, index).locator(".jp-OutputArea-output").evaluate_all(TEXT_NODES)
            assert shown, f"cell {index} shows nothing"
            prose = [text for text, data in shown if not data and text not in allowed]
            assert english_left(prose, language) == [], (locale, CELLS[index], prose)
            assert forbidden_in([text for text, _ in shown], allowed) == [], (locale, CELLS[index], shown)
    finally:
        if endpoint_name:  # the session's engine hosts other tests' endpoints too
            engine_session(engine).client("sagemaker", endpoint_url=engine.url).delete_endpoint(EndpointName=endpoint_name)
