"""The errors ferryman raises: one base class and a few named kinds per part.

Domain errors know nothing of HTTP or exit codes; the interfaces map them.
"""

from __future__ import annotations

from collections.abc import Sequence


class FerrymanError(Exception):
    """Base of every error ferryman raises on purpose.

    The message says what failed, names the value, and says what to do next.
    """


# --- configuration --------------------------------------------------------------------------
class ConfigError(FerrymanError):
    """A setting, settings file or environment variable is invalid."""


# --- names and references -------------------------------------------------------------------
class InvalidNameError(FerrymanError, ValueError):
    """A model, alias or tag name breaks the naming rules."""


class InvalidReferenceError(FerrymanError, ValueError):
    """A model reference is not of the form ``name``, ``name@alias`` or ``name/3``."""


# --- registry lookups -----------------------------------------------------------------------
class NotFoundError(FerrymanError, LookupError):
    """Something asked for does not exist."""


class ModelNotFoundError(NotFoundError):
    """No model has that name."""


class VersionNotFoundError(NotFoundError):
    """The model has no version with that number."""


class AliasNotFoundError(NotFoundError):
    """The model has no alias with that name."""


class InvalidArgumentError(FerrymanError, ValueError):
    """An argument (a metric, a tag, a parameter) has a value ferryman cannot keep."""


class InvalidQueryError(FerrymanError, ValueError):
    """A listing filter, sort or page token is malformed."""


class ModelExistsError(FerrymanError):
    """A model with that name already exists."""


class AliasError(FerrymanError):
    """An alias cannot be set, removed or rolled back as asked."""


class VersionInUseError(FerrymanError):
    """A version cannot be deleted while an alias points at it."""


# --- store ----------------------------------------------------------------------------------
class StoreError(FerrymanError):
    """The metadata database or the artifact store cannot be used."""


class SchemaVersionError(StoreError):
    """The database was written by a newer ferryman than this one."""


class ArtifactError(StoreError):
    """An artifact is missing, truncated or does not match its recorded hash."""


# --- flavors --------------------------------------------------------------------------------
class FlavorError(FerrymanError):
    """A model cannot be saved, recognised or loaded by any flavor."""


class UnknownFlavorError(FlavorError):
    """No flavor of that name is installed."""


class UntrustedTypeError(FlavorError):
    """A model file needs types that are not trusted; loading it could run arbitrary code."""

    def __init__(self, message: str, types: list[str]) -> None:
        super().__init__(message)
        self.types = types


class UnimportableTypeError(FlavorError):
    """A model holds classes that no other process can import (defined in ``__main__`` or
    inside a function), so it could never be loaded anywhere but where it was made."""

    def __init__(self, message: str, types: list[str]) -> None:
        super().__init__(message)
        self.types = types


class ModelFileError(FlavorError):
    """A model file is unreadable, corrupt, or not of the flavor it claims."""


# --- schema ---------------------------------------------------------------------------------
class SchemaError(FerrymanError):
    """Training data or a signature cannot be used as given."""


class UnsupportedColumnTypeError(SchemaError):
    """A training-data column has a type ferryman cannot describe."""


class InvalidInputError(FerrymanError, ValueError):
    """Input data breaks the model's signature.

    ``problems`` lists the problems found, each naming its row and column: every one, or
    the first of many, with ``more`` counting the others.
    """

    def __init__(
        self, message: str, problems: Sequence[object] | None = None, *, more: int = 0
    ) -> None:
        super().__init__(message)
        self.problems = list(problems or [])
        self.more = more


class PredictionError(FerrymanError):
    """The model itself failed on input that passed its checks."""


class NotAClassifierError(FerrymanError):
    """Class probabilities were asked of a model that is not a classifier."""


class DataFileError(FerrymanError):
    """A data file (CSV or Parquet) is missing, unreadable or of an unknown kind."""


class UnavailableError(FerrymanError):
    """The server cannot answer right now (still loading, or overloaded); retry later."""


class ModelUnavailableError(UnavailableError):
    """A served model has no version that could be loaded; ``reason`` says why."""

    def __init__(self, message: str, name: str, version: int, reason: str) -> None:
        super().__init__(message)
        self.name = name
        self.version = version
        self.reason = reason


class OverloadedError(UnavailableError):
    """More rows are waiting for a model than its queue holds; the caller should retry."""


class UnsupportedError(FerrymanError):
    """A feature of a protocol that ferryman does not implement."""


class RequestError(FerrymanError, ValueError):
    """A request that cannot be read: malformed body, wrong shape, bad parameters."""


# --- access ---------------------------------------------------------------------------------
class AuthenticationError(FerrymanError):
    """A request carried no token, or one that is unknown, revoked, expired or malformed.

    ``reason`` is the short cause ("no such token", "token revoked", "token expired",
    "malformed token", "no token"); neither it nor the message ever holds the token.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class PermissionDeniedError(FerrymanError):
    """A known token whose role does not allow what was asked."""


class TokenNotFoundError(NotFoundError):
    """No API token has that name."""


class TokenExistsError(FerrymanError):
    """An API token with that name already exists."""
