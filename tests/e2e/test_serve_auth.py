"""Access control on a real ``ferryman serve``: every route and method against every role.

One store holds two models, ``alpha`` and ``beta``, and a token of each role, one revoked, and
an operator scoped to ``beta*``. The matrix reads the routes from the app itself, so a route
added without a row here (or in the role table) fails it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import Pipeline
from starlette.routing import Mount, Route

from ferryman.access import TokenBook
from ferryman.config import Settings
from ferryman.http.access import ROLE_TABLE
from ferryman.registry import Registry
from ferryman.server.app import create_app
from live_server import FERRYMAN, LiveServer, cli_json, free_port

ROLES = ("none", "bad", "revoked", "viewer", "predictor", "operator", "admin", "elsewhere")
LEVEL = {"viewer": 1, "predictor": 2, "operator": 3, "admin": 4, "elsewhere": 3}
NEEDS = {"viewer": 1, "predictor": 2, "operator": 3, "admin": 4}
OPEN = {"/v2/health/live", "/v2/health/ready", "/ping", "/metrics", "/docs", "/docs/static"}
UNKNOWN_TOKEN = "fm_" + "A" * 43  # well formed, not on record
NO_LIMIT = {"FERRYMAN_AUTH__MAX_FAILURES": "0"}  # the matrix sends many refused tokens


@dataclass
class Call:
    """How the matrix calls one (route, method), and what an allowed caller gets."""

    url: str
    status: int
    body: Any = None
    model_route: bool = False  # names a model: a token scoped elsewhere gets 404


def calls(features: list[str], row: list[float]) -> dict[tuple[str, str], Call]:
    record = {"records": [dict(zip(features, row, strict=True))]}
    infer = {"inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": row}]}
    return {
        ("/models", "GET"): Call("/models", 200),
        ("/models/{ref:path}", "GET"): Call("/models/alpha", 200, model_route=True),
        ("/models/{ref:path}/predict", "POST"): Call(
            "/models/alpha/predict", 200, record, model_route=True
        ),
        ("/models/{name}/feedback", "POST"): Call(
            "/models/alpha/feedback", 400, [], model_route=True
        ),
        ("/models/{name}/monitoring", "GET"): Call(
            "/models/alpha/monitoring", 200, model_route=True
        ),
        ("/models/{name}/aliases/{alias}", "PUT"): Call(
            "/models/alpha/aliases/staging", 200, {"version": 1}, model_route=True
        ),
        ("/models/{name}/aliases/{alias}", "DELETE"): Call(
            "/models/alpha/aliases/nothing", 404, model_route=True
        ),
        ("/models/{name}/aliases/{alias}/rollback", "POST"): Call(
            "/models/alpha/aliases/nothing/rollback", 404, model_route=True
        ),
        ("/v2", "GET"): Call("/v2", 200),
        ("/v2/health/live", "GET"): Call("/v2/health/live", 200),
        ("/v2/health/ready", "GET"): Call("/v2/health/ready", 200),
        ("/v2/models", "GET"): Call("/v2/models", 200),
        ("/v2/models/{name}", "GET"): Call("/v2/models/alpha", 200, model_route=True),
        ("/v2/models/{name}/ready", "GET"): Call("/v2/models/alpha/ready", 200, model_route=True),
        ("/v2/models/{name}/infer", "POST"): Call(
            "/v2/models/alpha/infer", 200, infer, model_route=True
        ),
        ("/v2/models/{name}/versions/{version}", "GET"): Call(
            "/v2/models/alpha/versions/1", 200, model_route=True
        ),
        ("/v2/models/{name}/versions/{version}/ready", "GET"): Call(
            "/v2/models/alpha/versions/1/ready", 200, model_route=True
        ),
        ("/v2/models/{name}/versions/{version}/infer", "POST"): Call(
            "/v2/models/alpha/versions/1/infer", 200, infer, model_route=True
        ),
        ("/ping", "GET"): Call("/ping", 200),
        ("/invocations", "POST"): Call("/invocations", 200, record, model_route=True),
        ("/execution-parameters", "GET"): Call("/execution-parameters", 200),
        ("/metrics", "GET"): Call("/metrics", 200),
        ("/openapi.json", "GET"): Call("/openapi.json", 200),
        ("/docs", "GET"): Call("/docs", 200),
        ("/docs/static", "GET"): Call("/docs/static/swagger-ui.css", 200),
    }


@dataclass
class Secured:
    home: Path
    registry_settings: Settings
    tokens: dict[str, str]
    features: list[str]
    row: list[float]


@pytest.fixture(scope="module")
def secured(
    tmp_path_factory: pytest.TempPathFactory, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Secured:
    home = tmp_path_factory.mktemp("auth") / "store"
    settings = Settings.load(home=home, actor="tester", record_git=False)
    registry = Registry(settings)
    for name in ("alpha", "beta"):
        registry.register(
            cancer_model, name, train_data=cancer_frame, target="target", aliases=["production"]
        )
    book = TokenBook(registry)
    tokens = {role: book.create(role, role)[1] for role in NEEDS}
    tokens["elsewhere"] = book.create("elsewhere", "operator", models=["beta*"])[1]
    tokens["revoked"] = book.create("gone", "admin")[1]
    book.revoke("gone")
    tokens["bad"] = UNKNOWN_TOKEN
    registry.close()
    features = cancer_frame.drop(columns="target")
    columns = [str(c) for c in features.columns]
    return Secured(home, settings, tokens, columns, [float(v) for v in features.iloc[0]])


@pytest.fixture(scope="module")
def live(secured: Secured) -> Iterator[LiveServer]:
    server = LiveServer(secured.home, ("--sagemaker-model", "alpha"), env=NO_LIMIT).start()
    yield server
    server.stop()


def headers_of(secured: Secured, role: str) -> dict[str, str]:
    if role == "none":
        return {}
    return {"Authorization": f"Bearer {secured.tokens[role]}"}


def expected(path: str, method: str, role: str, call: Call) -> int:
    if path in OPEN:
        return call.status
    if role in ("none", "bad", "revoked"):
        return 401
    rule = next(r for r in ROLE_TABLE if (r.path, r.method) == (path, method.upper()))
    if LEVEL[role] < int(rule.role):
        return 403
    if role == "elsewhere" and call.model_route:
        return 404
    return call.status


def app_routes(secured: Secured) -> list[tuple[str, str]]:
    """Every (route, method) the server's app answers, read from the app."""
    registry = Registry(secured.registry_settings)
    try:
        app = create_app(registry)
        found = []
        for route in app.routes:
            if isinstance(route, Route):
                found += [(route.path, m) for m in sorted(route.methods or ())]
            elif isinstance(route, Mount):
                found += [(route.path, "GET"), (route.path, "HEAD")]
        return found
    finally:
        registry.close()


def test_every_route_and_method_against_every_role(secured: Secured, live: LiveServer) -> None:
    table = calls(secured.features, secured.row)
    routes = app_routes(secured)
    assert len(routes) >= 40
    missing = sorted({(path, m) for path, m in routes if (path, m.replace("HEAD", "GET"))
                      not in table})  # fmt: skip
    assert missing == [], "a route without a row in this test's table"
    wrong = []
    with httpx.Client(base_url=live.url, timeout=30) as client:
        for path, method in routes:
            call = table[(path, method.replace("HEAD", "GET"))]
            for role in ROLES:
                want = expected(path, method.replace("HEAD", "GET"), role, call)
                kwargs: dict[str, Any] = {"headers": headers_of(secured, role)}
                if call.body is not None and method not in ("GET", "HEAD", "DELETE"):
                    kwargs["json"] = call.body
                answer = client.request(method, call.url, **kwargs)
                if answer.status_code != want:
                    wrong.append((method, call.url, role, want, answer.status_code, answer.text))
                    continue
                if want in (401, 403):
                    check_refusal(answer, path, method, want, secured)
    assert wrong == []


def check_refusal(
    answer: httpx.Response, path: str, method: str, status: int, secured: Secured
) -> None:
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ferryman"')
    if status == 403:
        assert 'error="insufficient_scope"' in challenge
    if method == "HEAD":
        return
    body = answer.json()
    if path.startswith("/v2"):
        assert set(body) == {"error"}
    else:
        assert set(body) == {"error", "kind", "request_id"}
        assert body["kind"] == ("unauthorized" if status == 401 else "forbidden")
    assert not any(secret in answer.text for secret in secured.tokens.values())


def test_a_token_scoped_elsewhere_gets_the_answer_of_a_missing_model(
    secured: Secured, live: LiveServer
) -> None:
    elsewhere = headers_of(secured, "elsewhere")
    with httpx.Client(base_url=live.url, timeout=30) as client:
        for path in ("/models/{}", "/v2/models/{}", "/models/{}/monitoring"):
            hidden = client.get(path.format("alpha"), headers=elsewhere)
            missing = client.get(path.format("nosuch"), headers=elsewhere)
            assert hidden.status_code == missing.status_code == 404
            one, other = hidden.json(), missing.json()
            one.pop("request_id", None)
            other.pop("request_id", None)
            assert one == {k: v.replace("nosuch", "alpha") for k, v in other.items()}
            assert "alpha" not in missing.text  # the not-found answer lists only beta
        assert client.get("/models", headers=elsewhere).json()["models"][0]["name"] == "beta"
        assert [m["name"] for m in client.get("/models", headers=elsewhere).json()["models"]] == [
            "beta"
        ]
        assert client.get("/v2/models", headers=elsewhere).json() == {"models": ["beta"]}
        viewer = headers_of(secured, "viewer")
        assert client.get("/v2/models", headers=viewer).json() == {"models": ["alpha", "beta"]}


def test_invocations_never_name_a_model_outside_the_token_scope(
    secured: Secured, live: LiveServer
) -> None:
    record = {"records": [dict(zip(secured.features, secured.row, strict=True))]}
    elsewhere = headers_of(secured, "elsewhere")
    hidden = httpx.post(f"{live.url}/invocations", json=record, headers=elsewhere)  # alpha
    assert hidden.status_code == 404
    assert "alpha" not in hidden.text
    assert "beta" in hidden.json()["error"]  # what the token may use instead
    viewer = httpx.post(
        f"{live.url}/invocations", json=record, headers=headers_of(secured, "predictor")
    )
    assert viewer.status_code == 200


def test_invocations_without_a_default_list_only_the_models_the_token_sees(
    secured: Secured,
) -> None:
    server = LiveServer(secured.home, env=NO_LIMIT).start()  # two models, no default
    try:
        record = {"records": [dict(zip(secured.features, secured.row, strict=True))]}
        scoped = httpx.post(
            f"{server.url}/invocations", json=record, headers=headers_of(secured, "elsewhere")
        )
        assert scoped.status_code == 404
        assert "--sagemaker-model" in scoped.json()["error"]
        assert "beta" in scoped.json()["error"]
        assert "alpha" not in scoped.text
        full = httpx.post(
            f"{server.url}/invocations", json=record, headers=headers_of(secured, "operator")
        )
        assert full.status_code == 404
        assert "alpha, beta" in full.json()["error"]
    finally:
        server.stop()


def test_the_openapi_examples_use_only_models_the_token_sees(
    secured: Secured, live: LiveServer
) -> None:
    scoped = httpx.get(f"{live.url}/openapi.json", headers=headers_of(secured, "elsewhere"))
    assert scoped.status_code == 200
    assert "alpha" not in scoped.text
    ref = scoped.json()["paths"]["/models/{ref}"]["get"]["parameters"][0]
    assert ref["schema"]["example"] == "beta"
    full = httpx.get(f"{live.url}/openapi.json", headers=headers_of(secured, "viewer"))
    ref = full.json()["paths"]["/models/{ref}"]["get"]["parameters"][0]
    assert ref["schema"]["example"] in ("alpha", "beta")


def test_the_docs_page_asks_for_a_token_when_its_document_needs_one(
    secured: Secured, live: LiveServer
) -> None:
    page = httpx.get(f"{live.url}/docs")  # open: no token
    assert page.status_code == 200
    script = page.text
    # the page fetches the document itself; on 401 or 403 it shows a token field, keeps the
    # token in sessionStorage, and sends it with the document and every "Try it out" request
    assert 'fetch("/openapi.json"' in script
    assert "sessionStorage" in script
    assert '<input id="secret" type="password"' in script
    assert "requestInterceptor" in script
    assert '"Bearer " + token' in script
    assert httpx.get(f"{live.url}/openapi.json").status_code == 401  # what the page handles
    token = headers_of(secured, "viewer")
    assert httpx.get(f"{live.url}/openapi.json", headers=token).status_code == 200
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"):
        assert httpx.get(f"{live.url}{asset}").status_code == 200  # loads with no token


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("Basic dXNlcjpwYXNz", "'Basic' scheme"),
        ("Bearer", "no token"),
        ("Bearer not-a-token", "malformed token"),
        ("Bearer " + "x" * 5000, "longer than"),
        ("Token " + UNKNOWN_TOKEN, "'Token' scheme"),
        ("Bearer " + UNKNOWN_TOKEN, "no such token"),
    ],
)
def test_bad_authorization_headers_are_401_naming_the_problem(
    secured: Secured, live: LiveServer, header: str, said: str
) -> None:
    answer = httpx.post(
        f"{live.url}/models/alpha/predict", json={}, headers={"Authorization": header}
    )
    assert answer.status_code == 401
    assert said in answer.json()["error"]
    assert header.partition(" ")[2].strip() not in answer.text or said == "no token"
    assert answer.headers["www-authenticate"] == 'Bearer realm="ferryman", error="invalid_token"'


def test_non_ascii_and_repeated_headers_are_401(secured: Secured, live: LiveServer) -> None:
    good = secured.tokens["admin"].encode()
    for headers in (
        [(b"authorization", b"Bearer \xe9\xe8")],
        [(b"authorization", b"Bearer " + good), (b"authorization", b"Bearer " + good)],
    ):
        status, text = raw_request(live.port, b"GET", b"/models", headers)
        assert status == 401, text
        assert good.decode() not in text


def raw_request(
    port: int, method: bytes, path: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, str]:
    """One HTTP/1.1 request over a plain socket (headers exactly as given): status, answer."""
    lines = [method + b" " + path + b" HTTP/1.1", b"host: 127.0.0.1", b"connection: close"]
    lines += [name + b": " + value for name, value in headers]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer.decode("latin-1")


PATHS = [b"/models", b"/models/alpha/predict", b"/v2/models/alpha/infer", b"/invocations",
         b"/models/alpha/aliases/x"]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=st.binary(max_size=300).filter(lambda b: b"\r" not in b and b"\n" not in b),
    name=st.sampled_from([b"authorization", b"x-request-id", b"content-type", b"accept"]),
    path=st.sampled_from(PATHS),
    method=st.sampled_from([b"GET", b"POST", b"PUT"]),
)
def test_no_header_value_yields_a_server_error(
    secured: Secured, live: LiveServer, value: bytes, name: bytes, path: bytes, method: bytes
) -> None:
    status, text = raw_request(live.port, method, path, [(name, value)])
    assert 0 < status < 500, text


def test_tritonclient_sends_the_token_as_a_header(secured: Secured, live: LiveServer) -> None:
    client = triton.InferenceServerClient(f"127.0.0.1:{live.port}")
    tensor = triton.InferInput("x", [1, 30], "FP64")
    tensor.set_data_from_numpy(np.array([secured.row]))
    with pytest.raises(triton.InferenceServerException) as refused:
        client.infer("alpha", [tensor])
    assert refused.value.status() == "401"
    assert "needs a token" in refused.value.message()
    answer = client.infer("alpha", [tensor], headers=headers_of(secured, "predictor"))
    assert answer.as_numpy("predict").shape == (1,)


def test_tokens_never_reach_the_log_or_the_metrics(secured: Secured, live: LiveServer) -> None:
    metrics = httpx.get(f"{live.url}/metrics").text
    assert "ferryman_auth_refusals_total" in metrics
    for secret in secured.tokens.values():
        assert secret not in metrics
        assert secret not in live.log()


def test_an_alias_moved_over_http_names_the_token_in_history(
    secured: Secured, live: LiveServer
) -> None:
    answer = httpx.put(
        f"{live.url}/models/beta/aliases/canary",
        json={"version": 1},
        headers=headers_of(secured, "operator"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["actor"] == "token:operator"
    assert answer.json()["to_version"] == 1
    history = cli_json(secured.home, "history", "beta")["events"]
    moves = [e for e in history if e.get("alias") == "canary"]
    assert [e["actor"] for e in moves] == ["token:operator"]
    rolled = httpx.post(
        f"{live.url}/models/beta/aliases/canary/rollback", headers=headers_of(secured, "admin")
    )
    assert rolled.status_code == 409, rolled.text  # no earlier move to go back to
    assert "canary" in rolled.json()["error"]
    removed = httpx.delete(
        f"{live.url}/models/beta/aliases/canary", headers=headers_of(secured, "admin")
    )
    assert removed.status_code == 200, removed.text
    assert (removed.json()["from_version"], removed.json()["actor"]) == (1, "token:admin")


def test_repeated_failures_from_one_address_answer_429(secured: Secured) -> None:
    env = {"FERRYMAN_AUTH__MAX_FAILURES": "3", "FERRYMAN_AUTH__FAILURE_SECONDS": "2"}
    server = LiveServer(secured.home, ("--models", "alpha"), env=env).start()
    try:
        bad = {"Authorization": f"Bearer {UNKNOWN_TOKEN}"}
        good = headers_of(secured, "viewer")
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert [client.get("/models", headers=bad).status_code for _ in range(3)] == [401] * 3
            limited = client.get("/models", headers=good)  # even the right token waits
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["retry-after"]) <= 2
            assert limited.json()["kind"] == "too_many_failures"
            time.sleep(2.1)
            assert client.get("/models", headers=good).status_code == 200
    finally:
        server.stop()


def one_model_store(tmp_path: Path, frame: pd.DataFrame, model: Pipeline) -> Path:
    """A new store whose one model, ``alpha``, has a production version."""
    home = tmp_path / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    registry.register(model, "alpha", train_data=frame, target="target", aliases=["production"])
    registry.close()
    return home


def test_loopback_without_tokens_is_open_and_a_new_token_closes_it(
    tmp_path: Path, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    home = one_model_store(tmp_path, cancer_frame, cancer_model)
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    server = LiveServer(home).start()
    try:
        assert httpx.get(f"{server.url}/models").status_code == 200
        secret = TokenBook(registry).create("late", "viewer")[1]
        deadline = time.monotonic() + 10
        while httpx.get(f"{server.url}/models").status_code == 200:
            assert time.monotonic() < deadline, "the new token did not turn auth on"
            time.sleep(0.1)
        assert httpx.get(f"{server.url}/models").status_code == 401
        auth = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{server.url}/models", headers=auth).status_code == 200
    finally:
        server.stop()
        registry.close()


def test_tokens_reach_both_workers_and_survive_a_restart(secured: Secured) -> None:
    registry = Registry(secured.registry_settings)
    book = TokenBook(registry)
    kept = {"Authorization": f"Bearer {book.create('kept', 'viewer')[1]}"}
    shared = {"Authorization": f"Bearer {book.create('shared', 'viewer')[1]}"}
    args = ("--workers", "2", "--models", "alpha")
    try:
        server = LiveServer(secured.home, args, env=NO_LIMIT).start()
        try:
            # fresh connections: either worker may answer each
            assert {ready_get(server, "/models", shared) for _ in range(20)} == {200}
            book.revoke("shared")
            time.sleep(2.5)  # the refresh interval (1 s) and then some
            answers = {ready_get(server, "/models", shared) for _ in range(20)}
            assert answers == {401}, "a worker still took the revoked token"
        finally:
            server.stop()
        server = LiveServer(secured.home, ("--models", "alpha"), env=NO_LIMIT).start()
        try:  # read back from the store by a new process
            assert ready_get(server, "/models", kept) == 200
            assert ready_get(server, "/models", shared) == 401
        finally:
            server.stop()
    finally:
        registry.close()


def ready_get(server: LiveServer, path: str, headers: dict[str, str]) -> int:
    """One GET on a fresh connection (so that either worker may answer it)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.get(path, headers=headers).status_code


def serve_cli(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FERRYMAN), "--home", str(home), "serve", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_public_address_without_tokens_is_refused_unless_no_auth(
    tmp_path: Path, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    home = one_model_store(tmp_path, cancer_frame, cancer_model)
    refused = serve_cli(home, "--host", "0.0.0.0")
    assert refused.returncode == 1
    assert "ferryman tokens create NAME --role predictor" in refused.stderr
    assert "--no-auth" in refused.stderr
    assert "Traceback" not in refused.stderr
    server = LiveServer(home, ("--host", "0.0.0.0", "--no-auth")).start()
    try:
        assert httpx.get(f"{server.url}/models").status_code == 200
        assert "access control is off (--no-auth)" in server.log()
    finally:
        server.stop()


def test_deleting_the_last_token_keeps_a_public_server_closed(
    tmp_path: Path, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    home = one_model_store(tmp_path, cancer_frame, cancer_model)
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    secret = TokenBook(registry).create("only", "viewer")[1]
    auth = {"Authorization": f"Bearer {secret}"}
    server = LiveServer(home, ("--host", "0.0.0.0")).start()  # reached through 127.0.0.1
    try:
        assert httpx.get(f"{server.url}/models", headers=auth).status_code == 200
        assert httpx.get(f"{server.url}/models").status_code == 401
        TokenBook(registry).delete("only")
        time.sleep(2.5)  # the refresh interval (1 s) and then some
        for _ in range(5):
            assert httpx.get(f"{server.url}/models").status_code == 401
            assert httpx.get(f"{server.url}/models", headers=auth).status_code == 401
            assert httpx.post(f"{server.url}/models/alpha/predict", json={}).status_code == 401
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200  # open still
    finally:
        server.stop()
        registry.close()


def test_a_bad_open_route_setting_is_refused_before_serving(
    tmp_path: Path, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    home = one_model_store(tmp_path, cancer_frame, cancer_model)
    done = subprocess.run(
        [str(FERRYMAN), "--home", str(home), "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**_clean_env(), "FERRYMAN_AUTH__OPEN_ROUTES": "/ping,/nowhere"},
    )
    assert done.returncode == 1
    assert "'/nowhere' is not a route" in done.stderr
    assert "Traceback" not in done.stderr


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
