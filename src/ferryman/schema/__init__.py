"""Signatures and profiles of data: infer them from training data, validate input against them."""

from ferryman.schema.data_files import read_input, read_table, write_table
from ferryman.schema.fingerprint import fingerprint_frame
from ferryman.schema.inference import column_kind, infer_signature
from ferryman.schema.profiling import profile_frame, sample_rows
from ferryman.schema.validation import (
    MAX_PROBLEMS,
    AcceptedValues,
    Problem,
    ProblemList,
    check_input,
    describe_problems,
    find_problems,
    input_error,
    to_frame,
    validate,
)

__all__ = [
    "MAX_PROBLEMS",
    "AcceptedValues",
    "Problem",
    "ProblemList",
    "check_input",
    "column_kind",
    "describe_problems",
    "find_problems",
    "fingerprint_frame",
    "infer_signature",
    "input_error",
    "profile_frame",
    "read_input",
    "read_table",
    "sample_rows",
    "to_frame",
    "validate",
    "write_table",
]
