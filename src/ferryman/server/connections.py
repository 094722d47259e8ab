"""Connections under abuse: read deadlines and a cap, so slow or idle sockets cannot pile up.

uvicorn closes a keep-alive connection that stays idle after an answer, and nothing else: a
socket that never sends a request, sends its headers a byte at a time or drips its body stays
open for as long as its client likes, and a few hundred of them hold the server's file
descriptors and memory. :class:`GuardedProtocol` is uvicorn's httptools protocol with
deadlines of its own, each counted from the start of its part (not reset by every byte, which
a slow client could keep doing forever):

- ``header_timeout``: from a connection's opening (or a keep-alive request's first byte) to
  the end of the request's headers;
- ``body_timeout``: from the end of the headers to the end of the body; the route reading it
  sees the client gone (answered 499, see ``http.bodies``);
- ``max_connections``: connections open at once in this process; one more is answered 503
  and closed at once, without touching those already served.

The idle time between keep-alive requests is uvicorn's own ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ferryman.errors import ConfigError

log = logging.getLogger("ferryman.http")

_BUSY_TEXT = b"too many connections to this server; retry\r\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_BUSY_TEXT)).encode() + b"\r\n"
    b"retry-after: 1\r\n"
    b"connection: close\r\n\r\n" + _BUSY_TEXT
)


HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 60.0
KEEP_ALIVE_TIMEOUT = 5.0  # uvicorn's default
MAX_CONNECTIONS = 1000


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a client may take, and how many may be connected at once (per process)."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise ConfigError(f"{name} must be a number of seconds above 0, got {value!r}")
        if not isinstance(self.max_connections, int) or self.max_connections < 1:
            raise ConfigError(f"max_connections must be 1 or more, got {self.max_connections!r}")

    def protocol(self) -> Callable[..., asyncio.Protocol]:
        """What uvicorn builds each connection's protocol with (picklable, for workers)."""
        return functools.partial(GuardedProtocol, limits=self)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header and body deadlines and a connection cap."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning(
                "refused a connection: %d open, the limit is %d (--max-connections)",
                len(self.connections) - 1,
                self.limits.max_connections,
            )
            transport.write(_BUSY)
            transport.close()
            return
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a keep-alive connection's next request
            self._arm(self.limits.header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        self._arm(self.limits.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        """A deadline passed: the connection closes (a request being read sees it gone)."""
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
