"""Settings.load: defaults < ferryman.toml < FERRYMAN_* < keyword arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from ferryman.config import Settings
from ferryman.errors import ConfigError


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working folder and no FERRYMAN_* variables."""
    for name in list(os.environ):
        if name.startswith("FERRYMAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(cwd: Path) -> None:
    s = Settings.load()
    assert s.home == Path(".ferryman")
    assert s.database_url is None
    assert s.artifact_root is None
    assert s.trusted_types == []
    assert s.sample_rows == 10_000
    assert s.actor is None
    assert s.model_cache_size == 8
    assert s.record_git is True


def test_derived_paths_default_under_home(cwd: Path) -> None:
    s = Settings.load()
    home = (cwd / ".ferryman").resolve()
    assert s.home_path == home
    assert s.resolved_database_url == f"sqlite:///{home / 'ferryman.db'}"
    assert s.resolved_artifact_root == str(home / "artifacts")


def test_derived_paths_follow_an_explicit_home(cwd: Path) -> None:
    s = Settings.load(home=cwd / "elsewhere")
    assert s.resolved_database_url == f"sqlite:///{(cwd / 'elsewhere').resolve()}/ferryman.db"
    assert s.resolved_artifact_root == str((cwd / "elsewhere").resolve() / "artifacts")


def test_explicit_database_url_and_artifact_root_win_over_home(cwd: Path) -> None:
    s = Settings.load(database_url="sqlite:////x/y.db", artifact_root="memory://blobs")
    assert s.resolved_database_url == "sqlite:////x/y.db"
    assert s.resolved_artifact_root == "memory://blobs"


def test_resolved_actor_prefers_the_setting(cwd: Path) -> None:
    assert Settings.load(actor="alice").resolved_actor == "alice"
    fallback = Settings.load().resolved_actor
    assert isinstance(fallback, str)
    assert fallback


def test_toml_top_level_keys_override_defaults(cwd: Path) -> None:
    write_toml(cwd / "ferryman.toml", 'sample_rows = 5\nactor = "toml"\nrecord_git = false\n')
    s = Settings.load()
    assert (s.sample_rows, s.actor, s.record_git) == (5, "toml", False)
    assert s.model_cache_size == 8


def test_toml_ferryman_table_is_read(cwd: Path) -> None:
    write_toml(
        cwd / "ferryman.toml",
        '[ferryman]\nhome = "from-toml"\ntrusted_types = ["a.B", "c.D"]\n',
    )
    s = Settings.load()
    assert s.home == Path("from-toml")
    assert s.trusted_types == ["a.B", "c.D"]


def test_top_level_keys_beside_ferryman_tables_are_all_applied(cwd: Path) -> None:
    write_toml(
        cwd / "ferryman.toml",
        'home = "top"\nsample_rows = 9\n\n[ferryman]\nactor = "table"\n\n'
        '[ferryman.monitoring]\nwindow = "6h"\n',
    )
    s = Settings.load()
    assert (s.home, s.sample_rows, s.actor) == (Path("top"), 9, "table")
    assert s.monitoring.window == "6h"


def test_a_key_both_at_the_top_and_under_ferryman_is_refused(cwd: Path) -> None:
    write_toml(cwd / "ferryman.toml", 'home = "a"\n[ferryman]\nhome = "b"\n')
    with pytest.raises(ConfigError, match="'home' set both at the top level and under"):
        Settings.load()


def test_an_unknown_top_level_key_beside_a_ferryman_table_is_named(cwd: Path) -> None:
    write_toml(cwd / "ferryman.toml", 'hom = "x"\n[ferryman.monitoring]\nwindow = "6h"\n')
    with pytest.raises(ConfigError, match="unknown setting 'hom'"):
        Settings.load()


def test_env_overrides_toml(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(cwd / "ferryman.toml", 'sample_rows = 5\nactor = "toml"\n')
    monkeypatch.setenv("FERRYMAN_SAMPLE_ROWS", "7")
    s = Settings.load()
    assert s.sample_rows == 7
    assert s.actor == "toml"


def test_keyword_arguments_override_env_and_toml(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_toml(cwd / "ferryman.toml", 'sample_rows = 5\nactor = "toml"\nmodel_cache_size = 1\n')
    monkeypatch.setenv("FERRYMAN_SAMPLE_ROWS", "7")
    monkeypatch.setenv("FERRYMAN_ACTOR", "env")
    s = Settings.load(sample_rows=9)
    assert (s.sample_rows, s.actor, s.model_cache_size) == (9, "env", 1)


def test_none_keyword_arguments_are_ignored(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRYMAN_ACTOR", "env")
    assert Settings.load(actor=None, home=None).actor == "env"


def test_env_values_are_converted(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRYMAN_HOME", str(cwd / "h"))
    monkeypatch.setenv("FERRYMAN_RECORD_GIT", "false")
    monkeypatch.setenv("FERRYMAN_MODEL_CACHE_SIZE", "0")
    s = Settings.load()
    assert s.home == cwd / "h"
    assert s.record_git is False
    assert s.model_cache_size == 0


def test_trusted_types_from_env_are_comma_separated(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "FERRYMAN_TRUSTED_TYPES", " numpy.dtype , sklearn.Foo,,collections.OrderedDict "
    )
    s = Settings.load()
    assert s.trusted_types == ["numpy.dtype", "sklearn.Foo", "collections.OrderedDict"]


def test_empty_trusted_types_env_means_none(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRYMAN_TRUSTED_TYPES", "")
    assert Settings.load().trusted_types == []


def test_trusted_types_keyword_may_be_a_string(cwd: Path) -> None:
    assert Settings.load(trusted_types="a.B,c.D").trusted_types == ["a.B", "c.D"]


def test_ferryman_config_names_the_file(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(cwd / "ferryman.toml", "sample_rows = 1\n")
    other = write_toml(cwd / "other.toml", "[ferryman]\nsample_rows = 2\n")
    monkeypatch.setenv("FERRYMAN_CONFIG", str(other))
    assert Settings.load().sample_rows == 2


def test_ferryman_config_naming_a_missing_file_is_an_error(
    cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = cwd / "nope.toml"
    monkeypatch.setenv("FERRYMAN_CONFIG", str(missing))
    with pytest.raises(ConfigError, match="FERRYMAN_CONFIG") as info:
        Settings.load()
    assert str(missing) in str(info.value)


def test_missing_default_file_is_fine(cwd: Path) -> None:
    assert not (cwd / "ferryman.toml").exists()
    assert Settings.load().sample_rows == 10_000


def test_invalid_toml_is_a_config_error_naming_the_file(cwd: Path) -> None:
    path = write_toml(cwd / "ferryman.toml", "sample_rows = = 3\n")
    with pytest.raises(ConfigError, match="cannot read settings file") as info:
        Settings.load()
    assert str(path) in str(info.value)


def test_ferryman_entry_that_is_not_a_table_is_refused(cwd: Path) -> None:
    write_toml(cwd / "ferryman.toml", 'ferryman = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[ferryman\] must be a table"):
        Settings.load()


def test_unknown_key_in_toml_is_named(cwd: Path) -> None:
    write_toml(cwd / "ferryman.toml", "[ferryman]\nsample_rowz = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'sample_rowz'") as info:
        Settings.load()
    assert "sample_rows" in str(info.value)  # the known settings are listed


def test_unknown_keyword_argument_is_named(cwd: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        Settings.load(colour="blue")


def test_wrong_type_in_toml_is_named(cwd: Path) -> None:
    write_toml(cwd / "ferryman.toml", 'sample_rows = "many"\n')
    with pytest.raises(ConfigError, match="setting 'sample_rows'") as info:
        Settings.load()
    assert "'many'" in str(info.value)


def test_wrong_type_in_env_is_named(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRYMAN_RECORD_GIT", "perhaps")
    with pytest.raises(ConfigError, match="setting 'record_git'") as info:
        Settings.load()
    assert "perhaps" in str(info.value)


def test_out_of_range_value_is_named(cwd: Path) -> None:
    with pytest.raises(ConfigError, match="setting 'model_cache_size'"):
        Settings.load(model_cache_size=-1)


def test_every_bad_setting_is_reported(cwd: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(sample_rows="x", model_cache_size="y")
    assert "'sample_rows'" in str(info.value)
    assert "'model_cache_size'" in str(info.value)


def test_settings_are_frozen(cwd: Path) -> None:
    s = Settings.load()
    with pytest.raises(ValueError, match="frozen"):
        s.sample_rows = 3  # type: ignore[misc]


@pytest.mark.parametrize("folder", ["p%41", "what?", "two words", "a#b"])
def test_the_store_file_is_where_sqlalchemy_puts_it(cwd: Path, folder: str) -> None:
    s = Settings.load(home=cwd / folder)
    assert s.database_file == (cwd / folder).resolve() / "ferryman.db"
    assert make_url(s.resolved_database_url).database == str(s.database_file)


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("SQLite:///x/y.db", Path("x/y.db")),
        ("sqlite+pysqlite:////abs/y.db?timeout=3", Path("/abs/y.db")),
        ("sqlite:///~/y.db", Path("~/y.db")),  # SQLAlchemy does not expand ~ either
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:y.db?uri=true", None),
        ("postgresql+psycopg://u@h/db", None),
    ],
)
def test_the_store_file_of_a_database_url(cwd: Path, url: str, file: Path | None) -> None:
    assert Settings.load(database_url=url).database_file == file
