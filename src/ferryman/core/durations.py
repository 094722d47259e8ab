"""Durations written the way people write them: ``90s``, ``30m``, ``24h``, ``7d``, ``2w``."""

from __future__ import annotations

import re

from ferryman.errors import ConfigError

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``text`` (a number and one of s, m, h, d, w); ConfigError names bad input."""
    match = _PATTERN.match(text or "")
    if match is None:
        raise ConfigError(
            f"{what} {text!r} is not a duration; write a number and a unit, e.g. 30m, 24h, 7d "
            "(units: s, m, h, d, w)"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ConfigError(f"{what} {text!r} must be longer than zero")
    return seconds
