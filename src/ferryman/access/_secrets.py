"""API token secrets: how they are made, recognised and hashed."""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["PREFIX", "SECRET_LENGTH", "digest_of", "display_prefix", "is_well_formed", "new_secret"]

PREFIX = "fm_"  # secret scanners can look for it
_RANDOM_CHARS = 43  # secrets.token_urlsafe(32): 256 random bits, url-safe base64 unpadded
SECRET_LENGTH = len(PREFIX) + _RANDOM_CHARS
_SHAPE = re.compile(rf"{PREFIX}[A-Za-z0-9_-]{{{_RANDOM_CHARS}}}")
SHOWN = len(PREFIX) + 4  # characters of a secret shown in listings: 24 of its 256 bits


def new_secret() -> str:
    """A new token secret: ``fm_`` and 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def is_well_formed(text: str) -> bool:
    """Whether ``text`` has a token's shape (cheap: checked before any lookup)."""
    return len(text) == SECRET_LENGTH and _SHAPE.fullmatch(text) is not None


def digest_of(secret: str) -> str:
    """The hex SHA-256 of ``secret``, the only form in which a token is stored.

    A fast hash is the right tool here, not a slow password KDF (bcrypt, scrypt, argon2):
    the secret is 256 random bits, not a guessable password, so nothing can be learnt from its
    digest by trying candidates, and one SHA-256 per first use keeps the request path fast.
    """
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def display_prefix(secret: str) -> str:
    """The short, non-secret start of a token that listings show (``fm_ab12``)."""
    return secret[:SHOWN]
