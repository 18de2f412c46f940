"""The metadata store: MongoDB through pymongo, or an embedded store that speaks its API."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymongo

from services.core.errors import StorageUnavailable

# Methods whose results are cursors; the serialized proxy hands back lists instead.
_CURSOR_METHODS = {"find", "aggregate", "list_indexes"}


def drop_index_if_present(collection: Any, name: str) -> None:
    """Drop an index an earlier version created, if this store still has it."""
    if name in collection.index_information():
        collection.drop_index(name)


class SerializedCollection:
    """A pymongo-style collection whose every call runs alone, on one thread.

    mongomock and litemongo evaluate find_one_and_update as a read and then a write, so two
    threads could both pass the same condition; real MongoDB makes each single-document
    update atomic. Running every call on one worker thread restores that guarantee, and it
    also satisfies litemongo, whose SQLite connections belong to the thread that opened them.
    Cursors are materialised into lists on that thread, so callers pass sort/limit/skip as
    keyword arguments instead of chaining them.
    """

    def __init__(self, collection: Any, run: Callable[..., Any]) -> None:
        self._collection = collection
        self._run = run
        self.name = collection.name

    def __getattr__(self, method: str) -> Callable[..., Any]:
        target = getattr(self._collection, method)
        if not callable(target):
            return target
        if method in _CURSOR_METHODS:
            return lambda *a, **kw: self._run(lambda: list(target(*a, **kw)))
        return lambda *a, **kw: self._run(lambda: target(*a, **kw))


class SerializedDatabase:
    """A database whose collections are SerializedCollections sharing one worker thread."""

    def __init__(self, database: Any, *, closer: Callable[[], None] | None = None) -> None:
        self._database = database
        self._closer = closer
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docstore")
        self._collections: dict[str, SerializedCollection] = {}
        self._lock = threading.Lock()
        self.name = database.name

    def _run(self, call: Callable[[], Any]) -> Any:
        try:
            return self._executor.submit(call).result()
        except (sqlite3.Error, OSError) as error:
            # The embedded store's disk or database failed: an outage, like MongoDB's.
            raise StorageUnavailable("Metadata store is unavailable") from error

    def __getitem__(self, name: str) -> SerializedCollection:
        with self._lock:
            if name not in self._collections:
                collection = self._run(lambda: self._database[name])
                self._collections[name] = SerializedCollection(collection, self._run)
            return self._collections[name]

    def ping(self) -> None:
        """Touch the store; raise StorageUnavailable if it cannot answer."""
        try:
            self._run(lambda: self._database["_ping"].find_one({}))
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            raise StorageUnavailable("Metadata store is unavailable") from error

    def close(self) -> None:
        """Close the underlying store and stop the worker thread."""
        if self._closer:
            self._run(self._closer)
        self._executor.shutdown(wait=True)


class MongoDatabase:
    """A real MongoDB database, with the same ping() and close() as the embedded one."""

    def __init__(self, client: pymongo.MongoClient, name: str) -> None:
        self._client = client
        self._database = client[name]
        self.name = name

    def __getitem__(self, name: str) -> Any:
        return self._database[name]

    def ping(self) -> None:
        """Ask the server for a ping; raise StorageUnavailable if it cannot answer."""
        try:
            self._client.admin.command("ping")
        except pymongo.errors.PyMongoError as error:
            raise StorageUnavailable("Metadata store is unavailable") from error

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()


def open_embedded_database(directory: Path, name: str) -> SerializedDatabase:
    """Open (creating if needed) a litemongo database that survives restarts."""
    import litemongo  # embedded default only; production never loads it

    client = litemongo.connect(str(directory), tz_aware=True)
    # SQLite connections open lazily, on the worker thread that first touches a collection.
    return SerializedDatabase(client[name], closer=client.close)
