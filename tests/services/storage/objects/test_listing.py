"""list_objects, the consistency audit's view of a store, on both backends."""

from __future__ import annotations

from datetime import timedelta

from services.storage.objects.local import LocalObjectStore
from tests.fixtures.objects import put
from tests.services.storage.objects.test_contract import store  # noqa: F401 - both backends

pytest_plugins = ["tests.fixtures.gcs"]


def test_lists_committed_objects_under_a_prefix_with_size_and_time(store):  # noqa: F811
    put(store, "videos/a/one", b"1" * 10)
    put(store, "videos/b/two", b"2" * 20)
    put(store, "media/a/three", b"3" * 30)
    listed = sorted(store.list_objects("videos/"), key=lambda o: o.name)
    assert [(o.name, o.size) for o in listed] == [("videos/a/one", 10), ("videos/b/two", 20)]
    assert all(o.created.tzinfo is not None for o in listed)


def test_lists_nothing_for_an_empty_prefix_and_skips_uncommitted_writes(store):  # noqa: F811
    assert list(store.list_objects("uploads/")) == []
    writer = store.open_writer("uploads/s/part-1", "application/octet-stream")
    writer.write(b"x" * 10)
    assert list(store.list_objects("uploads/")) == []
    writer.abort()


def test_a_deleted_object_is_no_longer_listed(store):  # noqa: F811
    put(store, "media/a/x", b"x")
    store.delete("media/a/x")
    assert list(store.list_objects("media/")) == []


def test_local_store_stamps_objects_with_its_clock(tmp_path, clock):
    local = LocalObjectStore(tmp_path / "o", b"key", clock=lambda: clock().timestamp())
    put(local, "videos/a/one", b"1")
    clock.advance(days=3)
    put(local, "videos/a/two", b"2")
    times = {o.name: o.created for o in local.list_objects("videos/")}
    assert times["videos/a/two"] - times["videos/a/one"] == timedelta(days=3)
