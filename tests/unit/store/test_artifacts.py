"""The content-addressed artifact store on a local folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import fsspec
import pytest

from ferryman.errors import ArtifactError, StoreError
from ferryman.store.artifacts import ArtifactStore, sha256_file

DATA = b"model bytes \x00\x01\x02" * 1000


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def store(root: Path) -> ArtifactStore:
    return ArtifactStore(str(root))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_sha256_file_hashes_and_measures(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(DATA)
    assert sha256_file(path) == (hashlib.sha256(DATA).hexdigest(), len(DATA))


def test_sha256_file_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert sha256_file(path) == (hashlib.sha256(b"").hexdigest(), 0)


def test_put_bytes_returns_hash_and_size(store: ArtifactStore) -> None:
    sha, size = store.put_bytes(DATA)
    assert sha == hashlib.sha256(DATA).hexdigest()
    assert size == len(DATA)
    assert store.exists(sha)


def test_put_file_returns_hash_and_size(store: ArtifactStore, tmp_path: Path) -> None:
    src = tmp_path / "model.skops"
    src.write_bytes(DATA)
    assert store.put_file(src) == (hashlib.sha256(DATA).hexdigest(), len(DATA))
    assert src.read_bytes() == DATA  # the source is left alone


def test_blob_layout_is_sha256_prefix_rest(store: ArtifactStore, root: Path) -> None:
    sha, _ = store.put_bytes(DATA)
    blob = root / "sha256" / sha[:2] / sha[2:]
    assert store.key(sha) == f"sha256/{sha[:2]}/{sha[2:]}"
    assert files_under(root) == [blob]
    assert blob.read_bytes() == DATA


def test_same_bytes_are_stored_once(store: ArtifactStore, root: Path, tmp_path: Path) -> None:
    first = store.put_bytes(DATA)
    src = tmp_path / "copy"
    src.write_bytes(DATA)
    second = store.put_file(src)
    third = store.put_bytes(DATA)
    assert first == second == third
    assert len(files_under(root)) == 1


def test_different_bytes_are_different_blobs(store: ArtifactStore, root: Path) -> None:
    a, _ = store.put_bytes(b"a")
    b, _ = store.put_bytes(b"b")
    assert a != b
    assert len(files_under(root)) == 2


def test_no_temporary_files_are_left_after_writes(
    store: ArtifactStore, root: Path, tmp_path: Path
) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"x" * 10)
    store.put_file(src)
    store.put_bytes(DATA)
    store.put_bytes(b"")
    names = [p.name for p in root.rglob("*")]
    assert not [n for n in names if ".tmp" in n or n.startswith(".")]
    assert len(files_under(root)) == 3


def test_put_bytes_leaves_no_scratch_folder(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    ArtifactStore(str(root)).put_bytes(DATA)
    assert list(scratch.iterdir()) == []


def test_local_path_returns_the_verified_blob(store: ArtifactStore) -> None:
    sha, size = store.put_bytes(DATA)
    path = store.local_path(sha, size)
    assert path.read_bytes() == DATA


def test_open_reads_the_blob(store: ArtifactStore) -> None:
    sha, _ = store.put_bytes(DATA)
    with store.open(sha) as fh:
        assert fh.read() == DATA


def test_open_of_a_missing_blob_is_an_artifact_error(store: ArtifactStore) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(ArtifactError, match=f"artifact {sha[:12]} is missing"):
        store.open(sha)


def test_missing_blob_is_reported(store: ArtifactStore, root: Path) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(sha)
    with pytest.raises(ArtifactError, match=f"artifact {sha[:12]} is missing") as info:
        store.local_path(sha, 12)
    assert str(root) in str(info.value)
    assert "FERRYMAN_ARTIFACT_ROOT" in str(info.value)


def test_deleted_blob_is_reported_missing(store: ArtifactStore, root: Path) -> None:
    sha, size = store.put_bytes(DATA)
    (root / store.key(sha)).unlink()
    with pytest.raises(ArtifactError, match="is missing"):
        store.local_path(sha, size)


def test_truncated_blob_is_reported(store: ArtifactStore, root: Path) -> None:
    sha, size = store.put_bytes(DATA)
    blob = root / store.key(sha)
    blob.write_bytes(DATA[: size // 2])
    with pytest.raises(ArtifactError, match=f"is {size // 2} bytes, but {size} were recorded"):
        store.local_path(sha, size)


def test_blob_with_flipped_bytes_is_reported_corrupt(store: ArtifactStore, root: Path) -> None:
    sha, size = store.put_bytes(DATA)
    blob = root / store.key(sha)
    damaged = bytearray(DATA)
    damaged[100] ^= 0xFF
    blob.write_bytes(bytes(damaged))
    bad = hashlib.sha256(bytes(damaged)).hexdigest()
    with pytest.raises(ArtifactError, match=f"is corrupt: its bytes hash to {bad[:12]}"):
        store.local_path(sha, size)


def test_artifact_errors_are_store_errors() -> None:
    assert issubclass(ArtifactError, StoreError)


def test_failed_rename_leaves_nothing_behind(
    store: ArtifactStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StoreError, match="cannot write artifact") as info:
        store.put_bytes(DATA)
    assert not isinstance(info.value, ArtifactError)
    assert "No space left on device" in str(info.value)
    assert files_under(root) == []
    monkeypatch.undo()
    sha, size = store.put_bytes(DATA)  # a later write succeeds
    assert store.local_path(sha, size).read_bytes() == DATA


def test_rewrite_repairs_a_truncated_blob(store: ArtifactStore, root: Path) -> None:
    sha, size = store.put_bytes(DATA)
    (root / store.key(sha)).write_bytes(DATA[:10])
    assert store.put_bytes(DATA) == (sha, size)
    assert store.local_path(sha, size).read_bytes() == DATA


def test_remote_root_downloads_into_cache(tmp_path: Path) -> None:
    remote = ArtifactStore(f"memory://ferryman-test-{tmp_path.name}", cache_dir=tmp_path / "c")
    assert not remote.is_local
    sha, size = remote.put_bytes(DATA)
    path = remote.local_path(sha, size)
    assert path.is_relative_to(tmp_path / "c")
    assert path.read_bytes() == DATA
    missing = hashlib.sha256(b"nope").hexdigest()
    with pytest.raises(ArtifactError, match="is missing"):
        remote.local_path(missing, 1)


@pytest.mark.parametrize("form", ["plain", "relative", "file-url", "home"])
def test_a_local_root_names_the_folder_fsspec_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    root = {
        "plain": f"{tmp_path}/artifacts/",
        "relative": "artifacts",
        "file-url": f"file://{tmp_path}/artifacts",
        "home": "~/artifacts",
    }[form]
    store = ArtifactStore(root)
    _, base = fsspec.core.url_to_fs(root)  # the folder fsspec itself resolves the root to

    assert store.is_local
    assert store.base == base.rstrip("/") == f"{tmp_path}/artifacts"
    sha, size = store.put_bytes(DATA)
    assert (tmp_path / "artifacts" / store.key(sha)).read_bytes() == DATA
    assert store.local_path(sha, size).read_bytes() == DATA


def test_an_unknown_url_scheme_is_refused_when_the_store_is_made() -> None:
    with pytest.raises(StoreError, match="cannot use artifact root 'nosuchscheme://x'"):
        ArtifactStore("nosuchscheme://x")
