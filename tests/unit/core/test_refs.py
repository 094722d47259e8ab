"""ModelRef.parse: the reference forms ferryman accepts, and the ones it refuses."""

from __future__ import annotations

import pytest

from ferryman.core.refs import DEFAULT_ALIAS, LATEST, ModelRef
from ferryman.errors import FerrymanError, InvalidReferenceError


def test_bare_name_means_the_default_alias() -> None:
    ref = ModelRef.parse("churn")
    assert ref == ModelRef("churn", alias=DEFAULT_ALIAS, version=None)
    assert DEFAULT_ALIAS == "production"
    assert str(ref) == "churn@production"


def test_bare_name_uses_the_given_default_alias() -> None:
    assert ModelRef.parse("churn", default_alias="staging") == ModelRef("churn", alias="staging")


def test_name_at_alias() -> None:
    ref = ModelRef.parse("churn@staging")
    assert ref == ModelRef("churn", alias="staging", version=None)
    assert str(ref) == "churn@staging"


def test_name_at_latest() -> None:
    ref = ModelRef.parse("churn@latest")
    assert ref == ModelRef("churn", alias=LATEST, version=None)


def test_name_slash_version() -> None:
    ref = ModelRef.parse("churn/3")
    assert ref == ModelRef("churn", alias=None, version=3)
    assert str(ref) == "churn/3"


def test_large_version_number() -> None:
    assert ModelRef.parse("a.b_c-d/1234").version == 1234


def test_surrounding_whitespace_is_ignored() -> None:
    assert ModelRef.parse("  churn/2 \n") == ModelRef("churn", version=2)


def test_a_parsed_ref_passes_through_unchanged() -> None:
    ref = ModelRef("churn", version=7)
    assert ModelRef.parse(ref) is ref


@pytest.mark.parametrize(
    "text",
    ["a/0", "a/x", "a@", "a b", "/3", "a/-1", "a/", "a/1/2", "a@b c", "@prod", "a/1.5", "-a"],
)
def test_malformed_reference_names_the_text(text: str) -> None:
    with pytest.raises(InvalidReferenceError, match="invalid model reference") as info:
        ModelRef.parse(text)
    assert repr(text) in str(info.value)
    assert "name@alias" in str(info.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_reference_is_refused(text: str) -> None:
    with pytest.raises(InvalidReferenceError, match="empty model reference") as info:
        ModelRef.parse(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("value", [None, 3, b"churn", ["churn"]])
def test_non_string_reference_is_refused(value: object) -> None:
    with pytest.raises(InvalidReferenceError, match="a model reference is text") as info:
        ModelRef.parse(value)
    assert repr(value) in str(info.value)


def test_reference_errors_are_ferryman_and_value_errors() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        ModelRef.parse("a/0")
    assert isinstance(info.value, FerrymanError)
    assert isinstance(info.value, ValueError)


def test_version_zero_message_explains_the_rule() -> None:
    with pytest.raises(InvalidReferenceError, match="whole number from 1 up"):
        ModelRef.parse("a/0")


def test_too_long_name_is_refused() -> None:
    with pytest.raises(InvalidReferenceError, match="at most 128"):
        ModelRef.parse("a" * 129 + "/1")


@pytest.mark.parametrize("text", ["a/99999999999999999999", "a/²", "a/٣"])
def test_huge_and_non_ascii_version_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidReferenceError, match="whole number from 1 up"):
        ModelRef.parse(text)


def test_an_all_digit_alias_points_at_the_version_form() -> None:
    with pytest.raises(InvalidReferenceError, match="write 'lr/3'"):
        ModelRef.parse("lr@3")


def test_latest_is_case_insensitive() -> None:
    assert ModelRef.parse("m@LATEST") == ModelRef("m", alias="latest")
