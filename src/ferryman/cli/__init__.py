"""The command-line interface (Typer)."""

from ferryman.cli.app import app, main

__all__ = ["app", "main"]
