"""The application factory: config, services, blueprints, errors, logging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from app.auth import configure_jwt, init_auth
from app.cli import register_cli
from app.errors import register_error_handlers, register_error_styles
from app.http_guard import guard_request_bodies
from app.http_headers import secure_responses
from app.keys import persistent_secret, read_public_key
from app.logging import configure_logging
from app.wiring import build_services
from app.wiring.media import install_media_limits
from blueprints import events, health, signed
from blueprints._http.api import Api
from blueprints.entities import admin as entity_admin
from blueprints.entities import previews as entity_previews
from blueprints.entities import routes as entities
from blueprints.media import files as media_files
from blueprints.media import invoices as media_invoices
from blueprints.parts import routes as parts
from blueprints.screenshots import routes as screenshots
from blueprints.videos import delete, download, previews, status, upload
from blueprints.web import routes as web
from config import load_config
from services.registry import Services

BLUEPRINTS = (
    health,
    upload,
    delete,
    status,
    download,
    previews,
    signed,
    events,
    screenshots,
    media_files,
    media_invoices,
    entities,
    entity_previews,
    entity_admin,
    parts,
)


def create_app(
    config: Mapping[str, Any] | None = None, *, services: Services | None = None
) -> Flask:
    """Build the app; `config` overrides settings, `services` replaces the real ones."""
    app = Flask(__name__)
    # Fields in the order the views build them, which follows the seeds' documents (their
    # FastAPI originals kept each model's order; Flask would sort them), and cheaper to write.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    settings = load_settings(app, config)
    guard_request_bodies(app)  # before logging, so the access log covers what it answers
    secure_responses(app)  # around the guard: its answers carry the common headers too
    configure_logging(app)
    app.extensions["mediastore"] = services or build_services(
        settings,
        signing_key=url_signing_key(settings).encode(),
        peer_token_secret=peer_token_secret(settings).encode(),
    )
    init_auth(app, app.extensions["mediastore"].profiles, app.extensions["mediastore"].clock)
    register_blueprints(app)
    install_media_limits(app, settings)
    register_error_handlers(app)
    register_cli(app)
    start_outbox_relay_with_first_request(app)
    return app


def load_settings(app: Flask, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Load and check the settings, fill in development secrets, apply them to the app."""
    settings = load_config(overrides)
    if not settings.get("PUBLIC_BASE_URL"):
        # Where the embedded store's signed URLs point when no request is at hand (events).
        settings["PUBLIC_BASE_URL"] = f"http://{settings['HOST']}:{settings['PORT']}"
    if not settings.get("JWT_SECRET_KEY") and settings["JWT_ALGORITHM"] == "HS256":
        settings["JWT_SECRET_KEY"] = persistent_secret(settings["DATA_DIR"], "jwt-secret")
    settings["WEB_STORAGE_ORIGINS"] = storage_origins(settings)
    app.config.update(settings)
    # Leave room for the multipart envelope around the largest allowed file.
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_BYTES"] + 1024 * 1024
    app.config.update(
        API_TITLE="mediastore",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            }
        },
    )
    configure_jwt(app, settings, read_public_key(settings))
    return settings


def storage_origins(settings: Mapping[str, Any]) -> str:
    """Where the page may load signed media from and PUT parts to, besides its own origin."""
    if not settings.get("GCS_BUCKET"):
        return ""  # the embedded store's signed URLs are the service's own
    endpoint = urlsplit(settings.get("GCS_ENDPOINT") or "https://storage.googleapis.com")
    return f"{endpoint.scheme}://{endpoint.netloc}"


def url_signing_key(settings: Mapping[str, Any]) -> str:
    """The key of the local store's signed URLs: configured, or generated in DATA_DIR."""
    if settings.get("URL_SIGNING_KEY"):
        return settings["URL_SIGNING_KEY"]
    if settings.get("GCS_BUCKET"):
        return ""  # GCS signs its own URLs
    return persistent_secret(settings["DATA_DIR"], "url-signing-key")


def peer_token_secret(settings: Mapping[str, Any]) -> str:
    """The key of peer upload tokens: configured (required in production) or generated."""
    return settings.get("PEER_TOKEN_SECRET") or persistent_secret(
        settings["DATA_DIR"], "peer-token-secret"
    )


def start_outbox_relay_with_first_request(app: Flask) -> None:
    """Start the background relay in the serving process, after gunicorn has forked.

    Not at import and not in CLI commands: threads and gRPC clients must not cross a fork.
    """
    if app.config["TESTING"]:
        return

    @app.before_request
    def start_relay() -> None:
        app.extensions["mediastore"].events.relay.start()


def register_blueprints(app: Flask) -> None:
    """Mount every API blueprint through flask-smorest so /openapi.json describes them.

    The browser page is a plain Flask blueprint: it is HTML and static files, not API.
    """
    api = Api(app)
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    register_error_styles(app, [module.blp for module in BLUEPRINTS])
    app.register_blueprint(web.blp)
