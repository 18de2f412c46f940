"""The caller's identity and grants come from verified claims, strictly typed."""

from __future__ import annotations

import pytest

from services.core.users import User


def test_identity_and_grants_from_claims():
    user = User.from_claims(
        {"sub": "svc", "email": "s@x", "is_admin": False, "permissions": ["media_internal", 7]}
    )
    assert (user.id, user.username, user.email) == ("svc", "svc", "s@x")
    assert user.permissions == frozenset({"media_internal"})
    assert user.can("media_internal") and not user.can("media_store_write")


@pytest.mark.parametrize(
    "claims",
    [{"is_admin": "true"}, {"is_admin": 1}, {"permissions": "media_internal"}, {}],
    ids=["string-admin", "number-admin", "string-permissions", "none"],
)
def test_loosely_typed_grants_grant_nothing(claims):
    user = User.from_claims({"sub": "u", **claims})
    assert not user.is_admin and not user.can("media_internal")


def test_admins_can_everything_and_profiles_keep_the_grants():
    admin = User.from_claims({"sub": "a", "is_admin": True})
    assert admin.can("anything")
    profiled = admin.with_profile({"email": "a@x", "username": "Ann"})
    assert (profiled.email, profiled.username, profiled.is_admin) == ("a@x", "Ann", True)
