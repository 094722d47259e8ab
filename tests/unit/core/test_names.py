"""Naming rules for models and aliases."""

from __future__ import annotations

import pytest

from ferryman.core.names import MAX_NAME_LENGTH, check_alias, check_name
from ferryman.errors import FerrymanError, InvalidNameError


@pytest.mark.parametrize(
    "name", ["a", "Z", "7", "churn", "churn-v2", "churn_v2", "churn.v2", "A1.b_c-D", "123"]
)
def test_valid_names_are_returned(name: str) -> None:
    assert check_name(name) == name


def test_name_of_exactly_max_length_is_valid() -> None:
    name = "n" * MAX_NAME_LENGTH
    assert MAX_NAME_LENGTH == 128
    assert check_name(name) == name


def test_name_longer_than_max_length_is_refused() -> None:
    with pytest.raises(InvalidNameError, match="at most 128 long"):
        check_name("n" * (MAX_NAME_LENGTH + 1))


@pytest.mark.parametrize(
    "name", ["-a", "_a", ".a", "a b", "a/b", "a@b", "a:b", "é", "a\n", "a\tb", "a%", "a*"]
)
def test_invalid_characters_are_refused_and_named(name: str) -> None:
    with pytest.raises(InvalidNameError, match="invalid model name") as info:
        check_name(name)
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("value", ["", None, 5, b"a"])
def test_empty_or_non_string_name_is_refused(value: object) -> None:
    with pytest.raises(InvalidNameError, match="must be a non-empty string") as info:
        check_name(value)
    assert repr(value) in str(info.value)


def test_what_is_named_in_the_message() -> None:
    with pytest.raises(InvalidNameError, match="invalid tag key 'a b'"):
        check_name("a b", what="tag key")


def test_name_errors_are_ferryman_and_value_errors() -> None:
    with pytest.raises(InvalidNameError) as info:
        check_name("")
    assert isinstance(info.value, FerrymanError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("alias", ["production", "staging", "v2", "2b", "champion.1", "a-1"])
def test_valid_aliases_are_returned(alias: str) -> None:
    assert check_alias(alias) == alias


@pytest.mark.parametrize("alias", ["1", "3", "0042"])
def test_all_digit_alias_is_refused(alias: str) -> None:
    with pytest.raises(InvalidNameError, match="cannot be all digits") as info:
        check_alias(alias)
    assert repr(alias) in str(info.value)


@pytest.mark.parametrize("alias", ["latest", "LATEST", "Latest"])
def test_latest_is_reserved(alias: str) -> None:
    with pytest.raises(InvalidNameError, match="reserved") as info:
        check_alias(alias)
    assert repr(alias) in str(info.value)


@pytest.mark.parametrize("alias", ["", "a b", "-x", "x" * 129, None])
def test_alias_follows_the_name_rules(alias: object) -> None:
    with pytest.raises(InvalidNameError, match="alias"):
        check_alias(alias)
