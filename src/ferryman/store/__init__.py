"""Where ferryman keeps things: the metadata database and the artifact store."""

from ferryman.store.artifacts import ArtifactStore, sha256_file
from ferryman.store.metadata import MetadataStore, MetricFilter, NewVersion
from ferryman.store.migrate import head_revision, upgrade_database
from ferryman.store.monitor_queries import (
    AlertDelivery,
    AlertEvent,
    MonitorPoint,
    MonitorResult,
    NewAlert,
)

__all__ = [
    "AlertDelivery",
    "AlertEvent",
    "ArtifactStore",
    "MetadataStore",
    "MetricFilter",
    "MonitorPoint",
    "MonitorResult",
    "NewAlert",
    "NewVersion",
    "head_revision",
    "sha256_file",
    "upgrade_database",
]
