"""References to a model version: ``name``, ``name@alias``, ``name/3``."""

from __future__ import annotations

from dataclasses import dataclass

from ferryman.core.names import check_name
from ferryman.errors import InvalidNameError, InvalidReferenceError

DEFAULT_ALIAS = "production"
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
        if not isinstance(text, str) or not text.strip():
            raise InvalidReferenceError(f"empty model reference {text!r}: use {REFERENCE_FORMS}")
        text = text.strip()
        try:
            if "/" in text:
                name, _, number = text.partition("/")
                if not number.isdigit() or int(number) < 1:
                    raise InvalidReferenceError(
                        f"invalid model reference {text!r}: the version after '/' must be a "
                        f"whole number from 1 up; use {REFERENCE_FORMS}"
                    )
                return cls(check_name(name), version=int(number))
            if "@" in text:
                name, _, alias = text.partition("@")
                check_name(alias, "alias")
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
