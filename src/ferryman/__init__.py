"""ferryman: carry a trained model from a notebook into production and keep it healthy there."""

from ferryman._version import __version__
from ferryman.config import Settings
from ferryman.core import AliasMove, AuditEvent, ModelInfo, ModelRef, ModelVersion, Page, Signature
from ferryman.errors import FerrymanError
from ferryman.flavors import Flavor, check_flavor, register_flavor
from ferryman.registry import LoadedModel, Registry
from ferryman.schema import Problem, infer_signature, validate
from ferryman.sdk import (
    connect,
    get_model,
    get_version,
    history,
    list_models,
    list_versions,
    load,
    register,
    remove_alias,
    rollback,
    set_alias,
)

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
    "Settings",
    "Signature",
    "__version__",
    "check_flavor",
    "connect",
    "get_model",
    "get_version",
    "history",
    "infer_signature",
    "list_models",
    "list_versions",
    "load",
    "register",
    "register_flavor",
    "remove_alias",
    "rollback",
    "set_alias",
    "validate",
]
