"""Access's storage seam: its store beside a registry, and the records it keeps.

The one access module that imports ``ferryman.store`` (an import-linter contract keeps it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferryman.store import NewTokenEvent, StoredToken, TokenEvent, TokenStore

if TYPE_CHECKING:
    from ferryman.registry import Registry

__all__ = ["NewTokenEvent", "StoredToken", "TokenEvent", "TokenStore", "open_token_store"]


def open_token_store(registry: Registry) -> TokenStore:
    """Access's tables in ``registry``'s database, on the engine the registry opened."""
    return TokenStore(registry.store.engine)
