"""The training-data profile kept with a version (data only; see ferryman.schema.profiling)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class NumericSummary:
    """Quantiles and a quantile-binned histogram of a numeric column."""

    mean: float | None
    std: float | None
    minimum: float | None
    maximum: float | None
    quantiles: dict[str, float]
    bin_edges: list[float]
    bin_counts: list[int]


@dataclass(frozen=True, slots=True)
class CategoricalSummary:
    """Value frequencies of a categorical column (the most frequent ones, the rest summed)."""

    frequencies: dict[str, int]
    other_count: int
    distinct: int


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """What one column of the training data looked like."""

    name: str
    kind: str
    count: int
    nulls: int
    numeric: NumericSummary | None = None
    categorical: CategoricalSummary | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        num = data.get("numeric")
        cat = data.get("categorical")
        return cls(
            name=data["name"],
            kind=data["kind"],
            count=int(data["count"]),
            nulls=int(data["nulls"]),
            numeric=NumericSummary(**num) if num else None,
            categorical=CategoricalSummary(**cat) if cat else None,
        )


@dataclass(frozen=True, slots=True)
class DataProfile:
    """Per-column profile of a training set, plus where its row sample is kept and, when
    held-out data was given at registration, where the sample of it is kept."""

    rows: int
    columns: dict[str, ColumnProfile]
    target: str | None = None
    sample_rows: int = 0
    sample_sha256: str | None = None
    sample_size: int = 0
    validation_rows: int = 0
    validation_sha256: str | None = None
    validation_size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": {name: _column_dict(col) for name, col in self.columns.items()},
            "target": self.target,
            "sample_rows": self.sample_rows,
            "sample_sha256": self.sample_sha256,
            "sample_size": self.sample_size,
            "validation_rows": self.validation_rows,
            "validation_sha256": self.validation_sha256,
            "validation_size": self.validation_size,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataProfile:
        return cls(
            rows=int(data["rows"]),
            columns={k: ColumnProfile.from_dict(v) for k, v in data["columns"].items()},
            target=data.get("target"),
            sample_rows=int(data.get("sample_rows", 0)),
            sample_sha256=data.get("sample_sha256"),
            sample_size=int(data.get("sample_size", 0)),
            validation_rows=int(data.get("validation_rows", 0)),
            validation_sha256=data.get("validation_sha256"),
            validation_size=int(data.get("validation_size", 0)),
            extra=dict(data.get("extra") or {}),
        )


def _column_dict(col: ColumnProfile) -> dict[str, Any]:
    numeric = col.numeric
    categorical = col.categorical
    return {
        "name": col.name,
        "kind": col.kind,
        "count": col.count,
        "nulls": col.nulls,
        "numeric": None
        if numeric is None
        else {
            "mean": numeric.mean,
            "std": numeric.std,
            "minimum": numeric.minimum,
            "maximum": numeric.maximum,
            "quantiles": numeric.quantiles,
            "bin_edges": numeric.bin_edges,
            "bin_counts": numeric.bin_counts,
        },
        "categorical": None
        if categorical is None
        else {
            "frequencies": categorical.frequencies,
            "other_count": categorical.other_count,
            "distinct": categorical.distinct,
        },
    }
