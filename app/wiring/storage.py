"""Storage from settings: GCS or a local directory; MongoDB or litemongo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pymongo
from google.auth import credentials as auth_credentials
from google.auth.credentials import AnonymousCredentials

from services.storage.documents import MongoDatabase, SerializedDatabase, open_embedded_database
from services.storage.objects import ObjectStore

MIB = 1024 * 1024


def open_object_store(
    settings: Mapping[str, Any], *, signing_key: bytes, clock: Callable[[], datetime]
) -> ObjectStore:
    """GCS when GCS_BUCKET is set, else a local directory under DATA_DIR."""
    if settings.get("GCS_BUCKET"):
        return gcs_store(settings)
    return local_store(settings, signing_key=signing_key, clock=clock)


def gcs_store(
    settings: Mapping[str, Any], *, credentials: auth_credentials.Credentials | None = None
) -> Any:
    """The bucket's client and URL signer (an emulator when GCS_ENDPOINT is set)."""
    from google.cloud import storage

    from services.storage.objects.gcs import GCSService
    from services.storage.objects.gcs_signing import DEFAULT_IAM_ENDPOINT, choose_signer

    endpoint = settings.get("GCS_ENDPOINT")
    kwargs: dict[str, Any] = {}
    if endpoint:
        kwargs["client_options"] = {"api_endpoint": endpoint}
        credentials = credentials or AnonymousCredentials()
    if settings.get("GCP_PROJECT") or endpoint:
        kwargs["project"] = settings.get("GCP_PROJECT") or "local"
    client = storage.Client(credentials=credentials, **kwargs)
    signing = choose_signer(
        client._credentials,
        key_file=settings.get("GCS_SIGNING_KEY_FILE"),
        service_account_email=settings.get("GCS_SIGNING_SERVICE_ACCOUNT"),
        iam_endpoint=settings.get("IAM_CREDENTIALS_ENDPOINT") or DEFAULT_IAM_ENDPOINT,
    )
    return GCSService(
        client.bucket(settings["GCS_BUCKET"]),
        chunk_bytes=settings.get("GCS_CHUNK_BYTES") or 8 * MIB,
        read_chunk_bytes=settings.get("STORAGE_READ_CHUNK_BYTES") or MIB,
        signing=signing,
        api_access_endpoint=endpoint or None,
    )


def local_store(
    settings: Mapping[str, Any], *, signing_key: bytes, clock: Callable[[], datetime]
) -> Any:
    """The embedded store under DATA_DIR/objects, its signed URLs timed by the service clock."""
    from services.storage.objects.local import LocalObjectStore

    return LocalObjectStore(
        Path(settings["DATA_DIR"]) / "objects",
        signing_key,
        chunk_bytes=settings.get("STORAGE_READ_CHUNK_BYTES") or 4 * MIB,
        clock=lambda: clock().timestamp(),
    )


def open_database(settings: Mapping[str, Any]) -> MongoDatabase | SerializedDatabase:
    """Open MongoDB when MONGO_URI is set, else the litemongo store under DATA_DIR."""
    if settings.get("MONGO_URI"):
        client = pymongo.MongoClient(
            settings["MONGO_URI"], connect=False, serverSelectionTimeoutMS=5000, tz_aware=True
        )
        return MongoDatabase(client, settings["MONGO_DB"])
    return open_embedded_database(Path(settings["DATA_DIR"]) / "metadata", settings["MONGO_DB"])
