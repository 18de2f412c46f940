"""Who is calling: the authenticated user's identity and what the token lets them do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class User:
    """An authenticated caller: `id` is the token's subject, one user across every API.

    `is_admin` comes from the token's `"is_admin": true`; `permissions` from its
    `permissions` list (for example `media_internal` for internal services). Anything
    else in those claims (a string for a list, "true" for true) grants nothing.
    """

    id: str
    username: str
    email: str | None = None
    is_admin: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> User:
        """Build the user from verified JWT claims (username defaults to the subject)."""
        subject = str(claims["sub"])
        granted = claims.get("permissions")
        permissions = (
            frozenset(p for p in granted if isinstance(p, str))
            if isinstance(granted, list)
            else frozenset()
        )
        return cls(
            id=subject,
            username=claims.get("username") or subject,
            email=claims.get("email"),
            is_admin=claims.get("is_admin") is True,
            permissions=permissions,
        )

    def can(self, permission: str) -> bool:
        """True for admins and for tokens that list the permission."""
        return self.is_admin or permission in self.permissions

    def with_profile(self, profile: Mapping[str, Any]) -> User:
        """Prefer the user service's email and username over the token's."""
        return replace(
            self,
            username=profile.get("username") or self.username,
            email=profile.get("email") or self.email,
        )
