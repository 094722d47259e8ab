"""Pickle files are refused by design: unpickling a file runs whatever code it holds."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ferryman.errors import ModelFileError

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
SKOPS_LINE = 'import skops.io as sio; sio.dump(model, "model.skops")'


def is_pickle(path: Path) -> bool:
    """Whether ``path`` holds a pickle: its first bytes (protocol 2 to 5 open with 0x80 and the
    protocol number), or a pickle or joblib suffix on a file that is not a zip (skops) archive;
    joblib's compressed files open with their compressor's bytes, so the suffix tells them."""
    with path.open("rb") as fh:
        head = fh.read(2)
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return path.suffix.lower() in PICKLE_SUFFIXES and not zipfile.is_zipfile(path)


def refuse_pickle(path: Path) -> None:
    """Raise ModelFileError with the way out (skops) if ``path`` is a pickle file."""
    try:
        pickled = is_pickle(path)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from exc
    if pickled:
        raise ModelFileError(
            f"{path.name} is a pickle file, which ferryman refuses by design: loading a pickle "
            "runs any code it holds, so ferryman never unpickles a file. Save the fitted "
            f"estimator with skops and register that file instead: {SKOPS_LINE}"
        )
