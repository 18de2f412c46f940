"""Who is calling: the authenticated user's identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class User:
    """An authenticated caller: `id` is the token's subject."""

    id: str
    username: str
    email: str | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> User:
        """Build the user from verified JWT claims (username defaults to the subject)."""
        subject = str(claims["sub"])
        return cls(
            id=subject, username=claims.get("username") or subject, email=claims.get("email")
        )

    def with_profile(self, profile: Mapping[str, Any]) -> User:
        """Prefer the user service's email and username over the token's."""
        return User(
            id=self.id,
            username=profile.get("username") or self.username,
            email=profile.get("email") or self.email,
        )
