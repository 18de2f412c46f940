"""Domain errors: one root, mapped to HTTP responses in app/errors.py."""

from __future__ import annotations


class MediastoreError(Exception):
    """Root of every error a service raises on purpose."""

    default_message = "Internal server error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class InvalidRequest(MediastoreError):
    """The request can never succeed as sent."""

    default_message = "Bad request"


class Unprocessable(InvalidRequest):
    """The request is well-formed, but what it asks for breaks a rule of the data (422)."""

    default_message = "Unprocessable request"


class Unauthorized(MediastoreError):
    """The caller could not be authenticated."""

    default_message = "Unauthorized"


class Forbidden(MediastoreError):
    """The caller is known but may not do this."""

    default_message = "Forbidden"


class QuotaExceeded(Forbidden):
    """The upload would take the user past their storage quota."""

    default_message = "Storage quota exceeded"


class BandwidthExceeded(Forbidden):
    """The upload would take the user past today's bandwidth allowance."""

    default_message = "Daily upload bandwidth exceeded"


class LeaseExpired(MediastoreError):
    """An upload went quiet for longer than its lease and was reclaimed; start it again."""

    default_message = "The upload took too long and was abandoned; please start it again"


class NotFound(MediastoreError):
    """The thing does not exist, or is not the caller's."""

    default_message = "Not found"


class Conflict(MediastoreError):
    """The request collides with existing state."""

    default_message = "Conflict"


class PayloadTooLarge(MediastoreError):
    """The body is larger than the configured limit."""

    default_message = "Upload exceeds the maximum allowed size"


class UnsupportedMediaType(MediastoreError):
    """The content is not of a type this endpoint accepts."""

    default_message = "Unsupported media type"


class RangeNotSatisfiable(MediastoreError):
    """The requested byte range lies outside the object."""

    default_message = "Requested range not satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size


class StorageUnavailable(MediastoreError):
    """Object storage or the metadata store cannot be reached right now."""

    default_message = "Storage is temporarily unavailable"


class ObjectMissing(MediastoreError):
    """The object storage has no object by that name.

    The name is kept in `object_name` for logs; the message never carries it, because
    storage names (hashes, ids, layout) are not the client's business.
    """

    default_message = "File not found"

    def __init__(self, object_name: str | None = None) -> None:
        super().__init__()
        self.object_name = object_name
