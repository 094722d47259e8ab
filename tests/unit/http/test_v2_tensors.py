"""Open Inference Protocol tensors: JSON and binary (Triton's extension) in, and out."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryman.core.signature import ColumnSpec
from ferryman.errors import RequestError, UnsupportedError
from ferryman.http.v2_tensors import (
    MAX_ELEMENTS,
    NUMPY_TYPES,
    Tensor,
    column_datatype,
    output_tensor,
    read_inputs,
    values_datatype,
)

PROPERTY = settings(max_examples=150, deadline=None)


def tensor(
    name: str = "a", datatype: str = "FP64", shape: Any = (2,), **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(shape)}
    out.update(extra)
    return out


def packed_bytes(values: list[str]) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in (s.encode() for s in values))


# -- JSON inputs ----------------------------------------------------------------------------


def test_json_inputs_flat_and_nested() -> None:
    request = {
        "inputs": [
            tensor("a", "FP64", [2, 2], data=[[1.0, 2], [3, 4.5]]),
            tensor("b", "INT32", [4], data=[1, 2, 3, 4.0]),
            tensor("c", "BYTES", [1, 2], data=["x", "y"]),
            tensor("d", "BOOL", [2], data=[True, False]),
        ]
    }
    a, b, c, d = read_inputs(request, None)
    assert a == Tensor("a", "FP64", (2, 2), [1.0, 2, 3, 4.5])
    assert a.rows == 2
    assert b.values == [1, 2, 3, 4.0]
    assert (c.shape, c.values) == ((1, 2), ["x", "y"])
    assert d.values == [True, False]


def test_a_zero_row_tensor_is_allowed() -> None:
    (only,) = read_inputs({"inputs": [tensor(shape=[0, 30], data=[])]}, None)
    assert only.shape == (0, 30)
    assert list(only.values) == []


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        ({}, '"inputs" must be a non-empty list'),
        ({"inputs": []}, '"inputs" must be a non-empty list'),
        ({"inputs": {"a": 1}}, '"inputs" must be a non-empty list'),
        ({"inputs": [5]}, "input 0 must be an object"),
        ({"inputs": [{"datatype": "FP64", "shape": [1], "data": [1]}]}, 'needs a "name"'),
        ({"inputs": [tensor(name=""), tensor()]}, 'needs a "name"'),
        ({"inputs": [tensor(name=3)]}, 'needs a "name"'),
        ({"inputs": [tensor(data=[1, 2]), tensor(data=[1, 2])]}, "given twice"),
        ({"inputs": [tensor(datatype="FLOAT", data=[1, 2])]}, "datatype 'FLOAT' is not one of"),
        ({"inputs": [tensor(datatype="fp64", data=[1, 2])]}, "is not one of"),
        ({"inputs": [tensor(datatype=None, data=[1, 2])]}, "is not one of"),
        ({"inputs": [tensor(shape=[], data=[1])]}, '"shape" must be a list'),
        ({"inputs": [tensor(shape=[-1], data=[1])]}, '"shape" must be a list'),
        ({"inputs": [tensor(shape=[True], data=[1])]}, '"shape" must be a list'),
        ({"inputs": [tensor(shape=[1.0], data=[1])]}, '"shape" must be a list'),
        ({"inputs": [{**tensor(), "shape": "2"}]}, '"shape" must be a list'),
        ({"inputs": [tensor(shape=[MAX_ELEMENTS + 1], data=[])]}, "too large"),
        ({"inputs": [tensor(shape=[2**40, 2**40], data=[])]}, "too large"),
        ({"inputs": [tensor()]}, 'has no "data"'),
        ({"inputs": [tensor(shape=[3], data=[1, 2])]}, "holds 3 values but data has 2"),
        ({"inputs": [tensor(shape=[2], data=[[1, 2], [3]])]}, "holds 2 values but data has 3"),
    ],
)
def test_malformed_inputs_are_request_errors(request_: dict[str, Any], says: str) -> None:
    with pytest.raises(RequestError, match=says):
        read_inputs(request_, None)


def test_bf16_is_unsupported_not_malformed() -> None:
    with pytest.raises(UnsupportedError, match="BF16"):
        read_inputs({"inputs": [tensor(datatype="BF16", data=[1, 2])]}, None)


@pytest.mark.parametrize(
    ("datatype", "value", "ok"),
    [
        ("FP64", 1, True),
        ("FP64", 1.5, True),
        ("FP32", True, False),
        ("FP16", "1.0", False),
        ("FP64", None, True),  # JSON null: a missing value
        ("FP64", {"a": 1}, False),
        ("INT64", 3, True),
        ("INT64", 3.0, True),
        ("INT64", 3.5, False),
        ("UINT8", False, False),
        ("INT8", "3", False),
        ("BOOL", True, True),
        ("BOOL", 1, False),
        ("BOOL", "true", False),
        ("BYTES", "text", True),
        ("BYTES", 5, False),
        ("BYTES", None, True),
    ],
)
def test_json_element_types(datatype: str, value: Any, ok: bool) -> None:
    request = {"inputs": [tensor(datatype=datatype, shape=[1], data=[value])]}
    if ok:
        assert read_inputs(request, None)[0].values == [value]
    else:
        with pytest.raises(RequestError, match=f"not a valid {datatype} value"):
            read_inputs(request, None)


# -- binary inputs --------------------------------------------------------------------------


@PROPERTY
@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=0, max_size=40
    )
)
def test_fp32_binary_inputs_round_trip(values: list[float]) -> None:
    raw = np.asarray(values, dtype="<f4").tobytes()
    request = {
        "inputs": [tensor("x", "FP32", [len(values)], parameters={"binary_data_size": len(raw)})]
    }
    (read,) = read_inputs(request, raw)
    assert read.values == values
    assert read.shape == (len(values),)


@PROPERTY
@given(values=st.lists(st.text(max_size=12), max_size=10))
def test_bytes_binary_inputs_round_trip(values: list[str]) -> None:
    raw = packed_bytes(values)
    request = {
        "inputs": [
            tensor("s", "BYTES", [len(values), 1], parameters={"binary_data_size": len(raw)})
        ]
    }
    (read,) = read_inputs(request, raw)
    assert read.values == values


@pytest.mark.parametrize("datatype", sorted(NUMPY_TYPES))
def test_every_numeric_binary_datatype(datatype: str) -> None:
    values = np.array([0, 1, 1, 0, 1, 1], dtype=NUMPY_TYPES[datatype])
    raw = values.tobytes()
    request = {"inputs": [tensor("x", datatype, [2, 3], parameters={"binary_data_size": len(raw)})]}
    (read,) = read_inputs(request, raw)
    assert read.values == values.tolist()


def test_binary_and_json_inputs_mixed_with_offsets() -> None:
    first = np.array([1.5, 2.5], dtype="<f8").tobytes()
    second = packed_bytes(["red", "blue"])
    request = {
        "inputs": [
            tensor("a", "FP64", [2], parameters={"binary_data_size": len(first)}),
            tensor("j", "INT64", [2], data=[7, 8], parameters={"content_type": "np"}),
            tensor("b", "BYTES", [2], parameters={"binary_data_size": len(second)}),
        ]
    }
    a, j, b = read_inputs(request, first + second)
    assert a.values == [1.5, 2.5]
    assert j.values == [7, 8]
    assert b.values == ["red", "blue"]


def fp64(size: Any, shape: tuple[int, ...] = (2,)) -> dict[str, Any]:
    return {"inputs": [tensor("x", "FP64", shape, parameters={"binary_data_size": size})]}


TWO = np.array([1.0, 2.0]).tobytes()


@pytest.mark.parametrize(
    ("request_", "binary", "says"),
    [
        (fp64(16), None, "no binary part"),
        (fp64(-1), TWO, "must be a whole number"),
        (fp64(True), TWO, "must be a whole number"),
        (fp64(16.0), TWO, "must be a whole number"),
        (fp64("16"), TWO, "must be a whole number"),
        (fp64(24), TWO, "runs past the end"),
        (fp64(8), TWO, "8 bytes do not hold 2 FP64 values"),
        (fp64(8, (1,)), TWO, "8 bytes no input claims"),
        (fp64(16), TWO + b"\x00", "1 bytes no input claims"),
        (fp64(16), np.array([1.0, np.nan]).tobytes(), "NaN or infinity"),
        (fp64(16), np.array([np.inf, 1.0]).tobytes(), "NaN or infinity"),
        (
            {"inputs": [tensor("s", "BYTES", [1], parameters={"binary_data_size": 3})]},
            b"\x01\x00\x00",
            "length is cut short",
        ),
        (
            {"inputs": [tensor("s", "BYTES", [1], parameters={"binary_data_size": 6})]},
            b"\x05\x00\x00\x00ab",
            "runs past its data",
        ),
        (
            {"inputs": [tensor("s", "BYTES", [1], parameters={"binary_data_size": 6})]},
            b"\x02\x00\x00\x00\xff\xfe",
            "not UTF-8",
        ),
        (
            {"inputs": [tensor("s", "BYTES", [2], parameters={"binary_data_size": 5})]},
            b"\x01\x00\x00\x00a",
            "the shape holds 2 values, got 1",
        ),
    ],
)
def test_malformed_binary_inputs_are_request_errors(
    request_: dict[str, Any], binary: bytes | None, says: str
) -> None:
    with pytest.raises(RequestError, match=says):
        read_inputs(request_, binary)


# -- outputs --------------------------------------------------------------------------------


def test_json_outputs() -> None:
    labels, raw = output_tensor("predict", np.array([0, 1, 1]), 3, False)
    assert raw == b""
    assert labels == {"name": "predict", "datatype": "INT64", "shape": [3], "data": [0, 1, 1]}
    proba, _ = output_tensor("predict_proba", np.array([[0.25, 0.75], [1.0, 0.0]]), 2, False)
    assert proba == {
        "name": "predict_proba", "datatype": "FP64", "shape": [2, 2],
        "data": [0.25, 0.75, 1.0, 0.0],
    }  # fmt: skip
    text, _ = output_tensor("predict", np.array(["no", "yes"], dtype=object), 2, False)
    assert (text["datatype"], text["data"]) == ("BYTES", ["no", "yes"])
    flags, _ = output_tensor("predict", np.array([True, False]), 2, False)
    assert (flags["datatype"], flags["data"]) == ("BOOL", [True, False])


def test_json_outputs_send_nan_and_infinity_as_null() -> None:
    out, _ = output_tensor("predict", np.array([1.0, np.nan, np.inf]), 3, False)
    assert out["datatype"] == "FP64"
    assert out["data"] == [1.0, None, None]


def test_binary_outputs_carry_their_size_and_little_endian_bytes() -> None:
    proba = np.array([[0.25, 0.75], [0.5, 0.5]])
    out, raw = output_tensor("predict_proba", proba, 2, True)
    assert out == {
        "name": "predict_proba", "datatype": "FP64", "shape": [2, 2],
        "parameters": {"binary_data_size": 32},
    }  # fmt: skip
    assert np.frombuffer(raw, dtype="<f8").reshape(2, 2).tolist() == proba.tolist()

    labels, raw = output_tensor("predict", np.array(["no", "yes!"], dtype=object), 2, True)
    assert labels["datatype"] == "BYTES"
    assert raw == packed_bytes(["no", "yes!"])
    assert labels["parameters"] == {"binary_data_size": len(raw)}

    flags, raw = output_tensor("predict", np.array([True, False, True]), 3, True)
    assert (flags["datatype"], raw) == ("BOOL", b"\x01\x00\x01")


@PROPERTY
@given(
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30),
    binary=st.booleans(),
)
def test_outputs_read_back_as_inputs(values: list[float], binary: bool) -> None:
    """What the server sends, read as a request by the same rules, is the same numbers."""
    out, raw = output_tensor("predict", np.asarray(values), len(values), binary)
    back = {**out, "name": "predict"}
    if not binary:
        (read,) = read_inputs({"inputs": [back]}, None)
    else:
        (read,) = read_inputs({"inputs": [back]}, raw)
    assert list(read.values) == values


@PROPERTY
@given(labels=st.lists(st.text(max_size=8), min_size=1, max_size=10))
def test_text_outputs_read_back_as_inputs(labels: list[str]) -> None:
    out, raw = output_tensor("predict", np.asarray(labels, dtype=object), len(labels), True)
    (read,) = read_inputs({"inputs": [out]}, raw)
    assert read.values == labels


@pytest.mark.parametrize(
    ("values", "datatype"),
    [
        (np.empty((0, 2)), "FP64"),
        (np.empty(0), "FP64"),
        (np.empty(0, dtype=np.int64), "INT64"),
        (np.empty(0, dtype=bool), "BOOL"),
    ],
)
def test_empty_outputs_keep_the_datatype_of_their_array(values: np.ndarray, datatype: str) -> None:
    """Zero rows of probabilities are still FP64 (as model metadata says); values_datatype
    guesses INT64 for any empty list, so an empty float answer comes back typed INT64."""
    out, _ = output_tensor("predict_proba", values, 0, False)
    assert out["datatype"] == datatype
    assert out["shape"] == [0, *values.shape[1:]]


# -- datatypes for metadata -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "datatype"),
    [
        (ColumnSpec("a", "float", "float64"), "FP64"),
        (ColumnSpec("a", "integer", "int64"), "INT64"),
        (ColumnSpec("a", "boolean", "bool"), "BOOL"),
        (ColumnSpec("a", "string", "object"), "BYTES"),
        (ColumnSpec("a", "string", "object", categories=("x", "y")), "BYTES"),
        (ColumnSpec("a", "category", "category", categories=(1, 2)), "INT64"),
        (ColumnSpec("a", "category", "category", categories=(1, 2.5)), "FP64"),
        (ColumnSpec("a", "category", "category", categories=(True, False)), "BOOL"),
        (ColumnSpec("a", "category", "category", categories=("x", 1)), "BYTES"),
        (ColumnSpec("a", "datetime", "datetime64[ns]"), "BYTES"),
    ],
)
def test_column_datatype(column: ColumnSpec, datatype: str) -> None:
    assert column_datatype(column) == datatype


@pytest.mark.parametrize(
    ("values", "datatype"),
    [
        ([True, False], "BOOL"),
        ([0, 1], "INT64"),
        ([0, 1.5], "FP64"),
        ([True, 1], "BYTES"),
        (["a", 1], "BYTES"),
        ([None], "BYTES"),
    ],
)
def test_values_datatype(values: list[Any], datatype: str) -> None:
    assert values_datatype(values) == datatype


# -- values out of their datatype's range ---------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "inside", "outside"),
    [
        ("INT8", [-128, 127], [128, -129, 1000]),
        ("UINT8", [0, 255], [256, -1]),
        ("INT16", [-(2**15), 2**15 - 1], [2**15]),
        ("UINT32", [2**32 - 1], [2**32, -1]),
        ("INT64", [-(2**63), 2**63 - 1], [2**63, -(2**63) - 1]),
        ("UINT64", [0, 2**64 - 1], [2**64, -1]),
        ("FP16", [65504.0, -65504.0], [65520.0, 1e5]),
        ("FP32", [3.4e38], [3.5e38, -1e39]),
        ("FP64", [1.7e308], [10**400]),
    ],
)
def test_values_must_fit_their_datatype(
    datatype: str, inside: list[Any], outside: list[Any]
) -> None:
    for value in inside:
        (read,) = read_inputs(
            {"inputs": [tensor(datatype=datatype, shape=[2], data=[value, None])]}, None
        )
        assert list(read.values) == [value, None]
    for value in outside:
        with pytest.raises(RequestError, match=f"outside the range of {datatype}"):
            read_inputs({"inputs": [tensor(datatype=datatype, shape=[2], data=[0, value])]}, None)


def test_a_whole_float_fits_an_integer_type_and_an_unwhole_one_is_named() -> None:
    (read,) = read_inputs({"inputs": [tensor(datatype="INT8", shape=[2], data=[1.0, 2])]}, None)
    assert list(read.values) == [1.0, 2]
    with pytest.raises(RequestError, match=r"1\.5 is not a valid INT8 value"):
        read_inputs({"inputs": [tensor(datatype="INT8", shape=[2], data=[1.5, 2])]}, None)
    with pytest.raises(RequestError, match="True is not a valid INT32 value"):
        read_inputs({"inputs": [tensor(datatype="INT32", shape=[2], data=[True, 2])]}, None)
    with pytest.raises(RequestError, match="2 is not a valid BOOL value"):
        read_inputs({"inputs": [tensor(datatype="BOOL", shape=[2], data=[True, 2])]}, None)


def test_unevenly_nested_data_is_still_read() -> None:
    (read,) = read_inputs({"inputs": [tensor(shape=[3], data=[1.0, [2.0, [3.0]]])]}, None)
    assert list(read.values) == [1.0, 2.0, 3.0]
    (read,) = read_inputs({"inputs": [tensor(shape=[2, 2], data=[[1, 2], [3, 4]])]}, None)
    assert list(read.values) == [1, 2, 3, 4]
