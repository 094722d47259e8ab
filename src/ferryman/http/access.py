"""Who may call which route: the one role table, and the gate that enforces it.

Every route the app has is a row of ``ROLE_TABLE`` (path template, method, the least role it
needs); the setting ``auth.open_routes`` names the rows that need no token. ``guard`` wraps
each route's ASGI app with the gate and refuses to build the app when a route has no row, so
a new route cannot go unguarded. With auth active (``Gate``) a request needs ``Authorization:
Bearer TOKEN``: 401 without one or with a bad one, 403 when the token's role is too low, each
in the protocol's error shape with a ``WWW-Authenticate`` header; repeated 401s from one
address answer 429 for a while. The verified caller rides in the request's scope
(``caller_of``) for scopes and the audit actor.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ferryman.access import Caller, Role, TokenVerifier
from ferryman.config import DEFAULT_OPEN_ROUTES, AuthSettings
from ferryman.errors import AuthenticationError, ConfigError, PermissionDeniedError
from ferryman.http.bodies import request_id
from ferryman.http.errors import HttpError, error_response, v2_error_response

CALLER = "ferryman.caller"  # the scope key of the verified caller
REALM = 'Bearer realm="ferryman"'
MAX_HEADER = 1024  # an Authorization header longer than this is refused unread
AuthMode = Literal["auto", "on", "off"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the role table: ``role`` (or a higher one) may call ``method`` on ``path``
    (a route's path template, as the app declares it). Which rows need no token at all is a
    setting, ``auth.open_routes`` (``config.DEFAULT_OPEN_ROUTES``)."""

    path: str
    method: str
    role: Role


V, P, OP = Role.VIEWER, Role.PREDICTOR, Role.OPERATOR
ROLE_TABLE: tuple[Rule, ...] = (
    # the simple API
    Rule("/models", "GET", V),
    Rule("/models/{ref:path}", "GET", V),
    Rule("/models/{ref:path}/predict", "POST", P),
    Rule("/models/{name}/feedback", "POST", P),
    Rule("/models/{name}/monitoring", "GET", V),
    Rule("/models/{name}/aliases/{alias}", "PUT", OP),
    Rule("/models/{name}/aliases/{alias}", "DELETE", OP),
    Rule("/models/{name}/aliases/{alias}/rollback", "POST", OP),
    # the Open Inference Protocol (V2)
    Rule("/v2", "GET", V),
    Rule("/v2/health/live", "GET", V),
    Rule("/v2/health/ready", "GET", V),
    Rule("/v2/models", "GET", V),
    Rule("/v2/models/{name}", "GET", V),
    Rule("/v2/models/{name}/ready", "GET", V),
    Rule("/v2/models/{name}/infer", "POST", P),
    Rule("/v2/models/{name}/versions/{version}", "GET", V),
    Rule("/v2/models/{name}/versions/{version}/ready", "GET", V),
    Rule("/v2/models/{name}/versions/{version}/infer", "POST", P),
    # SageMaker
    Rule("/ping", "GET", V),
    Rule("/invocations", "POST", P),
    Rule("/execution-parameters", "GET", V),
    # the server's own pages
    Rule("/metrics", "GET", V),
    Rule("/openapi.json", "GET", V),
    Rule("/docs", "GET", V),
    Rule("/docs/static", "GET", V),
)


def check_open_routes(paths: Iterable[str]) -> frozenset[str]:
    """The routes a setting names as open, each checked against the role table."""
    known = {r.path for r in ROLE_TABLE}
    chosen = frozenset(paths)
    unknown = sorted(chosen - known)
    if unknown:
        raise ConfigError(
            f"setting 'auth.open_routes': {', '.join(repr(p) for p in unknown)} "
            f"{'is not a route' if len(unknown) == 1 else 'are not routes'} of the server; "
            f"routes: {', '.join(sorted(known))} (see docs/security.md)"
        )
    for path in sorted(chosen):
        role = max(r.role for r in ROLE_TABLE if r.path == path)
        if role > Role.PREDICTOR:  # a route that changes what the server serves
            raise ConfigError(
                f"setting 'auth.open_routes': {path!r} needs the {role.name.lower()} role, and "
                "such a route always needs a token; only routes of the viewer or predictor "
                "role may be open (see docs/security.md)"
            )
    return chosen


class FailureLimiter:
    """Slows down guessing: after ``max_failures`` refused Authorization headers within
    ``window`` seconds from one address, that address is answered 429 until its window ends.
    Keeps at most ``max_clients`` addresses (least recently failing dropped first); 0
    failures: off."""

    def __init__(self, max_failures: int, window: float, max_clients: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._seen: OrderedDict[str, list[float]] = OrderedDict()  # address -> [start, count]

    @classmethod
    def of(cls, settings: AuthSettings) -> FailureLimiter:
        """The limiter the settings ``auth.max_failures`` and ``auth.failure_seconds`` ask for."""
        return cls(settings.max_failures, settings.failure_seconds)

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may try again, or None when it may now."""
        entry = self._seen.get(address)
        if entry is None or entry[1] < self.max_failures:
            return None
        left = entry[0] + self.window - time.monotonic()
        return left if left > 0 else None

    def failed(self, address: str) -> None:
        if self.max_failures <= 0:
            return
        now = time.monotonic()
        entry = self._seen.get(address)
        if entry is None or now - entry[0] >= self.window:
            self._seen[address] = [now, 1.0]
        else:
            entry[1] += 1
        self._seen.move_to_end(address)
        while len(self._seen) > self.max_clients:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


class Gate:
    """Decides whether auth is active and admits or refuses a request.

    ``mode``: ``auto`` (active while at least one token exists), ``on`` (always), ``off``
    (``--no-auth``: never). ``on_refusal`` is told the reason of every refusal (metrics).
    """

    def __init__(
        self,
        verifier: TokenVerifier | None,
        mode: AuthMode = "auto",
        open_routes: Iterable[str] = DEFAULT_OPEN_ROUTES,
        limiter: FailureLimiter | None = None,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        if verifier is None and mode != "off":
            raise ConfigError("the server needs its token verifier unless auth is off")
        self.verifier = verifier
        self.mode = mode
        self.open_routes = check_open_routes(open_routes)
        self.limiter = limiter if limiter is not None else FailureLimiter.of(AuthSettings())
        self.on_refusal = on_refusal

    @property
    def active(self) -> bool:
        if self.mode == "auto":
            return self.verifier is not None and self.verifier.needs_auth
        return self.mode == "on"

    def admit(self, scope: Scope, role: Role) -> Caller:
        """The verified caller allowed ``role``; raises ``AuthenticationError`` (401),
        ``PermissionDeniedError`` (403) or a 429 ``HttpError``."""
        client = scope.get("client")
        address = client[0] if client else "-"
        wait = self.limiter.retry_after(address)
        if wait is not None:
            raise TooManyFailuresError(wait)
        try:
            caller = self._verify(_authorization(scope))
        except AuthenticationError as exc:
            if exc.reason != "no token":  # a header was sent: a guess, or a broken client
                self.limiter.failed(address)
            raise
        caller.require(role)  # PermissionDeniedError: the 403
        return caller

    def _verify(self, header: bytes | None) -> Caller:
        if header is None:
            raise AuthenticationError(
                'this route needs a token: send "Authorization: Bearer TOKEN" (an admin '
                "creates one with `ferryman tokens create NAME --role viewer`)",
                "no token",
            )
        assert self.verifier is not None  # active implies a verifier
        return self.verifier.check(_bearer(header))  # its errors never hold the token


class TooManyFailuresError(HttpError):
    """429: too many refused tokens from this address lately."""

    def __init__(self, wait: float) -> None:
        self.wait = max(1, round(wait + 0.5))
        super().__init__(
            429,
            f"too many requests with a missing or invalid token from this address; retry in "
            f"{self.wait} s",
            "too_many_failures",
        )


def _authorization(scope: Scope) -> bytes | None:
    found: bytes | None = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            if found is not None:
                raise AuthenticationError(
                    "the request has more than one Authorization header; send one", "malformed"
                )
            found = value
    return found


def _bearer(header: bytes) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header; never echoes the header."""
    usage = 'send "Authorization: Bearer TOKEN"'
    if len(header) > MAX_HEADER:
        raise AuthenticationError(
            f"the Authorization header is longer than {MAX_HEADER} bytes; {usage}", "malformed"
        )
    if not header.isascii():
        raise AuthenticationError(
            f"the Authorization header has characters that are not ASCII; {usage}", "malformed"
        )
    scheme, _, token = header.decode("ascii").strip().partition(" ")
    if scheme.lower() != "bearer":
        named = f"the {scheme!r} scheme" if scheme.isalnum() and len(scheme) <= 16 else "a scheme"
        raise AuthenticationError(
            f"the Authorization header uses {named} that this server does not take; {usage}",
            "unknown scheme",
        )
    token = token.strip()
    if not token:
        raise AuthenticationError(f"the Authorization header has no token; {usage}", "empty token")
    return token


def caller_of(request: Request) -> Caller | None:
    """The verified caller of ``request``; None while auth is not active or on open routes."""
    caller: Caller | None = request.scope.get(CALLER)
    return caller


def guard(routes: Sequence[BaseRoute], gate: Gate) -> list[BaseRoute]:
    """Copies of ``routes``, each route's app wrapped by ``gate`` per the role table; a route
    (or one of its methods) without a row stops the app from being built. The routes given
    are left as they are: they are module-level objects that every app built in this process
    shares, and each app has its own gate."""
    rules = {(r.path, r.method): r for r in ROLE_TABLE}
    missing: list[str] = []
    guarded: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route):
            methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        elif isinstance(route, Mount):
            methods = ["GET"]
        else:
            missing.append(repr(route))
            continue
        table = {m: rules.get((route.path, m)) for m in methods}
        missing += [f"{m} {route.path}" for m, rule in table.items() if rule is None]
        if "GET" in table:
            table["HEAD"] = table["GET"]
        wrapped = copy.copy(route)
        wrapped.app = _guarded(route.app, gate, {m: r for m, r in table.items() if r}, route.path)
        guarded.append(wrapped)
    if missing:
        raise RuntimeError(
            f"route(s) without a row in the role table (ferryman/http/access.py): "
            f"{', '.join(missing)}"
        )
    return guarded


def _guarded(app: ASGIApp, gate: Gate, rules: dict[str, Rule], path: str) -> ASGIApp:
    v2 = path.startswith("/v2")
    is_open = path in gate.open_routes

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if is_open or not gate.active:
            await app(scope, receive, send)
            return
        rule = rules.get(scope["method"])
        if rule is None:  # a method the route does not take: its own 405
            await app(scope, receive, send)
            return
        try:
            scope[CALLER] = gate.admit(scope, rule.role)
        except (AuthenticationError, PermissionDeniedError, TooManyFailuresError) as exc:
            await refusal(exc, scope, v2, gate)(scope, receive, send)
            return
        await app(scope, receive, send)

    guarded.__wrapped__ = app  # type: ignore[attr-defined]  # what the gate lets through to
    return guarded


def refusal(exc: Exception, scope: Scope, v2: bool, gate: Gate) -> Response:
    """The 401, 403 or 429 answer, in the protocol's shape, with its challenge header."""
    request = Request(scope)
    rid = request_id(request)
    headers = {"x-request-id": rid}
    if isinstance(exc, TooManyFailuresError):
        headers["retry-after"] = str(exc.wait)
        reason = "limited"
    elif isinstance(exc, PermissionDeniedError):
        headers["www-authenticate"] = f'{REALM}, error="insufficient_scope"'
        reason = "forbidden"
    else:
        missing = isinstance(exc, AuthenticationError) and exc.reason == "no token"
        headers["www-authenticate"] = REALM if missing else f'{REALM}, error="invalid_token"'
        reason = "no_token" if missing else "invalid_token"
    if gate.on_refusal is not None:
        gate.on_refusal(reason)
    if v2:
        return v2_error_response(exc, rid, headers)
    return error_response(exc, rid, headers)
