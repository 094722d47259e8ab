"""What a model file may load: the types trusted by default, and the words of a refusal.

skops builds a model from a file by importing each type the file names and filling it with
arrays. It trusts a fixed set (scikit-learn's public estimators, NumPy and SciPy containers,
builtins); everything else must be trusted by someone. ferryman adds, unless the setting
``trust_sklearn_internals`` is off:

* ``numpy.dtype``: a value describing an array's element type, rebuilt from its text; every
  ``SimpleImputer`` and ``OneHotEncoder`` keeps one.
* every *class* defined in the installed scikit-learn (``sklearn.*``, outside its tests and its
  vendored ``externals``): estimators' internals such as tree structures, ``TreePredictor``,
  calibrators, loss objects, neighbour indexes. The name is resolved by importing the module
  from the installed package and looking the class up in that module's own namespace; a class
  merely re-exported there from elsewhere does not count. Loading such a class runs only
  scikit-learn's own code, which the estimator runs anyway.

Functions are never trusted by default, not even scikit-learn's: a ``FunctionTransformer``
calls its function on every request, and scikit-learn has functions that read files or the
network. Third-party packages and ``__main__`` always need explicit trust.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ferryman.errors import InvalidArgumentError, UnimportableTypeError

DEFAULT_TYPES = frozenset({"numpy.dtype"})
# Parts of scikit-learn that are not the estimators' internals: test helpers, vendored copies.
_NOT_INTERNALS = frozenset({"tests", "_testing", "externals", "conftest", "_build_utils"})
_TYPE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def is_trusted_by_default(name: str) -> bool:
    """Whether ``name`` (``module.Class``) is ``numpy.dtype`` or a class of scikit-learn."""
    return name in DEFAULT_TYPES or _is_sklearn_class(name)


@functools.lru_cache(maxsize=512)
def _is_sklearn_class(name: str) -> bool:
    module_name, _, attr = name.rpartition(".")
    parts = module_name.split(".")
    if parts[0] != "sklearn" or _NOT_INTERNALS.intersection(parts):
        return False
    if not _TYPE_NAME.fullmatch(name):
        return False
    root = _sklearn_folder()
    if root is None:
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    file = getattr(module, "__file__", None)
    if (
        module.__name__ != module_name
        or file is None
        or not Path(file).resolve().is_relative_to(root)
    ):
        return False
    found = vars(module).get(attr)
    return (
        isinstance(found, type) and found.__module__ == module_name and found.__qualname__ == attr
    )


@functools.lru_cache(maxsize=1)
def _sklearn_folder() -> Path | None:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def untrusted(needed: Iterable[str], trusted: Sequence[str], defaults: bool) -> list[str]:
    """The types of ``needed`` that neither ``trusted`` nor (if ``defaults``) the defaults cover."""
    allowed = set(trusted)
    return sorted(
        name
        for name in set(needed)
        if name not in allowed and not (defaults and is_trusted_by_default(name))
    )


def check_type_names(names: Iterable[str]) -> tuple[str, ...]:
    """Trusted type names, stripped, without repeats and sorted; a malformed one is an error."""
    out: set[str] = set()
    for raw in names:
        name = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(name, str) or not _TYPE_NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"trusted type {raw!r} is not a type name: write its module and class, as the "
                "error that refused it names them (e.g. mypackage.features.Scaler)"
            )
        out.add(name)
    return tuple(sorted(out))


def check_importable(names: Iterable[str]) -> None:
    """Refuse types that no other process can import by name (a server, ``ferryman score``).

    A class defined in ``__main__`` (a notebook, or a script run directly) or inside a function
    can be saved and loaded back in the same process, but never anywhere else. Only names are
    looked at: nothing is imported.
    """
    reasons: dict[str, str] = {}
    for name in sorted(set(names)):
        module_name, _, attr = name.rpartition(".")
        if module_name == "__main__" or module_name.startswith("__main__."):
            reasons[name] = "defined in __main__ (a notebook, or a script run directly)"
        elif module_name in sys.modules and attr not in vars(sys.modules[module_name]):
            reasons[name] = f"not a top-level name of {module_name} (defined inside a function?)"
    if not reasons:
        return
    listed = "; ".join(f"{name} is {why}" for name, why in reasons.items())
    raise UnimportableTypeError(
        f"the model holds classes that no other process can import: {listed}. A server or "
        "`ferryman score` could never load it. Move each class into a module of its own (e.g. "
        "features.py), import it from there, fit and register the model again, and make that "
        "module importable wherever the model is loaded: install it as a package, or put its "
        "folder on PYTHONPATH. Registering it then needs its class trusted too (e.g. "
        "features.MyStep), as any class from outside scikit-learn does",
        sorted(reasons),
    )


@dataclass(frozen=True)
class TrustAdvice:
    """How the user of one interface trusts a type, in that interface's own words.

    ``option`` trusts types for one call (``--trust TYPE``, ``trusted_types=[...]``), None
    where the interface has none (``ferryman serve``); ``register`` keeps the trust with a
    version, for every later load of it.
    """

    option: str | None
    register: str

    def at_registration(self, message: str) -> str:
        """``message`` with the way out when a model being registered is refused."""
        how = self.option or self.register
        return (
            f"{message}. If you trust the file's author, pass {how}: the trust is kept with the "
            "version, so every later load of it trusts them too"
        )

    def at_load(self, message: str, ref: str, refused: Sequence[str], defaults: bool) -> str:
        """``message`` with the ways out when version ``ref`` is refused at a load."""
        ways = [f"pass {self.option} to trust them for this run"] if self.option else []
        ways.append(f"register the model again with {self.register} to keep the trust with it")
        ways.append(
            "list them in trusted_types in ferryman.toml (or FERRYMAN_TRUSTED_TYPES) to trust "
            "them for every model"
        )
        text = f"{ref}: {message}. If you trust the file's author: " + "; or ".join(ways)
        if not defaults and any(is_trusted_by_default(name) for name in refused):
            text += (
                ". numpy.dtype and scikit-learn's own classes are trusted by default, but the "
                "setting trust_sklearn_internals is off here"
            )
        return text


PYTHON_ADVICE = TrustAdvice("trusted_types=[...]", "ferryman.register(..., trusted_types=[...])")


def command_advice(has_trust_option: bool) -> TrustAdvice:
    """The advice of a ``ferryman`` command, with or without a ``--trust`` option."""
    register = "`ferryman register FILE --name NAME --trust TYPE`"
    return TrustAdvice("--trust TYPE (once per type)" if has_trust_option else None, register)


SERVER_ADVICE = command_advice(has_trust_option=False)
