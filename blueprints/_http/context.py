"""How views reach the services and the caller."""

from __future__ import annotations

from flask import current_app
from flask_jwt_extended import get_current_user

from services.core.users import User
from services.registry import Services


def services() -> Services:
    """The process's services, stored by create_app in app.extensions["mediastore"]."""
    return current_app.extensions["mediastore"]


def current_user() -> User:
    """The authenticated caller of a @jwt_required view."""
    return get_current_user()
