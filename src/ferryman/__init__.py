"""ferryman: carry a trained model from a notebook into production and keep it healthy there.

Names load on first use (PEP 562): ``import ferryman`` stays cheap, and the ``ferryman``
command can set up the process (see ``ferryman.cli``) before pandas, pyarrow and scikit-learn
are imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ferryman._version import __version__

if TYPE_CHECKING:
    from ferryman.access import Role, TokenInfo
    from ferryman.config import Settings
    from ferryman.core import (
        AliasMove,
        AuditEvent,
        ModelInfo,
        ModelRef,
        ModelVersion,
        Page,
        Signature,
    )
    from ferryman.errors import FerrymanError
    from ferryman.flavors import Flavor, check_flavor, register_flavor
    from ferryman.registry import LoadedModel, Registry
    from ferryman.schema import Problem, infer_signature, validate
    from ferryman.sdk import (
        connect,
        create_token,
        delete_token,
        get_model,
        get_version,
        history,
        list_models,
        list_tokens,
        list_versions,
        load,
        register,
        remove_alias,
        revoke_token,
        rollback,
        set_alias,
        token_events,
    )

_WHERE = {
    "AliasMove": "ferryman.core",
    "AuditEvent": "ferryman.core",
    "FerrymanError": "ferryman.errors",
    "Flavor": "ferryman.flavors",
    "LoadedModel": "ferryman.registry",
    "ModelInfo": "ferryman.core",
    "ModelRef": "ferryman.core",
    "ModelVersion": "ferryman.core",
    "Page": "ferryman.core",
    "Problem": "ferryman.schema",
    "Registry": "ferryman.registry",
    "Role": "ferryman.access",
    "Settings": "ferryman.config",
    "Signature": "ferryman.core",
    "TokenInfo": "ferryman.access",
    "check_flavor": "ferryman.flavors",
    "connect": "ferryman.sdk",
    "create_token": "ferryman.sdk",
    "delete_token": "ferryman.sdk",
    "get_model": "ferryman.sdk",
    "get_version": "ferryman.sdk",
    "history": "ferryman.sdk",
    "infer_signature": "ferryman.schema",
    "list_models": "ferryman.sdk",
    "list_tokens": "ferryman.sdk",
    "list_versions": "ferryman.sdk",
    "load": "ferryman.sdk",
    "register": "ferryman.sdk",
    "register_flavor": "ferryman.flavors",
    "remove_alias": "ferryman.sdk",
    "revoke_token": "ferryman.sdk",
    "rollback": "ferryman.sdk",
    "set_alias": "ferryman.sdk",
    "token_events": "ferryman.sdk",
    "validate": "ferryman.schema",
}

__all__ = [
    "AliasMove",
    "AuditEvent",
    "FerrymanError",
    "Flavor",
    "LoadedModel",
    "ModelInfo",
    "ModelRef",
    "ModelVersion",
    "Page",
    "Problem",
    "Registry",
    "Role",
    "Settings",
    "Signature",
    "TokenInfo",
    "__version__",
    "check_flavor",
    "connect",
    "create_token",
    "delete_token",
    "get_model",
    "get_version",
    "history",
    "infer_signature",
    "list_models",
    "list_tokens",
    "list_versions",
    "load",
    "register",
    "register_flavor",
    "remove_alias",
    "revoke_token",
    "rollback",
    "set_alias",
    "token_events",
    "validate",
]


_SUBPACKAGES = frozenset(
    {"access", "cli", "config", "core", "errors", "flavors", "http", "monitoring", "registry",
     "schema", "sdk", "serving", "store"}
)  # fmt: skip

if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error

    def __getattr__(name: str) -> Any:
        module = _WHERE.get(name)
        if module is None:
            if name in _SUBPACKAGES:  # ``import ferryman; ferryman.schema.validate(...)``
                return importlib.import_module(f"ferryman.{name}")
            raise AttributeError(f"module 'ferryman' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    """The public API and the subpackages: not this module's own imports and helpers."""
    return sorted({*__all__, *_SUBPACKAGES})
