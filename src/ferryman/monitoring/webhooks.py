"""Alert webhooks: each opened or resolved alert POSTed as JSON, retried, every attempt recorded.

Deliveries run on one background thread, so the evaluation that raised an alert never waits on
a slow or dead receiver. A failed attempt (connection refused, time-out, an answer other than
2xx) is retried after an exponentially growing pause; each attempt is kept in the store's
``alert_deliveries`` table with its status code or error text.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ferryman._version import __version__
from ferryman.config import MonitoringSettings
from ferryman.errors import ConfigError, FerrymanError
from ferryman.monitoring._json import iso_utc, json_safe
from ferryman.monitoring.alerts import Change
from ferryman.monitoring.storage import AlertEvent, MonitorStore

__all__ = ["WebhookNotifier", "check_webhook_url", "webhook_body"]

logger = logging.getLogger("ferryman.alerts")
MAX_FAILURES_KEPT = 100


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; ConfigError otherwise."""
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname)
    except (ValueError, TypeError, AttributeError):
        parts, has_host = None, False
    if parts is None or parts.scheme not in {"http", "https"} or not has_host:
        raise ConfigError(
            f"webhook URL {url!r} is not an http or https URL; write it like "
            "https://hooks.example.com/ferryman in the webhooks of [ferryman.monitoring]"
        )
    return url


def shown_url(url: str) -> str:
    """``url`` without a password or query string, which may hold secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def webhook_body(event: AlertEvent, change: Change) -> dict[str, Any]:
    """The JSON body of one delivery: the event as it was when it ``change``d."""
    body = {
        "event_id": event.id,
        "state": change,
        "model": event.model,
        "version": event.version,
        "rule": event.rule,
        "subject": event.subject,
        "severity": event.severity,
        "value": event.value,
        "threshold": event.threshold,
        "message": event.message,
        "evidence": event.evidence,
        "fingerprint": event.fingerprint,
        "first_seen": iso_utc(event.first_seen),
        "last_seen": iso_utc(event.last_seen),
        "resolved_at": None if event.resolved_at is None else iso_utc(event.resolved_at),
        "sent_at": iso_utc(datetime.now(UTC)),
    }
    out: dict[str, Any] = json_safe(body, "webhook body")
    return out


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be re-sent as a GET without its body: count 3xx as a failure.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class _Job:
    event_id: int
    change: Change
    url: str
    body: bytes
    attempt: int = 1


class WebhookNotifier:
    """Delivers alert changes to webhooks from a background thread.

    Parameters
    ----------
    urls : sequence of str
        Webhooks told about every model's alerts.
    store : MonitorStore or None
        Where each attempt is recorded (``alert_deliveries``); None records nothing.
    model_urls : mapping of str to sequence of str, optional
        Further webhooks per model, told about that model's alerts only.
    attempts : int
        Attempts per delivery, the first included.
    base_delay : float
        Seconds before the first retry; each later retry waits twice as long as the one
        before, up to ``max_delay``.
    timeout : float
        Seconds to wait for a receiver to answer one attempt.
    max_pending : int
        Deliveries waiting (retries included) beyond which new ones are dropped and logged.

    Attributes
    ----------
    delivered : int
        Deliveries a receiver accepted (answered 2xx).
    failures : deque of str
        One line per delivery given up (out of attempts, dropped, or unfinished at close).
    """

    def __init__(
        self,
        urls: Sequence[str],
        store: MonitorStore | None,
        *,
        model_urls: Mapping[str, Sequence[str]] | None = None,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        timeout: float = 5.0,
        max_pending: int = 1000,
    ) -> None:
        self.urls = [check_webhook_url(u) for u in urls]
        self.model_urls = {
            model: [check_webhook_url(u) for u in targets]
            for model, targets in (model_urls or {}).items()
        }
        if attempts < 1 or base_delay < 0 or max_delay < 0 or timeout <= 0 or max_pending < 1:
            raise ConfigError(
                "webhook delivery needs attempts >= 1, base_delay >= 0, max_delay >= 0, "
                f"timeout > 0 and max_pending >= 1; got attempts={attempts}, "
                f"base_delay={base_delay}, max_delay={max_delay}, timeout={timeout}, "
                f"max_pending={max_pending}"
            )
        self.store = store
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.max_pending = max_pending
        self.dropped = 0
        self.delivered = 0
        # the latest deliveries given up; bounded, as a server's notifier lives for months
        self.failures: deque[str] = deque(maxlen=MAX_FAILURES_KEPT)
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._queue: list[tuple[float, int, _Job]] = []
        self._order = itertools.count()
        self._busy = 0
        self._closed = False
        self._abandon = False
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls, settings: MonitoringSettings, store: MonitorStore | None, **options: Any
    ) -> WebhookNotifier:
        """A notifier for ``[ferryman.monitoring]``: its webhooks and each model's own."""
        model_urls = {name: m.webhooks for name, m in settings.models.items() if m.webhooks}
        return cls(settings.webhooks, store, model_urls=model_urls, **options)

    def targets(self, model: str) -> list[str]:
        """The webhooks told about ``model``'s alerts."""
        return list(dict.fromkeys([*self.urls, *self.model_urls.get(model, [])]))

    def notify(self, event: AlertEvent, change: Change) -> None:
        """Queue the delivery of ``event`` to every target; returns at once."""
        targets = self.targets(event.model)
        if not targets:
            return
        body = json.dumps(webhook_body(event, change), allow_nan=False).encode()
        with self._lock:
            if self._closed:
                self._fail(f"alert {event.id} ({change}) not delivered: webhooks are closed")
                return
            for url in targets:
                if len(self._queue) + self._busy >= self.max_pending:
                    self.dropped += 1
                    self._fail(
                        f"alert {event.id} ({change}) not delivered to {shown_url(url)}: "
                        f"{self.max_pending} deliveries already waiting"
                    )
                    continue
                self._push(_Job(event.id, change, url, body), time.monotonic())
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ferryman-webhooks", daemon=True
                )
                self._thread.start()

    def pending(self) -> int:
        """Deliveries not finished yet (waiting, retrying or under way)."""
        with self._lock:
            return len(self._queue) + self._busy

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking alerts and wait up to ``timeout`` seconds for the queue to drain.

        Returns True when every delivery finished (delivered or out of attempts); what is
        still waiting after ``timeout`` is abandoned and logged.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            drained = not self._queue and not self._busy
            if not drained:
                self._fail(
                    f"{len(self._queue) + self._busy} webhook deliveries unfinished after "
                    f"{timeout:g} s were given up"
                )
            self._abandon = True
            self._queue.clear()
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()) + self.timeout)
        return drained

    def _fail(self, message: str) -> None:
        """Log a delivery given up and keep it in ``failures`` (call with the lock held)."""
        logger.warning("%s", message)
        self.failures.append(message)

    # --- the delivery thread -------------------------------------------------------------------
    def _push(self, job: _Job, due: float) -> None:
        heapq.heappush(self._queue, (due, next(self._order), job))
        self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                job = self._next_job()
                if job is None:
                    return
                self._busy += 1
            try:
                retry = self._attempt(job)
            finally:
                with self._lock:
                    self._busy -= 1
                    if retry is not None and not self._abandon:
                        self._push(retry, time.monotonic() + self._delay(job.attempt))
                    self._lock.notify_all()

    def _next_job(self) -> _Job | None:
        """The next job that is due, waiting for it; None when the thread should end."""
        while True:
            if self._abandon or (self._closed and not self._queue and not self._busy):
                return None
            if not self._queue:
                self._lock.wait()
                continue
            wait = self._queue[0][0] - time.monotonic()
            if wait <= 0:
                return heapq.heappop(self._queue)[2]
            self._lock.wait(wait)

    def _delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def _attempt(self, job: _Job) -> _Job | None:
        """Make one attempt and record it; the job to retry, or None when done."""
        status, error = self._post(job)
        ok = status is not None and 200 <= status < 300
        if self.store is not None:
            try:
                self.store.record_delivery(
                    job.event_id,
                    job.change,
                    shown_url(job.url),
                    job.attempt,
                    ok=ok,
                    status_code=status,
                    error=error,
                )
            except FerrymanError as exc:
                logger.warning("cannot record the delivery of alert %d: %s", job.event_id, exc)
        if ok:
            with self._lock:
                self.delivered += 1
            return None
        where = shown_url(job.url)
        if job.attempt >= self.attempts:
            with self._lock:
                self._fail(
                    f"alert {job.event_id} ({job.change}) not delivered to {where} after "
                    f"{job.attempt} attempts: {error}"
                )
            return None
        logger.info("alert %d to %s failed (%s); retrying", job.event_id, where, error)
        return _Job(job.event_id, job.change, job.url, job.body, job.attempt + 1)

    def _post(self, job: _Job) -> tuple[int | None, str | None]:
        """One POST: the status code (None when there was no answer) and an error text."""
        request = urllib.request.Request(  # noqa: S310 - the scheme was checked to be http(s)
            job.url,
            data=job.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"ferryman/{__version__}",
                "Idempotency-Key": f"ferryman-alert-{job.event_id}-{job.change}",
                "X-Ferryman-Attempt": str(job.attempt),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                response.read(65536)
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            return None, f"cannot connect: {exc.reason}"
        except TimeoutError:
            return None, f"no answer within {self.timeout:g} s"
        except (OSError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if 200 <= status < 300:
            return status, None
        return status, f"HTTP {status}"
