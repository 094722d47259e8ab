"""Damage a store on disk the way a crash or a failing disk would, for tests of what ferryman
says then."""

from __future__ import annotations

from pathlib import Path


def damage_database(path: Path) -> None:
    """Garbage over every page after the first two (the header page and the one after it)."""
    data = path.read_bytes()
    page = int.from_bytes(data[16:18], "big") or 65536
    start = 2 * page
    garbage = (bytes(range(256)) * (len(data) // 256 + 1))[: len(data) - start]
    path.write_bytes(data[:start] + garbage)
