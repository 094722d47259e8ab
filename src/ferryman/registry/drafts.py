"""A new version's user-given parts (name, metrics, parameters, tags, aliases), checked
before any work is done; and the small helpers registration shares with loading.

Free of pandas and NumPy, so that the registry's metadata commands start fast.
"""

from __future__ import annotations

import math
import numbers
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ferryman.core.names import check_alias, check_name
from ferryman.core.signature import OutputSpec
from ferryman.errors import InvalidArgumentError
from ferryman.flavors.trust import check_type_names


@dataclass(frozen=True)
class Draft:
    """A new version's user-given parts, checked before any work is done."""

    name: str
    metrics: dict[str, float]
    params: dict[str, Any]
    tags: dict[str, str]
    description: str
    aliases: tuple[str, ...]
    trusted_types: tuple[str, ...] = ()  # kept with the version: every load of it trusts them

    @classmethod
    def checked(
        cls,
        name: str,
        metrics: Mapping[str, Any] | None,
        params: Mapping[str, Any] | None,
        tags: Mapping[str, Any] | None,
        description: str,
        aliases: Sequence[str],
        trusted_types: Sequence[str] = (),
    ) -> Draft:
        if isinstance(aliases, str):
            aliases = [aliases]
        if isinstance(trusted_types, str):
            trusted_types = [trusted_types]
        return cls(
            name=check_name(name),
            metrics=check_metrics(metrics),
            params=check_params(params),
            tags=check_tags(tags),
            description=str(description or ""),
            aliases=tuple(dict.fromkeys(check_alias(a) for a in aliases)),
            trusted_types=check_type_names(trusted_types),
        )


def check_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        check_name(key, "metric name")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidArgumentError(f"metric {key!r} must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise InvalidArgumentError(f"metric {key!r} must be finite, got {number}")
        out[key] = number
    return out


def check_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (tags or {}).items():
        check_name(key, "tag name")
        if not isinstance(value, (str, int, float, bool)):
            raise InvalidArgumentError(
                f"tag {key!r} must be text (or a number), got {type(value).__name__}"
            )
        out[key] = str(value)
    return out


def check_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(f"parameter names must be non-empty text, got {key!r}")
        out[key] = _json_value(key, value)
    return out


def _json_value(key: str, value: Any) -> Any:
    # A NumPy scalar exists only once NumPy is imported: no need to import it to recognise one
    # (the registry's metadata commands start without it).
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(key, v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(key, v) for k, v in value.items()}
    return repr(value)


def with_target(output: OutputSpec, target: str | None) -> OutputSpec:
    return replace(output, target=target) if target is not None else output


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="ferryman-register-")
