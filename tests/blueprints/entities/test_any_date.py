"""The entity API on any date: tokens, file paths, versions and the switch follow the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.entities import create, make_picture

DATES = [
    pytest.param(datetime(2001, 3, 4, 5, 6, tzinfo=UTC), id="years-behind"),
    pytest.param(datetime(2099, 9, 8, 7, 6, tzinfo=UTC), id="years-ahead"),
]


@pytest.mark.parametrize("moment", DATES)
def test_entities_on_any_date(es256_app, bearer, clock, moment):
    clock.set(moment)
    client = es256_app().test_client()
    writer = bearer("alice", permissions=["media_store_write"])

    item = create(client, make_picture(), headers=writer).get_json()
    client.put("/admin/config/read-auth", json={"enabled": True}, headers=bearer(is_admin=True))

    assert item["file_path"] == f"{moment:%Y/%m/%d}/{item['md5']}.jpg"
    assert item["added_date"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get("/entity/").status_code == 401
    clock.advance(hours=2)  # the writer's token has expired by the service clock
    again = client.patch(f"/entity/{item['id']}", json={"body": {"label": "x"}}, headers=writer)
    assert again.status_code == 401
