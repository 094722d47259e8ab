"""Open Inference Protocol (V2) tensors: JSON and binary (Triton extension) in and out.

A request's tensors become either per-column values (one input per signature column) or one
2-D array in signature column order. Everything is checked for shape and element type here;
the signature check comes after, in the served version's codec.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from ferryman.core.signature import ColumnSpec
from ferryman.errors import RequestError, UnsupportedError

NUMPY_TYPES: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = (*NUMPY_TYPES, "BYTES", "BF16")
MAX_ELEMENTS = 50_000_000


@dataclass(slots=True)
class Tensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    values: list[Any] | np.ndarray  # flat, row-major

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 1


def column_datatype(column: ColumnSpec) -> str:
    """The V2 datatype a signature column travels as."""
    if column.kind == "float":
        return "FP64"
    if column.kind == "integer":
        return "INT64"
    if column.kind == "boolean":
        return "BOOL"
    if column.kind == "category" and column.categories:
        if all(isinstance(c, bool) for c in column.categories):
            return "BOOL"
        if all(isinstance(c, int) and not isinstance(c, bool) for c in column.categories):
            return "INT64"
        if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in column.categories):
            return "FP64"
    return "BYTES"


def values_datatype(values: list[Any]) -> str:
    if values and all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def read_inputs(request: Mapping[str, Any], binary: bytes | None) -> list[Tensor]:
    """The request's input tensors, checked for name, shape, datatype and element types."""
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError('"inputs" must be a non-empty list of tensors')
    tensors: list[Tensor] = []
    offset = 0
    seen: set[str] = set()
    for i, raw in enumerate(inputs):
        if not isinstance(raw, dict):
            raise RequestError(f"input {i} must be an object with name, shape, datatype, data")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError(f'input {i} needs a "name" (text)')
        if name in seen:
            raise RequestError(f"input {name!r} is given twice")
        seen.add(name)
        datatype = raw.get("datatype")
        if datatype not in DATATYPES:
            raise RequestError(
                f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}"
            )
        if datatype == "BF16":
            raise UnsupportedError(f"input {name!r}: BF16 tensors are not supported; send FP32")
        shape = _shape(name, raw.get("shape"))
        count = math.prod(shape)
        params = raw.get("parameters")
        size = params.get("binary_data_size") if isinstance(params, dict) else None
        if size is not None:
            if binary is None:
                raise RequestError(
                    f"input {name!r} has binary_data_size but the request has no binary part "
                    "(Inference-Header-Content-Length header missing)"
                )
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise RequestError(f"input {name!r}: binary_data_size must be a whole number")
            if offset + size > len(binary):
                raise RequestError(
                    f"input {name!r}: binary_data_size {size} runs past the end of the body"
                )
            values = _from_bytes(name, datatype, binary[offset : offset + size], count)
            offset += size
        else:
            if "data" not in raw:
                raise RequestError(f'input {name!r} has no "data"')
            values = _flatten(name, datatype, raw["data"])
            _check_range(name, datatype, values)
            if len(values) != count:
                raise RequestError(
                    f"input {name!r}: shape {list(shape)} holds {count} values but data has "
                    f"{len(values)}"
                )
        tensors.append(Tensor(name, datatype, shape, values))
    if binary is not None and offset != len(binary):
        raise RequestError(
            f"the binary part has {len(binary) - offset} bytes no input claims "
            "(check binary_data_size)"
        )
    return tensors


def _shape(name: str, shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise RequestError(
            f'input {name!r}: "shape" must be a list of whole numbers >= 0, got {shape!r}'
        )
    if math.prod(shape) > MAX_ELEMENTS:
        raise RequestError(f"input {name!r}: shape {shape} is too large")
    return tuple(shape)


def _flatten(name: str, datatype: str, data: Any) -> list[Any]:
    """The tensor's values, flat; RequestError naming the first one of the wrong type."""
    flat = _regular(data)
    if flat is not None and _all_fit(datatype, flat):
        return flat
    # irregular nesting, or a value of the wrong type: one by one, to name it
    out: list[Any] = []
    stack = [data]
    check = _ELEMENT_CHECKS[datatype]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif item is None or check(item):  # JSON null: a missing value (the signature decides)
            out.append(item)
        else:
            raise RequestError(f"input {name!r}: {_short(item)} is not a valid {datatype} value")
    return out


def _limits(datatype: str) -> tuple[int | float, int | float]:
    dtype = np.dtype(NUMPY_TYPES[datatype])
    if dtype.kind == "f":
        return -float(np.finfo(dtype).max), float(np.finfo(dtype).max)
    return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)


# the values each numeric datatype holds, inclusive (FP64: every finite float)
RANGES = {t: _limits(t) for t in NUMPY_TYPES if t not in ("BOOL", "FP64")}


def _check_range(name: str, datatype: str, values: list[Any]) -> None:
    """400 naming the first value outside what ``datatype`` holds (vectorised: one array
    pass; only values on the float64 rounding edge of a 64-bit bound are looked at in Python)."""
    if not values or (datatype not in RANGES and datatype != "FP64"):
        return
    low, high = RANGES.get(datatype, (-math.inf, math.inf))
    candidates: Sequence[int] | np.ndarray
    try:
        array = np.asarray(values, dtype=np.float64)  # null -> NaN, let through
    except OverflowError:  # an integer past float64's range (JSON allows any)
        candidates = range(len(values))
    else:
        candidates = np.flatnonzero((array <= low) | (array >= high))
    for i in candidates:
        value = values[int(i)]
        if value is None:
            continue
        if datatype.startswith("FP"):
            try:
                outside = not (low <= float(value) <= high)
            except OverflowError:
                outside = True
        else:
            outside = not (low <= value <= high)  # exact: Python ints and integral floats
        if outside:
            raise RequestError(
                f"input {name!r}: {_short(value)} is outside the range of {datatype} "
                f"({_number(low)} to {_number(high)})"
            )


def _number(bound: int | float) -> str:
    return str(bound) if isinstance(bound, int) else f"{bound:.6g}"


def _regular(data: Any) -> list[Any] | None:
    """``data`` flattened when it nests evenly (every item of a level a list, or none), by
    C-level passes only; None for anything else."""
    if not isinstance(data, list):
        return None
    while True:
        kinds = set(map(type, data))
        if list not in kinds:
            return data
        if kinds != {list}:
            return None
        data = list(chain.from_iterable(data))


_FITTING_TYPES: dict[str, frozenset[type]] = {
    "BOOL": frozenset({bool, type(None)}),
    "BYTES": frozenset({str, type(None)}),
    **{t: frozenset({int, float, type(None)}) for t in NUMPY_TYPES if t != "BOOL"},
}


def _all_fit(datatype: str, values: list[Any]) -> bool:
    """Every value is of a type ``datatype`` takes (a whole number for an integer type):
    checked by type sets and one array pass, not value by value."""
    kinds = set(map(type, values))
    if not kinds <= _FITTING_TYPES[datatype]:
        return False
    if float not in kinds or "INT" not in datatype:
        return True
    try:
        array = np.asarray(values, dtype=np.float64)
    except OverflowError:
        return False
    known = array[~np.isnan(array)] if None in values else array
    return bool(np.isfinite(known).all() and (np.floor(known) == known).all())


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_text(v: Any) -> bool:
    return isinstance(v, str)


_ELEMENT_CHECKS = {
    "BOOL": _is_bool,
    "FP16": _is_number,
    "FP32": _is_number,
    "FP64": _is_number,
    "BYTES": _is_text,
    **{t: _is_int for t in NUMPY_TYPES if "INT" in t},
}


def _from_bytes(name: str, datatype: str, raw: bytes, count: int) -> list[Any]:
    if datatype == "BYTES":
        values: list[Any] = []
        pos = 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise RequestError(f"input {name!r}: a BYTES element's length is cut short")
            (length,) = struct.unpack_from("<I", raw, pos)
            pos += 4
            if pos + length > len(raw):
                raise RequestError(f"input {name!r}: a BYTES element runs past its data")
            try:
                values.append(raw[pos : pos + length].decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise RequestError(f"input {name!r}: a BYTES element is not UTF-8") from exc
            pos += length
    else:
        dtype = np.dtype(NUMPY_TYPES[datatype])
        if len(raw) != count * dtype.itemsize:
            raise RequestError(
                f"input {name!r}: {len(raw)} bytes do not hold {count} {datatype} values"
            )
        array = np.frombuffer(raw, dtype=dtype)
        if dtype.kind == "f" and not np.isfinite(array).all():
            raise RequestError(f"input {name!r}: NaN or infinity in the data")
        values = array.tolist()
    if len(values) != count:
        raise RequestError(f"input {name!r}: the shape holds {count} values, got {len(values)}")
    return values


_DTYPE_KINDS = {"f": "FP64", "i": "INT64", "u": "UINT64", "b": "BOOL"}


def output_tensor(
    name: str, values: np.ndarray, rows: int, binary: bool
) -> tuple[dict[str, Any], bytes]:
    """A response output (and its bytes when sent binary)."""
    flat = values.reshape(-1).tolist()
    flat = [v.item() if isinstance(v, np.generic) else v for v in flat]
    datatype = _DTYPE_KINDS.get(values.dtype.kind) or values_datatype(flat)
    shape = [rows, *values.shape[1:]]
    if datatype == "BYTES":
        flat = [str(v) for v in flat]
    tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": shape}
    if not binary:
        if datatype == "FP64" and any(not math.isfinite(v) for v in flat):
            flat = [v if math.isfinite(v) else None for v in flat]  # JSON has no NaN
        tensor["data"] = flat
        return tensor, b""
    if datatype == "BYTES":
        raw = b"".join(struct.pack("<I", len(b)) + b for b in (s.encode("utf-8") for s in flat))
    else:
        raw = np.asarray(flat, dtype=NUMPY_TYPES[datatype]).tobytes()
    tensor["parameters"] = {"binary_data_size": len(raw)}
    return tensor, raw


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
