"""GET /api/v1/media: newest first, stable pages, filters; expiring files vanish and are purged."""

from __future__ import annotations

import json

import pytest

from tests.blueprints.media.helpers import make_pdf, uploaded_id
from tests.helpers import account
from tests.media import make_image

TICKET = "bb0e8400-e29b-41d4-a716-446655440000"


def listing(client, headers, **query):
    response = client.get("/api/v1/media", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_pages_are_newest_first_with_ties_broken_by_id(make_app, auth, clock):
    client = make_app(MEDIA_UPLOAD_RATE_LIMIT="100/minute").test_client()
    image = make_image("png")
    ids = []
    for n in range(25):
        if n % 2:
            clock.advance(seconds=1)  # every other file shares its second with the one before
        ids.append(uploaded_id(client, auth(), image))
    # Newest first; within one second, the larger id first.
    created = {}
    for media_id in ids:
        created[media_id] = client.get(f"/api/v1/media/{media_id}", headers=auth()).get_json()[
            "created_at"
        ]
    expected = sorted(ids, key=lambda i: (created[i], i), reverse=True)

    pages = [listing(client, auth(), page=p, limit=10) for p in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [10, 10, 5, 0]
    assert [item["id"] for p in pages for item in p["items"]] == expected
    assert pages[0]["pagination"] == {
        "page": 1, "limit": 10, "total_items": 25, "total_pages": 3,
        "has_next": True, "has_prev": False,
    }  # fmt: skip
    assert pages[2]["pagination"]["has_next"] is False
    assert pages[2]["pagination"]["has_prev"] is True
    assert listing(client, auth())["pagination"]["limit"] == 20


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"page": 0}, "page"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"page": "x"}, "page"),
        ({"context_type": "selfie"}, "context_type"),
        ({"context_id": "nope"}, "context_id"),
        ({"file_type": "video"}, "file_type"),
    ],
)
def test_bad_arguments_are_422_naming_the_field(client, auth, query, loc):
    response = client.get("/api/v1/media", headers=auth(), query_string=query)
    assert response.status_code == 422
    assert [d["loc"] for d in response.get_json()["detail"]] == [["query", loc]]


def test_limit_100_is_allowed(client, auth):
    assert listing(client, auth(), limit=100)["pagination"]["limit"] == 100


def test_filters(client, auth):
    headers = auth()
    photo = uploaded_id(
        client, headers, make_image("png"), context_type="ticket_photo", context_id=TICKET
    )
    other_ticket = uploaded_id(client, headers, make_image("jpeg"), context_type="ticket_photo")
    pdf = uploaded_id(client, headers, make_pdf(), context_type="website_media", context_id=TICKET)

    def ids(**query):
        return {item["id"] for item in listing(client, headers, **query)["items"]}

    assert ids(context_type="ticket_photo") == {photo, other_ticket}
    assert ids(context_id=TICKET) == {photo, pdf}
    assert ids(context_id=TICKET.upper()) == {photo, pdf}
    assert ids(file_type="pdf") == {pdf}
    assert ids(file_type="image", context_id=TICKET) == {photo}
    assert ids(file_type="document") == set()


def test_users_list_their_own_files_and_admins_everyones(client, auth):
    alice = uploaded_id(client, auth("alice"), make_image("png"))
    bob = uploaded_id(client, auth("bob"), make_image("png"))
    assert [i["id"] for i in listing(client, auth("alice"))["items"]] == [alice]
    assert [i["id"] for i in listing(client, auth("bob"))["items"]] == [bob]
    everyone = listing(client, auth("root", is_admin=True))
    assert {i["id"] for i in everyone["items"]} == {alice, bob}


def test_listing_needs_a_token(client):
    assert client.get("/api/v1/media").status_code == 401


def test_an_expired_file_is_404_at_once_and_purged_lazily(
    media_client, backend, auth, database, clock
):
    image = make_image("png")
    media_id = uploaded_id(media_client, auth(), image, expires_in="60")
    object_name = database["media"].find_one({"_id": media_id})["object_name"]
    clock.advance(seconds=59)
    assert media_client.get(f"/api/v1/media/{media_id}", headers=auth()).status_code == 200
    clock.advance(seconds=1)
    assert listing(media_client, auth())["items"] == []
    response = media_client.get(f"/api/v1/media/{media_id}", headers=auth())
    assert response.status_code == 404 and response.get_json() == {"detail": "Media not found"}
    assert database["media"].find_one({"_id": media_id}) is None
    assert backend.delete(object_name) is False
    assert account(database, "alice")["used_bytes"] == 0
    status = media_client.get("/storage-status", headers=auth()).get_json()
    assert (status["media_bytes"], status["media_count"]) == (0, 0)


def test_an_expired_file_is_404_for_token_holders_and_public_downloads(client, auth, clock):
    media_id = uploaded_id(client, auth(), make_image("png"), expires_in="60", is_public="true")
    url = client.get(f"/api/v1/media/{media_id}", headers=auth()).get_json()["download_url"]
    clock.advance(seconds=61)
    assert client.get(url.removeprefix("http://localhost")).status_code == 404
    assert client.get(f"/api/v1/media/{media_id}/download", headers=auth()).status_code == 404


def test_purge_expired_command_returns_the_quota(app, client, auth, database, clock):
    image = make_image("png")
    keep = uploaded_id(client, auth(), image)
    for _ in range(3):
        uploaded_id(client, auth(), image, expires_in="30")
    clock.advance(minutes=1)
    result = app.test_cli_runner().invoke(args=["media", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 3 expired file(s)")
    assert [doc["_id"] for doc in database["media"].find({})] == [keep]
    assert account(database, "alice")["used_bytes"] == len(image)
    again = app.test_cli_runner().invoke(args=["media", "purge-expired"])
    assert again.output.startswith("purged 0 expired file(s)")


def test_the_relay_housekeeping_purges_expired_files(app, client, auth, database, clock):
    uploaded_id(client, auth(), make_image("png"), expires_in="30")
    clock.advance(minutes=10)
    app.extensions["mediastore"].events.relay.run_once()
    assert database["media"].count_documents({}) == 0
    assert account(database, "alice")["used_bytes"] == 0


def test_fields_come_in_the_seeds_order(client, auth):
    uploaded_id(client, auth(), make_image("png"))
    text = client.get("/api/v1/media", headers=auth()).get_data(as_text=True)
    # The seed documents an item as id, file_name, original_file_name, file_type, mime_type,
    # file_size, url, created_at; its FastAPI original answered in that order.
    item = json.loads(text)["items"][0]  # a dict keeps the order of the text
    assert list(item)[:8] == [
        "id", "file_name", "original_file_name", "file_type",
        "mime_type", "file_size", "url", "created_at",
    ]  # fmt: skip
