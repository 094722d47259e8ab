"""A real server against slow, idle and vanishing clients: real sockets, real deadlines."""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import time
from collections.abc import Callable, Sequence

import httpx
import pytest

from live_server import LiveServer

pytestmark = pytest.mark.usefixtures("cancer_served")

PREDICT = "/models/cancer/predict"


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setblocking(False)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """The server has closed ``sock`` (read end: EOF or reset); answers read meanwhile are
    dropped."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def wait_all_closed(
    socks: Sequence[socket.socket], within: float, drip: Callable[[float], None]
) -> float:
    """Seconds until the server closed every socket (``drip`` is called meanwhile with the
    time elapsed); fails after ``within`` seconds."""
    start = time.monotonic()
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    open_ = set(socks)
    while open_:
        elapsed = time.monotonic() - start
        assert elapsed < within, f"{len(open_)} of {len(socks)} sockets still open"
        drip(elapsed)
        for key, _ in selector.select(timeout=0.05):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if closed_by_server(sock):
                selector.unregister(sock)
                open_.discard(sock)
    return time.monotonic() - start


def test_idle_slow_header_and_slow_body_sockets_are_closed_while_others_are_answered(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server("--header-timeout", "1", "--body-timeout", "1")
    body = b'{"records": [' + b"{}" * 10  # never finished
    idle = [connect(server) for _ in range(100)]
    slow_header = [connect(server) for _ in range(100)]
    slow_body = [connect(server) for _ in range(100)]
    for sock in slow_header:
        sock.send(b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\n")
    for sock in slow_body:
        sock.send(
            b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + body
        )
    dripped = [0.0]
    answered: list[float] = []

    def drip(elapsed: float) -> None:
        # a byte every 0.2 s on every slow socket: a deadline counted per byte would never pass
        if elapsed - dripped[0] < 0.2:
            return
        dripped[0] = elapsed
        for sock in slow_header:
            with contextlib.suppress(OSError):
                sock.send(b"X")
        for sock in slow_body:
            with contextlib.suppress(OSError):
                sock.send(b"{}")
        started = time.monotonic()
        assert httpx.get(f"{server.url}/v2/health/live", timeout=5).status_code == 200
        answered.append(time.monotonic() - started)

    took = wait_all_closed([*idle, *slow_header, *slow_body], within=10, drip=drip)
    assert 0.9 < took < 5, took
    assert answered
    assert max(answered) < 1.0, answered
    for sock in [*idle, *slow_header, *slow_body]:
        sock.close()
    # the slow bodies were counted as clients that went away, not as server errors
    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    assert _count(metrics, "499") == 100
    assert _count(metrics, "500") == 0
    log = server.log()
    assert "ERROR" not in log, log
    assert "Traceback" not in log, log


def test_a_connection_over_the_cap_is_refused_and_those_served_keep_working(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server("--max-connections", "20", "--header-timeout", "20")
    with httpx.Client(base_url=server.url, timeout=5) as client:
        assert client.get("/v2/health/ready").status_code == 200  # its connection stays open
        idle = [connect(server) for _ in range(19)]
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        answer = extra.recv(4096)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert extra.recv(4096) == b""  # and closed
        extra.close()
        # the client served before the cap was reached keeps its connection
        assert client.get("/v2/health/ready").status_code == 200
        for sock in idle:
            sock.close()
    time.sleep(0.3)  # the server sees the idle ones go
    assert httpx.get(f"{server.url}/v2/health/ready", timeout=5).status_code == 200
    assert "refused a connection: 20 open, the limit is 20" in server.log()


def test_a_client_that_hangs_up_mid_body_is_counted_499_and_logged_quietly(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                b'{"records": [{"mean radius": 1.0'
            )
            time.sleep(0.1)  # the request is read and waiting for the rest
    deadline = time.monotonic() + 5
    while _count(httpx.get(f"{server.url}/metrics", timeout=5).text, "499") < 3:
        assert time.monotonic() < deadline, "the hang-ups were not counted"
        time.sleep(0.05)
    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    assert _count(metrics, "499") == 3
    assert _count(metrics, "500") == 0
    assert 'kind="client_closed"' in metrics
    log = server.log()
    assert "ERROR" not in log, log
    assert "Traceback" not in log, log


def _count(metrics: str, status: str) -> int:
    """Requests counted with ``status`` in /metrics, over every label set."""
    pattern = rf'^ferryman_requests_total\{{[^}}]*status="{status}"[^}}]*\}} (\S+)$'
    return int(sum(float(m) for m in re.findall(pattern, metrics, re.MULTILINE)))
