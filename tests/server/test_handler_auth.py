"""Every HTTP handler the extension registers refuses callers without the server's token.

The routes are read from the running jupyter_server's router (what the extension really added), not
from a list written here: a handler added later is checked without anyone remembering to. Each one
must (1) wear jupyter_server's ``@web.authenticated`` and ``@authorized`` on every HTTP method it
implements, with no ``@allow_unauthenticated``, and (2) answer 403/401 to a request without a
token or with a wrong one, while the same request with the token reaches the handler. This is the
check the JupyterLab extension template's CI makes of its server handlers, done against the real
server.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.routing import PathMatches, Router, Rule

pytestmark = pytest.mark.usefixtures("jp_serverapp")

PACKAGE = "sm_magics"
# What the URL groups of a route are filled with: the first value the group's pattern accepts.
SAMPLES = ("no-such-name", "us-east-1", "training", "x")
BODY_METHODS = {"POST", "PUT", "PATCH"}
XSRF = {"Cookie": "_xsrf=abc123", "X-XSRFToken": "abc123"}

# The code objects of the wrappers the two decorators put around a method.
AUTHENTICATED_CODE = web.authenticated(lambda self: None).__code__
AUTHORIZED_CODE = authorized(lambda self: None).__code__


@dataclass(frozen=True)
class Route:
    matcher: PathMatches
    handler: type[web.RequestHandler]

    def methods(self) -> list[str]:
        """The HTTP methods this package's code implements (not those inherited from jupyter_server or tornado)."""
        own = []
        for method in self.handler.SUPPORTED_METHODS:
            owner = next((k for k in self.handler.__mro__ if method.lower() in vars(k)), None)
            if owner is not None and owner.__module__.startswith(PACKAGE + "."):
                own.append(method)
        return own

    def example_path(self) -> str:
        """A concrete path this route matches: each capturing group filled with the first of SAMPLES it accepts."""
        path = "".join(piece if is_literal else next((v for v in SAMPLES if re.fullmatch(piece, v)), "?")
                       for is_literal, piece in split_groups(self.matcher.regex.pattern.rstrip("$")))
        assert self.matcher.regex.match(path), f"no sample path for {self.matcher.regex.pattern}: add a value to SAMPLES"
        return path


def split_groups(pattern: str) -> list[tuple[bool, str]]:
    """A route pattern as (True, literal text) and (False, group regex) pieces, top-level groups only."""
    pieces: list[tuple[bool, str]] = []
    depth, start, i = 0, 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "(":
            if depth == 0:
                pieces.append((True, re.sub(r"\\(.)", r"\1", pattern[start:i])))
                start = i + 1
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                pieces.append((False, pattern[start:i]))
                start = i + 1
        i += 1
    pieces.append((True, re.sub(r"\\(.)", r"\1", pattern[start:])))
    return pieces


def rules_of(router: Router) -> Iterator[Rule]:
    for rule in getattr(router, "rules", []):
        if isinstance(rule.target, Router):
            yield from rules_of(rule.target)
        else:
            yield rule


def extension_routes(serverapp: Any) -> list[Route]:
    """The routes whose handler is this package's, as the running server dispatches them."""
    app = serverapp.web_app
    routes = []
    for rule in itertools.chain(rules_of(app.wildcard_router), rules_of(app.default_router)):
        handler = rule.target
        if isinstance(handler, type) and issubclass(handler, web.RequestHandler) and handler.__module__.startswith(PACKAGE + "."):
            assert isinstance(rule.matcher, PathMatches), f"{handler.__name__} is routed by {rule.matcher!r}, not a path"
            routes.append(Route(rule.matcher, handler))
    return routes


def decorators_of(function: Any) -> list[Any]:
    """The code objects of a decorated function's wrappers, outermost first, down to the function itself."""
    chain = []
    while function is not None:
        chain.append(function.__code__)
        if getattr(function, "__allow_unauthenticated", False):
            chain.append("allow_unauthenticated")
        function = getattr(function, "__wrapped__", None)
    return chain


@pytest.fixture
def routes(jp_serverapp) -> list[Route]:
    found = extension_routes(jp_serverapp)
    # Sanity, not a list to keep up to date: the panel's API root is among them, each route has a method.
    assert any("/sm-magics/api/" in r.matcher.regex.pattern for r in found), [r.matcher.regex.pattern for r in found]
    assert all(r.methods() for r in found), [r.handler.__name__ for r in found if not r.methods()]
    return found


def test_every_handler_method_is_authenticated_and_authorized(routes):
    problems = []
    for route in routes:
        for method in route.methods():
            chain = decorators_of(getattr(route.handler, method.lower()))
            where = f"{route.handler.__name__}.{method.lower()}"
            if AUTHENTICATED_CODE not in chain:
                problems.append(f"{where} lacks @web.authenticated")
            if AUTHORIZED_CODE not in chain:
                problems.append(f"{where} lacks @authorized")
            if "allow_unauthenticated" in chain:
                problems.append(f"{where} is @allow_unauthenticated")
    assert not problems, "\n".join(problems)


async def fetch_status(client, path: str, method: str, headers: dict[str, str]) -> tuple[int, str]:
    body = b"{}" if method in BODY_METHODS else None
    try:
        response = await client.fetch(path, method=method, body=body, headers=headers, follow_redirects=False,
                                      allow_nonstandard_methods=True)
    except HTTPClientError as error:
        response = error.response
        assert response is not None, f"{method} {path}: no answer ({error})"
    return response.code, response.headers.get("Content-Type", "")


async def test_every_route_refuses_requests_without_the_token(routes, http_server_client, jp_serverapp):
    token = jp_serverapp.identity_provider.token
    assert token, "the test server must run with a token"
    for route in routes:
        path = route.example_path()
        for method in route.methods():
            # A matching XSRF cookie and header get the request past the XSRF check (itself a 403 for a POST
            # without them), so that what refuses it is the handler's authentication.
            for label, headers in (("no token", XSRF), ("a wrong token", {**XSRF, "Authorization": "token not-the-token"})):
                code, _ = await fetch_status(http_server_client, path, method, headers)
                assert code in (401, 403), f"{method} {path} with {label}: {code}, expected 403"
            # The same request with the token gets past authentication to the handler itself (its JSON answer,
            # 200 or an error about the made-up names or the empty body): the 403 above was the token's doing.
            code, content_type = await fetch_status(http_server_client, path, method, {"Authorization": f"token {token}"})
            assert code not in (401, 403) and content_type.startswith("application/json"), (
                f"{method} {path} with the token: {code} {content_type}")
