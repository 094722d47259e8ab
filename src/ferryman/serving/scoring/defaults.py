"""Defaults of batch scoring that the ``ferryman score`` command shows in its help.

They live apart from ``scoring.py`` so that building the command's help does not import pandas.
"""

DEFAULT_CHUNK_ROWS = 50_000
