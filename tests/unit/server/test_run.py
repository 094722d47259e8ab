"""The socket ``ferryman serve`` takes before anything loads (server/run.py)."""

from __future__ import annotations

import socket

import pytest

from ferryman.errors import ConfigError
from ferryman.server.run import address, listen


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
