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


def test_validation_errors_are_documented_as_the_list_they_are(client):
    """Found by the fuzz run: 422 answers a list of {loc, msg, type}, documented as a string."""
    spec = client.get("/openapi.json").get_json()
    paths = spec["paths"]
    for path, method in [
        ("/api/v1/media/upload", "post"),
        ("/api/v1/media", "get"),
        ("/api/v1/media/invoices/generate-pdf", "post"),
    ]:
        schema = paths[path][method]["responses"]["422"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ValidationDetailRead"}, path
    detail = spec["components"]["schemas"]["ValidationDetailRead"]["properties"]["detail"]
    assert {"type": "string"} in detail["oneOf"]
    [listed] = [kind for kind in detail["oneOf"] if kind.get("type") == "array"]
    assert listed["items"]["required"] == ["loc", "msg", "type"]


def test_an_invoice_request_documents_the_shape_it_is_held_to(client):
    """Found by the fuzz run: `invoice_data: {}` was valid by the document and refused (422)."""
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    invoice = schemas["InvoiceArgs"]["properties"]
    assert invoice["invoice_data"]["required"] == ["subscriber", "line_items", "totals"]
    assert invoice["invoice_number"]["pattern"] == "^[A-Za-z0-9._-]{1,64}$"
