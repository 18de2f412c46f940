"""GET /openapi.json describes every endpoint from the code."""

from __future__ import annotations


def test_openapi_lists_every_endpoint(client):
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]
    expected = {
        "/upload": "post",
        "/delete-file": "delete",
        "/storage-status": "get",
        "/download/disk/{filename}": "get",
        "/stream/video/{filename}": "get",
        "/stream/direct/{filename}": "get",
        "/health": "get",
        "/ready": "get",
    }
    for path, method in expected.items():
        assert method in paths[path], path
    upload = paths["/upload"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"200", "401", "403", "409", "413", "415"} <= set(upload["responses"])
    schemas = spec["components"]["schemas"]
    assert "storage_80_alert" in schemas["UploadRead"]["properties"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
