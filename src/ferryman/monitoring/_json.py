"""JSON-safe values: what monitoring results, reports, alerts and webhooks hand out.

Kept apart from ``results`` (which needs the metadata store) so that the statistics modules
can use it without importing SQLAlchemy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any

import numpy as np

from ferryman.errors import InvalidArgumentError


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC text ending in Z; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_safe(value: Any, where: str = "value") -> Any:
    """A copy of ``value`` that JSON can hold on every database: NaN and infinities become None.

    Raises InvalidArgumentError naming the place of a value JSON cannot represent.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, bytes):
            raise InvalidArgumentError(f"{where} is bytes, which JSON cannot hold")
    if isinstance(value, int | bool | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist(), where)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool | np.generic):
                raise InvalidArgumentError(
                    f"{where} has a key of type {type(key).__name__}; use text keys"
                )
            name = str(key.item() if isinstance(key, np.generic) else key)
            out[name] = json_safe(item, f"{where}[{name!r}]")
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_safe(item, f"{where}[{i}]") for i, item in enumerate(items)]
    raise InvalidArgumentError(
        f"{where} is a {type(value).__name__}, which cannot be stored as JSON; convert it to "
        "numbers, text, lists or dicts"
    )
