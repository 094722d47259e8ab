"""Batches waiting for the log's writer: grouped by table layout, in arrival order."""

from __future__ import annotations

import numpy as np

from ferryman.core.predictions import PredictionBatch, PredictionRecord
from ferryman.monitoring.log.pending import (
    BATCH_FIELDS,
    PendingBatch,
    PendingRows,
    batch_fields,
)

COLUMNS = ("x", "y", "z")


def binary(i: int, version: int = 1, model: str = "m") -> PredictionRecord:
    p = (i % 10) / 10
    return PredictionRecord(
        model, version, f"r{i}", 1_780_000_000.0, 1.0, "simple", COLUMNS,
        np.array([[i, i + 0.5, -i]]), np.array([int(p > 0.5)]), np.array([[1 - p, p]]), (0, 1),
    )  # fmt: skip


def test_pending_batches_are_grouped_by_layout_in_arrival_order() -> None:
    other_columns = ("a", "b", "c")  # equal names, another object: a layout of its own
    records = [binary(0), binary(1, version=2), binary(2), binary(3, model="n"), binary(4)]
    records[4].columns = other_columns
    fields = [batch_fields(PredictionBatch.of(r)) for r in records]
    groups = {
        (g.model, g.version, g.chunks[0].columns is other_columns): g
        for g in PendingRows.group(fields)
    }
    assert {k: g.per_request("request_ids") for k, g in groups.items()} == {
        ("m", 1, False): ["r0", "r2"],
        ("m", 2, False): ["r1"],
        ("n", 1, False): ["r3"],
        ("m", 1, True): ["r4"],
    }
    assert groups[("m", 1, False)].chunks == [fields[0], fields[2]]
    assert PendingBatch._fields == BATCH_FIELDS  # the writer reads the queued tuples by name
    (alone,) = PendingRows.group(fields[:1] + fields[2:3])  # one layout
    assert (alone.per_request("request_ids"), alone.per_request("sizes"), len(alone)) == (
        ["r0", "r2"],
        [1, 1],
        2,
    )


def test_a_record_is_a_batch_of_one_request() -> None:
    record = binary(7)
    record.row_ids = np.array(["a"])
    batch = PredictionBatch.of(record)
    assert (batch.request_ids, batch.latencies_ms, batch.sources, batch.sizes) == (
        ("r7",),
        (1.0,),
        ("simple",),
        (1,),
    )
    assert batch.rows == 1
    assert batch.row_ids is not None
    assert batch.row_ids[0] is record.row_ids
    assert batch.inputs is record.inputs
