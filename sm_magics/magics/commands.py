"""The magics themselves: each parses its line and body, hands a spec to the workflow, shows the handle.

Nothing here talks to AWS directly; ``workflow/`` does, and ``widgets/``
observe its handles. Errors a user can fix are one line (IPython's
UsageError) naming the cell line, and nothing is created.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import weakref
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import TraitError, Unicode, observe, validate
from traitlets.config import Configurable

from .. import cellspec
from ..i18n import N_, _
from .backend import BackendChoice
from .options import (as_option as _as, count as _count, duration as _duration, help_option as _help, idle as _idle,
                      instance_count_option as _instance_count, instance_type_option as _instance_type,
                      localize_help, name_option as _name, parse as _parse, seconds as _seconds, seed as _seed,
                      wait_option as _wait, max_cost_option as _max_cost)


def _explained(method: Callable[..., Any]) -> Callable[..., Any]:
    """AWS errors (expired credentials, AccessDenied, throttling...) become one explained line, not a traceback."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UsageError:
            raise
        except Exception as exc:
            if not type(exc).__module__.startswith(("botocore", "boto3", "s3transfer")):
                raise
            from ..workflow.errors import explain  # imports botocore: only on this path

            raise UsageError(explain(exc)) from None

    return wrapper


def _objective_example(algorithm: str) -> str:
    """`--objective M` with the metrics SageMaker documents for tuning ``algorithm``, for a line that says what to add."""
    from ..algorithms import spec_for
    from ..algorithms.range_rules import tuning_objectives

    try:
        objectives = tuning_objectives(spec_for(algorithm))
    except (KeyError, ValueError):
        objectives = []
    if not objectives:
        return "--objective validation:binary_f_beta"
    listed = ", ".join(objectives[:4]) + (f", … ({len(objectives)})" if len(objectives) > 4 else "")
    return f"--objective {objectives[0]} ({algorithm}: {listed})"


def _notebook_id() -> str:
    """The notebook's path as the Jupyter server names it (tagged on what it creates, read by %sm_cleanup).

    Without a server (nbclient, papermill, terminal IPython) there is no path; this process stands in,
    so two runs from one folder never take each other's endpoints for their own.
    """
    return os.environ.get("JPY_SESSION_NAME") or f"ipython:{os.getcwd()}:{os.getpid()}"


@localize_help
@magics_class
class SMMagics(Magics, Configurable):
    """``%%sm_train``, ``%%sm_deploy``, ``%sm_endpoints`` and friends."""

    backend_name = Unicode("auto", config=True, help="local, aws or auto (AWS when credentials resolve); env SM_MAGICS_BACKEND")
    region = Unicode(None, allow_none=True, config=True, help="AWS region (default: the profile's, or us-east-1 locally)")
    profile = Unicode(None, allow_none=True, config=True, help="AWS profile for the aws backend")
    instance_type = Unicode("ml.m5.large", config=True, help="default instance type for training and endpoints")
    language = Unicode("", config=True, help="en, fr or zh_TW for what the magics and widgets say (default: JupyterLab's language)")

    @validate("language")
    def _valid_language(self, proposal: Any) -> str:
        from ..i18n import code_of, LANGUAGES

        value = proposal["value"].strip()
        if value and code_of(value) is None:
            raise TraitError(_("{setting} {value} is not provided; use one of {choices}").format(
                setting="SMMagics.language", value=repr(value), choices=", ".join(LANGUAGES)))
        return value

    @observe("language")
    def _language_changed(self, change: Any) -> None:
        from ..i18n import set_language

        set_language(change["new"] or None)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.choice = BackendChoice()
        self.handles: dict[str, Any] = {}
        self._shown: weakref.WeakSet[Any] = weakref.WeakSet()  # handles whose view _display showed before creation

    def _preference(self) -> str | None:
        return os.environ.get("SM_MAGICS_BACKEND") if self.backend_name == "auto" else self.backend_name

    def prepare_backend_in_background(self) -> None:
        """Choose (and for the local engine, start) the backend without holding up %load_ext."""
        self.choice.prepare_in_background(self._preference(), self.profile, self.region)

    # ---------------------------------------------------------------- helpers

    @property
    def backend(self) -> Any:
        return self.choice.get(self._preference(), self.profile, self.region)

    def _tags(self, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
        from ..workflow.endpoints import TAG_CREATED_BY, TAG_NOTEBOOK

        tags = {TAG_CREATED_BY: "sm_magics", TAG_NOTEBOOK: _notebook_id()[:256], **(extra or {})}
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def _show(self, handle: Any, var: str | None) -> None:
        from IPython.display import display

        from ..widgets import view_for
        from ..widgets.text import TextProgress

        self.handles[handle.name] = handle
        if var:  # (a Python name: _parse checked it before anything was created)
            self.shell.user_ns[var] = handle
        if handle in self._shown:  # shown from the cell's start (the upload), by _display
            return
        view = view_for(handle)
        if not isinstance(view, TextProgress):  # the text view prints as the status changes
            display(view)

    def _display(self, handle: Any) -> None:
        """Show a handle's view before the resource exists (conversion and upload are shown as they go);
        it is kept by this kernel only once created (``_show``)."""
        from IPython.display import display

        from ..widgets import view_for
        from ..widgets.text import TextProgress

        view = view_for(handle)
        self._shown.add(handle)
        if not isinstance(view, TextProgress):
            display(view)

    def _resolve(self, word: str) -> Any:
        """A handle from a variable name, or a job / endpoint name known to this kernel or to SageMaker."""
        value = self.shell.user_ns.get(word)
        if value is not None:
            return value
        if word in self.handles:
            return self.handles[word]
        from ..workflow.training import attach_training_job

        try:
            return attach_training_job(self.backend, word)
        except Exception:
            raise UsageError(_("{name} is neither a variable of this notebook nor a training job name").format(name=f"'{word}'")) from None

    def _mark_deleted(self, endpoint_name: str) -> None:
        from ..workflow.endpoints import Endpoint

        handle = self.handles.get(endpoint_name)
        if isinstance(handle, Endpoint):
            handle.mark_deleted()

    @staticmethod
    def _with_line(exc: Exception, body: str) -> Exception:
        """Point a data error at the cell line that named the channel."""
        if isinstance(exc, cellspec.CellError) or not isinstance(exc, ValueError):
            return exc
        named = re.findall(r"'([\w.-]+)'", str(exc)) + re.findall(r"[Hh]yperparameter:? '?([\w.-]+)", str(exc))
        for entry in cellspec.entries(body):
            if entry.key in named:
                return cellspec.CellError(entry.line, str(exc))
        return exc

    def _fail(self, exc: Exception) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from ..workflow.errors import explain

        if isinstance(exc, (ClientError, BotoCoreError)):
            raise UsageError(explain(exc, retrying=False)) from None
        raise UsageError(str(exc)) from None

    # ----------------------------------------------------------------- magics

    @line_magic
    @_explained
    @magic_arguments()
    @argument("where", nargs="?", help=N_("local (the engine on this machine), aws, or auto (AWS when credentials resolve)"))
    @argument("--profile", help=N_("the AWS profile to use"))
    @argument("--region", help=N_("the AWS region to use"))
    @_help
    def sm_backend(self, line: str) -> None:
        """Choose where SageMaker runs: the local engine or AWS."""
        options = _parse(self.sm_backend, line)
        if options is None:
            return
        positional = [options["where"]] if "where" in options else []
        if len(positional) != 1:
            raise UsageError(_("usage: {usage}").format(usage="%sm_backend local|aws|auto [--profile P] [--region R]"))
        if positional[0] not in ("local", "aws", "auto"):
            raise UsageError(_("unknown backend '{preference}': use local, aws or auto").format(preference=positional[0]))
        backend = self.choice.switch(positional[0], options.get("profile") or self.profile, options.get("region") or self.region)
        print(backend.describe())

    @line_cell_magic
    @_explained
    @magic_arguments()
    @argument("algorithm", nargs="?", help=N_("kmeans, pca, linear-learner or xgboost; leave it out to run your own SDK / boto3 code"))
    @_name
    @_instance_type
    @_instance_count
    @argument("--max-runtime", metavar="SECONDS", type=_seconds, help=N_("stop the job after this long (default 1 day)"))
    @argument("--spot", action="store_true", help=N_("managed spot training (needs --max-wait)"))
    @argument("--max-wait", metavar="SECONDS", type=_seconds, help=N_("with --spot: how long to wait for spot capacity and training"))
    @_max_cost
    @_wait
    @_as
    @_help
    def sm_train(self, line: str, cell: str | None = None) -> None:
        """Train a built-in algorithm on data of the notebook, shown live with its cost.

        The body is either ``key: value`` lines (hyperparameters, and channels such as
        ``train: X`` or ``train: X, y``), or your own SDK / boto3 code, whose jobs and
        endpoints are tracked and shown live.
        """
        options = _parse(self.sm_train, line)
        if options is None:
            return
        positional = [options["algorithm"]] if "algorithm" in options else []
        body = cell or ""
        if not positional:
            if not body.strip():
                raise UsageError(_("usage: {usage} with `key: value` lines, or a cell of your own SDK code").format(usage="%%sm_train ALGORITHM"))
            if cellspec.is_declarative(body):
                raise UsageError(_("name the algorithm on the magic line, e.g. {example}").format(example="%%sm_train kmeans"))
            return self._run_tracked(body)
        from ..workflow.training import start_training

        self._start(lambda: start_training(self.backend, self._training_spec(positional[0], body, options), announce=print,
                                           show=self._display), body, options)

    def _start(self, make: Callable[[], Any], body: str, options: dict[str, Any]) -> None:
        """Create a job from the cell, show it, and wait only when asked (--wait)."""
        try:
            job = make()
        except UsageError:
            raise
        except Exception as exc:
            self._fail(self._with_line(exc, body))
            return
        self._show(job, options.get("as"))
        if options.get("wait"):
            job.wait()

    def _training_spec(self, algorithm: str, body: str, options: dict[str, Any]) -> Any:
        from ..workflow import algorithms
        from ..workflow.training import TrainingSpec

        info = algorithms.lookup(algorithm)
        spec = TrainingSpec(info.name, name=options.get("name"), instance_type=options.get("instance_type") or self.instance_type)
        spec.instance_count = options.get("instance_count", 1)
        if options.get("max_runtime"):
            spec.max_runtime = options["max_runtime"]
        if options.get("max_wait"):
            spec.max_wait = options["max_wait"]
            if not options.get("max_runtime"):  # the wait includes the training: a shorter wait caps the run too
                spec.max_runtime = min(spec.max_runtime, spec.max_wait)
        spec.spot = bool(options.get("spot"))
        if spec.max_wait and not spec.spot:
            raise UsageError(_("{option} only applies with {other}").format(option="--max-wait", other="--spot"))
        spec.tags = self._tags()
        spec.max_cost = options.get("max_cost")
        for entry in cellspec.entries(body):
            if entry.key in info.channels:
                spec.channels[entry.key] = cellspec.evaluate_channel(entry, lambda expr: eval(expr, self.shell.user_ns))
            else:
                try:
                    algorithms.check_hyperparameter(info, entry.key)
                except ValueError as exc:
                    raise cellspec.CellError(entry.line, str(exc)) from None
                spec.hyperparameters[entry.key] = entry.value
        return spec

    def _run_tracked(self, body: str) -> None:
        """Run the user's own code; show a widget for each training job and endpoint it creates."""
        from .tracked import run_tracked

        run_tracked(self.shell, self.backend, body, self._tags(), self.handles, self._show)

    @line_cell_magic
    @_explained
    @magic_arguments()
    @argument("algorithm", nargs="?", help=N_("kmeans, pca, linear-learner or xgboost"))
    @argument("--objective", metavar="METRIC", help=N_("the metric to optimise, e.g. validation:binary_f_beta or test:msd"))
    @argument("--max-jobs", metavar="N", type=_count, help=N_("training jobs in all (default 6)"))
    @argument("--max-parallel", metavar="N", type=_count, help=N_("training jobs at a time (default 2)"))
    @argument("--strategy", help=N_("Bayesian (default), Random, Grid or Hyperband"))
    @argument("--seed", metavar="N", type=_seed, help=N_("the tuning job's RandomSeed: the same seed explores the same way (reproducible)"))
    @_name
    @_instance_type
    @_instance_count
    @argument("--max-runtime", metavar="SECONDS", type=_seconds, help=N_("stop each training job after this long (default 1 day)"))
    @_max_cost
    @_wait
    @_as
    @_help
    def sm_tune(self, line: str, cell: str | None = None) -> None:
        """Tune a built-in algorithm's hyperparameters, with a live leaderboard.

        Ranges are written plainly: ``learning_rate: 1e-5..1 log``, ``mini_batch_size: 100..2000 int``,
        ``optimizer: sgd|adam``; fixed hyperparameters and channels as in %%sm_train.
        """
        from ..workflow.training import TuningSpec, start_tuning

        options = _parse(self.sm_tune, line)
        if options is None:
            return
        positional = [options["algorithm"]] if "algorithm" in options else []
        if len(positional) == 1 and not options.get("objective"):
            raise UsageError(_("name the metric to optimise with --objective, e.g. {example}").format(example=_objective_example(positional[0])))
        if len(positional) != 1:
            raise UsageError(_("usage: {usage}").format(usage="%%sm_tune ALGORITHM --objective METRIC [--max-jobs N] [--max-parallel N] [--strategy Bayesian|Random] [--seed N]"))
        body = cell or ""
        strategy = options.get("strategy", "Bayesian").capitalize()
        if strategy not in ("Bayesian", "Random", "Grid", "Hyperband"):
            raise UsageError(_("--strategy {value}: use {choices}").format(value=options["strategy"], choices="Bayesian, Random, Grid" + _(" or ") + "Hyperband"))
        def make() -> Any:
            ranges, fixed = [], []
            for entry in cellspec.entries(body):
                parsed = cellspec.parse_range(entry)
                if parsed:
                    ranges.append(parsed)
                else:
                    fixed.append(f"{entry.key}: {entry.value}")
            if not ranges:
                raise UsageError(_("no ranges to tune: write e.g. {example} or {other}").format(example="`learning_rate: 1e-5..1 log`", other="`optimizer: sgd|adam`"))
            training = self._training_spec(positional[0], "\n".join(fixed), options)
            spec = TuningSpec(training, options["objective"], ranges, max_jobs=options.get("max_jobs", 6),
                              max_parallel=options.get("max_parallel", 2), strategy=strategy, random_seed=options.get("seed"))
            return start_tuning(self.backend, spec, announce=print, show=self._display)  # the cost first, then the upload

        self._start(make, body, options)

    @line_cell_magic
    @_explained
    @magic_arguments()
    @argument("job", nargs="?", help=N_("a training or tuning job: its variable or its name (a tuner deploys its best job)"))
    @_instance_type
    @_instance_count
    @_name
    @argument("--ttl", metavar="DURATION", type=_duration, help=N_("delete the endpoint after this long: 30m, 2h, 1d"))
    @argument("--idle", metavar="DURATION", type=_idle, help=N_("delete the endpoint once nobody invoked it for this long: 30m, 2h"))
    @_max_cost
    @_wait
    @_as
    @_help
    def sm_deploy(self, line: str, cell: str | None = None) -> None:
        """Deploy a trained model behind an endpoint (waiting for the job if it still runs), shown live with its cost."""
        from ..workflow.endpoints import deploy
        from ..workflow.jobs import TrainingJob, TuningJob

        options = _parse(self.sm_deploy, line)
        if options is None:
            return
        positional = [options["job"]] if "job" in options else []
        if len(positional) != 1:
            raise UsageError(_("usage: {usage}").format(usage="%sm_deploy JOB [--instance-type T] [--instance-count N] [--name N] [--ttl 2h] [--as VAR]"))
        handle = self._resolve(positional[0])
        if isinstance(handle, TuningJob):
            try:
                handle = handle.best_training_job()
            except RuntimeError as exc:
                raise UsageError(str(exc)) from None
        if not isinstance(handle, TrainingJob):
            raise UsageError(_("{name} is a {kind}, not a training or tuning job").format(name=f"'{positional[0]}'", kind=type(handle).__name__))
        expires_at = dt.datetime.now(dt.timezone.utc) + options["ttl"] if options.get("ttl") else None
        count = options.get("instance_count", 1)
        instance_type = options.get("instance_type") or self.instance_type
        from ..workflow.checks import check_instance_type, check_name
        from ..workflow.costs import check_budget

        try:  # before waiting for the job: a typo is said at once, not after training ends
            check_instance_type("hosting", instance_type)
            if options.get("name"):
                check_name("endpoint", options["name"])
            ttl = options.get("ttl")
            check_budget(self.backend, options.get("max_cost"), "Hosting", instance_type, count, ttl.total_seconds() if ttl else None)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        from ..workflow.costs import endpoint_line

        print(endpoint_line(self.backend, instance_type, count, options.get("ttl")))
        handle.wait()
        if handle.status != "Completed" or not handle.model_artifact:
            raise UsageError(_("training job {name} is {status}; only a completed job can be deployed").format(name=handle.name, status=handle.status)
                             + (f" ({handle.description.get('FailureReason')})" if handle.status == "Failed" else ""))
        try:
            endpoint = deploy(self.backend, handle.model_artifact, handle.algorithm or "kmeans", name=options.get("name"),
                              instance_type=instance_type, instance_count=count,
                              tags=self._tags(), expires_at=expires_at, idle_after=options.get("idle"),
                              feature_count=handle.feature_count)
        except Exception as exc:
            self._fail(exc)
            return
        if endpoint.warning:
            print(f"sm_magics: {endpoint.warning}")
        self._show(endpoint, options.get("as"))
        if options.get("wait"):
            endpoint.wait()

    @line_magic
    @_explained
    @magic_arguments()
    @argument("job", nargs="?", help=N_("a training or tuning job: its variable or its name (a tuner transforms with its best job)"))
    @argument("data", nargs="?", help=N_("the input: a variable (numpy array, pandas or Spark DataFrame) or an s3:// URI"))
    @_instance_type
    @_instance_count
    @_name
    @_wait
    @_as
    @_help
    def sm_transform(self, line: str) -> Any:
        """Score a whole data set with a batch transform job (no endpoint left running), shown live with its cost.

        The answers come back as the input's kind: named arrays for an array, a DataFrame for a pandas
        DataFrame, the rows with the output columns added for a Spark DataFrame, the output prefix for
        an s3:// URI. With --wait the cell returns them; otherwise ``VAR.result()`` (--as VAR) does.
        """
        from ..workflow.jobs import TrainingJob, TuningJob
        from ..workflow.transform import start_transform

        options = _parse(self.sm_transform, line)
        if options is None:
            return None
        if "job" not in options or "data" not in options:
            raise UsageError(_("usage: {usage}").format(usage="%sm_transform JOB DATA [--instance-type T] [--instance-count N] [--name N] [--wait] [--as VAR]"))
        source = self._resolve(options["job"])
        if not isinstance(source, (TrainingJob, TuningJob)):
            raise UsageError(_("{name} is a {kind}, not a training or tuning job").format(name=f"'{options['job']}'", kind=type(source).__name__))
        word = options["data"]
        if word.startswith("s3://"):
            data: Any = word
        elif word in self.shell.user_ns:
            data = self.shell.user_ns[word]
        else:
            raise UsageError(_("{name} is neither a variable of this notebook nor an s3:// URI").format(name=f"'{word}'"))
        try:
            job = start_transform(self.backend, source, data, instance_type=options.get("instance_type") or self.instance_type,
                                  instance_count=options.get("instance_count", 1), name=options.get("name"), tags=self._tags())
        except UsageError:
            raise
        except Exception as exc:
            self._fail(exc)
            return None
        self._show(job, options.get("as"))
        if options.get("wait"):
            try:
                return job.result()
            except Exception as exc:
                self._fail(exc)
        return None

    @line_magic
    @_explained
    @magic_arguments()
    @argument("--all-regions", action="store_true", help=N_("every region the account has enabled, not only the notebook's"))
    @_help
    def sm_endpoints(self, line: str) -> Any:
        """The live endpoints with what they cost, most expensive first."""
        from ..workflow.fleet import fleet_of

        options = _parse(self.sm_endpoints, line)
        if options is None:
            return None
        try:
            listing = fleet_of(self.backend).endpoints("all" if options.get("all_regions") else None)
        except Exception as exc:
            self._fail(exc)
            return None
        if not listing.rows:
            print(_("no endpoints"))
        for problem in listing.region_errors:
            print(f"{problem['region']}: {problem['message']}")
        import pandas as pd

        columns = ["name", "status", "region", "instance_type", "instance_count", "usd_per_hour", "usd_so_far",
                   "created_at", "expires_at", "idle_seconds", "notebook"]
        return pd.DataFrame([{c: getattr(row, c) for c in columns} for row in listing.rows], columns=columns)

    @line_magic
    @_explained
    @magic_arguments()
    @argument("names", nargs="*", metavar="NAME", help=N_("endpoints: their variables or their names"))
    @argument("--keep-model", action="store_true", help=N_("delete the endpoint and its endpoint config, keep the model"))
    @_help
    def sm_delete(self, line: str) -> None:
        """Delete endpoints with their endpoint configs and models (what another endpoint still uses stays)."""
        from ..workflow.endpoints import delete_endpoint_cascade

        options = _parse(self.sm_delete, line)
        if options is None:
            return
        names = options.get("names", [])
        if not names:
            raise UsageError(_("usage: {usage}").format(usage="%sm_delete ENDPOINT [ENDPOINT ...] [--keep-model]"))
        from ..workflow.checks import check_name

        endpoint_names = [getattr(self.shell.user_ns.get(name), "name", name) for name in names]
        for endpoint_name in endpoint_names:  # all checked before any is deleted
            try:
                check_name("endpoint", endpoint_name)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        for endpoint_name in endpoint_names:
            report = delete_endpoint_cascade(self.backend, endpoint_name, keep_model=bool(options.get("keep_model")))
            print(report)
            self._mark_deleted(endpoint_name)

    @line_magic
    @_explained
    @magic_arguments()
    @argument("-f", "--force", action="store_true", help=N_("delete them (without it, they are only listed)"))
    @_help
    def sm_cleanup(self, line: str) -> None:
        """Delete every endpoint this notebook created (found by its tags), with configs and models; lists them first."""
        from ..workflow.endpoints import delete_endpoint_cascade
        from ..workflow.fleet import fleet_of

        options = _parse(self.sm_cleanup, line)
        if options is None:
            return
        mine = [r for r in fleet_of(self.backend).endpoints().rows if r.notebook == _notebook_id()[:256]]
        if not mine:
            print(_("nothing to clean up: no endpoint of this notebook is running"))
            return
        print(_("endpoints created by this notebook:") + "\n  " + "\n  ".join(r.name for r in mine))
        if not options.get("force"):
            print(_("run {command} to delete them with their endpoint configs and models").format(command="`%sm_cleanup -f`"))
            return
        for row in mine:
            print(delete_endpoint_cascade(self.backend, row.name, region=row.region))
            self._mark_deleted(row.name)

    @line_magic
    @_explained
    @magic_arguments()
    @argument("--last", metavar="N", type=_count, default=20, help=N_("how many of each kind, newest first (default 20)"))
    @_help
    def sm_jobs(self, line: str) -> Any:
        """Recent training and tuning jobs, newest first, as a DataFrame: status, when, and how long they ran."""
        options = _parse(self.sm_jobs, line)
        if options is None:
            return None
        last = min(options["last"], 100)
        sagemaker = self.backend.client("sagemaker")
        order = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": last}
        training = sagemaker.list_training_jobs(**order)["TrainingJobSummaries"]
        tuning = sagemaker.list_hyper_parameter_tuning_jobs(**order)["HyperParameterTuningJobSummaries"]
        rows = [
            {"name": j["TrainingJobName"], "kind": "training", "status": j["TrainingJobStatus"], "created_at": j["CreationTime"],
             "ended_at": j.get("TrainingEndTime")}
            for j in training
        ] + [
            {"name": j["HyperParameterTuningJobName"], "kind": "tuning", "status": j["HyperParameterTuningJobStatus"],
             "created_at": j["CreationTime"], "ended_at": j.get("HyperParameterTuningEndTime")}
            for j in tuning
        ]
        if not rows:
            print(_("no training or tuning jobs"))
        import pandas as pd

        frame = pd.DataFrame(rows, columns=["name", "kind", "status", "created_at", "ended_at"])
        frame["seconds"] = [(row["ended_at"] - row["created_at"]).total_seconds() if row["ended_at"] else None for row in rows]
        return frame.sort_values("created_at", ascending=False, ignore_index=True)

    @line_magic
    @_explained
    @magic_arguments()
    @argument("name", nargs="?", help=N_("a training job or endpoint name"))
    @_as
    @_help
    def sm_attach(self, line: str) -> None:
        """Show a live view of an existing training job or endpoint again (after a kernel restart)."""
        from ..algorithms.images import algorithm_of_image
        from ..workflow.endpoints import Endpoint
        from ..workflow.training import attach_training_job

        options = _parse(self.sm_attach, line)
        if options is None:
            return
        positional = [options["name"]] if "name" in options else []
        if len(positional) != 1:
            raise UsageError(_("usage: {usage}").format(usage="%sm_attach NAME [--as VAR]"))
        name = positional[0]
        sagemaker = self.backend.client("sagemaker")
        try:
            handle: Any = attach_training_job(self.backend, name)
        except Exception:
            try:
                doc = sagemaker.describe_endpoint(EndpointName=name)
                config = sagemaker.describe_endpoint_config(EndpointConfigName=doc["EndpointConfigName"])
                variant = config["ProductionVariants"][0]
                model = sagemaker.describe_model(ModelName=variant["ModelName"])
                handle = Endpoint(self.backend, name, algorithm_of_image(model["PrimaryContainer"]["Image"]),
                                  variant.get("InstanceType", ""), variant.get("InitialInstanceCount", 1))
                handle.start_polling()
            except Exception:
                raise UsageError(_("no training job or endpoint named {name} in {region}").format(name=repr(name), region=self.backend.region)) from None
        self._show(handle, options.get("as"))
