"""The claims dict `JwtVerifier` hands to `HTTPTokenAuth` (always true, even when empty)."""


class Claims(dict):
    """A verified token's claims; true even when empty, so a token without claims is not
    taken for a refusal by a `verify_token` caller."""

    def __bool__(self) -> bool:
        return True
