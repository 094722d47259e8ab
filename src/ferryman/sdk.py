"""The functions data scientists call: ``ferryman.register``, ``ferryman.load`` and friends.

They use the store that the settings point at (``FERRYMAN_HOME``, ``ferryman.toml``, ...),
read afresh on each call so that a changed environment takes effect; the Registry for a given
store is built once per process and reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from threading import Lock
from typing import Any

from ferryman.access import Role, TokenBook, TokenEvent, TokenInfo
from ferryman.config import Settings
from ferryman.core.predictions import PredictionBatch, PredictionRecord, RejectionRecord
from ferryman.core.records import AliasMove, AuditEvent, ModelInfo, ModelVersion, Page
from ferryman.monitoring.log.writer import PredictionLog
from ferryman.registry import LoadedModel, Registry
from ferryman.registry.registration import TrainData
from ferryman.serving.scoring import ScoreReport, score_file

_registries: dict[str, Registry] = {}
_lock = Lock()


def connect(**settings: Any) -> Registry:
    """The Registry for the given settings (e.g. ``home="/data/ferryman"``), else the defaults."""
    resolved = Settings.load(**settings)
    key = resolved.model_dump_json() + str(resolved.home_path)
    with _lock:
        registry = _registries.get(key)
        if registry is None:
            registry = _registries[key] = Registry(resolved)
        return registry


def register(
    model: object,
    name: str,
    *,
    train_data: TrainData | None = None,
    target: str | None = None,
    validation_data: TrainData | None = None,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str = "",
    flavor: str | None = None,
    aliases: Sequence[str] = (),
    trusted_types: Sequence[str] = (),
    tolerate: Mapping[str, Mapping[str, str]] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> ModelVersion:
    """Register ``model`` as the next version of ``name``.

    Parameters
    ----------
    model : estimator, booster or ONNX model
        A fitted scikit-learn estimator or pipeline, an XGBoost or LightGBM model, or an
        ``onnx.ModelProto``.
    name : str
        The model's name: letters, digits, ``-``, ``_`` and ``.``.
    train_data : DataFrame, Series, 2-D array or path, optional
        The training data. Gives the input signature, the data profile and fingerprint, and a
        sample of rows kept as the reference for drift. A model fitted on one column alone
        (a Series, or a 1-D array of text, e.g. ``df["review"]`` for a text pipeline) is given
        that same Series or array: its signature has one column, named after the Series (or
        ``text``), and the model is handed that column alone when it predicts.
    target : str, optional
        The target column in ``train_data``; left out of the signature.
    validation_data : DataFrame, 2-D array or path, optional
        Held-out rows from the same distribution, which the model was not fitted on (needs
        ``train_data``). A sample of them is kept; the model's answers on it are the reference
        for prediction drift. Without it, prediction drift is skipped with the reason (the
        model's answers on its own training rows are not a fair reference).
    metrics, params, tags : mapping, optional
        Numbers, parameters and labels kept with the version.
    description : str, optional
        A sentence about this version, shown by ``ferryman versions show``.
    flavor : str, optional
        The flavor to save the model with (``sklearn``, ``xgboost``, ``lightgbm``, ``onnx``);
        chosen from the model when unset.
    aliases : list of str, optional
        Aliases (e.g. ``["staging"]``) to point at the new version, in the same transaction.
    trusted_types : list of str, optional
        Extra types (``module.Class``) the saved skops file may load; it is loaded back before
        it is recorded. They are kept with the version (with who trusted them, in the audit
        log), so every later load of it trusts them. A class no other process can import (one
        defined in ``__main__``, e.g. a notebook) is refused whatever is trusted.
    tolerate : mapping, optional
        What each column does with a value training never showed, overriding what trying
        the model finds (needs ``train_data``): column name (or ``"*"`` for every column) to
        ``{"unknown_categories": "accept" | "refuse", "unseen_nulls": "accept" | "refuse"}``,
        e.g. ``{"city": {"unknown_categories": "refuse"}}``. See docs/schema.md.
    kinds : mapping, optional
        Column kinds to use instead of the inferred ones, for text columns of ``train_data``:
        ``"text"`` (free text: any value is accepted) or ``"category"`` (values never seen in
        training are refused), e.g. ``{"review": "text"}``.

    Returns
    -------
    ModelVersion
        The new version, with its number.
    """
    return connect().register(
        model,
        name,
        train_data=train_data,
        target=target,
        validation_data=validation_data,
        metrics=metrics,
        params=params,
        tags=tags,
        description=description,
        flavor=flavor,
        aliases=aliases,
        trusted_types=trusted_types,
        tolerate=tolerate,
        kinds=kinds,
    )


def load(ref: str, trusted_types: Sequence[str] = ()) -> LoadedModel:
    """Load a version (``name``, ``name@alias``, ``name/3``) to predict with; ``trusted_types``
    adds to the types trusted by default, in the settings and at the version's registration."""
    return connect().load(ref, trusted_types)


def get_version(ref: str) -> ModelVersion:
    """The version a reference names."""
    return connect().resolve(ref)


def get_model(name: str) -> ModelInfo:
    return connect().get_model(name)


def list_models(**filters: Any) -> Page[ModelInfo]:
    """A page of models; see Registry.list_models for the filters."""
    return connect().list_models(**filters)


def list_versions(name: str, **filters: Any) -> Page[ModelVersion]:
    """A page of a model's versions, newest first; see Registry.list_versions."""
    return connect().list_versions(name, **filters)


def set_alias(name: str, alias: str, version: int) -> AliasMove:
    """Point ``alias`` of model ``name`` at ``version``."""
    return connect().set_alias(name, alias, version)


def remove_alias(name: str, alias: str) -> AliasMove:
    return connect().remove_alias(name, alias)


def rollback(name: str, alias: str = "production") -> AliasMove:
    """Move ``alias`` back to the version it pointed at before its last move."""
    return connect().rollback(name, alias)


def history(name: str, **options: Any) -> Page[AuditEvent]:
    """The audit log of model ``name``, newest first."""
    return connect().history(name, **options)


def create_token(
    name: str,
    role: Role | str,
    *,
    models: Sequence[str] = (),
    expires: str | datetime | timedelta | None = None,
) -> tuple[TokenInfo, str]:
    """Create API token ``name``; returns what is kept of it and its secret, shown only now.

    Parameters
    ----------
    name : str
        The token's name, as requests' audit events will name their actor.
    role : {"viewer", "predictor", "operator", "admin"}
        What it may do; each role includes the ones before it.
    models : sequence of str, optional
        Name patterns (``"churn*"``) of the models it may reach; none means every model.
    expires : str, datetime or timedelta, optional
        A lifetime (``"90d"``, ``"12h"``) or a moment; ``None`` never expires.
    """
    return TokenBook(connect()).create(name, role, models=models, expires=expires)


def list_tokens() -> list[TokenInfo]:
    """Every API token on record with its state; never a secret."""
    return TokenBook(connect()).list()


def revoke_token(name: str) -> TokenInfo:
    """Revoke API token ``name``: servers refuse it from their next refresh."""
    return TokenBook(connect()).revoke(name)


def delete_token(name: str) -> TokenInfo:
    """Remove API token ``name``'s record (its events stay)."""
    return TokenBook(connect()).delete(name)


def token_events(name: str | None = None, *, limit: int = 100) -> list[TokenEvent]:
    """Token events, newest first: created, revoked, deleted and refused uses."""
    return TokenBook(connect()).events(name, limit=limit)


def score(
    ref: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    log: bool = True,
    registry: Registry | None = None,
    **options: Any,
) -> ScoreReport:
    """Predict with version ``ref`` on every row of a CSV or Parquet file, as ``ferryman score``.

    Parameters
    ----------
    ref : str
        ``name``, ``name@alias`` or ``name/3``.
    input_path, output_path : str or Path
        CSV or Parquet files; bad rows go to a rejects file beside the output.
    log : bool, default True
        Write the scored rows to the prediction log with source ``"score"`` when monitoring
        is enabled (``False``: write nothing to the log). Monitoring of live traffic leaves
        that source out unless asked for it.
    registry : Registry, optional
        The store to use; by default the one the settings point at (see ``connect``).
    **options
        The keywords of ``ferryman.serving.scoring.score_file``: ``id_column``,
        ``rejects_path``, ``chunk_rows``, ``threads``, ``na_values``, ``input_format``,
        ``output_format``, ``trusted_types``, ``progress``.

    Returns
    -------
    ScoreReport
        Row counts, the version used, the files written and the time taken.
    """
    registry = registry if registry is not None else connect()
    if not log or not registry.settings.monitoring.enabled:
        return score_file(registry, ref, input_path, output_path, **options)
    with PredictionLog.from_settings(registry.settings, start=False) as prediction_log:
        sink = _WrittenAtOnce(prediction_log)
        return score_file(registry, ref, input_path, output_path, sink=sink, **options)


class _WrittenAtOnce:
    """Batch scoring is not latency bound: each chunk is written to the log as it is scored,
    so a large file never overflows the log's queue (which would drop rows)."""

    def __init__(self, log: PredictionLog) -> None:
        self.log = log

    def record(self, record: PredictionRecord) -> None:
        self.log.record(record)
        self.log.flush()

    def record_batch(self, batch: PredictionBatch) -> None:
        self.log.record_batch(batch)
        self.log.flush()

    def reject(self, record: RejectionRecord) -> None:
        self.log.reject(record)
