"""Where a logged prediction came from, and the names that select sources for monitoring.

Every row of the prediction log has a ``source``: the server writes the endpoint that answered
(``predict``, ``v2_infer``, ``invocations`` ...), ``ferryman score`` writes ``score``. Monitoring
of live traffic looks at ``live`` rows only unless asked for others:

- ``live``: every row not written by batch scoring (the server's answers)
- ``score``: rows written by ``ferryman score``
- ``all``: every row
"""

from __future__ import annotations

from collections.abc import Iterable

from ferryman.errors import ConfigError

SCORE_SOURCE = "score"  # what ``ferryman score`` writes in the log's source column
BATCH_SOURCES = (SCORE_SOURCE,)
SOURCE_GROUPS = ("live", "score")
SOURCE_CHOICES = (*SOURCE_GROUPS, "all")
DEFAULT_SOURCES = ("live",)


def parse_sources(values: str | Iterable[str], what: str = "source") -> frozenset[str]:
    """The groups (``live``, ``score``) that ``values`` select.

    Each value may hold several names separated by commas; ``all`` selects every group. An
    unknown or missing name is a ConfigError that lists the valid choices.
    """
    items = [values] if isinstance(values, str) else list(values)
    names = [n.strip().lower() for item in items for n in str(item).split(",") if n.strip()]
    if not names:
        raise ConfigError(f"give at least one {what}: {', '.join(SOURCE_CHOICES)}")
    chosen: set[str] = set()
    for name in names:
        if name == "all":
            chosen.update(SOURCE_GROUPS)
        elif name in SOURCE_GROUPS:
            chosen.add(name)
        else:
            raise ConfigError(
                f"unknown {what} {name!r}; choose from {', '.join(SOURCE_CHOICES)} "
                "(several separated by commas)"
            )
    return frozenset(chosen)


def describe_sources(groups: Iterable[str]) -> list[str]:
    """``groups`` as a sorted list for results and messages (``["all"]`` for every group)."""
    chosen = set(groups)
    return ["all"] if chosen >= set(SOURCE_GROUPS) else sorted(chosen)
