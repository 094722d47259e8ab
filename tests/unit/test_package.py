"""The package's top level: every public name resolves, and importing it stays cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import ferryman


def _fresh_python(code: str, **env: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter; it prints one JSON object."""
    run_env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**run_env, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_every_public_name_resolves_to_the_object_in_its_module() -> None:
    from ferryman.registry import Registry
    from ferryman.sdk import connect

    assert ferryman.Registry is Registry
    assert ferryman.connect is connect
    for name in ferryman.__all__:
        assert getattr(ferryman, name) is not None
    assert set(ferryman.__all__) <= set(dir(ferryman))


def test_dir_lists_the_public_api_and_subpackages_only() -> None:
    listed = set(dir(ferryman))
    assert {"register", "load", "check_flavor", "monitoring", "__version__"} <= listed
    assert not listed & {"Any", "TYPE_CHECKING", "importlib", "annotations", "_WHERE"}


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        ferryman.no_such_thing  # noqa: B018


def test_importing_the_package_loads_neither_pandas_nor_pyarrow() -> None:
    seen = _fresh_python(
        "import json, sys, ferryman; "
        "print(json.dumps({m: m in sys.modules for m in ('pandas', 'pyarrow', 'sqlalchemy')}))"
    )

    assert seen == {"pandas": False, "pyarrow": False, "sqlalchemy": False}


def test_the_command_line_uses_the_c_allocator_for_arrow_unless_told_otherwise() -> None:
    code = (
        "import contextlib, io, json, sys\n"
        "from ferryman.cli import main\n"
        "sys.argv = ['ferryman', 'flavors']\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main()\n"
        "import pyarrow as pa\n"
        "print(json.dumps({'pool': pa.default_memory_pool().backend_name}))\n"
    )

    assert _fresh_python(code) == {"pool": "system"}
    assert _fresh_python(code, ARROW_DEFAULT_MEMORY_POOL="mimalloc") == {"pool": "mimalloc"}


def test_importing_the_command_line_changes_no_environment_variable() -> None:
    code = (
        "import json, os; before = dict(os.environ); import ferryman.cli; "
        "print(json.dumps({'changed': sorted(set(os.environ.items()) ^ set(before.items()))}))"
    )

    assert _fresh_python(code) == {"changed": []}


def test_a_subpackage_is_reachable_as_an_attribute_right_after_import() -> None:
    seen = _fresh_python(
        "import json, ferryman; "
        "print(json.dumps({'validate': callable(ferryman.schema.validate), "
        "'errors': ferryman.errors.FerrymanError.__name__}))"
    )

    assert seen == {"validate": True, "errors": "FerrymanError"}


@pytest.mark.parametrize("part", ["ferryman.serving", "ferryman.http", "ferryman.server"])
def test_a_parts_public_modules_exist_and_importing_the_part_loads_none(part: str) -> None:
    seen = _fresh_python(
        f"import importlib.util, json, sys; p = importlib.import_module({part!r}); "
        "loaded = [n for n in p.__all__ if f'{p.__name__}.{n}' in sys.modules]; "
        "found = [n for n in p.__all__ if importlib.util.find_spec(f'{p.__name__}.{n}')]; "
        "print(json.dumps({'all': p.__all__, 'loaded': loaded, 'found': found}))"
    )

    assert seen["all"]
    assert seen["loaded"] == []
    assert seen["found"] == seen["all"]
