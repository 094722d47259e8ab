"""``python -m ferryman.cli``: the same as the ``ferryman`` command."""

from ferryman.cli import main

main()
