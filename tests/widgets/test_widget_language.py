"""The endpoint, tuning and transform widgets, and the magics' own lines, in the language chosen in JupyterLab.

Real jobs and an endpoint on the session's engine, made once; each test then picks French or Traditional
Chinese in a JupyterLab settings folder of its own (as the lab's Settings → Language menu writes it) and
builds the widgets afresh: no English label the code translates may be left in what the user sees (the
live view, the static rendering a saved notebook keeps, the magics' messages). SageMaker's own status
words (InService, Completed, Minimize) stay as the API says them and are not in the list.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from IPython.core.error import UsageError

from magics.test_magics_shell import get_ipython, loaded_in  # noqa: E402  (the magics' own shell fixture mechanics)
from sm_magics.widgets.endpoint import EndpointWidget
from sm_magics.widgets.transform_job import TransformJobWidget
from sm_magics.widgets.tuning_job import TuningJobWidget

# every English label these widgets and magics show, as the code writes it (a test below shows each is there in English)
ENGLISH = {
    "endpoint": ["Delete", "Yes, delete", "Cancel", "so far", "local engine", "not billed", "left",
                 "last seen", "endpoint", "nobody invoked"],
    "tuning": ["Stop", "training job", "status"],
    "transform": ["Stop", "batch transform", "rows", "features", "output:"],
}
LANGUAGES = {"fr_FR": "Supprimer", "zh_TW": "刪除"}


@pytest.fixture(scope="module")
def ip(engine, mnist):
    """A kmeans job, a two-job tuner, a batch transform (running or done) and an endpoint with a TTL and an idle guard."""
    (x, _), _, (tx, _) = mnist
    with loaded_in(get_ipython(), engine) as shell:
        shell.user_ns.update(x=x[:400], tx=tx[:30])
        shell.run_cell_magic("sm_train", "kmeans --as lang_km --wait", "k: 3\ntrain: x\n")
        shell.run_cell_magic("sm_tune", "kmeans --objective test:msd --max-jobs 2 --max-parallel 2 --as lang_tuner --wait",
                             "k: 3\ninit_method: random|kmeans++\ntrain: x\ntest: tx\n")
        shell.run_line_magic("sm_transform", "lang_km tx --as lang_tr")  # its widget is read while it runs
        shell.run_line_magic("sm_deploy", "lang_km --name lang-ep --ttl 2h --idle 30m --as lang_ep --wait")
        yield shell
        shell.user_ns["lang_ep"].delete()
        with contextlib.suppress(Exception):  # it may have ended already
            shell.user_ns["lang_tr"].stop()


def visible(markup: str) -> str:
    """What a reader sees of an HTML fragment: its text and its tooltips (title attributes)."""
    titles = " ".join(re.findall(r"title='([^']*)'", markup))
    return re.sub(r"<[^>]+>", " ", markup) + " " + titles


def english_in(text: str, kind: str) -> list[str]:
    return [word for word in ENGLISH[kind] if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]


def views(ip):
    """The three widgets built now (in the language of the moment), and what each shows: live and static."""
    endpoint, tuner, transform = (ip.user_ns[n] for n in ("lang_ep", "lang_tuner", "lang_tr"))
    built = EndpointWidget(endpoint), TuningJobWidget(tuner), TransformJobWidget(transform)
    try:
        ep, tu, tr = built
        ep._ask(True)  # the delete confirmation, as a click on Delete shows it
        shown = {
            "endpoint": " ".join([visible(ep._header.value), ep._note.value, ep._delete.description, ep._confirm.description,
                                  ep._cancel.description, visible(ep.static_bundle["text/html"]), ep.static_bundle["text/plain"]]),
            "tuning": " ".join([visible(tu._header.value), visible(tu._table.value), tu._stop.description,
                                visible(tu.static_bundle["text/html"])]),
            "transform": " ".join([visible(tr._header.value), tr._stop.description]),
        }
    finally:
        for view, handle in zip(built, (endpoint, tuner, transform)):
            handle.unobserve(view._update)
    return shown


def test_in_english_every_listed_label_is_shown(ip, lab_settings):
    """The list is what the widgets really say: otherwise the translated tests below would prove nothing."""
    lab_settings("en")
    for kind, text in views(ip).items():
        assert english_in(text, kind) == ENGLISH[kind], (kind, text)


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_widgets_show_no_english_label_in_the_chosen_language(ip, lab_settings, locale):
    lab_settings(locale)
    shown = views(ip)
    for kind, text in shown.items():
        assert english_in(text, kind) == [], (locale, kind, text)
    assert LANGUAGES[locale] in shown["endpoint"]
    assert "InService" in shown["endpoint"] and "Completed" in shown["tuning"]  # SageMaker's own words, as the API says them


MAGIC_ENGLISH = ["usage", "is neither a variable", "no training job or endpoint named", "endpoints created by this notebook",
                 "to delete them", "only applies with"]


def magic_lines(ip, capsys) -> str:
    said = []
    for magic, line in [("sm_deploy", ""), ("sm_transform", "lang_km no_such_variable"), ("sm_attach", "no-such-thing"),
                        ("sm_delete", "")]:
        with pytest.raises(UsageError) as caught:
            ip.run_line_magic(magic, line)
        said.append(str(caught.value))
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("sm_train", "kmeans --max-wait 60", "k: 3\ntrain: x\n")
    said.append(str(caught.value))
    capsys.readouterr()
    ip.run_line_magic("sm_cleanup", "")  # lists this notebook's endpoint, deletes nothing without -f
    said.append(capsys.readouterr().out)
    return "\n".join(said)


def test_magic_messages_in_english_carry_every_listed_phrase(ip, lab_settings, capsys):
    lab_settings("en")
    said = magic_lines(ip, capsys)
    assert [p for p in MAGIC_ENGLISH if p in said] == MAGIC_ENGLISH, said


@pytest.mark.parametrize(("locale", "expected"), [("fr_FR", ["utilisation :", "points de terminaison créés par ce notebook"]),
                                                  ("zh_TW", ["用法：", "此筆記本建立的端點"])])
def test_magic_messages_speak_the_chosen_language(ip, lab_settings, capsys, locale, expected):
    lab_settings(locale)
    said = magic_lines(ip, capsys)
    assert [p for p in MAGIC_ENGLISH if p in said] == [], said
    assert all(e in said for e in expected), said
    assert "%sm_deploy JOB" in said and "lang-ep" in said  # the syntax and the names stay as typed
