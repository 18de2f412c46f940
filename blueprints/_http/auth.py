"""Bearer-token checks for views: flask-jwt-extended's, through the app's manager."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from flask import current_app


def verify_jwt_in_request(optional: bool = False) -> tuple[dict, dict] | None:
    """Check the request's bearer token as flask-jwt-extended does; None without one if optional.

    The app's manager (app/auth.py) takes the library's steps and raises its errors, which
    its loaders answer with 401, but reads a token's header from the verified-token cache
    instead of decoding it again on every request.
    """
    return current_app.extensions["flask-jwt-extended"].verify_request(optional)


def jwt_required() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a view that needs a valid bearer token, checked before anything else."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):
            raise TypeError(f"{view.__qualname__}: async views are not served here")

        @functools.wraps(view)
        def authenticated(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            return view(*args, **kwargs)

        return authenticated

    return decorate
