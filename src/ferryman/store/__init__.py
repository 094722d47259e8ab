"""Where ferryman keeps things: the metadata database and the artifact store.

Each part keeps its tables through a store of its own over the database's one engine:
``MetadataStore`` (the registry's, which opens the database), ``MonitorStore`` and
``TokenStore``.
"""

from ferryman.store.artifacts import ArtifactStore, sha256_file
from ferryman.store.metadata import MetadataStore, MetricFilter, NewVersion
from ferryman.store.migrate import head_revision, open_database, upgrade_database
from ferryman.store.monitoring import (
    AlertDelivery,
    AlertEvent,
    MonitorPoint,
    MonitorResult,
    MonitorStore,
    NewAlert,
)
from ferryman.store.tokens import NewTokenEvent, StoredToken, TokenEvent, TokenStore

__all__ = [
    "AlertDelivery",
    "AlertEvent",
    "ArtifactStore",
    "MetadataStore",
    "MetricFilter",
    "MonitorPoint",
    "MonitorResult",
    "MonitorStore",
    "NewAlert",
    "NewTokenEvent",
    "NewVersion",
    "StoredToken",
    "TokenEvent",
    "TokenStore",
    "head_revision",
    "open_database",
    "sha256_file",
    "upgrade_database",
]
