"""Verified snapshots of loaded models: later loads skip the format's slow, careful reader.

skops checks every type in a file before it builds the model, and its import alone costs more
than a second (it lists every scikit-learn estimator by importing them all). Once a version has
been loaded that way, ferryman keeps the built predictor as a pickle in the store's cache,
signed with HMAC-SHA256 under a key that only this store holds (``cache/snapshots/key``, mode
0600, made on first use). A later load of the same artifact, under the same trusted types and
the same library versions, reads the snapshot instead, and only if its signature verifies: a
snapshot is never a file someone handed us, only bytes ferryman itself wrote after the full
check. Anything wrong with a snapshot (missing, unsigned, altered, from another store's key,
unreadable) means the normal load runs and the snapshot is rewritten.

Only predictors that declare ``snapshot_safe`` are kept (scikit-learn's); the others load fast
enough natively. ``snapshot_models = false`` in the settings turns snapshots off.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import pickle
import secrets
import sys
from collections.abc import Hashable, Sequence
from importlib import metadata
from pathlib import Path

from ferryman._version import __version__
from ferryman.flavors import Predictor

log = logging.getLogger("ferryman.registry")
TAG_BYTES = 32


class Snapshots:
    """Signed predictor snapshots in ``folder`` (a local folder of the store's home)."""

    def __init__(self, folder: Path, enabled: bool = True) -> None:
        self.folder = folder
        self.enabled = enabled
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / "key"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_bytes()
            else:
                key = secrets.token_bytes(32)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
            if len(key) != 32:  # a half-written key from a crash: start over
                path.unlink(missing_ok=True)
                return self._secret()
            self._key = key
        return self._key

    def _path(self, key: Hashable, packages: Sequence[str]) -> Path:
        versions = [f"{name}={_version(name)}" for name in sorted(packages)]
        text = repr((key, sys.version, __version__, versions))
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()}.pkl"

    def load(self, key: Hashable, packages: Sequence[str]) -> Predictor | None:
        """The snapshot for ``key`` if there is one and its signature verifies, else None."""
        if not self.enabled:
            return None
        path = self._path(key, packages)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            tag, payload = data[:TAG_BYTES], data[TAG_BYTES:]
            expected = hmac.new(self._secret(), payload, hashlib.sha256).digest()
            if len(data) <= TAG_BYTES or not hmac.compare_digest(tag, expected):
                log.warning("ignoring snapshot %s: its signature does not verify", path.name)
                path.unlink(missing_ok=True)
                return None
            # signed above with this store's own key: bytes ferryman wrote after a full check
            predictor = pickle.loads(payload)  # noqa: S301
        except Exception as exc:  # noqa: BLE001 - any failure falls back to the checked load
            log.warning("ignoring snapshot %s: %s", path.name, exc)
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return None
        return predictor if isinstance(predictor, Predictor) else None

    def save(self, key: Hashable, packages: Sequence[str], predictor: Predictor) -> None:
        """Keep ``predictor`` (just loaded through its format's full check). Best effort."""
        if not self.enabled or not getattr(predictor, "snapshot_safe", False):
            return
        try:
            payload = pickle.dumps(predictor, protocol=pickle.HIGHEST_PROTOCOL)
            tag = hmac.new(self._secret(), payload, hashlib.sha256).digest()
            path = self._path(key, packages)
            scratch = path.with_suffix(f".{os.getpid()}.tmp")
            scratch.write_bytes(tag + payload)
            os.replace(scratch, path)
        except Exception as exc:  # noqa: BLE001 - a snapshot is an optimisation, never an error
            log.warning("could not keep a snapshot of the model: %s", exc)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"
