"""POST /api/v1/media/invoices/generate-pdf, and the same from InvoiceGenerated events."""

from __future__ import annotations

import base64
import copy
import io
import json
import threading

import pypdf
import pytest

from services.media.invoices import NUMBER_TAKEN
from tests.fixtures.failing import RendezvousCollection
from tests.helpers import account

PATH = "/api/v1/media/invoices/generate-pdf"
INVOICE_ID = "990e8400-e29b-41d4-a716-446655440000"
NUMBER = "FY26-27-INV-000001"
REQUEST = {
    "invoice_id": INVOICE_ID,
    "invoice_number": NUMBER,
    "invoice_data": {
        "invoice_date": "2026-04-01",
        "subscriber": {
            "name": "Asha Verma",
            "address": ["12 MG Road", "Indiranagar", "Bengaluru 560038"],
            "email": "asha@example.com",
        },
        "line_items": [
            {
                "description": "Fibre 300 Mbps, April",
                "quantity": 1,
                "unit_price": "₹999.00",
                "amount": "₹999.00",
            },
            {"description": "Static IP", "quantity": 2, "unit_price": 150, "amount": 300},
        ],
        "totals": {"subtotal": "₹1,299.00", "gst_18%": "₹233.82", "total": "₹1,532.82"},
    },
}


@pytest.fixture
def internal(auth):
    return auth("billing", permissions=["media_internal"])


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_generate_answers_201_and_the_pdf_reads_back(media_client, backend, internal, database):
    response = media_client.post(PATH, json=REQUEST, headers=internal)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "url", "storage_path"}
    assert body["storage_path"] == f"invoices/{NUMBER}.pdf"
    assert body["url"] == f"http://localhost/api/v1/media/{body['id']}"
    info = backend.stat(body["storage_path"])
    data = b"".join(backend.read_range(body["storage_path"], 0, info.size - 1))
    assert data.startswith(b"%PDF-") and info.content_type == "application/pdf"
    text = pdf_text(data)
    for expected in (
        "INVOICE", NUMBER, "2026-04-01", "Asha Verma", "12 MG Road", "Indiranagar",
        "Bengaluru 560038", "Fibre 300 Mbps, April", "₹999.00", "Static IP", "150", "300",
        "Description", "Quantity", "Unit price", "Amount", "Subtotal", "GST 18%", "₹233.82",
        "Total", "₹1,532.82",
    ):  # fmt: skip
        assert expected in text, expected
    # The file belongs to the caller and counts toward nobody's quota.
    doc = database["media"].find_one({"_id": body["id"]})
    assert doc["owner"] == "billing" and doc["charged"] is False
    assert account(database, "billing").get("used_bytes", 0) == 0
    meta = media_client.get(f"/api/v1/media/{body['id']}", headers=internal).get_json()
    assert meta["file_type"] == "pdf" and meta["context_type"] == "invoice_pdf"
    assert meta["context_id"] == INVOICE_ID and meta["original_file_name"] == f"{NUMBER}.pdf"
    download = media_client.get(meta["download_url"].removeprefix("http://localhost"))
    assert download.data == data


def test_the_date_defaults_to_the_service_clock(client, internal):
    request = copy.deepcopy(REQUEST)
    del request["invoice_data"]["invoice_date"]
    body = client.post(PATH, json=request, headers=internal).get_json()
    meta = client.get(f"/api/v1/media/{body['id']}", headers=internal).get_json()
    download = client.get(meta["download_url"].removeprefix("http://localhost"))
    assert "Invoice date: 2026-11-21" in pdf_text(download.data)


def test_a_repeat_returns_the_same_file(client, internal, database):
    first = client.post(PATH, json=REQUEST, headers=internal)
    second = client.post(PATH, json=REQUEST, headers=internal)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json() == second.get_json()
    assert database["media"].count_documents({"invoice_id": INVOICE_ID}) == 1


class RaceDatabase:
    """The test database, with the media collection's inserts made to meet four at once."""

    def __init__(self, database, parties: int) -> None:
        self.database = database
        self.media = RendezvousCollection(database["media"], "insert_one", parties)

    def __getitem__(self, name):
        return self.media if name == "media" else self.database[name]

    def __getattr__(self, name):
        return getattr(self.database, name)


def test_four_concurrent_calls_create_one_file_and_one_record(
    make_app, database, backend, internal
):
    app = make_app(database_override=RaceDatabase(database, 4), store_override=backend)
    answers = []

    def call():
        answers.append(app.test_client().post(PATH, json=REQUEST, headers=internal))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert database["media"].count_documents({}) == 1
    assert database["outbox"].count_documents({"type": "MediaUploaded"}) == 1


def test_a_number_used_by_another_invoice_is_409(client, internal):
    assert client.post(PATH, json=REQUEST, headers=internal).status_code == 201
    other = {**REQUEST, "invoice_id": "990e8400-e29b-41d4-a716-446655440001"}
    response = client.post(PATH, json=other, headers=internal)
    assert response.status_code == 409 and response.get_json() == {"detail": NUMBER_TAKEN}


@pytest.mark.parametrize("who", ["plain", "string-permission", "other-permission"])
def test_callers_without_media_internal_get_403(client, auth, who, database):
    claims = {
        "plain": {},
        "string-permission": {"permissions": "media_internal"},
        "other-permission": {"permissions": ["media_read"]},
    }[who]
    response = client.post(PATH, json={"not": "even valid"}, headers=auth("mallory", **claims))
    assert response.status_code == 403
    assert response.get_json() == {"detail": "Only internal services may generate invoices"}
    assert database["media"].count_documents({}) == 0


def test_an_admin_may_generate(client, auth):
    assert client.post(PATH, json=REQUEST, headers=auth("root", is_admin=True)).status_code == 201


def test_no_token_is_401(client):
    assert client.post(PATH, json=REQUEST).status_code == 401


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"invoice_number": "FY26/27"}, "invoice_number"),
        ({"invoice_number": "x" * 65}, "invoice_number"),
        ({"invoice_number": ""}, "invoice_number"),
        ({"invoice_number": ".."}, "invoice_number"),
        ({"invoice_number": "INV 1"}, "invoice_number"),
        ({"invoice_id": "12"}, "invoice_id"),
        ({"invoice_data": {"line_items": [], "totals": {}}}, "invoice_data"),
        ({"invoice_data": {"subscriber": {}, "line_items": "x", "totals": {}}}, "invoice_data"),
        ({"invoice_data": {"subscriber": {}, "line_items": [{}], "totals": {}}}, "invoice_data"),
        (
            {"invoice_data": {"subscriber": {}, "line_items": [], "totals": {"t": {"a": 1}}}},
            "invoice_data",
        ),
        ({"invoice_data": None}, "invoice_data"),
    ],
)
def test_bad_requests_are_422_naming_the_field(client, internal, database, change, loc):
    response = client.post(PATH, json={**REQUEST, **change}, headers=internal)
    assert response.status_code == 422, response.get_json()
    assert [d["loc"] for d in response.get_json()["detail"]] == [["body", loc]]
    assert database["media"].count_documents({}) == 0


def test_64_characters_of_the_allowed_set_are_accepted(client, internal):
    number = ("A-b_9." * 11)[:64]
    body = client.post(
        PATH, json={**REQUEST, "invoice_number": number}, headers=internal
    ).get_json()
    assert body["storage_path"] == f"invoices/{number}.pdf"


def test_generated_invoices_are_announced(client, internal, database):
    body = client.post(PATH, json=REQUEST, headers=internal).get_json()
    event = database["outbox"].find_one({"_id": f"media.uploaded:{body['id']}"})
    assert event["data"] == {
        "event_type": "MediaUploaded",
        "media_id": body["id"],
        "context_type": "invoice_pdf",
        "context_id": INVOICE_ID,
        "file_type": "pdf",
        "timestamp": "2026-11-21T12:00:00Z",
    }


def _push(client, data, message_id: str):
    envelope = {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": message_id,
        }
    }
    return client.post("/events/pubsub/billing.invoice.generated", json=envelope)


def test_invoice_events_by_push_make_one_file(client, database):
    assert _push(client, REQUEST, "m-1").status_code == 204
    assert _push(client, REQUEST, "m-1").status_code == 204  # redelivered
    assert _push(client, REQUEST, "m-2").status_code == 204  # published twice
    [doc] = database["media"].find({})
    assert doc["owner"] == "billing-service" and doc["invoice_number"] == NUMBER


def test_a_malformed_invoice_event_is_acknowledged_and_not_retried(client, database):
    bad = {**REQUEST, "invoice_number": "../../etc/passwd"}
    assert _push(client, bad, "m-bad").status_code == 400
    assert _push(client, bad, "m-bad").status_code == 204  # redelivery: acknowledged, not run
    assert database["media"].count_documents({}) == 0


def test_an_abandoned_invoice_claim_is_reclaimed(app, client, auth, database, clock):
    """A process that died mid-generation leaves an uploading claim; its lease runs out."""
    invoices = app.extensions["mediastore"].media.invoices
    from services.media.invoice_request import parse_invoice_request

    request = parse_invoice_request(REQUEST)
    assert invoices._claim("billing", request) is not None
    clock.advance(hours=2)
    internal = auth("billing", permissions=["media_internal"])
    result = app.test_cli_runner().invoke(args=["media", "purge-expired"])
    assert "reclaimed 1 abandoned upload(s)" in result.output
    assert database["media"].count_documents({}) == 0
    assert client.post(PATH, json=REQUEST, headers=internal).status_code == 201


def test_a_call_after_a_dead_claims_lease_reclaims_it_and_generates(app, client, auth, clock):
    from services.media.invoice_request import parse_invoice_request

    app.extensions["mediastore"].media.invoices._claim("billing", parse_invoice_request(REQUEST))
    clock.advance(hours=2)
    internal = auth("billing", permissions=["media_internal"])
    assert client.post(PATH, json=REQUEST, headers=internal).status_code == 201
