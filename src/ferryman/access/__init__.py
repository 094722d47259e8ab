"""Access control: API tokens, the roles they grant and the models they may reach.

``TokenBook`` creates, lists, revokes and deletes tokens (the CLI and the SDK call it); the
server checks each request's bearer token with a ``TokenVerifier`` (in memory) and asks the
``Caller`` it returns whether its role and scopes allow the route.
"""

from ferryman.access.roles import Caller, Role
from ferryman.access.storage import TokenEvent
from ferryman.access.tokens import TokenBook, TokenInfo, check_scopes, parse_expiry
from ferryman.access.verifier import TokenVerifier

__all__ = [
    "Caller",
    "Role",
    "TokenBook",
    "TokenEvent",
    "TokenInfo",
    "TokenVerifier",
    "check_scopes",
    "parse_expiry",
]
