"""The registry: register, find, alias, roll back, load and audit model versions."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ferryman.config import Settings
from ferryman.core.names import check_alias, check_name
from ferryman.core.profile import DataProfile
from ferryman.core.records import AliasMove, AuditEvent, ModelInfo, ModelVersion, Page
from ferryman.core.refs import LATEST, ModelRef, parse_version_number
from ferryman.core.signature import OutputSpec
from ferryman.errors import (
    ArtifactError,
    FlavorError,
    InvalidArgumentError,
    InvalidQueryError,
    InvalidReferenceError,
    ModelFileError,
    UntrustedTypeError,
)
from ferryman.flavors import Flavor, LoadContext, Predictor, catalog, refuse_pickle
from ferryman.flavors.trust import PYTHON_ADVICE, TrustAdvice
from ferryman.registry.cache import PredictorCache
from ferryman.registry.drafts import Draft, check_tags, scratch_folder, with_target
from ferryman.registry.environment import capture_environment, git_state
from ferryman.registry.snapshots import Snapshots
from ferryman.store import ArtifactStore, MetadataStore, MetricFilter, NewVersion

if TYPE_CHECKING:
    import pandas as pd

    from ferryman.registry.loading import LoadedModel
    from ferryman.registry.registration import TrainData, TrainingFacts
    from ferryman.registry.tolerance import Overrides

# Start-up speed: listing, showing and moving things is SQL only, and ``ferryman models list``
# should not wait for pandas and pyarrow. The methods that learn from data, read a sample or
# load a model import those parts (registration, loading, pyarrow) where they start.

_METRIC_FILTER = re.compile(r"\s*([A-Za-z0-9._-]+)\s*(<=|>=|!=|==|=|<|>)\s*(\S+)\s*")


def parse_metric_filter(text: str) -> MetricFilter:
    """Parse ``"accuracy>=0.9"`` into a MetricFilter."""
    match = _METRIC_FILTER.fullmatch(text)
    if not match:
        raise InvalidQueryError(
            f"invalid metric filter {text!r}: write NAME OP NUMBER, e.g. 'accuracy>=0.9' "
            "(OP is one of < <= = != >= >)"
        )
    key, op, raw = match.groups()
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidQueryError(f"invalid metric filter {text!r}: {raw!r} is not a number") from exc
    return MetricFilter(key, "=" if op == "==" else op, value)  # type: ignore[arg-type]


class Registry:
    """Models and their versions in one store (a database plus an artifact folder).

    Build it from Settings; every method names models by name and versions by reference
    (``name``, ``name@alias``, ``name/3``). ``trust_advice`` words the way out of an
    untrusted-type refusal for the interface in use (Python by default; each CLI command and
    the server pass their own).
    """

    def __init__(
        self, settings: Settings | None = None, *, trust_advice: TrustAdvice = PYTHON_ADVICE
    ) -> None:
        self.settings = settings or Settings.load()
        self.trust_advice = trust_advice
        self.store = MetadataStore(self.settings.resolved_database_url)
        self.artifacts = ArtifactStore(self.settings.resolved_artifact_root)
        self.cache = PredictorCache(self.settings.model_cache_size)
        self.snapshots = Snapshots(
            self.settings.home_path / "cache" / "snapshots", self.settings.snapshot_models
        )

    def close(self) -> None:
        self.store.close()

    @property
    def actor(self) -> str:
        return self.settings.resolved_actor

    # --- registering --------------------------------------------------------------------------
    def register(
        self,
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
        tolerate: Overrides | None = None,
        kinds: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Save ``model`` as the next version of ``name`` (created on first use).

        ``aliases`` are pointed at the new version in the same transaction. The saved file is
        loaded back before anything is recorded, so a model that needs types nobody trusts is
        refused now, not when it is first loaded; ``trusted_types`` are kept with the version
        (an audit event names who trusted them) and every later load of it trusts them. A
        class no other process could import (defined in ``__main__``) is refused.
        ``validation_data`` (held-out rows, needs ``train_data``) is kept as a sample: the
        model's answers on it are prediction drift's reference. The model is tried on unknown
        categories and unseen nulls (registry/tolerance.py); ``tolerate`` overrides what it
        finds, per column: ``{"city": {"unknown_categories": "refuse"}}`` (``"*"``: all).
        ``kinds`` overrides inferred column kinds (``{"review": "text", "zip": "category"}``,
        text columns only).
        """
        draft = Draft.checked(name, metrics, params, tags, description, aliases, trusted_types)
        chosen = catalog.get(flavor) if flavor else catalog.for_model(model)
        if not chosen.handles(model):
            raise FlavorError(
                f"the {chosen.name} flavor cannot save a {type(model).__name__}; leave flavor "
                "unset to let ferryman choose"
            )
        facts = self._facts(train_data, target, model, validation_data, tolerate, kinds)
        output = with_target(chosen.describe(model), target)
        with scratch_folder() as tmp:
            path = Path(tmp) / f"model{chosen.file_suffix}"
            chosen.save(model, path)
            context = self._context(draft.trusted_types, output, _series_input(facts))
            predictor = self._load_file(chosen, path, context, None)
            return self._record(
                draft, chosen, path, predictor, context, facts, validation_data, tolerate
            )

    def register_file(
        self,
        path: str | Path,
        name: str,
        *,
        flavor: str | None = None,
        train_data: TrainData | None = None,
        target: str | None = None,
        validation_data: TrainData | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str = "",
        aliases: Sequence[str] = (),
        trusted_types: Sequence[str] = (),
        tolerate: Overrides | None = None,
        kinds: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register a model file saved outside ferryman (skops, ONNX, XGBoost, LightGBM);
        ``validation_data``, ``tolerate`` and ``kinds`` as in :meth:`register`."""
        draft = Draft.checked(name, metrics, params, tags, description, aliases, trusted_types)
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist (or is not a file)")
        refuse_pickle(path)  # before any flavor reads it, whatever --flavor says
        chosen = catalog.get(flavor) if flavor else catalog.for_file(path)
        context = self._context(draft.trusted_types, OutputSpec())
        predictor = self._load_file(chosen, path, context, None)
        output = with_target(chosen.describe_loaded(predictor), target)
        facts = self._facts(train_data, target, predictor.native, validation_data, tolerate, kinds)
        context = replace(context, output=output, series_input=_series_input(facts))
        if context.series_input:  # known only now, from the training data
            predictor = self._load_file(chosen, path, context, None)
        return self._record(
            draft, chosen, path, predictor, context, facts, validation_data, tolerate
        )

    def _facts(
        self,
        train_data: TrainData | None,
        target: str | None,
        model: object,
        validation_data: TrainData | None,
        tolerate: Overrides | None = None,
        kinds: Mapping[str, str] | None = None,
    ) -> TrainingFacts | None:
        from ferryman.registry.tolerance import check_overrides

        tolerate = check_overrides(tolerate)
        if train_data is None:
            if tolerate:
                raise InvalidArgumentError(
                    "tolerate is given but train_data is not: without training data there "
                    "are no columns to set it for; pass both"
                )
            if target is not None:
                raise InvalidArgumentError("target is given but train_data is not; pass both")
            if kinds:
                raise InvalidArgumentError(
                    "column kinds are given but training data is not; kinds override what is "
                    "inferred from the training data, so pass it too"
                )
            if validation_data is not None:
                raise InvalidArgumentError(
                    "validation_data is given but train_data is not; pass the training data "
                    "too (drift compares with both)"
                )
            return None
        from ferryman.registry.registration import learn_from_data

        return learn_from_data(train_data, target, model, self.settings.sample_rows, kinds)

    def _record(
        self,
        draft: Draft,
        flavor: Flavor,
        model_path: Path,
        predictor: Predictor,
        context: LoadContext,
        facts: TrainingFacts | None,
        validation_data: TrainData | None = None,
        tolerate: Overrides | None = None,
    ) -> ModelVersion:
        from ferryman.registry.registration import (
            align_to_model,
            check_model_accepts,
            held_out_sample,
            write_sample,
        )
        from ferryman.registry.tolerance import apply_overrides, probe_tolerance

        held_out = None
        if facts is not None:
            facts = align_to_model(facts, predictor.feature_names)
            check_model_accepts(predictor, facts)
            signature = apply_overrides(facts.signature, tolerate)
            facts = replace(facts, signature=probe_tolerance(predictor, signature, facts.head))
            if validation_data is not None:
                held_out = held_out_sample(
                    validation_data, facts, predictor.native, self.settings.sample_rows
                )
        # Artifacts first: a crash before the database write leaves only an unused blob.
        sha, size = self.artifacts.put_file(model_path)
        profile: dict[str, Any] | None = None
        if facts is not None:
            with scratch_folder() as tmp:
                sample_sha, sample_size = self.artifacts.put_file(
                    write_sample(facts.sample, Path(tmp))
                )
                held_sha, held_size = (
                    self.artifacts.put_file(write_sample(held_out, Path(tmp), "validation"))
                    if held_out is not None
                    else (None, 0)
                )
            profile = replace(
                facts.profile,
                sample_rows=len(facts.sample),
                sample_sha256=sample_sha,
                sample_size=sample_size,
                validation_rows=len(held_out) if held_out is not None else 0,
                validation_sha256=held_sha,
                validation_size=held_size,
            ).to_dict()
        environment = capture_environment(flavor.packages)
        commit = None
        if self.settings.record_git:
            state = git_state(Path.cwd())
            if state is not None:
                commit = state[0]
                environment["git_dirty"] = state[1]
        new = NewVersion(
            model=draft.name,
            flavor=flavor.name,
            artifact_sha256=sha,
            artifact_size=size,
            signature=facts.signature.to_dict() if facts else None,
            output=context.output.to_dict(),
            metrics=draft.metrics,
            params=draft.params,
            tags=draft.tags,
            description=draft.description,
            data_fingerprint=facts.fingerprint if facts else None,
            profile=profile,
            environment=environment,
            git_commit=commit,
            aliases=draft.aliases,
            trusted_types=draft.trusted_types,
        )
        version = self.store.insert_version(new, self.actor)
        # The predictor just checked is what a load of this version would build: keep it.
        key = self._cache_key(version, context)
        self.cache.put(key, predictor)
        self.snapshots.save(key, catalog.get(version.flavor).packages, predictor)
        return version

    # --- finding ------------------------------------------------------------------------------
    def resolve(self, ref: str | ModelRef) -> ModelVersion:
        """The version a reference names: ``name`` (production), ``name@alias``, ``name/3``."""
        parsed = ModelRef.parse(ref)
        if parsed.version is not None:
            return self.store.get_version(parsed.name, parsed.version)
        assert parsed.alias is not None
        if parsed.alias == LATEST:
            return self.store.latest_version(parsed.name)
        return self.store.resolve_alias(parsed.name, parsed.alias)

    def get_model(self, name: str) -> ModelInfo:
        return self.store.get_model(check_name(name))

    def create_model(
        self, name: str, description: str = "", tags: Mapping[str, Any] | None = None
    ) -> ModelInfo:
        return self.store.create_model(check_name(name), self.actor, description, check_tags(tags))

    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        set_tags: Mapping[str, Any] | None = None,
        remove_tags: Sequence[str] = (),
    ) -> ModelInfo:
        return self.store.update_model(
            check_name(name),
            self.actor,
            description=description,
            set_tags=check_tags(set_tags),
            remove_tags=remove_tags,
        )

    def delete_model(self, name: str) -> None:
        self.store.delete_model(check_name(name), self.actor)

    def list_models(
        self,
        *,
        name_contains: str | None = None,
        tags: Mapping[str, str] | None = None,
        alias: str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[ModelInfo]:
        """Models by name, a page at a time, filtered by name part, tags or alias."""
        return self.store.list_models(
            name_contains=name_contains,
            tags=dict(tags or {}),
            alias=alias,
            limit=limit,
            page_token=page_token,
        )

    def list_versions(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        metrics: Sequence[str | MetricFilter] = (),
        flavor: str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions of ``name``, newest first; ``metrics`` like ``["accuracy>=0.9"]``."""
        filters = [m if isinstance(m, MetricFilter) else parse_metric_filter(m) for m in metrics]
        return self.store.list_versions(
            check_name(name),
            tags=dict(tags or {}),
            metrics=filters,
            flavor=flavor,
            limit=limit,
            page_token=page_token,
        )

    def profile(self, ref: str | ModelRef) -> DataProfile | None:
        """The training-data profile of a version, if it was registered with training data."""
        version = self.resolve(ref)
        raw = self.store.get_profile(version.model, version.version)
        return DataProfile.from_dict(raw) if raw else None

    def reference_sample(self, ref: str | ModelRef, rows: int | None = None) -> pd.DataFrame | None:
        """The sample of training rows kept with a version (None without training data);
        ``rows`` reads only the first rows (serving warms up on a few)."""
        profile = self.profile(ref)
        if profile is None or profile.sample_sha256 is None:
            return None
        return self._read_sample(ref, profile.sample_sha256, profile.sample_size, rows)

    def validation_sample(self, ref: str | ModelRef) -> pd.DataFrame | None:
        """The sample of held-out rows kept with a version (None when it was registered
        without ``validation_data``): prediction drift's reference."""
        profile = self.profile(ref)
        if profile is None or profile.validation_sha256 is None:
            return None
        return self._read_sample(ref, profile.validation_sha256, profile.validation_size, None)

    def _read_sample(
        self, ref: str | ModelRef, sha: str, size: int, rows: int | None
    ) -> pd.DataFrame | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.artifacts.local_path(sha, size)
        try:
            if rows is None:
                return pq.read_table(path).to_pandas()
            first = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
            if first is None:
                return None
            return pa.Table.from_batches([first]).to_pandas()
        except pa.ArrowException as exc:
            raise ArtifactError(f"a stored sample of {ref} cannot be read: {exc}") from exc

    # --- changing -----------------------------------------------------------------------------
    def set_alias(
        self, name: str, alias: str, version: int, *, actor: str | None = None
    ) -> AliasMove:
        """Point ``alias`` at ``version`` (promotion); the move is kept in its history.
        ``actor``: who moved it, when not this registry's actor (the server: a token's name)."""
        return self.store.set_alias(
            check_name(name), check_alias(alias), _number(version), actor or self.actor
        )

    def remove_alias(self, name: str, alias: str, *, actor: str | None = None) -> AliasMove:
        return self.store.remove_alias(
            check_name(name), check_name(alias, "alias"), actor or self.actor
        )

    def rollback(
        self, name: str, alias: str = "production", *, actor: str | None = None
    ) -> AliasMove:
        """Move ``alias`` back to where it pointed before its last move (repeat to go further)."""
        return self.store.rollback_alias(check_name(name), check_alias(alias), actor or self.actor)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        return self.store.alias_moves(check_name(name), alias)

    def set_version_tags(
        self,
        ref: str | ModelRef,
        set_tags: Mapping[str, Any] | None = None,
        remove_tags: Sequence[str] = (),
    ) -> ModelVersion:
        version = self.resolve(ref)
        return self.store.update_version_tags(
            version.model, version.version, self.actor, check_tags(set_tags), remove_tags
        )

    def probe_version(
        self,
        ref: str | ModelRef,
        tolerate: Overrides | None = None,
        trusted_types: Sequence[str] = (),
    ) -> ModelVersion:
        """Decide the tolerance a version has none recorded for (one registered before
        ferryman probed), by trying it on its kept training rows, and apply ``tolerate``.

        The version's artifact, columns and categories do not change; the new policy is
        recorded in its signature with a ``version.updated`` audit event.
        """
        from ferryman.registry.tolerance import apply_overrides, probe_tolerance

        version = self.resolve(ref)
        if version.signature is None:
            raise InvalidArgumentError(
                f"{version.ref} was registered without training data: it has no columns to "
                "probe, and its input is not checked"
            )
        signature = apply_overrides(version.signature, tolerate)
        if not signature.is_probed:
            rows = self.reference_sample(version.ref)
            if rows is None or rows.empty:
                raise InvalidArgumentError(
                    f"{version.ref} kept no training rows to try the model on; give the "
                    "tolerance of each of its columns instead"
                )
            predictor = self.load_predictor(version, trusted_types)
            signature = probe_tolerance(predictor, signature, rows)
        return self.store.update_version_tolerance(
            version.model, version.version, self.actor, signature.to_dict()
        )

    def delete_version(self, ref: str | ModelRef) -> None:
        version = self.resolve(ref)
        self.store.delete_version(version.model, version.version, self.actor)

    def history(
        self,
        name: str,
        *,
        kinds: Sequence[str] = (),
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditEvent]:
        """The audit log of ``name``, newest first."""
        return self.store.events(check_name(name), kinds=kinds, limit=limit, page_token=page_token)

    # --- loading ------------------------------------------------------------------------------
    def load(self, ref: str | ModelRef, trusted_types: Sequence[str] = ()) -> LoadedModel:
        """Load a version to predict; the second load of the same artifact comes from memory.

        The types trusted are the defaults, the settings' ``trusted_types``, those kept with
        the version at registration, and ``trusted_types``.
        """
        from ferryman.registry.loading import LoadedModel

        version = self.resolve(ref)
        return LoadedModel(version, self.load_predictor(version, trusted_types))

    def load_predictor(self, version: ModelVersion, trusted_types: Sequence[str] = ()) -> Predictor:
        flavor = catalog.get(version.flavor)
        series = version.signature is not None and version.signature.series_input
        context = self._context((*version.trusted_types, *trusted_types), version.output, series)
        key = self._cache_key(version, context)

        def load() -> Predictor:
            # the artifact is checked (present, complete, hash) even when a snapshot answers
            path = self.artifacts.local_path(version.artifact_sha256, version.artifact_size)
            snapshot = self.snapshots.load(key, flavor.packages)
            if snapshot is not None:
                return snapshot
            if self.artifacts.is_local:
                predictor = self._load_file(flavor, path, context, version.ref)
            else:  # remote blobs are downloaded to a cache; load a copy with the right suffix
                with scratch_folder() as tmp:
                    local = Path(tmp) / f"model{flavor.file_suffix}"
                    shutil.copyfile(path, local)
                    predictor = self._load_file(flavor, local, context, version.ref)
            self.snapshots.save(key, flavor.packages, predictor)
            return predictor

        return self.cache.get_or_load(key, load)

    def _context(
        self, trusted_types: Sequence[str], output: OutputSpec, series_input: bool = False
    ) -> LoadContext:
        return LoadContext(
            trusted_types=tuple(sorted({*self.settings.trusted_types, *trusted_types})),
            output=output,
            has_default_trust=self.settings.trust_sklearn_internals,
            series_input=series_input,
        )

    def _load_file(
        self, flavor: Flavor, path: Path, context: LoadContext, ref: str | None
    ) -> Predictor:
        """``flavor.load``; at registration (``ref`` None) types no other process could import
        are refused too. An untrusted-type refusal gets the ways out of the interface in use."""
        try:
            return flavor.load(path, replace(context, is_registration=ref is None))
        except UntrustedTypeError as exc:
            advice, message = self.trust_advice, str(exc)
            if ref is None:
                message = advice.at_registration(message)
            else:
                message = advice.at_load(message, ref, exc.types, context.has_default_trust)
            raise UntrustedTypeError(message, exc.types) from exc

    @staticmethod
    def _cache_key(version: ModelVersion, context: LoadContext) -> tuple[Any, ...]:
        output = (version.output.kind, version.output.classes)
        trust = (context.trusted_types, context.has_default_trust)
        key = (version.artifact_sha256, version.flavor, *trust, output)
        return (*key, "series") if context.series_input else key


def _series_input(facts: TrainingFacts | None) -> bool:
    return facts is not None and facts.signature.series_input


def _number(version: object) -> int:
    try:
        return parse_version_number(version)
    except InvalidReferenceError as exc:
        raise InvalidQueryError(str(exc)) from None
