"""Monitoring's store over a real SQLite file: results as time series, alert events, deliveries."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ferryman.errors import InvalidArgumentError, InvalidQueryError, NotFoundError
from ferryman.store import MetadataStore, MonitorStore, NewAlert
from ferryman.store.engine import WRITE, create_store_engine
from ferryman.store.migrate import _config, current_revision, head_revision, open_database
from ferryman.store.tables import metadata

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MonitorStore]:
    engine = open_database(f"sqlite:///{tmp_path / 'meta.db'}")
    yield MonitorStore(engine)
    engine.dispose()


def save(store: MonitorStore, hour: int, *, kind: str = "drift", version: int | None = 1) -> int:
    start = T0 + hour * HOUR
    return store.save_monitor_result(
        "churn",
        kind,
        window_start=start,
        window_end=start + HOUR,
        summary={"share": hour / 10},
        payload={"features": {"age": {"psi": 0.1 * hour}}},
        version=version,
    ).id


def alert(fp: str = "fp1", value: float = 0.5, **extra: object) -> NewAlert:
    fields: dict[str, object] = {
        "model": "churn",
        "rule": "dataset-drift",
        "severity": "warning",
        "fingerprint": fp,
        "value": value,
        "threshold": 0.2,
        "message": f"share {value}",
    }
    fields.update(extra)
    return NewAlert(**fields)  # type: ignore[arg-type]


# --- results --------------------------------------------------------------------------------
def test_a_saved_result_reads_back_whole(store: MonitorStore) -> None:
    saved = store.save_monitor_result(
        "churn",
        "drift",
        window_start=T0,
        window_end=T0 + HOUR,
        summary={"share": 0.25, "psi": {"age": 0.3}},
        payload={"features": {"age": {"psi": 0.3, "drifted": True}}},
        version=3,
    )
    latest = store.latest_monitor_result("churn", "drift")
    assert latest == saved
    assert latest is not None
    assert (latest.version, latest.window_start, latest.window_end) == (3, T0, T0 + HOUR)
    assert latest.window_start.tzinfo is not None
    assert latest.payload["features"]["age"]["drifted"] is True


def test_latest_is_the_newest_window_and_can_be_of_one_version(store: MonitorStore) -> None:
    save(store, 5, version=2)
    save(store, 1, version=1)  # computed later, but about an older window
    newest = store.latest_monitor_result("churn", "drift")
    assert newest is not None
    assert newest.window_start == T0 + 5 * HOUR
    v1 = store.latest_monitor_result("churn", "drift", version=1)
    assert v1 is not None
    assert v1.window_start == T0 + HOUR
    assert store.latest_monitor_result("churn", "quality") is None
    assert store.latest_monitor_result("other", "drift") is None


def test_series_is_ordered_by_window_and_bounded(store: MonitorStore) -> None:
    for hour in (3, 0, 2, 1, 4):
        save(store, hour)
    save(store, 9, kind="quality")
    series = store.monitor_series("churn", "drift")
    assert [p.window_start for p in series] == [T0 + h * HOUR for h in range(5)]
    assert [p.summary["share"] for p in series] == [0.0, 0.1, 0.2, 0.3, 0.4]
    middle = store.monitor_series("churn", "drift", since=T0 + 2 * HOUR, until=T0 + 4 * HOUR)
    assert [p.window_end for p in middle] == [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR]
    newest_two = store.monitor_series("churn", "drift", limit=2)
    assert [p.window_start for p in newest_two] == [T0 + 3 * HOUR, T0 + 4 * HOUR]
    with pytest.raises(InvalidQueryError, match="limit=0"):
        store.monitor_series("churn", "drift", limit=0)


def test_series_of_one_version_and_of_model_level_results(store: MonitorStore) -> None:
    save(store, 0, version=1)
    save(store, 1, version=2)
    save(store, 2, version=None)
    assert [p.version for p in store.monitor_series("churn", "drift")] == [1, 2, None]
    assert [p.version for p in store.monitor_series("churn", "drift", version=2)] == [2]


def test_prune_deletes_results_whose_window_ended_before(store: MonitorStore) -> None:
    for hour in range(5):
        save(store, hour)
    assert store.prune_monitor_results(T0 + 3 * HOUR) == 2  # windows ending at 1h and 2h
    assert [p.window_end for p in store.monitor_series("churn", "drift")] == [
        T0 + 3 * HOUR,
        T0 + 4 * HOUR,
        T0 + 5 * HOUR,
    ]
    assert store.prune_monitor_results(T0) == 0


def test_a_window_that_ends_before_it_starts_is_refused(store: MonitorStore) -> None:
    with pytest.raises(InvalidArgumentError, match="must not end"):
        store.save_monitor_result(
            "churn", "drift", window_start=T0, window_end=T0 - HOUR, summary={}, payload={}
        )


# --- alert events ---------------------------------------------------------------------------
def test_firing_twice_keeps_one_event_and_refreshes_it(store: MonitorStore) -> None:
    first, is_new = store.fire_alert(alert(value=0.5), T0)
    assert is_new
    assert (first.state, first.first_seen, first.last_seen) == ("firing", T0, T0)
    again, is_new = store.fire_alert(alert(value=0.7), T0 + HOUR)
    assert not is_new
    assert again.id == first.id
    assert (again.first_seen, again.last_seen, again.value) == (T0, T0 + HOUR, 0.7)
    assert again.message == "share 0.7"
    assert [e.id for e in store.firing_alerts("churn")] == [first.id]


def test_resolve_then_fire_again_opens_a_new_event(store: MonitorStore) -> None:
    first, _ = store.fire_alert(alert(), T0)
    resolved = store.resolve_alert("fp1", T0 + HOUR)
    assert resolved is not None
    assert (resolved.id, resolved.state, resolved.resolved_at) == (first.id, "resolved", T0 + HOUR)
    assert store.resolve_alert("fp1", T0 + 2 * HOUR) is None  # nothing firing any more
    assert store.firing_alerts("churn") == []
    second, is_new = store.fire_alert(alert(), T0 + 3 * HOUR)
    assert is_new
    assert second.id != first.id
    assert [e.state for e in store.alert_events("churn")] == ["firing", "resolved"]


def test_only_one_firing_event_per_fingerprint_in_the_database(store: MonitorStore) -> None:
    store.fire_alert(alert(), T0)
    with (
        sqlite3.connect(Path(store.engine.url.database or "")) as raw,
        pytest.raises(sqlite3.IntegrityError),
    ):
        raw.execute(
            "INSERT INTO alert_events (model_name, rule, severity, state, fingerprint, "
            "first_seen, last_seen, threshold, message) VALUES ('churn', 'r', 'warning', "
            "'firing', 'fp1', '2026-03-01', '2026-03-01', 0.2, 'twin')"
        )


def test_event_listings_filter_by_model_state_and_time(store: MonitorStore) -> None:
    store.fire_alert(alert("a"), T0)
    store.fire_alert(alert("b", model="other"), T0 + HOUR)
    store.fire_alert(alert("c"), T0 + 2 * HOUR)
    store.resolve_alert("a", T0 + 3 * HOUR)
    assert [e.fingerprint for e in store.alert_events("churn")] == ["c", "a"]
    assert [e.fingerprint for e in store.alert_events(state="firing")] == ["c", "b"]
    assert [e.fingerprint for e in store.alert_events("churn", state="resolved")] == ["a"]
    assert [e.fingerprint for e in store.alert_events(since=T0 + 90 * timedelta(minutes=1))] == [
        "c"
    ]
    assert [e.fingerprint for e in store.firing_alerts()] == ["b", "c"]
    with pytest.raises(InvalidQueryError, match="firing, resolved"):
        store.alert_events(state="open")


def test_evidence_and_subject_are_kept(store: MonitorStore) -> None:
    event, _ = store.fire_alert(alert(subject="age", version=4, evidence={"top": {"age": 0.4}}), T0)
    stored = store.alert_event(event.id)
    assert (stored.subject, stored.version, stored.evidence) == ("age", 4, {"top": {"age": 0.4}})
    with pytest.raises(NotFoundError, match="no alert event with id 999"):
        store.alert_event(999)


def test_a_rule_name_too_long_for_the_column_is_refused(store: MonitorStore) -> None:
    with pytest.raises(InvalidArgumentError, match="longer than 128"):
        store.fire_alert(alert(rule="r" * 129))


# --- deliveries -----------------------------------------------------------------------------
def test_deliveries_are_recorded_per_event_in_order(store: MonitorStore) -> None:
    event, _ = store.fire_alert(alert(), T0)
    other, _ = store.fire_alert(alert("fp2"), T0)
    store.record_delivery(event.id, "fired", "http://a/x", 1, ok=False, error="refused")
    store.record_delivery(other.id, "fired", "http://a/x", 1, ok=True, status_code=200)
    store.record_delivery(event.id, "fired", "http://a/x", 2, ok=True, status_code=204)
    got = store.alert_deliveries(event.id)
    assert [(d.attempt, d.ok, d.status_code, d.error) for d in got] == [
        (1, False, None, "refused"),
        (2, True, 204, None),
    ]
    assert got[0].at.tzinfo is not None


def test_pruning_resolved_events_takes_their_deliveries(store: MonitorStore) -> None:
    old, _ = store.fire_alert(alert("old"), T0)
    store.record_delivery(old.id, "fired", "http://a/x", 1, ok=True, status_code=200)
    store.resolve_alert("old", T0 + HOUR)
    store.fire_alert(alert("live"), T0)
    assert store.prune_alert_events(T0 + 2 * HOUR) == 1
    assert [e.fingerprint for e in store.alert_events()] == ["live"]
    assert store.alert_deliveries(old.id) == []


# --- schema ---------------------------------------------------------------------------------
def test_a_database_at_0002_gains_the_monitoring_tables_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_store_engine(f"sqlite:///{path}")
    cfg = _config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    engine.dispose()
    meta = MetadataStore(f"sqlite:///{path}")
    try:
        assert current_revision(meta.engine) == head_revision()
        store = MonitorStore(meta.engine)
        save(store, 0)
        assert len(store.monitor_series("churn", "drift")) == 1
    finally:
        meta.close()


def test_the_migrations_match_the_table_definitions(store: MonitorStore) -> None:
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
