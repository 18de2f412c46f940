"""Upload names as the API sees them: one spelling per name, nothing hidden in it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.helpers import stored_names, upload
from tests.media import make_video_of_size

NFC, NFD = "caf\u00e9.mp4", "cafe\u0301.mp4"


def test_nfc_and_nfd_spellings_are_one_name(client, auth, database):
    first = upload(client, auth(), make_video_of_size(5000), NFD)
    assert first.status_code == 200
    assert first.get_json()["filename"] == NFC
    second = upload(client, auth(), make_video_of_size(5000), NFC)
    assert second.status_code == 409
    assert stored_names(database, "alice") == [NFC]
    files = client.get("/storage-status", headers=auth()).get_json()["files"]
    assert [f["name"] for f in files] == [NFC]


@pytest.mark.parametrize(
    ("name", "why"),
    [("invoice\u202egpj.mp4", "direction"), ("a\u200bb.mp4", "invisible")],
)
def test_names_hiding_characters_are_400_with_the_reason(client, auth, database, name, why):
    response = upload(client, auth(), make_video_of_size(5000), name)
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert message.startswith("Invalid filename: ") and why in message
    assert stored_names(database, "alice") == []


def test_download_name_of_look_alike_dots_and_slashes_has_no_path_in_its_fallback(client, auth):
    name = "\u2024\u2024\uff0f\u2024\u2024\uff0fclip.mp4"
    assert upload(client, auth(), make_video_of_size(5000), name).status_code == 200
    disposition = client.get(f"/download/disk/{name}", headers=auth()).headers[
        "Content-Disposition"
    ]
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert "/" not in fallback and ".." not in fallback
    assert "filename*=UTF-8''%E2%80%A4%E2%80%A4%EF%BC%8F" in disposition


def test_a_name_sent_decomposed_finds_the_stored_file(client, auth):
    composed, decomposed = "caf\u00e9.mp4", "cafe\u0301.mp4"
    video = make_video_of_size(4000)
    assert upload(client, auth(), video, composed).status_code == 200
    quoted = quote(decomposed)
    assert client.get(f"/stream/video/{quoted}", headers=auth()).data == video
    deleted = client.delete("/delete-file", json={"filename": decomposed}, headers=auth())
    assert deleted.status_code == 200 and deleted.get_json()["file_deleted"] == composed
