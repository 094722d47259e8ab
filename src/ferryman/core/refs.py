"""References to a model version: ``name``, ``name@alias``, ``name/3``."""

from __future__ import annotations

from dataclasses import dataclass

from ferryman.core.names import check_name
from ferryman.errors import InvalidNameError, InvalidReferenceError

DEFAULT_ALIAS = "production"
MAX_VERSION = 2**31 - 1
LATEST = "latest"
REFERENCE_FORMS = "'name' (its production alias), 'name@alias', 'name@latest' or 'name/3'"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed reference: a model name plus either an alias or a version number."""

    name: str
    alias: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, text: object, default_alias: str = DEFAULT_ALIAS) -> ModelRef:
        """Parse ``text``; a bare name means ``name@default_alias``."""
        if isinstance(text, ModelRef):
            return text
        if not isinstance(text, str):
            raise InvalidReferenceError(
                f"a model reference is text, got {type(text).__name__} {text!r}: "
                f"use {REFERENCE_FORMS}"
            )
        if not text.strip():
            raise InvalidReferenceError(f"empty model reference {text!r}: use {REFERENCE_FORMS}")
        text = text.strip()
        try:
            if "/" in text:
                name, _, number = text.partition("/")
                return cls(check_name(name), version=parse_version_number(number, text))
            if "@" in text:
                name, _, alias = text.partition("@")
                check_name(alias, "alias")
                if alias.isascii() and alias.isdigit():
                    raise InvalidReferenceError(
                        f"invalid model reference {text!r}: aliases are never all digits; for "
                        f"version {alias} write '{name}/{alias}'"
                    )
                if alias.lower() == LATEST:
                    alias = LATEST
                return cls(check_name(name), alias=alias)
            return cls(check_name(text), alias=default_alias)
        except InvalidNameError as exc:
            raise InvalidReferenceError(
                f"invalid model reference {text!r}: {exc}; use {REFERENCE_FORMS}"
            ) from exc

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}/{self.version}"
        return f"{self.name}@{self.alias}"


def parse_version_number(value: object, context: object = None) -> int:
    """A version number from 1 to MAX_VERSION (ASCII digits only), else InvalidReferenceError."""
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_VERSION:
        return int(text)
    rule = f"a version is a whole number from 1 up (at most {MAX_VERSION}), got {value!r}"
    if context is None:
        raise InvalidReferenceError(rule)
    raise InvalidReferenceError(
        f"invalid model reference {context!r}: {rule}; use {REFERENCE_FORMS}"
    )
