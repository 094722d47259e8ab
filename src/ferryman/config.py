"""ferryman's settings: one object, built once at the edge and passed down.

Precedence, highest first: explicit values (CLI flags, keyword arguments), environment
variables ``FERRYMAN_*``, a ``ferryman.toml`` file in the working folder (or the file named by
``FERRYMAN_CONFIG``), then the defaults below.
"""

from __future__ import annotations

import getpass
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from ferryman.core.durations import parse_duration
from ferryman.core.sources import DEFAULT_SOURCES, SOURCE_CHOICES, parse_sources
from ferryman.errors import ConfigError

CONFIG_FILE_NAME = "ferryman.toml"


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads the settings file; a missing default file is fine, a broken one is an error."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path
        self.data = self._read()

    def _read(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            with self.path.open("rb") as fh:
                data = tomllib.load(fh)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {self.path}: {exc}") from exc
        return _merge_sections(self.path, data)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def _merge_sections(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys and the ``[ferryman]`` table together; a key set in both is refused.

    Both places are documented, and a file often mixes them (``home = ...`` at the top, then
    ``[ferryman.monitoring]``): reading only one of them would drop the other without a word.
    """
    top = {key: value for key, value in data.items() if key != "ferryman"}
    section = data.get("ferryman", {})
    if not isinstance(section, dict):
        raise ConfigError(f"settings file {path}: [ferryman] must be a table")
    both = sorted(set(top) & set(section))
    if both:
        names = ", ".join(repr(key) for key in both)
        raise ConfigError(
            f"settings file {path}: {names} set both at the top level and under [ferryman]; "
            "keep one of them"
        )
    return {**top, **section}


class DriftThresholds(BaseModel):
    """When a feature counts as drifted: significant *and* large enough (see docs/monitoring.md).

    A feature is drifted when its test's p-value, corrected for testing many features at once,
    is below ``alpha`` and its effect size passes the threshold of its kind: PSI or normalised
    Wasserstein for numeric features, PSI or Jensen-Shannon distance for categorical ones.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=0.05, gt=0, lt=1, description="Family-wise significance level.")
    correction: str = Field(
        default="holm",
        pattern="^(holm|bonferroni|none)$",
        description="Multiple-testing correction over a model's features: holm, bonferroni, none.",
    )
    psi: float = Field(default=0.1, ge=0, description="PSI at or above which a shift is large.")
    wasserstein: float = Field(
        default=0.1,
        ge=0,
        description="Wasserstein distance over the reference std at or above which a numeric "
        "shift is large.",
    )
    jensen_shannon: float = Field(
        default=0.1,
        ge=0,
        description="Jensen-Shannon distance (natural log) at or above which a categorical "
        "shift is large.",
    )
    min_rows: int = Field(
        default=100, ge=1, description="Fewest live rows in a window before drift is tested."
    )


class FeatureThresholds(BaseModel):
    """Per-feature overrides of the drift thresholds (unset fields keep the model's value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi: float | None = Field(default=None, ge=0)
    wasserstein: float | None = Field(default=None, ge=0)
    jensen_shannon: float | None = Field(default=None, ge=0)
    ignore: bool = Field(default=False, description="Leave this feature out of drift entirely.")


DEFAULT_MIN_LABELS = 100  # labelled answers a KPI rule (and the root-cause trigger) needs
_DRIFT_METRICS = frozenset({"drift_share", "feature_psi"})
_EFFECT_WORDS = ("drift", "none")


class AlertRule(BaseModel):
    """One alert rule: ``metric`` compared with ``threshold``.

    Metrics: ``drift_share`` (share of tested features whose drift is significant and large),
    ``feature_psi`` (a feature whose drift test is significant and whose PSI passes the
    threshold; ``feature`` names it, or any feature when unset), ``kpi`` (``kpi`` names it:
    accuracy, f1, roc_auc, rmse, business_value, ...; fires only when the KPI's 95% interval
    lies entirely beyond the threshold, with at least ``min_labels`` labelled answers),
    ``error_rate`` (share of failed requests), ``latency_p99_ms``, ``dropped_records``
    (prediction-log records dropped in the window). See docs/alerts.md.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=128)
    metric: str = Field(
        pattern="^(drift_share|feature_psi|kpi|error_rate|latency_p99_ms|dropped_records)$"
    )
    op: str = Field(default="above", pattern="^(above|below)$")
    threshold: float | None = Field(
        default=None,
        description="The value the metric is compared with; a feature_psi rule whose effect "
        'is "drift" or "none" has none.',
    )
    feature: str | None = None
    kpi: str | None = None
    severity: str = Field(default="warning", pattern="^(info|warning|critical)$")
    effect: StrictFloat | StrictInt | str | None = Field(
        default=None,
        description='Drift rules: the effect gate a significant feature must also pass. "drift": '
        "the drift settings' PSI / Wasserstein / Jensen-Shannon thresholds (default of "
        'drift_share); "none": significance alone; a number (drift_share only): PSI at or '
        "above it. A feature_psi rule's own gate is its threshold on PSI.",
    )
    min_rows: int | None = Field(
        default=None,
        ge=1,
        description="Drift rules: the fewest live rows in the window before the rule is "
        "decided (features with fewer values than [monitoring.drift] min_rows are never tested).",
    )
    min_labels: int | None = Field(
        default=None,
        ge=1,
        description=f"KPI rules: the fewest labelled answers before the rule is decided "
        f"(default {DEFAULT_MIN_LABELS}).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> AlertRule:
        if self.metric == "kpi" and not self.kpi:
            raise ValueError(
                f"alert rule {self.name!r} watches a KPI but does not name it; add e.g. "
                'kpi = "accuracy" (or f1, roc_auc, log_loss, mae, rmse, r2, business_value)'
            )
        self._check_effect()
        if self.min_rows is not None and self.metric not in _DRIFT_METRICS:
            raise ValueError(
                f"alert rule {self.name!r}: min_rows applies to drift rules (drift_share, "
                f"feature_psi), not to {self.metric}; remove it"
            )
        if self.min_labels is not None and self.metric != "kpi":
            raise ValueError(
                f"alert rule {self.name!r}: min_labels applies to KPI rules, not to "
                f"{self.metric}; remove it"
            )
        gate = self.effect if isinstance(self.effect, str) else None
        if self.metric == "feature_psi" and gate is not None:
            if self.op != "above":
                raise ValueError(
                    f'alert rule {self.name!r}: with effect = "{gate}" a feature_psi rule fires '
                    'on drift, so op has no use; remove op = "below"'
                )
            if self.threshold is not None:
                raise ValueError(
                    f'alert rule {self.name!r}: with effect = "{gate}" a feature_psi rule has '
                    "no threshold (its gate is the effect); remove threshold, or remove effect "
                    "to gate on PSI above threshold"
                )
        elif self.threshold is None:
            raise ValueError(f"alert rule {self.name!r} needs a threshold, e.g. threshold = 0.2")
        return self

    def _check_effect(self) -> None:
        effect = self.effect
        if effect is None:
            return
        if self.metric not in _DRIFT_METRICS:
            raise ValueError(
                f"alert rule {self.name!r}: effect applies to drift rules (drift_share, "
                f"feature_psi), not to {self.metric}; remove it"
            )
        if isinstance(effect, str):
            if effect not in _EFFECT_WORDS:
                raise ValueError(
                    f"alert rule {self.name!r}: effect {effect!r} is not known; choose "
                    '"drift", "none" or a PSI value such as 0.1'
                )
            return
        if self.metric == "feature_psi":
            raise ValueError(
                f"alert rule {self.name!r}: a feature_psi rule's effect gate is its threshold "
                f"on PSI; set threshold = {effect:g} instead of effect"
            )
        if not (math.isfinite(effect) and effect >= 0):
            raise ValueError(
                f"alert rule {self.name!r}: effect must be a PSI value of 0 or more, got {effect}"
            )


def _default_rules() -> list[AlertRule]:
    return [
        AlertRule(name="dataset-drift", metric="drift_share", threshold=0.2),
        AlertRule(name="feature-drift", metric="feature_psi", threshold=0.25),
        AlertRule(name="error-rate", metric="error_rate", threshold=0.05, severity="critical"),
        AlertRule(name="dropped-log-records", metric="dropped_records", threshold=0),
    ]


class ModelMonitoring(BaseModel):
    """Monitoring settings of one model, over the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drift: DriftThresholds | None = None
    features: dict[str, FeatureThresholds] = Field(default_factory=dict)
    alerts: list[AlertRule] = Field(
        default_factory=list, description="Rules added to (or, by name, replacing) the defaults."
    )
    webhooks: list[str] = Field(default_factory=list)


class MonitoringSettings(BaseModel):
    """The ``[ferryman.monitoring]`` table: prediction log, schedule, drift, alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Log predictions and run the schedule.")
    root: str | None = Field(
        default=None,
        description="Path or fsspec URL of the prediction log and feedback; default "
        "HOME/monitoring.",
    )
    sample_rate: float = Field(
        default=1.0, ge=0, le=1, description="Share of requests whose predictions are logged."
    )
    max_pending_rows: int = Field(
        default=200_000,
        ge=1,
        description="Logged rows waiting to be written before new ones are dropped (counted).",
    )
    flush_seconds: float = Field(
        default=2.0, gt=0, description="How often the prediction log writes what is pending."
    )
    durable: bool = Field(
        default=False,
        description="Journal each model call's logged rows (appended and fsynced) before its "
        "answers are sent, so a killed server loses none; replayed on the next start. Needs a "
        "local root.",
    )
    retention_days: float = Field(
        default=30, gt=0, description="Age after which prediction-log segments are deleted."
    )
    feedback_unknown_limit: int = Field(
        default=10_000,
        ge=0,
        description="Feedback items naming request ids the log does not know that each "
        "server process stores per model and hour; the others are counted, not stored.",
    )
    schedule_seconds: float = Field(
        default=300, ge=0, description="How often the server computes monitoring (0: never)."
    )
    window: str = Field(default="1h", description="Sliding window of the scheduled run.")
    drift: DriftThresholds = Field(default_factory=DriftThresholds)
    alerts: list[AlertRule] = Field(default_factory=_default_rules)
    webhooks: list[str] = Field(
        default_factory=list, description="URLs that receive alert events as JSON POSTs."
    )
    models: dict[str, ModelMonitoring] = Field(default_factory=dict)
    sources: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_SOURCES),
        description="Log sources that drift, quality, KPIs and alerts look at: "
        f"{', '.join(SOURCE_CHOICES)} (live: the server's answers; score: `ferryman score`).",
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _known_sources(cls, value: Any) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value
        try:
            parse_sources(items, "monitoring source")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return [n.strip().lower() for item in items for n in str(item).split(",") if n.strip()]

    @model_validator(mode="after")
    def _durable_needs_a_local_root(self) -> MonitoringSettings:
        root = self.root or ""
        if self.durable and "://" in root and not root.startswith("file://"):
            raise ValueError(
                f"durable = true needs a local monitoring root (a journal is fsynced on every "
                f"model call), not {root!r}; set root to a local folder or durable = false"
            )
        return self

    @field_validator("window")
    @classmethod
    def _window_is_a_duration(cls, value: str) -> str:
        try:
            parse_duration(value, "window")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value


def _comma_list(value: Any) -> Any:
    """A list setting given as one comma-separated string (as the environment gives it)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


DEFAULT_OPEN_ROUTES = (
    "/v2/health/live", "/v2/health/ready", "/ping", "/metrics", "/docs", "/docs/static"
)  # fmt: skip


class AuthSettings(BaseModel):
    """The ``[ferryman.auth]`` table: when the server asks for tokens (see docs/security.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: bool = Field(
        default=False,
        description="Ask for a token on every route that is not open even while no token "
        "exists (by default the server asks once at least one active token exists).",
    )
    open_routes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_OPEN_ROUTES),
        description="Routes answered without a token, as the role table of docs/security.md "
        "names them (comma separated in env).",
    )
    max_failures: int = Field(
        default=20,
        ge=0,
        description="Requests from one address refused for their Authorization header within "
        "failure_seconds after which it is answered 429 until the window ends (0: never).",
    )
    failure_seconds: float = Field(
        default=60.0, gt=0, description="The window of max_failures, in seconds."
    )
    refresh_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often each server process re-reads the tokens: a new or revoked "
        "token takes effect within it.",
    )

    @field_validator("open_routes", mode="before")
    @classmethod
    def _split_routes(cls, value: Any) -> Any:
        return _comma_list(value)


class Settings(BaseSettings):
    """Every setting of ferryman, typed and defaulted.

    Build it with :meth:`Settings.load`, which also reads the settings file.
    """

    model_config = SettingsConfigDict(
        env_prefix="FERRYMAN_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        frozen=True,
    )

    home: Path = Field(
        default=Path(".ferryman"),
        description="Folder of the embedded store: the database file and the artifact folder.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database; default sqlite:///HOME/ferryman.db.",
    )
    artifact_root: str | None = Field(
        default=None,
        description="Path or fsspec URL where artifacts are kept; default HOME/artifacts.",
    )
    trusted_types: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra types that skops may load from model files (comma separated in env).",
    )
    trust_sklearn_internals: bool = Field(
        default=True,
        description="Let skops load scikit-learn's own compiled helper types (tree structures, "
        "neighbour indexes), without which tree ensembles cannot load.",
    )
    sample_rows: int = Field(
        default=10_000,
        ge=0,
        description="Most training rows kept as the reference sample of a version.",
    )
    actor: str | None = Field(
        default=None, description="Name recorded in the audit log; default the login name."
    )
    model_cache_size: int = Field(
        default=8, ge=0, description="Loaded models kept in memory per process (0 turns it off)."
    )
    snapshot_models: bool = Field(
        default=True,
        description="Keep signed snapshots of loaded scikit-learn models so later loads (and "
        "server starts) skip skops' slow import; see docs/registry.md.",
    )
    record_git: bool = Field(
        default=True, description="Record the git commit of the working folder with each version."
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings,
        description="Prediction log, drift, quality, alerts: the [ferryman.monitoring] table.",
    )
    auth: AuthSettings = Field(
        default_factory=AuthSettings,
        description="When the server asks for API tokens: the [ferryman.auth] table.",
    )

    @field_validator("trusted_types", mode="before")
    @classmethod
    def _split_types(cls, value: Any) -> Any:
        return _comma_list(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls, _config_path()))

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build the settings; ``overrides`` whose value is None are ignored (unset flags)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls(**given)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc

    # --- derived values -----------------------------------------------------------------------
    @property
    def home_path(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        # SQLAlchemy percent-decodes the path and stops it at "?": quote what it would misread
        return f"sqlite:///{quote(str(self.home_path / 'ferryman.db'), safe='/')}"

    @property
    def database_file(self) -> Path | None:
        """The SQLite file of the metadata database, read from the URL as SQLAlchemy reads it;
        None for a database server, memory, or a ``file:`` URI."""
        scheme, sep, rest = self.resolved_database_url.partition(":///")
        if not sep or scheme.split("+", 1)[0].lower() != "sqlite":
            return None
        path = unquote(rest.split("?", 1)[0])
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return Path(path)

    @property
    def resolved_artifact_root(self) -> str:
        if self.artifact_root:
            return self.artifact_root
        return str(self.home_path / "artifacts")

    @property
    def resolved_monitoring_root(self) -> str:
        if self.monitoring.root:
            return self.monitoring.root
        return str(self.home_path / "monitoring")

    @property
    def resolved_actor(self) -> str:
        if self.actor:
            return self.actor
        try:
            return getpass.getuser()
        except (OSError, KeyError):
            return "unknown"


def _config_path() -> Path:
    explicit = os.environ.get("FERRYMAN_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise ConfigError(f"FERRYMAN_CONFIG names {path}, which does not exist")
        return path
    return Path.cwd() / CONFIG_FILE_NAME


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(Settings.model_fields))
            parts.append(f"unknown setting {where!r} (known: {known})")
        else:
            parts.append(f"setting {where!r}: {err['msg']} (got {_short(err.get('input'))})")
    return "invalid settings: " + "; ".join(parts)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, Mapping) else "a table"
    return text if len(text) < 60 else text[:57] + "..."
