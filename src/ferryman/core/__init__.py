"""Plain data types shared by every part of ferryman (stdlib only)."""

from ferryman.core.durations import parse_duration
from ferryman.core.names import check_alias, check_name
from ferryman.core.predictions import (
    NullSink,
    PredictionBatch,
    PredictionRecord,
    PredictionSink,
    RejectionRecord,
)
from ferryman.core.profile import CategoricalSummary, ColumnProfile, DataProfile, NumericSummary
from ferryman.core.records import AliasMove, AuditEvent, ModelInfo, ModelVersion, Page
from ferryman.core.refs import DEFAULT_ALIAS, LATEST, ModelRef
from ferryman.core.signature import ColumnSpec, OutputSpec, Signature

__all__ = [
    "DEFAULT_ALIAS",
    "LATEST",
    "AliasMove",
    "AuditEvent",
    "CategoricalSummary",
    "ColumnProfile",
    "ColumnSpec",
    "DataProfile",
    "ModelInfo",
    "ModelRef",
    "ModelVersion",
    "NullSink",
    "NumericSummary",
    "OutputSpec",
    "Page",
    "PredictionBatch",
    "PredictionRecord",
    "PredictionSink",
    "RejectionRecord",
    "Signature",
    "check_alias",
    "check_name",
    "parse_duration",
]
