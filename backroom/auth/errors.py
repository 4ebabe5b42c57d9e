"""Errors of users, sessions and API tokens."""

from backroom.errors import Forbidden


class TokenCannotMint(Forbidden):
    """A request authenticated by an API token asked for a new token."""

    code, title = "token_cannot_mint", "Not allowed with an API token"
