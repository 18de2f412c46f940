"""The media feature (seed 001) from settings: its services, topics, handlers and limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from limits.storage import MongoDBStorage

from app.keys import persistent_secret
from app.wiring.events import HOUSEKEEPING_SECONDS
from blueprints.media.limits import LIMITS_KEY, RateLimits
from config import ConfigError
from services.core.accounts import Accounts
from services.core.claims import Claims
from services.core.content import ContentCheck
from services.core.ingest import Ingest
from services.core.reservations import Holds
from services.core.sniff import DOCUMENT_TYPES, IMAGE_TYPES
from services.core.writes import WritePath
from services.events.bus import EventBus
from services.media import MediaFeature
from services.media.events import INVOICE_GENERATED, MEDIA_UPLOADED, Announcer
from services.media.invoices import MediaInvoices
from services.media.library import MediaLibrary
from services.media.records import COLLECTION, MediaRecords
from services.media.tokens import DownloadTokens
from services.media.uploads import MediaUploads, media_accept
from services.previews import Previews
from services.storage.objects import ObjectStore

MIB = 1024 * 1024
# Media files are small: reserve quota and write in 1 MiB blocks, so at most one MiB of a
# file is held in memory and at most the limit is stored before a too-large file is refused.
MEDIA_BLOCK_BYTES = 1 * MIB


def allowed_types(settings: Mapping[str, Any], name: str, known: frozenset[str]) -> list[str]:
    """A comma-separated list of MIME types; each must be one the service can recognise."""
    types = [t.strip().lower() for t in str(settings[name]).split(",") if t.strip()]
    unknown = [t for t in types if t not in known]
    if unknown:
        raise ConfigError(
            f"{name}: cannot recognise {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return types


def download_token_secret(settings: Mapping[str, Any]) -> bytes:
    """MEDIA_DOWNLOAD_TOKEN_SECRET (required in production), or one generated in DATA_DIR."""
    secret = settings.get("MEDIA_DOWNLOAD_TOKEN_SECRET") or persistent_secret(
        settings["DATA_DIR"], "media-download-token-secret"
    )
    return secret.encode()


def public_base_url(settings: Mapping[str, Any]) -> str | None:
    """PUBLIC_BASE_URL when it was configured; None (the request's host) for the default."""
    base = settings.get("PUBLIC_BASE_URL")
    default = f"http://{settings['HOST']}:{settings['PORT']}"
    return base.rstrip("/") if base and base != default else None


def build_media(
    settings: Mapping[str, Any],
    *,
    database: Any,
    store: ObjectStore,
    accounts: Accounts,
    holds: Holds,
    events: EventBus,
    clock: Callable[[], datetime],
    previews: Previews | None = None,
    content_check: ContentCheck | None = None,
) -> MediaFeature:
    """Wire uploads, library and invoices on the shared accounts, holds, store and outbox."""
    records = MediaRecords(database[COLLECTION], clock=clock)
    records.ensure_indexes()
    holds.count_kind(COLLECTION)
    claims = Claims(
        database[COLLECTION], clock=clock, lease_seconds=settings["UPLOAD_LEASE_SECONDS"]
    )
    ingest = Ingest(store, block_bytes=MEDIA_BLOCK_BYTES, content_check=content_check)
    announcer = Announcer(records=records, outbox=events.outbox, holds=holds)
    accept = media_accept(
        allowed_types(settings, "ALLOWED_IMAGE_TYPES", IMAGE_TYPES),
        allowed_types(settings, "ALLOWED_DOCUMENT_TYPES", DOCUMENT_TYPES),
        settings["MAX_FILE_SIZE_MB"],
    )
    uploads = MediaUploads(
        claims=claims,
        writes=WritePath(claims=claims, holds=holds, ingest=ingest, store=store),
        accounts=accounts,
        announcer=announcer,
        accept=accept,
        clock=clock,
    )
    tokens = DownloadTokens(
        download_token_secret(settings),
        ttl_seconds=settings["MEDIA_DOWNLOAD_TOKEN_TTL_SECONDS"],
        clock=clock,
    )
    library = MediaLibrary(
        records=records,
        store=store,
        accounts=accounts,
        tokens=tokens,
        clock=clock,
        previews=previews,
        holds=holds,
    )
    invoices = MediaInvoices(
        records=records,
        claims=claims,
        ingest=ingest,
        store=store,
        announcer=announcer,
        clock=clock,
        event_owner=settings["MEDIA_INVOICE_EVENT_OWNER"],
    )
    return MediaFeature(
        records=records,
        uploads=uploads,
        library=library,
        invoices=invoices,
        announcer=announcer,
        public_base_url=public_base_url(settings),
    )


def register_media_events(
    settings: Mapping[str, Any], events: EventBus, media: MediaFeature
) -> None:
    """Register the topics, the invoice handler and the housekeeping tasks."""
    events.topics.register(MEDIA_UPLOADED, settings.get("TOPIC_MEDIA_UPLOADED"))
    events.topics.register(INVOICE_GENERATED, settings.get("TOPIC_INVOICE_GENERATED"))
    events.router.register(INVOICE_GENERATED, media.invoices.handle_generated)
    events.relay.add_task(media.announcer.finish_pending)
    events.relay.add_task(media.uploads.reclaim_abandoned, every_seconds=HOUSEKEEPING_SECONDS)
    events.relay.add_task(media.invoices.reclaim_abandoned, every_seconds=HOUSEKEEPING_SECONDS)
    events.relay.add_task(media.library.purge_expired, every_seconds=HOUSEKEEPING_SECONDS)


LAZY_MONGO = "lazy+"


class LazyMongoDBStorage(MongoDBStorage):
    """limits' MongoDB storage (pinned 5.8.0), minus its one eager step.

    Its __del__ closes the client through the lazy `storage` property, which first opens a
    client and creates the TTL indexes: garbage-collecting a limiter that never counted
    anything (an app built by a CLI command, a test) blocked for the server-selection
    timeout when MongoDB was away. Registered under `lazy+mongodb` (and `lazy+mongodb+srv`).
    """

    STORAGE_SCHEME = [f"{LAZY_MONGO}mongodb", f"{LAZY_MONGO}mongodb+srv"]

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix(LAZY_MONGO), **options)

    def __del__(self) -> None:
        if self._storage is not None:
            self._storage.close()


def rate_limit_storage(settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Where the counts live: MEDIA_RATE_LIMIT_STORAGE_URI, else MongoDB, else memory."""
    uri = settings.get("MEDIA_RATE_LIMIT_STORAGE_URI") or settings.get("MONGO_URI")
    if not uri:
        return "memory://", {}
    if uri.startswith("mongodb"):
        options = {
            "database_name": settings["MONGO_DB"],
            "counter_collection_name": "rate_limit_counters",
            "window_collection_name": "rate_limit_windows",
        }
        return LAZY_MONGO + uri, options
    return uri, {}


class ViewLimiter(Limiter):
    """Flask-Limiter that counts only where a view asks (`RateLimits.check`), no hooks.

    `Limiter.init_app` hooks every request of the app: a before_request check, an
    after_request header step and a teardown. The media API has no default or application
    limits, no conditional deductions and no limit headers, so on every request those hooks
    find nothing to do, and on a small request they cost about a tenth of its time.
    `init_app` adds them only for an app whose extensions do not list the limiter yet:
    listing it first leaves them out. The limits views check are unchanged (they call the
    decorated guards, which evaluate and count by themselves).
    """

    def init_app(self, app: Flask) -> None:
        """Configure storage and strategy from the app, without per-request hooks."""
        app.extensions.setdefault("limiter", set()).add(self)
        super().init_app(app)


def install_media_limits(app: Flask, settings: Mapping[str, Any]) -> None:
    """Flask-Limiter on the app, moving window, with the media API's two limits."""
    uri, options = rate_limit_storage(settings)
    limiter = ViewLimiter(
        key_func=lambda: "",  # every limit names its own key
        app=app,
        strategy="moving-window",
        storage_uri=uri,
        storage_options=options,
        # Limit headers would cost a storage read on every request: Retry-After on 429 only.
        headers_enabled=False,
        key_prefix="mediastore",
    )
    app.extensions[LIMITS_KEY] = RateLimits(
        limiter,
        upload=settings["MEDIA_UPLOAD_RATE_LIMIT"],
        download=settings["MEDIA_DOWNLOAD_RATE_LIMIT"],
    )
