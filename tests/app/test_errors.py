"""Every error is JSON with the right status: no HTML, no stack traces."""

from __future__ import annotations

from flask import Blueprint

from app.errors import status_of
from services.core.errors import LeaseExpired


def test_unknown_path_is_json_404(client):
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.get_json() == {"error": "Not found"}


def test_wrong_method_is_json_405_with_allow(client):
    response = client.put("/upload")
    assert response.status_code == 405
    assert response.get_json() == {"error": "Method not allowed"}
    assert "POST" in response.headers["Allow"]


def test_crash_is_json_500_without_traceback(make_app):
    app = make_app()
    boom = Blueprint("boom", __name__)

    @boom.route("/boom")
    def explode():
        raise ValueError("secret internals")

    app.register_blueprint(boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal server error"}
    assert b"secret internals" not in response.data and b"Traceback" not in response.data


def test_malformed_json_is_json_400(client, auth):
    response = client.delete(
        "/delete-file", data="{not json", headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.is_json


def test_an_upload_abandoned_for_its_lease_is_408():
    assert status_of(LeaseExpired()) == 408
