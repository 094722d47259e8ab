"""A schema-driven fuzzer (schemathesis) against a real server, from its own OpenAPI document.

Every operation of ``/openapi.json`` gets data that fits its schema and data that does not
(a fixed seed: the same cases every run); every answer must be below 500 and conform to the
document: a status it lists, its content type and its body schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sklearn.pipeline import Pipeline

from ferryman.config import Settings
from ferryman.registry import Registry
from live_server import LiveServer

CASES_PER_OPERATION = 25  # per operation and mode: some 400 cases in all, about 40 s
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FIXED = settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("schemathesis") / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    registry.register(
        cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=["production"]
    )
    registry.close()
    live = LiveServer(home).start()
    yield live
    live.stop()


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
    server: LiveServer,
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    spec = httpx.get(f"{server.url}/openapi.json").json()
    documented = {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item}
    # schemathesis leaves out the document's own route
    assert {op.label for op in operations} == documented - {"GET /openapi.json"}
    assert len(operations) >= 21
    sent = 0
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.get("/v2/health/live")
        for operation in operations:
            takes_input = bool(len(operation.body))
            # data that breaks the document needs something to break: a body (a path
            # parameter of any text cannot be broken)
            modes = [GenerationMode.POSITIVE] + [GenerationMode.NEGATIVE] * takes_input
            for mode in modes:

                @FIXED
                @given(case=operation.as_strategy(mode))
                def run(case: Case) -> None:
                    nonlocal sent
                    response = case.call(base_url=server.url, timeout=60)
                    sent += 1
                    case.validate_response(response, checks=CHECKS)

                run()
    assert sent >= 300
    log = server.log()
    assert "Traceback" not in log
