"""Content-addressed artifact store over a local folder or any fsspec URL.

A blob lives at ``sha256/ab/cdef...`` under the root. It is written to a temporary name, made
durable, then renamed into place; only then does the registry record it. A crash at any point
leaves at most an unreferenced blob, never a version pointing at a partial file.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from ferryman.core.disk import is_space_error, space_problem
from ferryman.errors import ArtifactError, StoreError

CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """The SHA-256 hex digest and size of a local file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsspec() -> Any:
    return importlib.import_module("fsspec")


def _local_folder(root: str) -> str | None:
    """The absolute folder a plain path or ``file://`` URL names; None for any other URL."""
    path = root.removeprefix("file://")
    if "://" in path or "::" in path:
        return None
    return os.path.abspath(os.path.expanduser(path)).rstrip("/") or "/"


class ArtifactStore:
    """Blobs addressed by their SHA-256, under ``root`` (a path or an fsspec URL)."""

    def __init__(self, root: str, cache_dir: Path | None = None) -> None:
        self.root = root
        self._cache_dir = cache_dir
        self._fs: Any = None
        local = _local_folder(root)
        if local is not None:
            # fsspec is imported on first use: commands that only read metadata (``models
            # list``) never touch an artifact, and its import costs them start-up time
            self.base, self.is_local = local, True
            return
        try:
            self._fs, base = _fsspec().core.url_to_fs(root)
        except (ValueError, ImportError) as exc:
            raise StoreError(f"cannot use artifact root {root!r}: {exc}") from exc
        self.base = base.rstrip("/")
        local_fs = importlib.import_module("fsspec.implementations.local").LocalFileSystem
        self.is_local = isinstance(self._fs, local_fs)

    @property
    def fs(self) -> Any:
        """The fsspec file system under ``base`` (the local one for a folder root)."""
        if self._fs is None:
            self._fs = _fsspec().filesystem("file")
        return self._fs

    def key(self, sha256: str) -> str:
        return f"sha256/{sha256[:2]}/{sha256[2:]}"

    def location(self, sha256: str) -> str:
        return f"{self.base}/{self.key(sha256)}"

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.exists(self.location(sha256)))

    # --- writing ------------------------------------------------------------------------------
    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a local file; return its hash and size. Storing the same bytes twice is free."""
        sha, size = sha256_file(path)
        final = self.location(sha)
        if self._holds(sha, size):
            return sha, size  # same bytes already stored (and still whole)
        try:
            if self.is_local:
                self._put_local(path, Path(final))
            else:
                tmp = f"{final}.tmp-{uuid.uuid4().hex}"
                self.fs.put_file(str(path), tmp)
                self.fs.mv(tmp, final)
        except OSError as exc:
            full = space_problem(final) if self.is_local else None
            if full is None and is_space_error(exc):
                full = f"{exc.strerror} ({final})"
            raise StoreError(f"cannot write artifact to {self.root}: {full or exc}") from exc
        return sha, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        with tempfile.TemporaryDirectory(prefix="ferryman-") as tmp:
            path = Path(tmp) / "blob"
            path.write_bytes(data)
            return self.put_file(path)

    def _holds(self, sha256: str, size: int) -> bool:
        """True if the blob is stored whole; a damaged copy is then rewritten by the caller."""
        final = self.location(sha256)
        if not self.fs.exists(final) or self.fs.size(final) != size:
            return False
        if not self.is_local:
            return True  # object stores check integrity themselves
        return sha256_file(Path(final))[0] == sha256

    @staticmethod
    def _put_local(source: Path, final: Path) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex}")
        try:
            with source.open("rb") as src, tmp.open("wb") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # --- reading ------------------------------------------------------------------------------
    def local_path(self, sha256: str, size: int) -> Path:
        """A local path holding the verified blob (downloaded first when the root is remote).

        Raises ArtifactError when the blob is missing, of the wrong size, or its bytes do not
        hash to ``sha256``.
        """
        if self.is_local:
            path = Path(self.location(sha256))
            self._verify(path, sha256, size)
            return path
        path = self._download(sha256)
        try:
            self._verify(path, sha256, size)
        except ArtifactError:
            path.unlink(missing_ok=True)  # a bad cached copy: fetch once more
            path = self._download(sha256)
            self._verify(path, sha256, size)
        return path

    def open(self, sha256: str) -> BinaryIO:
        """The blob's bytes as a file object (unverified; use ``local_path`` to verify)."""
        try:
            handle: Any = self.fs.open(self.location(sha256), "rb")
        except FileNotFoundError as exc:
            raise self._missing(sha256) from exc
        return handle

    def _download(self, sha256: str) -> Path:
        cache = self._cache_dir or Path(tempfile.gettempdir()) / f"ferryman-{os.getuid()}-cache"
        target = cache / self.key(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
            try:
                self.fs.get_file(self.location(sha256), str(tmp))
                os.replace(tmp, target)
            except FileNotFoundError as exc:
                raise self._missing(sha256) from exc
            finally:
                tmp.unlink(missing_ok=True)
        return target

    def _verify(self, path: Path, sha256: str, size: int) -> None:
        if not path.exists():
            raise self._missing(sha256)
        actual_size = path.stat().st_size
        if actual_size != size:
            raise ArtifactError(
                f"artifact {sha256[:12]} at {path} is {actual_size} bytes, but {size} were "
                "recorded: it is truncated or was changed; restore it from a backup or register "
                "the model again"
            )
        actual, _ = sha256_file(path)
        if actual != sha256:
            raise ArtifactError(
                f"artifact {sha256[:12]} at {path} is corrupt: its bytes hash to {actual[:12]}; "
                "restore it from a backup or register the model again"
            )

    def _missing(self, sha256: str) -> ArtifactError:
        return ArtifactError(
            f"artifact {sha256[:12]} is missing from {self.root}; the artifact folder may have "
            "been moved or cleaned: point FERRYMAN_ARTIFACT_ROOT at it, or register the model again"
        )
