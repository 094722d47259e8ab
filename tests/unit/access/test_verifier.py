"""The verifier: in memory, refuses with a reason that never holds the token, records refused
uses and last uses boundedly, and sees other processes' changes on refresh."""

from __future__ import annotations

import hmac
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferryman.access import Role, TokenBook
from ferryman.access.verifier import TokenVerifier
from ferryman.errors import AuthenticationError
from ferryman.registry import Registry


@pytest.fixture
def book(registry: Registry) -> TokenBook:
    return TokenBook(registry)


def reason_of(verifier: TokenVerifier, secret: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        verifier.check(secret)
    if len(secret) >= 8:
        assert secret not in str(caught.value)
        assert secret[3:] not in str(caught.value)
    return caught.value.reason


def test_a_good_token_gives_its_caller(book: TokenBook) -> None:
    _, secret = book.create("ci", "predictor", models=["churn*"])
    verifier = book.verifier()
    caller = verifier.check(secret)
    assert (caller.name, caller.role, caller.scopes) == ("ci", Role.PREDICTOR, ("churn*",))
    assert verifier.check(secret) is caller  # from the cache
    assert verifier.needs_auth


def test_unknown_and_malformed_tokens_are_refused_by_reason(book: TokenBook) -> None:
    _, secret = book.create("ci", "viewer")
    verifier = book.verifier()
    other = "fm_" + "A" * 43
    assert reason_of(verifier, other) == "no such token"
    assert reason_of(verifier, secret[:-1] + ("A" if secret[-1] != "A" else "B")) == (
        "no such token"
    )
    malformed = [
        "",
        "fm_",
        secret[:-1],
        secret + "x",
        "gh_" + secret[3:],
        "fm_" + "é" * 43,
        "fm_" + "a" * 42 + " ",
        "x" * 1_000_000,
        secret.upper()[:3] + secret[3:],
    ]
    for bad in malformed:
        assert reason_of(verifier, bad) == "malformed token"


def test_the_deciding_comparison_is_constant_time(
    book: TokenBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, secret = book.create("ci", "viewer")
    verifier = book.verifier()
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verifier.check(secret)
    assert len(compared) == 1
    assert compared[0][0] == compared[0][1]
    assert len(compared[0][0]) == 64  # digests, not the secret


def test_revoked_is_seen_on_refresh_and_each_refusal_is_recorded_boundedly(
    book: TokenBook,
) -> None:
    _, secret = book.create("ci", "viewer")
    now = [time.time()]
    verifier = TokenVerifier(book.store, actor="server", clock=lambda: now[0])
    verifier.check(secret)
    book.revoke("ci")
    assert verifier.check(secret).name == "ci"  # until the next refresh
    verifier.refresh()
    for _ in range(100):
        assert reason_of(verifier, secret) == "token revoked"
    verifier.refresh()
    refused = [e for e in book.events("ci") if e.kind == "token.refused"]
    assert len(refused) == 1
    assert refused[0].detail == {"reason": "token revoked"}
    assert refused[0].actor == "server"
    now[0] += 61
    assert reason_of(verifier, secret) == "token revoked"
    verifier.refresh()
    refused = [e for e in book.events("ci") if e.kind == "token.refused"]
    assert len(refused) == 2
    assert refused[0].detail == {"reason": "token revoked", "refused_before": 99}
    assert verifier.needs_auth  # a revoked token still keeps the server closed


def test_expired_tokens_are_refused(book: TokenBook) -> None:
    _, secret = book.create("short", "admin", expires="1h")
    now = [time.time()]
    verifier = TokenVerifier(book.store, actor="server", clock=lambda: now[0])
    assert verifier.check(secret).role is Role.ADMIN
    now[0] += 3601
    assert reason_of(verifier, secret) == "token expired"
    verifier.refresh()
    (refused,) = [e for e in book.events("short") if e.kind == "token.refused"]
    assert refused.detail == {"reason": "token expired"}


def test_last_use_is_written_on_refresh_at_most_once_a_minute(book: TokenBook) -> None:
    _, secret = book.create("ci", "viewer")
    now = [time.time()]
    verifier = TokenVerifier(book.store, actor="server", clock=lambda: now[0])
    verifier.refresh()
    assert book.get("ci").last_used is None
    verifier.check(secret)
    verifier.refresh()
    first = book.get("ci").last_used
    assert first is not None
    now[0] += 10
    verifier.check(secret)
    verifier.refresh()
    assert book.get("ci").last_used == first
    now[0] += 60
    verifier.check(secret)
    verifier.refresh()
    later = book.get("ci").last_used
    assert later is not None
    assert later > first


def test_the_cache_is_bounded(book: TokenBook) -> None:
    secrets = [book.create(f"t{i}", "viewer")[1] for i in range(5)]
    verifier = TokenVerifier(book.store, actor="server", cache_size=2)
    for _ in range(3):
        for secret in secrets:
            assert verifier.check(secret).role is Role.VIEWER
            assert len(verifier._cache) <= 2


def test_needs_auth_follows_the_tokens_on_record(book: TokenBook) -> None:
    verifier = book.verifier()
    assert not verifier.needs_auth
    book.create("t", "viewer", expires="1s")
    verifier.refresh()
    assert verifier.needs_auth
    book.revoke("t")
    verifier.refresh()
    assert verifier.needs_auth
    book.delete("t")
    verifier.refresh()
    assert not verifier.needs_auth


def test_refresh_sees_another_process_revoke_and_create(
    book: TokenBook, registry: Registry
) -> None:
    _, secret = book.create("ci", "viewer")
    verifier = book.verifier()
    verifier.check(secret)
    script = (
        "import sys\n"
        "from ferryman.access import TokenBook\n"
        "from ferryman.config import Settings\n"
        "from ferryman.registry import Registry\n"
        "book = TokenBook(Registry(Settings.load(home=sys.argv[1], actor='other')))\n"
        "book.revoke('ci')\n"
        "print(book.create('new', 'operator')[1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(registry.settings.home_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    new_secret = done.stdout.strip()
    verifier.refresh()
    assert reason_of(verifier, secret) == "token revoked"
    assert verifier.check(new_secret).role is Role.OPERATOR


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="abcXYZ019-_=+/ é\x00", min_size=40, max_size=50).map(lambda t: "fm_" + t),
    )
)
def test_any_text_is_refused_with_a_known_reason_and_never_echoed(
    book: TokenBook, text: str
) -> None:
    verifier = book.verifier()
    with pytest.raises(AuthenticationError) as caught:
        verifier.check(text)
    assert caught.value.reason in {"malformed token", "no such token"}
    if len(text) >= 8:
        assert text not in str(caught.value)
