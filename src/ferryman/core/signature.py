"""The input signature and output description of a model version (data only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ColumnKind = Literal["integer", "float", "boolean", "string", "category", "datetime"]
OutputKind = Literal["classifier", "regressor", "other"]


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One input column: its name, kind, and what was seen of it in training."""

    name: str
    kind: ColumnKind
    dtype: str
    nullable: bool = False
    categories: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        cats = data.get("categories")
        return cls(
            name=data["name"],
            kind=data["kind"],
            dtype=data.get("dtype", data["kind"]),
            nullable=bool(data.get("nullable", False)),
            categories=tuple(cats) if cats is not None else None,
            minimum=data.get("minimum"),
            maximum=data.get("maximum"),
        )


@dataclass(frozen=True, slots=True)
class Signature:
    """The columns a model takes, in order.

    ``series_input``: the model was fitted on one column given alone (a pandas Series or a 1-D
    array, e.g. a text pipeline fitted on ``df["review"]``) and takes it so, not as a table.
    """

    columns: tuple[ColumnSpec, ...]
    series_input: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def text_columns(self) -> list[str]:
        """Columns to read from CSV as text: text ones, and categories whose labels are text."""
        return [
            c.name
            for c in self.columns
            if c.kind == "string"
            or (c.kind == "category" and all(isinstance(v, str) for v in c.categories or ()))
        ]

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"columns": [c.to_dict() for c in self.columns]}
        if self.series_input:  # absent for tables, so earlier signatures read back unchanged
            out["series_input"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        columns = tuple(ColumnSpec.from_dict(c) for c in data["columns"])
        return cls(columns, series_input=bool(data.get("series_input", False)))


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What a model answers: class labels for a classifier, a number for a regressor."""

    kind: OutputKind = "other"
    classes: tuple[Any, ...] | None = None
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_classifier(self) -> bool:
        return self.kind == "classifier"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "classes": list(self.classes) if self.classes is not None else None,
            "target": self.target,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> OutputSpec:
        if not data:
            return cls()
        classes = data.get("classes")
        return cls(
            kind=data.get("kind", "other"),
            classes=tuple(classes) if classes is not None else None,
            target=data.get("target"),
            extra=dict(data.get("extra") or {}),
        )
