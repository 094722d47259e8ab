"""Monitoring's storage seam: its store beside a registry, and the records it keeps.

The one monitoring module that imports ``ferryman.store`` (an import-linter contract keeps it
so): the rest of monitoring takes a ``MonitorStore`` as a constructor argument and names the
records from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryman.store import (
    AlertDelivery,
    AlertEvent,
    MonitorPoint,
    MonitorResult,
    MonitorStore,
    NewAlert,
)

if TYPE_CHECKING:  # the alerts and webhooks import this module without needing the registry
    from ferryman.registry import Registry

__all__ = [
    "AlertDelivery",
    "AlertEvent",
    "MonitorPoint",
    "MonitorResult",
    "MonitorStore",
    "NewAlert",
    "open_monitor_store",
]


def open_monitor_store(registry: Registry) -> MonitorStore:
    """Monitoring's tables in ``registry``'s database, on the engine the registry opened.

    The registry keeps owning the engine: closing the registry closes this store's database
    too, and the store itself has nothing to close.
    """
    return MonitorStore(registry.store.engine)
