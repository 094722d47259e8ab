"""The command-line interface (Typer)."""

import os

# Arrow's default allocator (mimalloc) reserves its own arena, backed by transparent huge pages
# on Linux: about 8 MB resident in a server that only writes small log segments. The C
# allocator costs the prediction log and ``ferryman score`` nothing measurable (bench/README.md).
# Arrow reads this when it first allocates, so it is set before anything imports pyarrow; a
# value the user exported wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

from ferryman.cli.app import app, main

__all__ = ["app", "main"]
