"""Configuration: the only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

MIB = 1024 * 1024
# RFC 7518 section 3.2: an HS256 key at least as long as the hash output (256 bits).
MIN_HS256_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """The configuration cannot run in this environment; the message names what is missing."""


def _int(value: str) -> int:
    return int(value.replace("_", ""))


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# name -> (default, parser). Every setting the service reads, in one table.
SETTINGS: dict[str, tuple[Any, Any]] = {
    "HOST": ("127.0.0.1", str),
    "PORT": (8080, _int),
    "DATA_DIR": ("./var", str),
    "PUBLIC_BASE_URL": (None, str),
    "LOG_FORMAT": ("text", str),
    "LOG_LEVEL": ("INFO", str),
    "GCP_PROJECT": (None, str),
    # Object storage: GCS when a bucket is named, else a local directory under DATA_DIR.
    "GCS_BUCKET": (None, str),
    "GCS_ENDPOINT": (None, str),
    "GCS_CHUNK_BYTES": (8 * MIB, _int),
    "GCS_SIGNING_SERVICE_ACCOUNT": (None, str),
    "GCS_SIGNING_KEY_FILE": (None, str),
    "IAM_CREDENTIALS_ENDPOINT": ("https://iamcredentials.googleapis.com", str),
    "SIGNED_URL_TTL_SECONDS": (900, _int),
    "URL_SIGNING_KEY": (None, str),
    # Metadata: MongoDB when a URI is given, else litemongo files under DATA_DIR.
    "MONGO_URI": (None, str),
    "MONGO_DB": ("mediastore", str),
    # Auth.
    "JWT_SECRET_KEY": (None, str),
    "JWT_PUBLIC_KEY": (None, str),
    "JWT_PUBLIC_KEY_PATH": (None, str),
    # The entity API's original name for JWT_PUBLIC_KEY_PATH; used when that one is unset.
    "PUBLIC_KEY_PATH": (None, str),
    "JWT_ALGORITHM": ("HS256", str),
    "JWT_ISSUER": (None, str),
    "JWT_AUDIENCE": (None, str),
    "USER_SERVICE_URL": (None, str),
    "USER_SERVICE_TIMEOUT_SECONDS": (3.0, float),
    "USER_SERVICE_CACHE_SECONDS": (30, _int),
    # Events: Pub/Sub or the in-process bus; topic names default to the event types.
    "EVENT_BUS": ("inprocess", str),
    "PUBSUB_EMULATOR_HOST": (None, str),
    "TOPIC_SCREENSHOTS_REQUESTED": ("media.screenshots.requested", str),
    "TOPIC_SCREENSHOTS_COMPLETED": ("media.screenshots.completed", str),
    "TOPIC_PEER_AVAILABLE": ("peer.available.with_requested_media", str),
    "PUBSUB_SUBSCRIPTION_PREFIX": ("mediastore", str),
    "PUBSUB_VERIFY_PUSH": (True, _bool),
    "PUBSUB_PUSH_AUDIENCE": (None, str),
    "PUBSUB_PUSH_SERVICE_ACCOUNT": (None, str),
    "PUBSUB_PUSH_CERTS_URL": ("https://www.googleapis.com/oauth2/v1/certs", str),
    "OUTBOX_RELAY_INTERVAL_SECONDS": (5.0, float),
    "PROCESSED_MESSAGE_TTL_HOURS": (72, _int),
    # Delivered outbox events are forgotten after this long (a retried call with the same
    # event id within it records nothing twice); dead ones stay until an operator acts.
    "OUTBOX_RETENTION_HOURS": (72, _int),
    # Failed deliveries of one event (outbox) or message (inbox) before it is declared dead.
    "EVENT_MAX_ATTEMPTS": (8, _int),
    # Screenshots (seed 000). PEER_TOKEN_SECRET signs the one-time peer upload tokens.
    "PEER_TOKEN_SECRET": (None, str),
    "PEER_REGISTRY_URL": (None, str),
    "EDGE_SERVICE_URL": (None, str),
    "OUTBOUND_TIMEOUT_SECONDS": (5.0, float),
    "OUTBOUND_RETRIES": (2, _int),
    "PENDING_REQUEST_TTL_HOURS": (24, _int),
    "JWT_TOKEN_EXPIRE_MINUTES": (30, _int),
    "MAX_SCREENSHOTS_PER_REQUEST": (10, _int),
    "MAX_SCREENSHOT_BYTES": (10 * MIB, _int),
    # Media API (seed 001). Types are judged by content; MAX_FILE_SIZE_MB counts MiB.
    # MEDIA_DOWNLOAD_TOKEN_SECRET signs download tokens (generated in DATA_DIR unless set;
    # required in production). Rate limits are Flask-Limiter strings, counted in memory by
    # default, or in MongoDB (MONGO_URI) so that every instance shares one count.
    "ALLOWED_IMAGE_TYPES": ("image/jpeg,image/png,image/webp", str),
    "ALLOWED_DOCUMENT_TYPES": ("application/pdf", str),
    "MAX_FILE_SIZE_MB": (10, _int),
    "MEDIA_DOWNLOAD_TOKEN_TTL_SECONDS": (900, _int),
    "MEDIA_DOWNLOAD_TOKEN_SECRET": (None, str),
    "MEDIA_UPLOAD_RATE_LIMIT": ("20/minute", str),
    "MEDIA_DOWNLOAD_RATE_LIMIT": ("600/minute", str),
    "MEDIA_RATE_LIMIT_STORAGE_URI": (None, str),
    "MEDIA_INVOICE_EVENT_OWNER": ("billing-service", str),
    "TOPIC_MEDIA_UPLOADED": ("media.uploaded", str),
    "TOPIC_INVOICE_GENERATED": ("billing.invoice.generated", str),
    # Part uploads (seed 002): the part size advised at create, the largest part a URL
    # admits, how long an untouched session lives, how long a part URL works (never past
    # its session), and how long one `complete` keeps the session to itself.
    "MULTIPART_PART_SIZE_BYTES": (8 * MIB, _int),
    "MULTIPART_MAX_PART_BYTES": (5 * 1024 * MIB, _int),
    "MULTIPART_SESSION_TTL_HOURS": (24, _int),
    "MULTIPART_URL_TTL_SECONDS": (3600, _int),
    "MULTIPART_COMPLETE_LEASE_SECONDS": (600, _int),
    # Limits.
    "DEFAULT_STORAGE_QUOTA_BYTES": (52_428_800, _int),
    "DAILY_BANDWIDTH_LIMIT_BYTES": (104_857_600, _int),
    "MAX_UPLOAD_BYTES": (1024 * MIB, _int),
    "UPLOAD_LEASE_SECONDS": (3600, _int),
    # Streaming: storage read size, open-range slice, and the largest body sent with a length.
    "STORAGE_READ_CHUNK_BYTES": (1 * MIB, _int),
    "STREAM_SLICE_BYTES": (4 * MIB, _int),
    "RESPONSE_LENGTH_LIMIT_BYTES": (32 * MIB, _int),
    # /stream/video and /download/disk answer 307 to a signed URL (SIGNED_URL_TTL_SECONDS)
    # instead of relaying the bytes: clients must follow redirects and see the signed URL.
    "STREAM_REDIRECT": (False, _bool),
    # Request bodies at the WSGI edge (app/http_guard.py). GUNICORN_THREADS is how many
    # threads `make run` and the image start; large bodies (over LARGE_BODY_BYTES, or of
    # unknown length) may hold at most MAX_CONCURRENT_LARGE_BODIES of them (default: all but
    # two), and a body read that waits longer than the idle timeout fails with 408.
    "GUNICORN_THREADS": (8, _int),
    # gunicorn worker processes (gunicorn.conf.py): one per core by default with MongoDB;
    # always one with the embedded store, which is single-process (Config.check).
    "WEB_CONCURRENCY": (None, _int),
    "REQUEST_BODY_IDLE_TIMEOUT_SECONDS": (60.0, float),
    "LARGE_BODY_BYTES": (1 * MIB, _int),
    "MAX_CONCURRENT_LARGE_BODIES": (None, _int),
    "LARGE_BODY_RETRY_AFTER_SECONDS": (5, _int),
    # Entities (seed 004): a shared media library. AUTH_DISABLED=true opens every entity
    # endpoint (demo mode; refused in production). READ_AUTH_ENABLED is the default of the
    # read-auth switch that admins flip at run time (stored in the database, re-read by
    # every instance at most ENTITY_READ_AUTH_CACHE_SECONDS later).
    "AUTH_DISABLED": (False, _bool),
    "READ_AUTH_ENABLED": (False, _bool),
    "ENTITY_READ_AUTH_CACHE_SECONDS": (5.0, float),
    "ENTITY_MAX_FILE_BYTES": (1024 * MIB, _int),
    # Lifetime of the signed URLs of entity files (GET /entity/{id}/file-url), which media
    # elements use; they are signed with a key derived from MEDIA_DOWNLOAD_TOKEN_SECRET.
    "ENTITY_FILE_URL_TTL_SECONDS": (900, _int),
    # Content checks (services/core/content.py): every upload is decoded once stored. An
    # image declaring more pixels is 413; a check reads at most CONTENT_CHECK_MAX_READ_BYTES
    # and demuxes at most CONTENT_CHECK_MAX_PACKETS looking for a video frame; at most
    # CONTENT_CHECK_CONCURRENCY checks decode at once in a process.
    "CONTENT_MAX_IMAGE_PIXELS": (50_000_000, _int),
    "CONTENT_CHECK_MAX_PACKETS": (2000, _int),
    "CONTENT_CHECK_MAX_READ_BYTES": (256 * MIB, _int),
    "CONTENT_CHECK_CONCURRENCY": (2, _int),
    # Browsers on other origins (app/http_headers.py): a comma list of origins such as
    # https://app.example.com; empty (the default) turns CORS off; `*` allows any origin
    # (refused in production). Credentials (cookies) are never allowed: tokens are headers.
    "CORS_ALLOWED_ORIGINS": ("", str),
}


class Config:
    """Settings every environment shares; subclasses change defaults and requirements."""

    APP_ENV = "development"
    DEBUG = False
    TESTING = False
    required: tuple[str, ...] = ()
    defaults: dict[str, Any] = {}

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Build the settings from defaults, the environment and explicit overrides."""
        environ = os.environ if environ is None else environ
        settings: dict[str, Any] = {"APP_ENV": cls.APP_ENV, "TESTING": cls.TESTING}
        for name, (default, parse) in SETTINGS.items():
            default = cls.defaults.get(name, default)
            raw = environ.get(name)
            settings[name] = parse(raw) if raw not in (None, "") else default
        settings.update(overrides or {})
        if not settings.get("JWT_PUBLIC_KEY_PATH"):
            settings["JWT_PUBLIC_KEY_PATH"] = settings.get("PUBLIC_KEY_PATH")
        cls.check(settings)
        return settings

    @classmethod
    def check(cls, settings: Mapping[str, Any]) -> None:
        """Refuse settings this environment cannot run with, naming the variable."""
        for name in cls.required:
            if not settings.get(name):
                raise ConfigError(f"{name} must be set when APP_ENV={cls.APP_ENV}")
        if settings["JWT_ALGORITHM"] not in {"HS256", "RS256", "ES256"}:
            raise ConfigError("JWT_ALGORITHM must be one of HS256, RS256, ES256")
        workers = settings.get("WEB_CONCURRENCY")
        if workers is not None and (workers < 1 or (workers > 1 and not settings["MONGO_URI"])):
            raise ConfigError(
                "WEB_CONCURRENCY must be 1 or more, and more than 1 needs MONGO_URI: "
                "the embedded metadata store serialises its updates within one process"
            )


class Development(Config):
    """Embedded defaults: local directory, litemongo, a generated JWT secret."""

    APP_ENV = "development"
    defaults = {"PUBSUB_VERIFY_PUSH": False}


class Testing(Config):
    """Like development; tests pass their own collaborators."""

    APP_ENV = "testing"
    TESTING = True
    defaults = {"PUBSUB_VERIFY_PUSH": False}


class Production(Config):
    """Cloud Run: GCS, MongoDB and a verification key are mandatory."""

    APP_ENV = "production"
    required = ("GCS_BUCKET", "MONGO_URI", "PEER_TOKEN_SECRET", "MEDIA_DOWNLOAD_TOKEN_SECRET")
    defaults = {"LOG_FORMAT": "json", "HOST": "0.0.0.0"}

    @classmethod
    def check(cls, settings: Mapping[str, Any]) -> None:
        super().check(settings)
        keys = ("JWT_SECRET_KEY", "JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_PATH")
        if not any(settings.get(k) for k in keys):
            raise ConfigError(
                "a JWT verification key must be set when APP_ENV=production: "
                "JWT_SECRET_KEY (HS256) or JWT_PUBLIC_KEY / JWT_PUBLIC_KEY_PATH (RS256, ES256)"
            )
        if settings["JWT_ALGORITHM"] == "HS256" and not settings.get("JWT_SECRET_KEY"):
            raise ConfigError("JWT_SECRET_KEY must be set when JWT_ALGORITHM=HS256")
        if (
            settings["JWT_ALGORITHM"] == "HS256"
            and len(settings["JWT_SECRET_KEY"].encode("utf-8")) < MIN_HS256_SECRET_BYTES
        ):
            raise ConfigError(
                f"JWT_SECRET_KEY must be at least {MIN_HS256_SECRET_BYTES} bytes for HS256 "
                "when APP_ENV=production"
            )
        origins = {o.strip() for o in (settings.get("CORS_ALLOWED_ORIGINS") or "").split(",")}
        if "*" in origins:
            raise ConfigError(
                "CORS_ALLOWED_ORIGINS=* is refused when APP_ENV=production: name the origins"
            )
        if not settings["PUBSUB_VERIFY_PUSH"]:
            raise ConfigError("PUBSUB_VERIFY_PUSH=false is refused when APP_ENV=production")
        if settings["AUTH_DISABLED"]:
            raise ConfigError("AUTH_DISABLED=true is refused when APP_ENV=production")
        if settings["EVENT_BUS"] == "pubsub" and not settings.get("GCP_PROJECT"):
            raise ConfigError("GCP_PROJECT must be set when EVENT_BUS=pubsub")
        if settings["JWT_ALGORITHM"] != "HS256" and not (
            settings.get("JWT_PUBLIC_KEY") or settings.get("JWT_PUBLIC_KEY_PATH")
        ):
            raise ConfigError("JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_PATH must be set for RS256/ES256")


ENVIRONMENTS = {cls.APP_ENV: cls for cls in (Development, Testing, Production)}


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Pick the environment class from APP_ENV (or the overrides) and load its settings."""
    environ = os.environ if environ is None else environ
    name = (overrides or {}).get("APP_ENV") or environ.get("APP_ENV") or "development"
    if name not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {name!r}")
    return ENVIRONMENTS[name].load(environ, overrides)
