"""The media feature from settings: rate-limit storage, public URLs, secrets."""

from __future__ import annotations

from limits.storage import MemoryStorage, MongoDBStorage

from app.wiring.media import LazyMongoDBStorage, public_base_url, rate_limit_storage
from blueprints.media.limits import LIMITS_KEY


def limiter_storage(app):
    return app.extensions[LIMITS_KEY].limiter._storage


def test_counts_live_in_memory_by_default(app):
    assert isinstance(limiter_storage(app), MemoryStorage)


def test_with_mongo_uri_counts_live_in_mongodb_shared_by_instances(make_app):
    app = make_app(MONGO_URI="mongodb://127.0.0.1:1/x", MONGO_DB="ms")
    storage = limiter_storage(app)
    assert isinstance(storage, MongoDBStorage) and storage._database_name == "ms"
    assert storage._collection_mapping == {
        "counters": "rate_limit_counters",
        "windows": "rate_limit_windows",
    }


def test_an_unused_mongodb_limiter_never_connects_not_even_to_close(make_app):
    storage = limiter_storage(make_app(MONGO_URI="mongodb://127.0.0.1:1/x"))
    assert isinstance(storage, LazyMongoDBStorage)
    storage.__del__()  # what garbage collection runs; limits' own opened a client here
    assert storage._storage is None


def test_an_explicit_storage_uri_wins():
    uri, _ = rate_limit_storage({"MEDIA_RATE_LIMIT_STORAGE_URI": "memory://", "MONGO_URI": "m"})
    assert uri == "memory://"
    srv, _ = rate_limit_storage({"MONGO_URI": "mongodb+srv://h/db", "MONGO_DB": "d"})
    assert srv == "lazy+mongodb+srv://h/db"


def test_the_default_public_base_url_means_the_requests_host():
    base = {"HOST": "0.0.0.0", "PORT": 8080}
    assert public_base_url({**base, "PUBLIC_BASE_URL": "http://0.0.0.0:8080"}) is None
    assert public_base_url({**base, "PUBLIC_BASE_URL": None}) is None
    configured = {**base, "PUBLIC_BASE_URL": "https://media.example.com/"}
    assert public_base_url(configured) == "https://media.example.com"


def test_the_download_token_secret_is_kept_in_data_dir(make_app, settings, tmp_path):
    from pathlib import Path

    make_app()
    secret = Path(settings["DATA_DIR"]) / "media-download-token-secret"
    assert secret.exists() and len(secret.read_text()) > 40


def test_a_limit_counts_only_the_requests_of_the_views_that_check_it(make_app, auth):
    from tests.blueprints.media.helpers import upload
    from tests.media import make_image

    client = make_app(MEDIA_UPLOAD_RATE_LIMIT="2/minute").test_client()
    for _ in range(3):
        assert client.get("/health").status_code == 200
        assert client.get("/storage-status", headers=auth()).status_code == 200
        assert client.get("/api/v1/media", headers=auth()).status_code == 200

    answers = [upload(client, auth(), make_image("png")).status_code for _ in range(3)]

    assert answers == [201, 201, 429]
    assert upload(client, auth("bob"), make_image("png")).status_code == 201  # per user
