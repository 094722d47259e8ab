"""The socket ``ferryman serve`` takes before anything loads, and whether it may serve that
address without tokens (server/run.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ferryman.access import TokenBook
from ferryman.config import Settings
from ferryman.errors import ConfigError
from ferryman.registry import Registry
from ferryman.server.app import ServeOptions, auth_mode
from ferryman.server.run import address, check_access, is_loopback, listen


def test_a_port_taken_by_a_server_still_loading_is_refused() -> None:
    first = listen("127.0.0.1", 0)  # listening at once, as while its models load
    try:
        port = first.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}: .*--port"):
            listen("127.0.0.1", port)
    finally:
        first.close()


def test_the_address_names_the_real_port() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        assert address(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert not address(sock).endswith(":0")
    finally:
        sock.close()


def test_an_ipv6_address_is_bracketed_and_may_be_given_so() -> None:
    if not socket.has_ipv6:
        pytest.skip("this machine has no IPv6")
    try:
        sock = listen("[::1]", 0)
    except ConfigError:  # IPv6 compiled in but ::1 not configured here
        pytest.skip("this machine has no ::1")
    try:
        assert address(sock).startswith("http://[::1]:")
    finally:
        sock.close()


def test_a_host_that_is_not_here_points_at_host_not_port() -> None:
    with pytest.raises(ConfigError) as caught:
        listen("no-such-host.invalid", 0)
    assert "--host" in str(caught.value)
    assert "--port" not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.1.2.3", False),
     ("example.org", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_public_address_needs_a_token_or_no_auth(registry: Registry) -> None:
    assert check_access("127.0.0.1", registry, no_auth=False) is None
    with pytest.raises(ConfigError, match=r"ferryman tokens create NAME --role predictor.*--no"):
        check_access("0.0.0.0", registry, no_auth=False)
    said = check_access("0.0.0.0", registry, no_auth=True)
    assert said is not None
    assert "--no-auth" in said
    book = TokenBook(registry)
    book.create("app", "predictor")
    assert check_access("0.0.0.0", registry, no_auth=False) is None
    book.revoke("app")  # a revoked token still keeps the server asking for tokens
    assert check_access("0.0.0.0", registry, no_auth=False) is None


def test_no_auth_and_required_auth_contradict(home: Path) -> None:
    registry = Registry(Settings.load(home=home, auth={"required": True}))
    try:
        with pytest.raises(ConfigError, match="--no-auth contradicts"):
            check_access("127.0.0.1", registry, no_auth=True)
        assert check_access("0.0.0.0", registry, no_auth=False) is None  # required: asks
    finally:
        registry.close()


@pytest.mark.parametrize(
    ("options", "required", "mode"),
    [
        (ServeOptions(), False, "auto"),  # 127.0.0.1: tokens needed while one is on record
        (ServeOptions(), True, "on"),
        (ServeOptions(loopback=False), False, "on"),  # deleting the last token keeps it closed
        (ServeOptions(loopback=False, no_auth=True), False, "off"),
        (ServeOptions(no_auth=True), False, "off"),
    ],
)
def test_the_auth_mode_follows_the_address_and_the_settings(
    options: ServeOptions, required: bool, mode: str
) -> None:
    assert auth_mode(options, required) == mode
    assert ServeOptions.from_json(options.to_json()) == options  # survives the trip to workers
