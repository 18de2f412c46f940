"""Probes: /health never touches dependencies; /ready names what is down."""

from __future__ import annotations

from tests.fixtures.failing import FailingStore


def test_health_is_200(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "healthy"}


def test_ready_checks_storage_and_metadata(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"storage": "ok", "metadata": "ok"}


def test_ready_is_503_naming_the_storage_outage(make_app, store):
    failing = FailingStore(store)
    failing.fail_ping = True
    client = make_app(store_override=failing).test_client()
    assert client.get("/health").status_code == 200
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["storage"]
    assert body["checks"]["metadata"] == "ok"


def test_metadata_outage_is_503_on_requests_and_on_ready(make_app, database, auth):
    from pymongo.errors import ServerSelectionTimeoutError

    from tests.fixtures.failing import PartlyBrokenDatabase

    broken = PartlyBrokenDatabase(
        database, "accounts", {"find_one", "update_one"}, error=ServerSelectionTimeoutError
    )
    broken.fail_ping = True
    client = make_app(database_override=broken).test_client()
    response = client.get("/storage-status", headers=auth())
    assert response.status_code == 503
    assert response.get_json() == {"error": "Metadata store is temporarily unavailable"}
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.get_json()["down"] == ["metadata"]
