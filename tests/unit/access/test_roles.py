"""Roles include the ones before them; scopes are case-sensitive name patterns."""

from __future__ import annotations

import pytest

from ferryman.access import Caller, Role
from ferryman.errors import InvalidArgumentError, PermissionDeniedError


def test_roles_are_ordered_each_including_the_one_before() -> None:
    assert Role.VIEWER < Role.PREDICTOR < Role.OPERATOR < Role.ADMIN
    assert [str(role) for role in Role] == ["viewer", "predictor", "operator", "admin"]
    operator = Caller("ops", Role.OPERATOR)
    assert operator.may(Role.VIEWER)
    assert operator.may(Role.PREDICTOR)
    assert operator.may(Role.OPERATOR)
    assert not operator.may(Role.ADMIN)
    assert not Caller("v", Role.VIEWER).may(Role.PREDICTOR)


@pytest.mark.parametrize("text", ["admin", "Admin", " viewer ", "PREDICTOR"])
def test_role_parse_takes_any_case(text: str) -> None:
    assert str(Role.parse(text)) == text.strip().lower()


@pytest.mark.parametrize("text", ["root", "", "viewers", None, 3])
def test_role_parse_names_the_known_roles(text: object) -> None:
    with pytest.raises(InvalidArgumentError, match="viewer, predictor, operator, admin"):
        Role.parse(text)


def test_no_scopes_sees_every_model() -> None:
    assert Caller("all", Role.VIEWER).sees("anything")


def test_scopes_match_whole_names_case_sensitively() -> None:
    caller = Caller("c", Role.PREDICTOR, ("churn*", "fraud-v?", "[ab]x"))
    assert caller.sees("churn")
    assert caller.sees("churn-eu")
    assert caller.sees("fraud-v2")
    assert not caller.sees("fraud-v10")
    assert caller.sees("ax")
    assert caller.sees("bx")
    assert not caller.sees("cx")
    assert not caller.sees("Churn")  # case-sensitive, on every platform
    assert not caller.sees("xchurn")  # the whole name, not a part


def test_caller_is_frozen() -> None:
    caller = Caller("c", Role.VIEWER)
    with pytest.raises(AttributeError):
        caller.role = Role.ADMIN  # type: ignore[misc]


def test_require_names_the_role_needed() -> None:
    Caller("ops", Role.OPERATOR).require(Role.PREDICTOR)
    with pytest.raises(PermissionDeniedError, match="'v' has the role viewer; this needs admin"):
        Caller("v", Role.VIEWER).require(Role.ADMIN)
