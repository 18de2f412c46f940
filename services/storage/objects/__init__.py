"""Object storage: one interface, a GCS and a local-directory implementation."""

from services.storage.objects.base import (
    ListedObject,
    ObjectInfo,
    ObjectStore,
    ObjectWriter,
    SignedGrant,
    SignedUpload,
    strong_etag,
)

__all__ = [
    "ListedObject",
    "ObjectInfo",
    "ObjectStore",
    "ObjectWriter",
    "SignedGrant",
    "SignedUpload",
    "strong_etag",
]
