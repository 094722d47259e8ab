"""Which flavors exist: built-in ones, those installed as plug-ins, those registered at run time.

Built-in flavors of optional libraries are imported only when needed, so ``import ferryman``
does not pay for XGBoost, LightGBM or onnxruntime.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from threading import Lock

from ferryman.errors import FlavorError, ModelFileError, UnknownFlavorError
from ferryman.flavors.base import Flavor

ENTRY_POINT_GROUP = "ferryman.flavors"


@dataclass(frozen=True)
class _Builtin:
    module: str
    cls: str
    library: str
    extra: str
    module_prefixes: tuple[str, ...]


# Order matters when recognising objects and files: most specific first.
_BUILTINS = {
    "xgboost": _Builtin(
        "ferryman.flavors.xgboost_flavor", "XGBoostFlavor", "xgboost", "xgboost", ("xgboost",)
    ),
    "lightgbm": _Builtin(
        "ferryman.flavors.lightgbm_flavor", "LightGBMFlavor", "lightgbm", "lightgbm", ("lightgbm",)
    ),
    "onnx": _Builtin(
        "ferryman.flavors.onnx_flavor", "OnnxFlavor", "onnxruntime", "onnx", ("onnx",)
    ),
    "sklearn": _Builtin(
        "ferryman.flavors.sklearn_flavor", "SklearnFlavor", "sklearn", "", ("sklearn", "imblearn")
    ),
}


# Files are recognised by the cheapest, most specific check first; ONNX parses the whole file.
_FILE_ORDER = ("sklearn", "lightgbm", "xgboost", "onnx")


class FlavorCatalog:
    """Finds flavors by name, by model object, or by model file."""

    def __init__(self) -> None:
        self._flavors: dict[str, Flavor] = {}
        self._custom: list[str] = []
        self._plugins_loaded = False
        self._lock = Lock()

    def register(self, flavor: Flavor) -> None:
        """Add (or replace) a flavor; it is tried before the built-in ones."""
        if not isinstance(flavor, Flavor):
            raise FlavorError(f"{flavor!r} is not a ferryman.flavors.Flavor")
        with self._lock:
            self._flavors[flavor.name] = flavor
            if flavor.name not in self._custom:
                self._custom.append(flavor.name)

    def unregister(self, name: str) -> None:
        """Forget a flavor added with ``register`` (built-in ones cannot be removed)."""
        with self._lock:
            if name in self._custom:
                self._custom.remove(name)
                self._flavors.pop(name, None)

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(set(_BUILTINS) | set(self._flavors))

    def get(self, name: str) -> Flavor:
        """The flavor called ``name``, imported on first use."""
        if name in self._flavors:
            return self._flavors[name]
        if name in _BUILTINS:
            return self._import_builtin(name)
        self._load_plugins()
        if name in self._flavors:
            return self._flavors[name]
        raise UnknownFlavorError(f"unknown flavor {name!r}; known: {', '.join(self.names())}")

    def is_available(self, name: str) -> bool:
        spec = _BUILTINS.get(name)
        return spec is None or importlib.util.find_spec(spec.library) is not None

    def for_model(self, model: object) -> Flavor:
        """The flavor that can save ``model``."""
        for name in self._custom:
            if self._flavors[name].handles(model):
                return self._flavors[name]
        modules = {klass.__module__.split(".")[0] for klass in type(model).__mro__}
        for name, spec in _BUILTINS.items():
            if modules & set(spec.module_prefixes) and self.is_available(name):
                flavor = self.get(name)
                if flavor.handles(model):
                    return flavor
        self._load_plugins()
        for flavor in self._flavors.values():
            if flavor.handles(model):
                return flavor
        sklearn = self.get("sklearn")
        if sklearn.handles(model):
            return sklearn
        raise FlavorError(
            f"no flavor can save a {type(model).__module__}.{type(model).__qualname__}; known "
            f"flavors: {', '.join(self.names())}. Pass flavor=... or add a flavor plug-in"
        )

    def for_file(self, path: Path) -> Flavor:
        """The flavor whose format the file at ``path`` has (by content, not by name)."""
        self._load_plugins()
        plugins = [n for n in self._flavors if n not in _BUILTINS and n not in self._custom]
        for name in [*self._custom, *plugins, *_FILE_ORDER]:
            if not self.is_available(name):
                continue
            flavor = self.get(name)
            try:
                if flavor.sniff(path):
                    return flavor
            except OSError as exc:
                raise ModelFileError(f"cannot read model file {path}: {exc}") from exc
        raise ModelFileError(
            f"cannot tell the format of {path.name}: it is not a skops, ONNX, XGBoost or "
            "LightGBM model file; pass --flavor to say which it is"
        )

    def _import_builtin(self, name: str) -> Flavor:
        spec = _BUILTINS[name]
        with self._lock:
            if name in self._flavors:
                return self._flavors[name]
            try:
                module = importlib.import_module(spec.module)
            except ImportError as exc:
                hint = (
                    f"pip install 'ferryman[{spec.extra}]'" if spec.extra else "reinstall ferryman"
                )
                raise FlavorError(
                    f"the {name} flavor needs the {spec.library} package, which is not "
                    f"installed: {hint}"
                ) from exc
            flavor: Flavor = getattr(module, spec.cls)()
            self._flavors[name] = flavor
            return flavor

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            if entry.name in self._flavors or entry.name in _BUILTINS:
                continue
            try:
                flavor = entry.load()()
            except Exception as exc:
                raise FlavorError(
                    f"the flavor plug-in {entry.name!r} ({entry.value}) cannot be loaded: {exc}"
                ) from exc
            self._flavors[entry.name] = flavor


catalog = FlavorCatalog()


def register_flavor(flavor: Flavor) -> None:
    """Make ``flavor`` available to register and load models, in this process."""
    catalog.register(flavor)


def get_flavor(name: str) -> Flavor:
    return catalog.get(name)
