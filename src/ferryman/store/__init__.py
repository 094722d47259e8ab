"""Where ferryman keeps things: the metadata database and the artifact store."""

from ferryman.store.artifacts import ArtifactStore, sha256_file
from ferryman.store.metadata import MetadataStore, MetricFilter, NewVersion
from ferryman.store.migrate import head_revision, upgrade_database

__all__ = [
    "ArtifactStore",
    "MetadataStore",
    "MetricFilter",
    "NewVersion",
    "head_revision",
    "sha256_file",
    "upgrade_database",
]
