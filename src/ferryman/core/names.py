"""Naming rules for models, aliases and tags."""

from __future__ import annotations

import re

from ferryman.errors import InvalidNameError

MAX_NAME_LENGTH = 128
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RESERVED_ALIASES = frozenset({"latest"})
NAME_RULE = "letters, digits, '-', '_' and '.', starting with a letter or digit, at most 128 long"


def check_name(name: object, what: str = "model name") -> str:
    """Return ``name`` if it is a valid model (or tag key) name, else raise InvalidNameError."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise InvalidNameError(f"invalid {what} {name!r}: use {NAME_RULE}")
    return name


def check_alias(alias: object) -> str:
    """Return ``alias`` if it may be set by users, else raise InvalidNameError.

    An alias follows the model-name rules, must not be all digits (it would read as a
    version number) and must not be a reserved word such as ``latest``.
    """
    name = check_name(alias, "alias")
    if name.isdigit():
        raise InvalidNameError(
            f"invalid alias {name!r}: an alias cannot be all digits (it would read as a version)"
        )
    if name.lower() in RESERVED_ALIASES:
        raise InvalidNameError(
            f"invalid alias {name!r}: it is reserved ({', '.join(sorted(RESERVED_ALIASES))})"
        )
    return name
