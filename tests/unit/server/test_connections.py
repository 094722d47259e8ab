"""The connection limits: validated, picklable for workers, the same defaults as the CLI's."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import typer

from ferryman.cli.app import app
from ferryman.errors import ConfigError
from ferryman.server.app import ServeOptions
from ferryman.server.connections import ConnectionLimits, GuardedProtocol


@pytest.mark.parametrize(
    ("field", "value"),
    [("header_timeout", 0), ("body_timeout", -1.0), ("keep_alive_timeout", float("inf")),
     ("header_timeout", float("nan")), ("max_connections", 0), ("max_connections", 2.5)],
)  # fmt: skip
def test_a_bad_limit_is_refused_naming_it(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=field):
        ConnectionLimits(**{field: value})


def test_the_protocol_factory_survives_a_trip_to_a_worker() -> None:
    limits = ConnectionLimits(header_timeout=1.5, max_connections=7)
    factory = pickle.loads(pickle.dumps(limits.protocol()))
    assert factory.func is GuardedProtocol
    assert factory.keywords["limits"] == limits


def test_serve_options_carry_the_limits_through_json() -> None:
    options = ServeOptions(header_timeout=2.0, body_timeout=3.0, keep_alive_timeout=4.0,
                           max_connections=5)  # fmt: skip
    again = ServeOptions.from_json(options.to_json())
    assert again.connection_limits() == ConnectionLimits(2.0, 3.0, 4.0, 5)


def test_the_cli_defaults_are_the_servers() -> None:
    root: Any = typer.main.get_command(app)
    serve = root.get_command(typer.Context(root), "serve")
    defaults = {param.name: param.default for param in serve.params}
    limits = ConnectionLimits()
    for name in ("header_timeout", "body_timeout", "keep_alive_timeout", "max_connections"):
        assert defaults[name] == getattr(limits, name) == getattr(ServeOptions(), name)
