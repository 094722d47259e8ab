"""The join key of a logged row: FNV-1a (64-bit) of ``request_id \\x1f row``, vectorised."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferryman.monitoring.log.scheme import row_keys


def fnv1a64(data: bytes) -> int:
    """The textbook definition, one byte at a time, as a signed 64-bit integer."""
    digest = 0xCBF29CE484222325
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001B3) % 2**64
    return digest - 2**64 if digest >= 2**63 else digest


def expected(ids: list[str], rows: list[str]) -> list[int]:
    return [fnv1a64(f"{i}\x1f{r}".encode()) for i, r in zip(ids, rows, strict=True)]


def test_the_reference_matches_published_fnv1a_vectors() -> None:
    # from the FNV authors' test suite (64-bit FNV-1a)
    assert fnv1a64(b"") == 0xCBF29CE484222325 - 2**64
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C - 2**64
    assert fnv1a64(b"foobar") == 0x85944171F73967E8 - 2**64


def test_keys_of_mixed_lengths_and_unicode_match_the_definition() -> None:
    ids = ["a", "é€", "x" * 40, "", "5f0c2a7e9b1d4c3e8a6f000000000001"]
    rows = ["0", "12", "", "abc", "7"]

    keys = row_keys(ids, rows)

    assert keys.dtype == np.int64
    assert keys.tolist() == expected(ids, rows)


def test_arrow_arrays_and_slices_give_the_same_keys_as_lists() -> None:
    ids = [f"request-{i}" for i in range(20)]
    rows = [str(i % 3) for i in range(20)]
    sliced_ids, sliced_rows = pa.array(ids).slice(5, 10), pa.array(rows).slice(5, 10)

    assert row_keys(sliced_ids, sliced_rows).tolist() == expected(ids[5:15], rows[5:15])
    assert row_keys(pa.array(ids), pa.array(rows)).tolist() == row_keys(ids, rows).tolist()


def test_the_separator_keeps_id_and_row_apart() -> None:
    assert row_keys(["ab"], ["c"])[0] != row_keys(["a"], ["bc"])[0]


def test_null_or_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="never null"):
        row_keys(pa.array(["a", None]), ["0", "0"])
    with pytest.raises(ValueError, match="2 request ids but 1 rows"):
        row_keys(["a", "b"], ["0"])


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=4)), max_size=30))
def test_any_text_hashes_as_the_definition_says(pairs: list[tuple[str, str]]) -> None:
    ids = [i for i, _ in pairs]
    rows = [r for _, r in pairs]

    assert row_keys(ids, rows).tolist() == expected(ids, rows)


def test_groups_of_lengths_and_a_few_long_ids_hash_as_the_definition_says() -> None:
    ids = [f"a{i:04d}" for i in range(40)] + [f"bb{i:05d}" for i in range(30)]
    ids += ["z" * 5000, "é" * 300]  # odd lengths, hashed a row at a time
    rows = [str(i % 11) for i in range(len(ids))]

    assert row_keys(ids, rows).tolist() == expected(ids, rows)
