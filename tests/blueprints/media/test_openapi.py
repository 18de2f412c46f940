"""The media API is described in /openapi.json, from the code."""

from __future__ import annotations


def test_openapi_lists_the_media_operations(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    expected = {
        "/api/v1/media/upload": {"post"},
        "/api/v1/media/{media_id}": {"get", "delete"},
        "/api/v1/media/{media_id}/download": {"get"},
        "/api/v1/media": {"get"},
        "/api/v1/media/invoices/generate-pdf": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    upload = paths["/api/v1/media/upload"]["post"]
    assert {"201", "401", "403", "413", "415", "422", "429"} <= set(upload["responses"])
    fields = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"file", "context_type", "context_id", "is_public", "expires_in"} <= set(fields)
    listing = paths["/api/v1/media"]["get"]
    assert {"page", "limit", "context_type", "context_id", "file_type"} <= {
        p["name"] for p in listing["parameters"]
    }
