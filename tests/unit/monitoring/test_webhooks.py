"""Webhook delivery against a real HTTP receiver on 127.0.0.1: body, retries, records."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ferryman.config import AlertRule, ModelMonitoring, MonitoringSettings
from ferryman.errors import ConfigError
from ferryman.monitoring.alerts import AlertBook, Observation
from ferryman.monitoring.storage import AlertEvent, MonitorStore, NewAlert
from ferryman.monitoring.webhooks import WebhookNotifier, shown_url
from ferryman.store import open_database

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FAST: dict[str, Any] = {"base_delay": 0.01, "max_delay": 0.05, "timeout": 2.0}


class Receiver:
    """An HTTP server that records each POST and fails the first ``fail_first`` of them."""

    def __init__(self, fail_first: int = 0, status: int = 204) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first = fail_first
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(data))
                receiver.headers.append(dict(self.headers))
                failing = len(receiver.bodies) <= receiver.fail_first
                self.send_response(503 if failing else receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MonitorStore]:
    engine = open_database(f"sqlite:///{tmp_path / 'meta.db'}")
    yield MonitorStore(engine)
    engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def dead_url() -> str:
    """A local port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def fire(store: MonitorStore, model: str = "churn", fp: str = "fp") -> AlertEvent:
    event, _ = store.fire_alert(
        NewAlert(
            model=model,
            rule="dataset-drift",
            severity="warning",
            fingerprint=fp,
            value=0.35,
            threshold=0.2,
            message="churn: share of drifted features is 0.35",
            version=3,
            evidence={"drifted_features": ["age"]},
        ),
        T0,
    )
    return event


def test_an_event_is_posted_as_json(store: MonitorStore, receiver: Receiver) -> None:
    event = fire(store)
    notifier = WebhookNotifier([receiver.url], store, **FAST)
    notifier.notify(event, "fired")
    assert notifier.close(5)
    [body] = receiver.bodies
    assert body["event_id"] == event.id
    assert {k: body[k] for k in ("model", "version", "rule", "severity", "state")} == {
        "model": "churn",
        "version": 3,
        "rule": "dataset-drift",
        "severity": "warning",
        "state": "fired",
    }
    assert (body["value"], body["threshold"]) == (0.35, 0.2)
    assert body["evidence"] == {"drifted_features": ["age"]}
    assert body["first_seen"] == "2026-03-01T00:00:00Z"
    assert body["resolved_at"] is None
    assert body["message"].startswith("churn: share")
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert receiver.headers[0]["Idempotency-Key"] == f"ferryman-alert-{event.id}-fired"
    [delivery] = store.alert_deliveries(event.id)
    assert (delivery.ok, delivery.status_code, delivery.attempt, delivery.error) == (
        True,
        204,
        1,
        None,
    )
    assert (delivery.target, delivery.state) == (receiver.url, "fired")


def test_failures_are_retried_and_each_attempt_recorded(store: MonitorStore) -> None:
    flaky = Receiver(fail_first=2)
    try:
        event = fire(store)
        notifier = WebhookNotifier([flaky.url], store, attempts=4, **FAST)
        notifier.notify(event, "fired")
        assert notifier.close(5)
    finally:
        flaky.close()
    assert len(flaky.bodies) == 3
    attempts = [(d.attempt, d.ok, d.status_code) for d in store.alert_deliveries(event.id)]
    assert attempts == [(1, False, 503), (2, False, 503), (3, True, 204)]
    assert store.alert_deliveries(event.id)[0].error == "HTTP 503 Service Unavailable"
    assert [h["X-Ferryman-Attempt"] for h in flaky.headers] == ["1", "2", "3"]


def test_a_dead_url_records_every_attempt_and_never_raises(store: MonitorStore) -> None:
    event = fire(store)
    notifier = WebhookNotifier([dead_url()], store, attempts=3, **FAST)
    started = time.monotonic()
    notifier.notify(event, "fired")
    assert time.monotonic() - started < 0.5  # the caller does not wait for the attempts
    assert notifier.close(5)
    deliveries = store.alert_deliveries(event.id)
    assert [(d.attempt, d.ok, d.status_code) for d in deliveries] == [
        (1, False, None),
        (2, False, None),
        (3, False, None),
    ]
    assert all(d.error and d.error.startswith("cannot connect") for d in deliveries)


def test_a_slow_receiver_does_not_block_the_caller(store: MonitorStore) -> None:
    gate = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            gate.wait(5)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        notifier = WebhookNotifier([f"http://127.0.0.1:{server.server_address[1]}/"], store)
        event = fire(store)
        started = time.monotonic()
        notifier.notify(event, "fired")
        notifier.notify(event, "resolved")
        assert time.monotonic() - started < 0.5
        assert notifier.pending() == 2
        gate.set()
        assert notifier.close(5)
    finally:
        gate.set()
        server.shutdown()
        server.server_close()
        thread.join()
    assert [(d.state, d.ok) for d in store.alert_deliveries(event.id)] == [
        ("fired", True),
        ("resolved", True),
    ]


def test_the_book_notifies_webhooks_once_per_fire_and_resolution(
    store: MonitorStore, receiver: Receiver
) -> None:
    notifier = WebhookNotifier([receiver.url], store, **FAST)
    book = AlertBook(store, notifier)
    rule = AlertRule(name="dataset-drift", metric="drift_share", threshold=0.2)
    for hour, share in enumerate([0.3, 0.4, 0.1, 0.1]):
        start = T0 + timedelta(hours=hour)
        seen = Observation("churn", start, start + timedelta(hours=1), drift_share=share)
        book.check([rule], seen, at=start + timedelta(hours=1))
    assert notifier.close(5)
    assert [(b["state"], b["value"]) for b in receiver.bodies] == [
        ("fired", 0.3),
        ("resolved", 0.4),
    ]
    assert receiver.bodies[1]["resolved_at"] == "2026-03-01T03:00:00Z"


def test_model_webhooks_hear_only_their_model(store: MonitorStore, receiver: Receiver) -> None:
    settings = MonitoringSettings(
        webhooks=[], models={"churn": ModelMonitoring(webhooks=[receiver.url])}
    )
    notifier = WebhookNotifier.from_settings(settings, store, **FAST)
    assert notifier.targets("churn") == [receiver.url]
    assert notifier.targets("fraud") == []
    notifier.notify(fire(store, "fraud", "f1"), "fired")
    notifier.notify(fire(store, "churn", "c1"), "fired")
    assert notifier.close(5)
    assert [b["model"] for b in receiver.bodies] == ["churn"]


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "example.com/hook", "http://", ""]
)
def test_a_url_that_is_not_http_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="not an http or https URL"):
        WebhookNotifier([url], None)
    settings = MonitoringSettings(models={"m": ModelMonitoring(webhooks=[url])})
    with pytest.raises(ConfigError, match="not an http or https URL"):
        WebhookNotifier.from_settings(settings, None)


def test_bad_retry_settings_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="attempts >= 1"):
        WebhookNotifier(["http://127.0.0.1/"], None, attempts=0)


def test_secrets_in_a_url_are_not_recorded() -> None:
    assert shown_url("https://bot:s3cret@hooks.example.com:8443/a/b?token=xyz") == (
        "https://hooks.example.com:8443/a/b"
    )


def test_close_gives_up_on_what_cannot_finish_in_time(store: MonitorStore) -> None:
    notifier = WebhookNotifier([dead_url()], store, attempts=5, base_delay=10, timeout=1)
    notifier.notify(fire(store), "fired")
    started = time.monotonic()
    assert not notifier.close(0.3)
    assert time.monotonic() - started < 3
    notifier.notify(fire(store, fp="later"), "fired")  # after close: ignored, logged
    assert notifier.pending() == 0
