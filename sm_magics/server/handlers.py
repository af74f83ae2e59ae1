"""HTTP handlers: authenticate, translate the request, run the workflow call off the event loop.

Every handler is a jupyter_server ``APIHandler`` with ``@web.authenticated``
and ``@authorized``: the server's token or login cookie is required, XSRF is
checked on state-changing requests for cookie-authenticated callers, and a
deployment's own Authorizer (JupyterHub's, say) decides on the ``sm_magics``
resource. boto3 calls block, so they run in a small thread pool; the server
keeps serving notebooks while a slow region answers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .config import SMMagicsPanel

API_ROOT = "sm-magics/api"
NAME = r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}"
REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"


class PanelState:
    """The backend (chosen on first use) and the thread pool, shared by all handlers of one server."""

    def __init__(self, config: SMMagicsPanel) -> None:
        self.config = config
        self.executor = ThreadPoolExecutor(8, thread_name_prefix="sm-magics-api")
        self._backend: Any = None
        self._lock = threading.Lock()

    def backend(self) -> Any:
        with self._lock:
            if self._backend is None:
                from ..workflow.session import choose_backend

                self._backend = choose_backend(self.config.backend, self.config.profile or None, self.config.region or None,
                                               apply_env=False)
            return self._backend

    def fleet(self) -> Any:
        from ..workflow.fleet import fleet_of

        return fleet_of(self.backend())


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.datetime, dt.date)) else str(value)


class BaseHandler(APIHandler):
    auth_resource = "sm_magics"

    @property
    def state(self) -> PanelState:
        return self.settings["sm_magics.panel"]

    async def run(self, work: Callable[[], Any]) -> Any:
        """Run a blocking workflow call in the pool; AWS and input errors become JSON errors with a fitting status."""
        from botocore.exceptions import BotoCoreError, ClientError

        from ..workflow.session import BackendError
        from ..workflow.ttl import TtlError

        try:
            return await asyncio.get_running_loop().run_in_executor(self.state.executor, work)
        except ClientError as error:
            from ..workflow.errors import explain

            code = error.response.get("Error", {}).get("Code", "")
            status = 403 if "AccessDenied" in code else 429 if "Throttl" in code else 404 if "not find" in str(error) or "NotFound" in code else 400
            raise web.HTTPError(status, explain(error)) from None
        except (BackendError, TtlError, ValueError) as error:
            raise web.HTTPError(400, str(error)) from None
        except BotoCoreError as error:
            raise web.HTTPError(502, f"AWS could not be reached: {error}") from None

    def reply(self, document: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document, default=_iso))

    def body(self) -> dict[str, Any]:
        try:
            document = json.loads(self.request.body or b"{}")
        except json.JSONDecodeError:
            raise web.HTTPError(400, "the request body is not valid JSON") from None
        if not isinstance(document, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return document

    def wanted_regions(self) -> str:
        return self.get_query_argument("regions", "") or self.state.config.regions


class EndpointsHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        regions = self.wanted_regions()

        def work() -> dict[str, Any]:
            backend = self.state.backend()
            listing = self.state.fleet().endpoints(regions)
            return {
                "backend": {"kind": backend.kind, "region": backend.region, "description": backend.describe()},
                "billed": backend.kind == "aws",
                "regions": listing.regions,
                "updated_at": listing.updated_at,
                "usd_per_hour": listing.usd_per_hour,
                "endpoints": [row.to_json() for row in listing.rows],
                "region_errors": listing.region_errors,
                "calls": listing.calls,
            }

        self.reply(await self.run(work))


class EndpointHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self, region: str, name: str) -> None:
        detail = await self.run(lambda: self.state.fleet().endpoint(region, name))
        detail["endpoint"] = detail["endpoint"].to_json()
        self.reply(detail)


class DeleteHandler(BaseHandler):
    """POST endpoints/delete: several endpoints, each with its config and models; one result per endpoint."""

    def targets(self) -> tuple[list[dict[str, str]], bool]:
        body = self.body()
        targets = body.get("endpoints")
        if not isinstance(targets, list) or not targets or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("region"), str) for t in targets
        ):
            raise web.HTTPError(400, 'name what to delete: {"endpoints": [{"region": "us-east-1", "name": "..."}]}')
        return targets, bool(body.get("delete_artifacts", False))

    async def each(self, act: Callable[[Any, dict[str, str], bool], dict[str, Any]]) -> list[dict[str, Any]]:
        """``act(backend, target, delete_artifacts)`` for every endpoint named, a few at a time, off the event loop."""
        targets, delete_artifacts = self.targets()

        def work() -> list[dict[str, Any]]:
            backend = self.state.backend()
            with ThreadPoolExecutor(min(8, len(targets))) as pool:
                return list(pool.map(lambda target: act(backend, target, delete_artifacts), targets))

        return await self.run(work)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        def delete(backend: Any, target: dict[str, str], delete_artifacts: bool) -> dict[str, Any]:
            from ..workflow.endpoints import delete_endpoint_cascade  # AWS errors come back in the report, per row

            return delete_endpoint_cascade(backend, target["name"], region=target["region"], delete_artifacts=delete_artifacts).to_json()

        self.reply({"results": await self.each(delete)})


class DeletePlanHandler(DeleteHandler):
    """POST endpoints/plan: what deleting these endpoints would remove and keep, for the confirmation to show."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        def plan(backend: Any, target: dict[str, str], delete_artifacts: bool) -> dict[str, Any]:
            from botocore.exceptions import ClientError

            from ..workflow.endpoints import plan_deletion
            from ..workflow.errors import explain

            try:
                return plan_deletion(backend, target["name"], region=target["region"], delete_artifacts=delete_artifacts).to_json()
            except ClientError as error:
                return {"name": target["name"], "region": target["region"], "schedules": [], "config": None, "models": [],
                        "artifacts": [], "kept": [], "errors": [explain(error, retrying=False)]}

        self.reply({"plans": await self.each(plan)})


class TtlHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def put(self, region: str, name: str) -> None:
        from ..workflow import ttl
        from ..workflow.fleet import parse_expiry

        body = self.body()
        if "extend_minutes" in body:
            minutes = body["extend_minutes"]
            if not isinstance(minutes, (int, float)) or isinstance(minutes, bool):
                raise web.HTTPError(400, "extend_minutes must be a number of minutes")
            state = await self.run(lambda: ttl.extend(self.state.backend(), region, name, float(minutes)))
        elif "expires_at" in body:
            raw = body["expires_at"]
            expires = parse_expiry(raw) if raw is not None else None
            if raw is not None and expires is None:
                raise web.HTTPError(400, f"expires_at '{raw}' is not an ISO 8601 time such as 2026-11-30T18:00:00+00:00")
            state = await self.run(lambda: ttl.set_expiry(self.state.backend(), region, name, expires))
        else:
            raise web.HTTPError(400, 'send {"extend_minutes": 60}, {"expires_at": "<ISO time>"} or {"expires_at": null}')
        self.reply(state.to_json())


class JobsHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        regions = self.wanted_regions()

        def work() -> dict[str, Any]:
            listing = self.state.fleet().jobs(regions)
            return {"updated_at": listing.updated_at, "regions": listing.regions, "jobs": [row.to_json() for row in listing.rows],
                    "region_errors": listing.region_errors}

        self.reply(await self.run(work))


class StopJobHandler(BaseHandler):
    @web.authenticated
    @authorized
    async def post(self, region: str, kind: str, name: str) -> None:
        if kind not in ("training", "tuning"):
            raise web.HTTPError(404, f"unknown job kind '{kind}': training or tuning")
        await self.run(lambda: self.state.fleet().stop_job(region, kind, name))
        self.reply({"name": name, "region": region, "kind": kind, "status": "Stopping"})


def setup_handlers(serverapp: Any) -> None:
    web_app = serverapp.web_app
    config = SMMagicsPanel(parent=serverapp)
    web_app.settings["sm_magics.panel"] = PanelState(config)
    base = url_path_join(web_app.settings["base_url"], API_ROOT)
    routes = [
        (r"/endpoints", EndpointsHandler),
        (r"/endpoints/delete", DeleteHandler),
        (r"/endpoints/plan", DeletePlanHandler),
        (rf"/endpoints/({REGION})/({NAME})", EndpointHandler),
        (rf"/endpoints/({REGION})/({NAME})/ttl", TtlHandler),
        (r"/jobs", JobsHandler),
        (rf"/jobs/({REGION})/(\w+)/({NAME})/stop", StopJobHandler),
    ]
    web_app.add_handlers(".*$", [(base + path, handler) for path, handler in routes])
    serverapp.log.info("sm_magics: SageMaker panel API at %s", base)
