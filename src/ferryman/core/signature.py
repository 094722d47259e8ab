"""The input signature and output description of a model version (data only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ColumnKind = Literal["integer", "float", "boolean", "string", "category", "datetime"]
OutputKind = Literal["classifier", "regressor", "other"]
# What a column does with a value training never showed (an unknown category, a null where
# training had none): "accept" hands it to the model, "refuse" answers 422. Unset is refuse.
Tolerance = Literal["accept", "refuse"]
TOLERANCES: tuple[Tolerance, ...] = ("accept", "refuse")
TOLERANCE_FIELDS = ("unknown_categories", "unseen_nulls")


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
    unknown_categories: Tolerance | None = None  # None: never probed (refuse)
    unseen_nulls: Tolerance | None = None

    @property
    def accepts_unknown(self) -> bool:
        """Values outside ``categories`` reach the model."""
        return self.categories is not None and self.unknown_categories == "accept"

    @property
    def accepts_unseen_nulls(self) -> bool:
        """Nulls reach the model though training had none in this column."""
        return not self.nullable and self.unseen_nulls == "accept"

    @property
    def accepts_nulls(self) -> bool:
        return self.nullable or self.unseen_nulls == "accept"

    def tolerance(self) -> dict[str, Tolerance]:
        """The column's policy for each case that can arise in it (refuse when unset)."""
        out: dict[str, Tolerance] = {}
        if self.categories is not None:
            out["unknown_categories"] = self.unknown_categories or "refuse"
        if not self.nullable:
            out["unseen_nulls"] = self.unseen_nulls or "refuse"
        return out

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.categories is not None:
            out["categories"] = list(self.categories)
        for name in TOLERANCE_FIELDS:  # absent, not null, in versions registered before
            if out[name] is None:
                del out[name]
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
            unknown_categories=data.get("unknown_categories"),
            unseen_nulls=data.get("unseen_nulls"),
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

    @property
    def is_probed(self) -> bool:
        """True once a policy is recorded for every case that can arise in its columns."""
        return all(getattr(c, name) is not None for c in self.columns for name in c.tolerance())

    def tolerance(self) -> dict[str, dict[str, Tolerance]]:
        """Per column, the policy for unknown categories and unseen nulls (where they can arise)."""
        return {c.name: t for c in self.columns if (t := c.tolerance())}

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
