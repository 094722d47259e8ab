"""A model that fails on input which passed its checks: find the rows it fails on.

Every way of predicting (the SDK, ``ferryman predict``, the server's protocols, batch scoring)
runs the model through here. The clean path is one call. Only when the call raises are the
rows split in halves, again and again, until the rows the model fails on alone are found:
about 2 x log2(rows) calls per bad row. The caller gets an InvalidInputError (422) with the
model's own message and each such row, never an internal error: the model coped with its
training data, so what it chokes on is in the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ferryman.errors import FerrymanError, InvalidInputError
from ferryman.schema import Problem

T = TypeVar("T")
Rows = TypeVar("Rows", pd.DataFrame, np.ndarray)
MODEL_FAILED = "model_failed"
SHOWN_ROWS = 5  # a request's answer names at most this many rows (the search stops there)


def is_model_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the answer to a model failing on input that passed its checks (a
    422 for the caller, and a failure of the model for its error rate)."""
    problems = getattr(exc, "problems", None) or ()
    return isinstance(exc, InvalidInputError) and any(p.kind == MODEL_FAILED for p in problems)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def failing_rows(
    call: Callable[[Rows], Any], data: Rows, limit: int | None = None
) -> dict[int, str]:
    """The rows of ``data`` (by position) on which ``call`` fails when given them alone,
    with the first line of its error, at most ``limit`` of them (all when None)."""
    found: dict[int, str] = {}
    pending = [(0, len(data))]
    while pending and (limit is None or len(found) < limit):
        start, stop = pending.pop()
        try:
            call(_rows(data, start, stop))
        except FerrymanError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model's own failure, kept as its message
            if stop - start == 1:
                found[start] = first_line(exc)
            else:
                middle = (start + stop) // 2
                pending += [(middle, stop), (start, middle)]  # the first half is tried first
    return dict(sorted(found.items()))


def _rows(data: Rows, start: int, stop: int) -> Rows:
    return data.iloc[start:stop] if isinstance(data, pd.DataFrame) else data[start:stop]


def run_located(call: Callable[[Rows], T], data: Rows, ref: object, advice: str = "") -> T:
    """``call(data)``; if the model raises, InvalidInputError naming the rows it fails on."""
    try:
        return call(data)
    except FerrymanError:
        raise
    except Exception as exc:
        raise model_failure(call, data, ref, exc, advice) from exc


def model_failure(
    call: Callable[[Rows], Any], data: Rows, ref: object, exc: Exception, advice: str = ""
) -> InvalidInputError:
    """The error for a model that raised ``exc`` on ``data``, naming the rows it fails on."""
    reason = first_line(exc)
    rows = failing_rows(call, data, SHOWN_ROWS) if len(data) > 1 else {0: reason}
    tail = f". {advice}" if advice else ""
    if not rows:
        message = f"model {ref} cannot predict on these rows together (each alone it can): {reason}"
        return InvalidInputError(message + tail, [Problem(None, None, MODEL_FAILED, message)])
    problems = [
        Problem(row, None, MODEL_FAILED, f"row {row}: the model failed on it: {text}")
        for row, text in rows.items()
    ]
    named = ", ".join(str(r) for r in rows)
    more = " (and perhaps more)" if len(rows) >= SHOWN_ROWS else ""
    label = "row" if len(rows) == 1 else "rows"
    first = next(iter(rows.values()))
    return InvalidInputError(
        f"model {ref} cannot predict on {label} {named}{more}: {first}{tail}", problems
    )
