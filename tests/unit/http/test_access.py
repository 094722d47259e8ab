"""The role table, the Authorization header's reading and the failure limiter."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from ferryman.access import Role, TokenBook
from ferryman.config import DEFAULT_OPEN_ROUTES, AuthSettings, Settings
from ferryman.errors import AuthenticationError, ConfigError
from ferryman.http import simple
from ferryman.http.access import (
    MAX_HEADER,
    ROLE_TABLE,
    FailureLimiter,
    Gate,
    _bearer,
    check_open_routes,
    guard,
)
from ferryman.registry import Registry
from ferryman.server.app import ServeOptions, create_app


def test_every_route_of_the_app_has_exactly_one_row(registry: Registry) -> None:
    app = create_app(registry)
    rows = [(r.path, r.method) for r in ROLE_TABLE]
    assert len(rows) == len(set(rows))
    answered = set()
    for route in app.routes:
        methods = getattr(route, "methods", None) or {"GET"}
        answered |= {(route.path, m) for m in methods if m != "HEAD"}  # type: ignore[attr-defined]
    assert answered == set(rows)


def test_a_route_without_a_row_stops_the_app_from_being_built() -> None:
    async def endpoint(request: object) -> None:
        return None

    gate = Gate(None, "off")
    with pytest.raises(RuntimeError, match="PATCH /models"):
        guard([Route("/models", endpoint, methods=["PATCH"])], gate)
    with pytest.raises(RuntimeError, match="GET /new"):
        guard([Route("/new", endpoint, methods=["GET"])], gate)


def statuses(app: Starlette, path: str) -> int:
    async def get() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return (await client.get(path)).status_code

    return asyncio.run(get())


def test_apps_built_in_one_process_each_answer_by_their_own_gate(registry: Registry) -> None:
    shared = [(route, route.app) for route in simple.routes]
    TokenBook(registry).create("someone", "viewer")
    closed = create_app(registry)
    assert closed.state.gate.verifier is not None
    closed.state.gate.verifier.refresh()  # what the lifespan does first: a token exists
    opened = create_app(registry, ServeOptions(no_auth=True))
    closed_again = create_app(registry)
    closed_again.state.gate.verifier.refresh()
    assert statuses(opened, "/models") == 200
    assert statuses(closed, "/models") == 401
    assert statuses(closed_again, "/models") == 401
    assert [(route, route.app) for route in simple.routes] == shared


def test_building_many_apps_wraps_each_route_once(registry: Registry) -> None:
    for _ in range(5):
        app = create_app(registry, ServeOptions(no_auth=True))
    for route in app.routes:
        inner = route.app.__wrapped__  # type: ignore[attr-defined]
        assert not hasattr(inner, "__wrapped__"), f"{route!r} is wrapped more than once"


def test_roles_in_the_table_follow_the_issue() -> None:
    role = {(r.path, r.method): r.role for r in ROLE_TABLE}
    assert role[("/models/{ref:path}/predict", "POST")] is Role.PREDICTOR
    assert role[("/v2/models/{name}/infer", "POST")] is Role.PREDICTOR
    assert role[("/invocations", "POST")] is Role.PREDICTOR
    assert role[("/models/{name}/feedback", "POST")] is Role.PREDICTOR
    assert role[("/models/{name}/aliases/{alias}", "PUT")] is Role.OPERATOR
    assert role[("/models/{name}/monitoring", "GET")] is Role.VIEWER


def test_the_default_open_routes_are_health_ping_metrics_and_the_docs_page() -> None:
    assert check_open_routes(DEFAULT_OPEN_ROUTES) == {
        "/v2/health/live", "/v2/health/ready", "/ping", "/metrics", "/docs", "/docs/static",
    }  # fmt: skip
    assert Settings.load().auth.open_routes == list(DEFAULT_OPEN_ROUTES)


def test_an_open_route_that_is_not_a_route_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'/health' is not a route.*see docs/security.md"):
        check_open_routes(["/ping", "/health"])
    assert check_open_routes([]) == frozenset()


@pytest.mark.parametrize(
    "path", ["/models/{name}/aliases/{alias}", "/models/{name}/aliases/{alias}/rollback"]
)
def test_a_route_above_predictor_cannot_be_open(path: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_open_routes(["/ping", path])
    said = str(refused.value)
    assert f"'{path}' needs the operator role" in said
    assert "setting 'auth.open_routes'" in said
    assert "viewer or predictor" in said
    predictor_routes = [r.path for r in ROLE_TABLE if r.role is Role.PREDICTOR]
    assert check_open_routes(predictor_routes) == frozenset(predictor_routes)


def test_open_routes_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRYMAN_AUTH__OPEN_ROUTES", "/ping, /metrics")
    assert Settings.load().auth.open_routes == ["/ping", "/metrics"]


@pytest.mark.parametrize(
    ("header", "reason", "said"),
    [
        (b"Basic dXNlcjpwYXNz", "unknown scheme", "'Basic' scheme"),
        (b"B\xe9arer x", "malformed", "not ASCII"),
        (b"Bearer", "empty token", "no token"),
        (b"Bearer   ", "empty token", "no token"),
        (b"Bearer " + b"a" * MAX_HEADER, "malformed", "longer than"),
        (b"weird:scheme!! token", "unknown scheme", "a scheme"),
    ],
)
def test_bad_headers_say_what_is_wrong_without_echoing_them(
    header: bytes, reason: str, said: str
) -> None:
    with pytest.raises(AuthenticationError) as refused:
        _bearer(header)
    assert refused.value.reason == reason
    assert said in str(refused.value)
    assert "dXNlcjpwYXNz" not in str(refused.value)


def test_the_bearer_scheme_is_case_insensitive_and_the_token_trimmed() -> None:
    assert _bearer(b"bearer  fm_abc ") == "fm_abc"
    assert _bearer(b"BEARER fm_abc") == "fm_abc"


def test_the_limiter_answers_after_max_failures_until_the_window_ends() -> None:
    limiter = FailureLimiter(max_failures=3, window=0.2)
    for _ in range(2):
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")
    wait = limiter.retry_after("10.0.0.1")
    assert wait is not None
    assert 0 < wait <= 0.2
    assert limiter.retry_after("10.0.0.2") is None  # another address is not slowed
    time.sleep(0.25)
    assert limiter.retry_after("10.0.0.1") is None
    limiter.failed("10.0.0.1")  # a new window
    assert limiter.retry_after("10.0.0.1") is None


def test_the_limiter_keeps_a_bounded_number_of_addresses() -> None:
    limiter = FailureLimiter(max_failures=1, window=60, max_clients=100)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    assert limiter.retry_after("10.0.3.231") is not None  # the most recent is kept
    assert limiter.retry_after("10.0.0.0") is None  # the oldest was dropped


def test_the_limiter_follows_the_settings_and_their_defaults(home: Path) -> None:
    defaults = AuthSettings()
    limiter = Gate(None, "off").limiter
    assert (limiter.max_failures, limiter.window) == (defaults.max_failures, 60.0)
    settings = Settings.load(home=home, auth={"max_failures": 3, "failure_seconds": 7.5})
    registry = Registry(settings)
    try:
        limiter = create_app(registry).state.gate.limiter
    finally:
        registry.close()
    assert (limiter.max_failures, limiter.window) == (3, 7.5)


def test_a_limiter_of_zero_failures_never_limits() -> None:
    limiter = FailureLimiter(max_failures=0, window=60)
    for _ in range(50):
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") is None
    assert len(limiter) == 0
