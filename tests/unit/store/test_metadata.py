"""The metadata store over a real SQLite file: models, versions, aliases, audit events."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferryman.core.records import AuditEvent, ModelInfo, ModelVersion
from ferryman.errors import (
    AliasError,
    AliasNotFoundError,
    InvalidQueryError,
    ModelExistsError,
    ModelNotFoundError,
    VersionInUseError,
    VersionNotFoundError,
)
from ferryman.store.metadata import MetadataStore, MetricFilter, NewVersion

ACTOR = "alice"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    s = MetadataStore(f"sqlite:///{tmp_path / 'meta.db'}")
    yield s
    s.close()


def new(model: str, **extra: Any) -> NewVersion:
    sha = hashlib.sha256(f"{model}{extra}".encode()).hexdigest()
    fields: dict[str, Any] = {"flavor": "sklearn", "artifact_sha256": sha, "artifact_size": 10}
    fields.update(extra)
    return NewVersion(model=model, **fields)


def add(store: MetadataStore, model: str, count: int = 1, **extra: Any) -> list[ModelVersion]:
    return [store.insert_version(new(model, **extra), ACTOR) for _ in range(count)]


def all_events(store: MetadataStore, model: str) -> list[AuditEvent]:
    """Oldest first."""
    return list(reversed(store.events(model, limit=1000).items))


def event_count(store: MetadataStore, model: str) -> int:
    return len(store.events(model, limit=1000).items)


# --- versions -------------------------------------------------------------------------------
def test_version_numbers_count_up_per_model(store: MetadataStore) -> None:
    assert [v.version for v in add(store, "a", 3)] == [1, 2, 3]
    assert [v.version for v in add(store, "b", 2)] == [1, 2]
    assert add(store, "a")[0].version == 4


def test_inserted_version_keeps_its_fields(store: MetadataStore) -> None:
    v = store.insert_version(
        NewVersion(
            model="m",
            flavor="xgboost",
            artifact_sha256="f" * 64,
            artifact_size=1234,
            signature={"columns": [{"name": "x", "kind": "float", "dtype": "float64"}]},
            output={"kind": "classifier", "classes": [0, 1]},
            metrics={"auc": 0.9},
            params={"depth": 3},
            tags={"team": "risk"},
            description="first",
            data_fingerprint="d" * 64,
            profile={"rows": 1},
            environment={"python": "3.11"},
            git_commit="abc",
        ),
        ACTOR,
    )
    assert (v.model, v.version, v.ref) == ("m", 1, "m/1")
    assert (v.flavor, v.artifact_sha256, v.artifact_size) == ("xgboost", "f" * 64, 1234)
    assert v.signature is not None
    assert v.signature.names == ["x"]
    assert v.output.is_classifier
    assert v.output.classes == (0, 1)
    assert v.metrics == {"auc": 0.9}
    assert v.params == {"depth": 3}
    assert v.tags == {"team": "risk"}
    assert v.description == "first"
    assert v.has_profile is True
    assert v.environment == {"python": "3.11"}
    assert v.git_commit == "abc"
    assert v.created_by == ACTOR
    assert v.created_at.tzinfo is not None
    assert store.get_profile("m", 1) == {"rows": 1}
    assert store.get_version("m", 1) == v


def test_minimal_version_has_empty_defaults(store: MetadataStore) -> None:
    v = add(store, "m")[0]
    assert v.signature is None
    assert v.output.kind == "other"
    assert (v.metrics, v.params, v.tags, v.environment) == ({}, {}, {}, {})
    assert v.aliases == ()
    assert store.get_profile("m", 1) is None


def test_version_without_profile_has_no_profile(store: MetadataStore) -> None:
    add(store, "m")
    add(store, "m", profile={"rows": 3})
    assert store.get_version("m", 2).has_profile is True
    assert store.get_version("m", 1).has_profile is False
    assert [v.has_profile for v in store.list_versions("m")] == [True, False]


def test_first_version_creates_the_model_with_an_event(store: MetadataStore) -> None:
    add(store, "m")
    info = store.get_model("m")
    assert (info.name, info.created_by, info.latest_version, info.version_count) == (
        "m",
        ACTOR,
        1,
        1,
    )
    kinds = [e.kind for e in all_events(store, "m")]
    assert kinds == ["model.created", "version.created"]


def test_version_created_event_records_what_was_added(store: MetadataStore) -> None:
    v = add(store, "m", metrics={"auc": 0.5}, tags={"k": "v"})[0]
    event = store.events("m", kinds=["version.created"]).items[0]
    assert (event.model, event.actor, event.version) == ("m", ACTOR, 1)
    assert event.before is None
    assert event.after == {
        "flavor": "sklearn",
        "artifact_sha256": v.artifact_sha256,
        "metrics": {"auc": 0.5},
        "tags": {"k": "v"},
    }


def test_get_version_unknown_number_lists_existing(store: MetadataStore) -> None:
    add(store, "m", 3)
    with pytest.raises(VersionNotFoundError, match="no version 9; it has versions 1-3"):
        store.get_version("m", 9)


def test_get_version_message_after_gaps(store: MetadataStore) -> None:
    add(store, "m", 4)
    store.delete_version("m", 2, ACTOR)
    with pytest.raises(VersionNotFoundError, match="no version 2; its versions include 1, 3, 4"):
        store.get_version("m", 2)


def test_get_version_of_model_without_versions(store: MetadataStore) -> None:
    store.create_model("m", ACTOR)
    with pytest.raises(VersionNotFoundError, match="has no versions yet"):
        store.get_version("m", 1)
    with pytest.raises(VersionNotFoundError, match="no versions yet"):
        store.latest_version("m")


def test_unknown_model_is_reported(store: MetadataStore) -> None:
    for call in (
        lambda: store.get_model("ghost"),
        lambda: store.get_version("ghost", 1),
        lambda: store.latest_version("ghost"),
        lambda: store.list_versions("ghost"),
        lambda: store.resolve_alias("ghost", "production"),
        lambda: store.events("ghost"),
        lambda: store.delete_model("ghost", ACTOR),
        lambda: store.set_alias("ghost", "production", 1, ACTOR),
    ):
        with pytest.raises(ModelNotFoundError, match="no model named 'ghost'"):
            call()


def test_latest_version_skips_deleted(store: MetadataStore) -> None:
    add(store, "m", 3)
    assert store.latest_version("m").version == 3
    store.delete_version("m", 3, ACTOR)
    assert store.latest_version("m").version == 2


# --- models ---------------------------------------------------------------------------------
def test_create_model(store: MetadataStore) -> None:
    info = store.create_model("m", ACTOR, description="churn", tags={"team": "risk"})
    assert isinstance(info, ModelInfo)
    assert (info.name, info.description, info.tags) == ("m", "churn", {"team": "risk"})
    assert (info.latest_version, info.version_count, info.aliases) == (None, 0, {})
    [event] = all_events(store, "m")
    assert (event.kind, event.actor) == ("model.created", ACTOR)
    assert event.after == {"description": "churn", "tags": {"team": "risk"}}


def test_create_model_name_clash(store: MetadataStore) -> None:
    store.create_model("m", ACTOR)
    with pytest.raises(ModelExistsError, match="a model named 'm' already exists"):
        store.create_model("m", ACTOR)
    add(store, "n")
    with pytest.raises(ModelExistsError, match="'n'"):
        store.create_model("n", ACTOR)
    assert event_count(store, "m") == 1


def test_versions_after_create_model_start_at_one(store: MetadataStore) -> None:
    store.create_model("m", ACTOR)
    assert add(store, "m")[0].version == 1
    assert [e.kind for e in all_events(store, "m")] == ["model.created", "version.created"]


def test_update_model_records_before_and_after(store: MetadataStore) -> None:
    store.create_model("m", ACTOR, description="old", tags={"a": "1", "b": "2"})
    info = store.update_model(
        "m", "bob", description="new", set_tags={"a": "9", "c": "3"}, remove_tags=["b"]
    )
    assert info.description == "new"
    assert info.tags == {"a": "9", "c": "3"}
    event = store.events("m").items[0]
    assert (event.kind, event.actor) == ("model.updated", "bob")
    assert event.before == {"description": "old", "tags": {"a": "1", "b": "2"}}
    assert event.after == {"description": "new", "tags": {"a": "9", "c": "3"}}


def test_update_model_without_change_makes_no_event(store: MetadataStore) -> None:
    store.create_model("m", ACTOR, description="same", tags={"a": "1"})
    before = event_count(store, "m")
    store.update_model("m", ACTOR, description="same", set_tags={"a": "1"}, remove_tags=["zz"])
    store.update_model("m", ACTOR)
    assert event_count(store, "m") == before
    assert store.get_model("m").tags == {"a": "1"}


def test_update_model_unknown(store: MetadataStore) -> None:
    with pytest.raises(ModelNotFoundError):
        store.update_model("ghost", ACTOR, description="x")


def test_delete_model_removes_versions_but_keeps_events(store: MetadataStore) -> None:
    add(store, "m", 3, tags={"k": "v"}, metrics={"auc": 0.1})
    store.set_alias("m", "production", 2, ACTOR)
    store.delete_model("m", "bob")
    with pytest.raises(ModelNotFoundError):
        store.get_model("m")
    with pytest.raises(ModelNotFoundError):
        store.get_version("m", 1)
    events = all_events(store, "m")
    assert [e.kind for e in events] == [
        "model.created",
        "version.created",
        "version.created",
        "version.created",
        "alias.set",
        "model.deleted",
    ]
    assert events[-1].actor == "bob"
    assert store.list_models().items == []


def test_model_deleted_event_lists_every_version(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.delete_model("m", ACTOR)
    event = store.events("m", kinds=["model.deleted"]).items[0]
    assert event.before == {"versions": [1, 2, 3]}


def test_deleted_model_name_can_be_used_again_without_reusing_numbers(
    store: MetadataStore,
) -> None:
    add(store, "m", 2, aliases=("production",))
    store.delete_model("m", ACTOR)
    with pytest.raises(ModelNotFoundError):
        store.get_model("m")
    assert store.list_models().items == []
    with pytest.raises(ModelNotFoundError):
        store.get_version("m", 1)
    assert add(store, "m")[0].version == 3  # numbers 1 and 2 belonged to the deleted model
    model = store.get_model("m")
    assert (model.version_count, model.aliases) == (1, {})
    with pytest.raises(AliasNotFoundError):  # the old alias history went with the model
        store.rollback_alias("m", "production", ACTOR)
    kinds = [e.kind for e in store.events("m", limit=10).items]
    assert kinds[:3] == ["version.created", "model.created", "model.deleted"]


def test_a_version_can_be_added_with_aliases_in_one_transaction(store: MetadataStore) -> None:
    add(store, "m", 1)
    version = add(store, "m", aliases=("production", "staging"))[0]
    assert set(version.aliases) == {"production", "staging"}
    kinds = [e.kind for e in store.events("m", limit=3).items]
    assert kinds == ["alias.set", "alias.set", "version.created"]


# --- tags of versions -----------------------------------------------------------------------
def test_update_version_tags(store: MetadataStore) -> None:
    add(store, "m", tags={"a": "1", "b": "2"})
    v = store.update_version_tags("m", 1, "bob", set_tags={"a": "3"}, remove_tags=["b"])
    assert v.tags == {"a": "3"}
    assert store.get_version("m", 1).tags == {"a": "3"}
    event = store.events("m").items[0]
    assert (event.kind, event.version, event.actor) == ("version.updated", 1, "bob")
    assert event.before == {"tags": {"a": "1", "b": "2"}}
    assert event.after == {"tags": {"a": "3"}}


def test_update_version_tags_without_change_makes_no_event(store: MetadataStore) -> None:
    add(store, "m", tags={"a": "1"})
    before = event_count(store, "m")
    store.update_version_tags("m", 1, ACTOR, set_tags={"a": "1"}, remove_tags=["missing"])
    store.update_version_tags("m", 1, ACTOR)
    assert event_count(store, "m") == before


def test_update_tags_of_unknown_version(store: MetadataStore) -> None:
    add(store, "m")
    with pytest.raises(VersionNotFoundError, match="no version 5"):
        store.update_version_tags("m", 5, ACTOR, set_tags={"a": "1"})


# --- deleting versions ----------------------------------------------------------------------
def test_delete_version(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.delete_version("m", 2, "bob")
    with pytest.raises(VersionNotFoundError):
        store.get_version("m", 2)
    assert [v.version for v in store.list_versions("m")] == [3, 1]
    info = store.get_model("m")
    assert (info.version_count, info.latest_version) == (2, 3)
    event = store.events("m").items[0]
    assert (event.kind, event.version, event.actor) == ("version.deleted", 2, "bob")
    assert event.before == {"artifact_sha256": store.get_version("m", 1).artifact_sha256}


def test_deleted_version_numbers_are_never_reused(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.delete_version("m", 3, ACTOR)
    store.delete_version("m", 2, ACTOR)
    assert add(store, "m")[0].version == 4


def test_delete_version_twice_is_not_found(store: MetadataStore) -> None:
    add(store, "m", 2)
    store.delete_version("m", 1, ACTOR)
    with pytest.raises(VersionNotFoundError):
        store.delete_version("m", 1, ACTOR)


def test_delete_version_refused_while_aliased(store: MetadataStore) -> None:
    add(store, "m", 2)
    store.set_alias("m", "production", 2, ACTOR)
    store.set_alias("m", "champion", 2, ACTOR)
    before = event_count(store, "m")
    with pytest.raises(VersionInUseError, match="alias\\(es\\) champion, production"):
        store.delete_version("m", 2, ACTOR)
    assert store.get_version("m", 2).version == 2
    assert event_count(store, "m") == before
    store.remove_alias("m", "production", ACTOR)
    store.set_alias("m", "champion", 1, ACTOR)
    store.delete_version("m", 2, ACTOR)
    with pytest.raises(VersionNotFoundError):
        store.get_version("m", 2)


# --- aliases --------------------------------------------------------------------------------
def test_set_and_resolve_alias(store: MetadataStore) -> None:
    add(store, "m", 2)
    move = store.set_alias("m", "production", 1, "bob")
    assert (move.kind, move.from_version, move.to_version, move.actor) == ("set", None, 1, "bob")
    assert store.resolve_alias("m", "production").version == 1
    assert store.get_version("m", 1).aliases == ("production",)
    assert store.get_model("m").aliases == {"production": 1}
    event = store.events("m").items[0]
    assert (event.kind, event.alias, event.version, event.actor) == (
        "alias.set",
        "production",
        1,
        "bob",
    )
    assert (event.before, event.after) == ({"version": None}, {"version": 1})


def test_moving_an_alias(store: MetadataStore) -> None:
    add(store, "m", 2)
    store.set_alias("m", "production", 1, ACTOR)
    move = store.set_alias("m", "production", 2, ACTOR)
    assert (move.from_version, move.to_version) == (1, 2)
    assert store.resolve_alias("m", "production").version == 2
    assert store.get_version("m", 1).aliases == ()
    assert store.events("m").items[0].before == {"version": 1}


def test_setting_an_alias_to_its_current_version_is_a_no_op(store: MetadataStore) -> None:
    add(store, "m")
    store.set_alias("m", "production", 1, ACTOR)
    before = event_count(store, "m")
    moves = len(store.alias_moves("m"))
    move = store.set_alias("m", "production", 1, ACTOR)
    assert move.kind == "unchanged"
    assert (move.from_version, move.to_version) == (1, 1)
    assert event_count(store, "m") == before
    assert len(store.alias_moves("m")) == moves


def test_set_alias_to_unknown_or_deleted_version(store: MetadataStore) -> None:
    add(store, "m", 2)
    with pytest.raises(VersionNotFoundError, match="no version 7"):
        store.set_alias("m", "production", 7, ACTOR)
    store.delete_version("m", 1, ACTOR)
    with pytest.raises(VersionNotFoundError, match="no version 1"):
        store.set_alias("m", "production", 1, ACTOR)
    with pytest.raises(AliasNotFoundError):
        store.resolve_alias("m", "production")


def test_resolve_unknown_alias_lists_the_aliases(store: MetadataStore) -> None:
    add(store, "m")
    with pytest.raises(AliasNotFoundError, match=r"no alias 'prod' \(its aliases: none\)"):
        store.resolve_alias("m", "prod")
    store.set_alias("m", "staging", 1, ACTOR)
    store.set_alias("m", "champion", 1, ACTOR)
    with pytest.raises(AliasNotFoundError, match=r"\(its aliases: champion, staging\)"):
        store.resolve_alias("m", "prod")


def test_remove_alias(store: MetadataStore) -> None:
    add(store, "m")
    store.set_alias("m", "production", 1, ACTOR)
    move = store.remove_alias("m", "production", "bob")
    assert (move.kind, move.from_version, move.to_version) == ("remove", 1, None)
    with pytest.raises(AliasNotFoundError):
        store.resolve_alias("m", "production")
    event = store.events("m").items[0]
    assert (event.kind, event.alias, event.actor) == ("alias.removed", "production", "bob")
    assert (event.before, event.after) == ({"version": 1}, {"version": None})
    with pytest.raises(AliasNotFoundError, match="no alias 'production' to remove"):
        store.remove_alias("m", "production", ACTOR)


def test_rollback_is_undo_like(store: MetadataStore) -> None:
    add(store, "m", 3)
    for number in (1, 2, 3):
        store.set_alias("m", "production", number, ACTOR)
    first = store.rollback_alias("m", "production", "bob")
    assert (first.kind, first.from_version, first.to_version, first.actor) == (
        "rollback",
        3,
        2,
        "bob",
    )
    assert store.resolve_alias("m", "production").version == 2
    second = store.rollback_alias("m", "production", ACTOR)
    assert (second.from_version, second.to_version) == (2, 1)
    assert store.resolve_alias("m", "production").version == 1
    before = event_count(store, "m")
    with pytest.raises(AliasError, match="no earlier version to roll back to"):
        store.rollback_alias("m", "production", ACTOR)
    assert store.resolve_alias("m", "production").version == 1
    assert event_count(store, "m") == before
    events = store.events("m", kinds=["alias.rollback"]).items
    assert [(e.before, e.after, e.version) for e in events] == [
        ({"version": 2}, {"version": 1}, 1),
        ({"version": 3}, {"version": 2}, 2),
    ]


def test_rollback_after_a_new_set_undoes_that_set(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.set_alias("m", "production", 1, ACTOR)
    store.set_alias("m", "production", 2, ACTOR)
    store.rollback_alias("m", "production", ACTOR)  # -> 1
    store.set_alias("m", "production", 3, ACTOR)
    assert store.rollback_alias("m", "production", ACTOR).to_version == 1


def test_rollback_after_remove_restores(store: MetadataStore) -> None:
    add(store, "m", 2)
    store.set_alias("m", "production", 2, ACTOR)
    store.remove_alias("m", "production", ACTOR)
    move = store.rollback_alias("m", "production", ACTOR)
    assert (move.from_version, move.to_version) == (None, 2)
    assert store.resolve_alias("m", "production").version == 2


def test_rollback_to_a_deleted_version_is_refused(store: MetadataStore) -> None:
    add(store, "m", 2)
    store.set_alias("m", "production", 1, ACTOR)
    store.set_alias("m", "production", 2, ACTOR)
    store.delete_version("m", 1, ACTOR)
    with pytest.raises(AliasError, match="back to version 1: it was deleted"):
        store.rollback_alias("m", "production", ACTOR)
    assert store.resolve_alias("m", "production").version == 2


def test_rollback_of_an_alias_never_set(store: MetadataStore) -> None:
    add(store, "m")
    with pytest.raises(AliasNotFoundError, match="nothing to roll back"):
        store.rollback_alias("m", "production", ACTOR)


def test_rollback_of_a_first_set_is_refused(store: MetadataStore) -> None:
    add(store, "m")
    store.set_alias("m", "production", 1, ACTOR)
    with pytest.raises(AliasError, match="pointed at nothing before"):
        store.rollback_alias("m", "production", ACTOR)


def test_aliases_are_independent(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.set_alias("m", "production", 1, ACTOR)
    store.set_alias("m", "staging", 2, ACTOR)
    store.set_alias("m", "staging", 3, ACTOR)
    store.set_alias("m", "production", 2, ACTOR)
    assert store.rollback_alias("m", "staging", ACTOR).to_version == 2
    assert store.resolve_alias("m", "production").version == 2
    assert [m.kind for m in store.alias_moves("m", "staging")] == ["set", "set", "rollback"]
    assert len(store.alias_moves("m")) == 5


def test_alias_of_one_model_does_not_resolve_on_another(store: MetadataStore) -> None:
    add(store, "a")
    add(store, "b")
    store.set_alias("a", "production", 1, ACTOR)
    assert store.resolve_alias("a", "production").model == "a"
    with pytest.raises(AliasNotFoundError):
        store.resolve_alias("b", "production")


# --- listing models -------------------------------------------------------------------------
def test_list_models_pages_visit_every_model_once_in_order(store: MetadataStore) -> None:
    names = [f"model-{i:02d}" for i in range(23)]
    for name in reversed(names):
        store.create_model(name, ACTOR)
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = store.list_models(limit=5, page_token=token)
        assert len(page) <= 5
        seen.extend(m.name for m in page)
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert seen == names
    assert pages == 5


def test_list_models_exact_page_has_no_next_token(store: MetadataStore) -> None:
    for i in range(5):
        store.create_model(f"m{i}", ACTOR)
    page = store.list_models(limit=5)
    assert len(page) == 5
    assert page.next_page_token is None


def test_list_models_reports_aliases_and_counts(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.delete_version("m", 1, ACTOR)
    store.set_alias("m", "production", 2, ACTOR)
    [info] = store.list_models().items
    assert (info.version_count, info.latest_version, info.aliases) == (2, 3, {"production": 2})


def test_list_models_name_contains(store: MetadataStore) -> None:
    for name in ("churn", "churn-v2", "fraud", "CHURNY"):
        store.create_model(name, ACTOR)
    assert [m.name for m in store.list_models(name_contains="churn")] == [
        "CHURNY",
        "churn",
        "churn-v2",
    ]
    assert [m.name for m in store.list_models(name_contains="rau")] == ["fraud"]
    assert store.list_models(name_contains="zzz").items == []


def test_list_models_name_contains_underscore_is_literal(store: MetadataStore) -> None:
    for name in ("a_b", "axb", "a.b"):
        store.create_model(name, ACTOR)
    assert [m.name for m in store.list_models(name_contains="a_b")] == ["a_b"]
    assert [m.name for m in store.list_models(name_contains="_")] == ["a_b"]


def test_list_models_name_contains_percent_is_literal(store: MetadataStore) -> None:
    for name in ("ab", "a-b", "a.b"):
        store.create_model(name, ACTOR)
    assert store.list_models(name_contains="%").items == []
    assert store.list_models(name_contains="a%b").items == []
    assert store.list_models(name_contains="\\").items == []


def test_list_models_by_tags(store: MetadataStore) -> None:
    store.create_model("a", ACTOR, tags={"team": "risk", "tier": "1"})
    store.create_model("b", ACTOR, tags={"team": "risk", "tier": "2"})
    store.create_model("c", ACTOR, tags={"team": "growth"})
    assert [m.name for m in store.list_models(tags={"team": "risk"})] == ["a", "b"]
    assert [m.name for m in store.list_models(tags={"team": "risk", "tier": "2"})] == ["b"]
    assert store.list_models(tags={"team": "nobody"}).items == []


def test_list_models_by_alias(store: MetadataStore) -> None:
    add(store, "a")
    add(store, "b")
    add(store, "c")
    store.set_alias("a", "production", 1, ACTOR)
    store.set_alias("c", "production", 1, ACTOR)
    store.set_alias("b", "staging", 1, ACTOR)
    assert [m.name for m in store.list_models(alias="production")] == ["a", "c"]
    assert [m.name for m in store.list_models(alias="staging", name_contains="b")] == ["b"]


def test_filtered_model_pages_visit_every_match_once(store: MetadataStore) -> None:
    for i in range(12):
        store.create_model(f"m{i:02d}", ACTOR, tags={"even": str(i % 2 == 0)})
    seen: list[str] = []
    token: str | None = None
    while True:
        page = store.list_models(tags={"even": "True"}, limit=2, page_token=token)
        seen.extend(m.name for m in page)
        token = page.next_page_token
        if token is None:
            break
    assert seen == [f"m{i:02d}" for i in range(0, 12, 2)]


@pytest.mark.parametrize("limit", [0, -1, 1001, True, 2.5, "5"])
def test_invalid_limit(store: MetadataStore, limit: Any) -> None:
    add(store, "m")
    with pytest.raises(InvalidQueryError, match="page size must be a whole number from 1 to 1000"):
        store.list_models(limit=limit)
    with pytest.raises(InvalidQueryError, match="page size"):
        store.list_versions("m", limit=limit)
    with pytest.raises(InvalidQueryError, match="page size"):
        store.events("m", limit=limit)


@pytest.mark.parametrize("token", ["!!!", "not-json", "MTIz", "dHJ1ZQ", "", "e30"])
def test_invalid_page_token(store: MetadataStore, token: str) -> None:
    # "MTIz" is 123 (a number, but models page by name); "dHJ1ZQ" is true; "e30" is {}
    add(store, "m")
    with pytest.raises(InvalidQueryError, match="invalid page token"):
        store.list_models(page_token=token)


@pytest.mark.parametrize("token", ["!!!", "ImEi", "dHJ1ZQ", "e30"])
def test_invalid_version_and_event_page_token(store: MetadataStore, token: str) -> None:
    # "ImEi" is "a" (text, but versions and events page by number)
    add(store, "m")
    with pytest.raises(InvalidQueryError, match="invalid page token"):
        store.list_versions("m", page_token=token)
    with pytest.raises(InvalidQueryError, match="invalid page token"):
        store.events("m", page_token=token)


# --- listing versions -----------------------------------------------------------------------
def test_list_versions_pages_newest_first_exactly_once(store: MetadataStore) -> None:
    add(store, "m", 17)
    add(store, "other", 3)
    store.delete_version("m", 9, ACTOR)
    seen: list[int] = []
    token: str | None = None
    while True:
        page = store.list_versions("m", limit=4, page_token=token)
        assert len(page) <= 4
        seen.extend(v.version for v in page)
        token = page.next_page_token
        if token is None:
            break
    assert seen == [n for n in range(17, 0, -1) if n != 9]


def test_list_versions_shows_aliases(store: MetadataStore) -> None:
    add(store, "m", 2)
    store.set_alias("m", "production", 1, ACTOR)
    store.set_alias("m", "champion", 1, ACTOR)
    versions = store.list_versions("m").items
    assert [(v.version, v.aliases) for v in versions] == [(2, ()), (1, ("champion", "production"))]


def test_list_versions_by_flavor(store: MetadataStore) -> None:
    add(store, "m", flavor="sklearn")
    add(store, "m", flavor="xgboost")
    add(store, "m", flavor="sklearn")
    assert [v.version for v in store.list_versions("m", flavor="sklearn")] == [3, 1]
    assert [v.version for v in store.list_versions("m", flavor="xgboost")] == [2]
    assert store.list_versions("m", flavor="onnx").items == []


def test_list_versions_by_tags(store: MetadataStore) -> None:
    add(store, "m", tags={"stage": "dev", "team": "a"})
    add(store, "m", tags={"stage": "prod", "team": "a"})
    add(store, "m")
    assert [v.version for v in store.list_versions("m", tags={"team": "a"})] == [2, 1]
    assert [v.version for v in store.list_versions("m", tags={"team": "a", "stage": "dev"})] == [1]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("<", [1]),
        ("<=", [2, 1]),
        ("=", [2]),
        ("!=", [3, 1]),
        (">=", [3, 2]),
        (">", [3]),
    ],
)
def test_list_versions_by_metric(store: MetadataStore, op: Any, expected: list[int]) -> None:
    for auc in (0.7, 0.8, 0.9):
        add(store, "m", metrics={"auc": auc, "loss": 1 - auc})
    add(store, "m", metrics={"loss": 0.0})  # no auc: never matches an auc filter
    found = store.list_versions("m", metrics=[MetricFilter("auc", op, 0.8)])
    assert [v.version for v in found] == expected


def test_metric_filters_combine(store: MetadataStore) -> None:
    add(store, "m", metrics={"auc": 0.9, "latency": 50.0})
    add(store, "m", metrics={"auc": 0.95, "latency": 500.0})
    add(store, "m", metrics={"auc": 0.5, "latency": 5.0})
    found = store.list_versions(
        "m", metrics=[MetricFilter("auc", ">", 0.8), MetricFilter("latency", "<", 100)]
    )
    assert [v.version for v in found] == [1]


def test_unknown_metric_op_is_refused(store: MetadataStore) -> None:
    add(store, "m")
    with pytest.raises(InvalidQueryError, match="unknown comparison '~'"):
        store.list_versions("m", metrics=[MetricFilter("auc", "~", 1.0)])  # type: ignore[arg-type]


def test_filtered_version_pages_visit_every_match_once(store: MetadataStore) -> None:
    for i in range(1, 15):
        add(store, "m", metrics={"score": float(i)})
    seen: list[int] = []
    token: str | None = None
    while True:
        page = store.list_versions(
            "m", metrics=[MetricFilter("score", ">=", 4.0)], limit=3, page_token=token
        )
        seen.extend(v.version for v in page)
        token = page.next_page_token
        if token is None:
            break
    assert seen == list(range(14, 3, -1))


# --- audit events ---------------------------------------------------------------------------
def test_events_page_newest_first_exactly_once(store: MetadataStore) -> None:
    add(store, "m", 9)  # model.created + 9 version.created
    add(store, "other", 2)
    seen: list[AuditEvent] = []
    token: str | None = None
    while True:
        page = store.events("m", limit=3, page_token=token)
        assert len(page) <= 3
        seen.extend(page)
        token = page.next_page_token
        if token is None:
            break
    ids = [e.id for e in seen]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 10
    assert {e.model for e in seen} == {"m"}
    assert [e.version for e in seen] == [9, 8, 7, 6, 5, 4, 3, 2, 1, None]


def test_events_filtered_by_kind(store: MetadataStore) -> None:
    add(store, "m", 3)
    store.set_alias("m", "production", 1, ACTOR)
    store.set_alias("m", "production", 2, ACTOR)
    store.delete_version("m", 3, ACTOR)
    sets = store.events("m", kinds=["alias.set"]).items
    assert [(e.kind, e.version) for e in sets] == [("alias.set", 2), ("alias.set", 1)]
    mixed = store.events("m", kinds=["version.deleted", "model.created"]).items
    assert [e.kind for e in mixed] == ["version.deleted", "model.created"]
    first = store.events("m", kinds=["version.created"], limit=2)
    assert [e.version for e in first] == [3, 2]
    rest = store.events("m", kinds=["version.created"], limit=2, page_token=first.next_page_token)
    assert [e.version for e in rest] == [1]
    assert rest.next_page_token is None


def test_every_write_makes_exactly_one_event(store: MetadataStore) -> None:
    writes: list[tuple[str, Any]] = [
        ("model.created", lambda: store.create_model("m", "u1", tags={"a": "1"})),
        ("version.created", lambda: store.insert_version(new("m"), "u2")),
        ("version.created", lambda: store.insert_version(new("m", tags={"x": "y"}), "u3")),
        ("model.updated", lambda: store.update_model("m", "u4", description="d")),
        ("version.updated", lambda: store.update_version_tags("m", 1, "u5", {"t": "1"})),
        ("alias.set", lambda: store.set_alias("m", "production", 1, "u6")),
        ("alias.set", lambda: store.set_alias("m", "production", 2, "u7")),
        ("alias.rollback", lambda: store.rollback_alias("m", "production", "u8")),
        ("alias.removed", lambda: store.remove_alias("m", "production", "u9")),
        ("version.deleted", lambda: store.delete_version("m", 2, "u10")),
        ("model.deleted", lambda: store.delete_model("m", "u11")),
    ]
    for i, (kind, write) in enumerate(writes, start=1):
        write()
        events = all_events(store, "m")
        assert len(events) == i, kind
        last = events[-1]
        assert (last.kind, last.actor, last.model) == (kind, f"u{i}", "m")
        assert last.before is not None or last.after is not None
        assert last.at.tzinfo is not None


def test_events_of_a_model_never_seen(store: MetadataStore) -> None:
    add(store, "m")
    assert store.events("m", kinds=["alias.set"]).items == []
    with pytest.raises(ModelNotFoundError):
        store.events("ghost", kinds=["alias.set"])


def test_events_outlive_the_model(store: MetadataStore) -> None:
    add(store, "m")
    store.delete_model("m", ACTOR)
    assert [e.kind for e in store.events("m", kinds=["model.deleted"])] == ["model.deleted"]
    assert len(store.events("m")) == 3


def test_the_store_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    first = MetadataStore(url)
    add(first, "m", 2)
    first.set_alias("m", "production", 2, ACTOR)
    first.close()
    second = MetadataStore(url)
    try:
        assert second.resolve_alias("m", "production").version == 2
        assert add(second, "m")[0].version == 3
    finally:
        second.close()
