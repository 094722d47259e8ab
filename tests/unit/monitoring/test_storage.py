"""Monitoring's store beside a registry: the registry's database and engine, given explicitly."""

from __future__ import annotations

from datetime import UTC, datetime

from ferryman.monitoring.monitor import Monitor
from ferryman.monitoring.storage import NewAlert, open_monitor_store
from ferryman.registry import Registry

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ALERT = NewAlert(
    model="churn",
    rule="dataset-drift",
    severity="warning",
    fingerprint="fp",
    value=0.5,
    threshold=0.2,
    message="share 0.5",
)


def test_the_monitor_store_uses_the_registry_engine(registry: Registry) -> None:
    store = open_monitor_store(registry)
    event, _ = store.fire_alert(ALERT, T0)

    assert store.engine is registry.store.engine
    assert open_monitor_store(registry).alert_event(event.id) == event


def test_a_monitor_keeps_results_and_alerts_in_the_store_it_is_given(registry: Registry) -> None:
    store = open_monitor_store(registry)
    monitor = Monitor(registry, store=store)
    try:
        assert monitor.results.store is store
        assert monitor.alerts.store is store
    finally:
        monitor.close()
