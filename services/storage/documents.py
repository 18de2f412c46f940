"""The metadata store: MongoDB through pymongo, or an embedded store that speaks its API."""

from __future__ import annotations

import heapq
import importlib
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pymongo

from services.core.errors import StorageUnavailable
from services.storage import bsonkey, ordered, ordered_rows

# SQLite's page cache per connection, one per collection file (its default: 2,000 KiB).
# Each fills as its file grows, so by default the worker's memory followed the data; 256
# KiB held the soak's growth down with no listing slower (docs/benchmarks.md, "Soak").
_PAGE_CACHE_KIB = 256
# Methods whose results are cursors; the serialized proxy hands back lists instead.
_CURSOR_METHODS = {"find", "aggregate", "list_indexes"}


def drop_index_if_present(collection: Any, name: str) -> None:
    """Drop an index an earlier version created, if this store still has it."""
    if name in collection.index_information():
        collection.drop_index(name)


class _Ordered:
    """A sort key that compares by MongoDB's order, each field ascending or descending."""

    __slots__ = ("values", "directions")

    def __init__(self, values: tuple[Any, ...], directions: tuple[int, ...]) -> None:
        self.values, self.directions = values, directions

    def __lt__(self, other: _Ordered) -> bool:
        # The engine's sort keys define only `<`: equal is "neither is less".
        for mine, theirs, direction in zip(self.values, other.values, self.directions, strict=True):
            if mine < theirs:
                return direction > 0
            if theirs < mine:
                return direction < 0
        return False


def _embedded_page(
    collection: Any,
    filter: Mapping[str, Any],
    sort: Sequence[tuple[str, int]],
    skip: int,
    limit: int,
    projection: Mapping[str, Any] | None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of an embedded (mongomock or litemongo) collection, in bounded memory.

    Their find() sorts and slices a list of every match. Instead, walk the matches one at a
    time, counting them and keeping only the first skip+limit in a bounded heap, then read
    that page's documents by id. This uses the mongomock engine's own matching generator
    (`_iter_documents`) and sort-key resolution: both packages are pinned, and the contract
    suite in tests/services/storage/test_documents.py checks the behaviour on each.
    """
    engine = importlib.import_module(type(collection).__module__.rsplit(".", 1)[0])
    spec = engine.helpers.patch_datetime_awareness_in_document(dict(filter))
    indexed = ordered.plan(collection, filter, sort)
    if indexed is not None:
        docs, total = ordered_rows.page(collection, engine, spec, indexed, sort, skip, limit)
        if projection is None:
            return docs, total  # decoded from the rows just read: nobody else holds them
        ids = [doc["_id"] for doc in docs]
        found = {doc["_id"]: doc for doc in collection.find({"_id": {"$in": ids}}, projection)}
        return [found[doc_id] for doc_id in ids if doc_id in found], total
    resolve = engine.filtering.resolve_sort_key
    directions = tuple(direction for _, direction in sort)
    keep = skip + limit
    heap: list[tuple[_Reversed, Any]] = []
    total = 0
    for doc in collection._iter_documents(spec):
        total += 1
        key = _Ordered(tuple(resolve(field, doc) for field, _ in sort), directions)
        if len(heap) < keep:
            heapq.heappush(heap, (_Reversed(key), doc["_id"]))
        elif key < heap[0][0].key:
            heapq.heapreplace(heap, (_Reversed(key), doc["_id"]))
    kept = sorted(heap, key=lambda entry: entry[0].key)[skip:]
    ids = [doc_id for _, doc_id in kept]
    found = {doc["_id"]: doc for doc in collection.find({"_id": {"$in": ids}}, projection)}
    return [found[doc_id] for doc_id in ids if doc_id in found], total


def _embedded_first(
    collection: Any,
    filter: Mapping[str, Any],
    sort: Sequence[tuple[str, int]],
    limit: int,
    projection: Sequence[str],
) -> list[dict[str, Any]]:
    """The first `limit` matches of an embedded collection, without mongomock's cursor.

    The cursor copies and sorts every match and projects each copy; for a short listing
    that machinery costs more than the matching. Walk the matches once, keep the first
    `limit` in a bounded heap, and copy only the kept documents' projected fields.
    """
    engine = importlib.import_module(type(collection).__module__.rsplit(".", 1)[0])
    spec = engine.helpers.patch_datetime_awareness_in_document(dict(filter))
    fields = ("_id", *projection)
    indexed = ordered.plan(collection, filter, sort)
    if indexed is not None:
        docs = ordered_rows.first(collection, engine, spec, indexed, sort, limit)
        # Decoded from the rows just read: nobody else holds them, no copy is needed.
        return [{name: doc[name] for name in fields if name in doc} for doc in docs]
    resolve = engine.filtering.resolve_sort_key
    directions = tuple(direction for _, direction in sort)
    heap: list[tuple[_Reversed, int, dict[str, Any]]] = []
    for seen, doc in enumerate(collection._iter_documents(spec)):
        key = _Ordered(tuple(resolve(field, doc) for field, _ in sort), directions)
        if len(heap) < limit:
            heapq.heappush(heap, (_Reversed(key), seen, doc))
        elif key < heap[0][0].key:
            heapq.heapreplace(heap, (_Reversed(key), seen, doc))
    heap.sort(key=lambda entry: (entry[0].key, entry[1]))
    return [
        _returned(collection, engine, {name: doc[name] for name in fields if name in doc})
        for _, _, doc in heap
    ]


def _returned(collection: Any, engine: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """A document as the engine's cursor returns it: a deep copy, datetimes in UTC if asked."""
    # The in-memory engine yields its stored documents themselves: never hand those out.
    doc = engine.collection._copy_field(doc, dict)
    if collection.codec_options.tz_aware:
        doc = engine.helpers.make_datetime_timezone_aware_in_document(doc)
    return doc


def _embedded_find_one(collection: Any, filter: Mapping[str, Any]) -> dict[str, Any] | None:
    """find_one(filter) without a cursor: the first match, returned as the cursor would."""
    if ordered_rows.readable_by_id(collection, filter):
        return ordered_rows.by_id(collection, filter["_id"])
    engine = importlib.import_module(type(collection).__module__.rsplit(".", 1)[0])
    spec = engine.helpers.patch_datetime_awareness_in_document(dict(filter))
    for doc in collection._iter_documents(spec):
        return _returned(collection, engine, doc)
    return None


class _Reversed:
    """Inverts a key's order, so heapq's min-heap keeps the largest of the kept keys on top."""

    __slots__ = ("key",)

    def __init__(self, key: _Ordered) -> None:
        self.key = key

    def __lt__(self, other: _Reversed) -> bool:
        return other.key < self.key


class SerializedCollection:
    """A pymongo-style collection whose every call runs alone, under the database's lock.

    mongomock and litemongo evaluate find_one_and_update as a read and then a write, so two
    threads could both pass the same condition; real MongoDB makes each single-document
    update atomic. Running one call at a time restores that guarantee. Reads take the lock
    too: litemongo shares one SQLite connection and cursor between all callers of a
    collection, and mongomock's read paths are not thread-safe either (under the GIL they
    would not run side by side anyway). Cursors are materialised into lists under the
    lock, so callers pass sort/limit/skip as keyword arguments instead of chaining them.
    The lock holds within one process only: the embedded store needs a single process.
    """

    def __init__(self, collection: Any, run: Callable[..., Any]) -> None:
        self._collection = collection
        self._run = run
        self.name = collection.name

    def find_page(
        self,
        filter: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]],
        skip: int,
        limit: int,
        projection: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The documents skip..skip+limit in `sort` order and the count of all matches."""
        return self._run(
            lambda: _embedded_page(self._collection, filter, sort, skip, limit, projection)
        )

    def find_first(
        self,
        filter: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]],
        limit: int,
        projection: Sequence[str],
    ) -> list[dict[str, Any]]:
        """The first `limit` matches in `sort` order, holding only `projection`'s fields."""
        return self._run(lambda: _embedded_first(self._collection, filter, sort, limit, projection))

    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any) -> Any:
        """pymongo's find_one; a plain filter skips the engine's cursor (most lookups)."""
        if args or kwargs or not isinstance(filter, Mapping):
            return self._run(lambda: self._collection.find_one(filter, *args, **kwargs))
        return self._run(lambda: _embedded_find_one(self._collection, filter))

    def create_index(self, keys: Any, **options: Any) -> str:
        """pymongo's create_index; on litemongo, also the SQLite indexes its lookups and
        listings read."""

        from services.storage import lookups  # imports litemongo, which production never loads

        def create() -> str:
            name = self._collection.create_index(keys, **options)
            ordered.ensure_ordered_index(self._collection, keys, options)
            lookups.ensure_keyed_index(self._collection, keys)
            return name

        return self._run(create)

    def drop_index(self, name: str) -> None:
        """pymongo's drop_index by name; on litemongo, also the SQLite indexes mirroring it."""

        from services.storage import lookups  # imports litemongo, which production never loads

        def drop() -> None:
            spec = self._collection.index_information().get(name, {})
            self._collection.drop_index(name)
            kept = [index["key"] for index in self._collection.index_information().values()]
            if spec.get("key") and spec["key"] not in kept:
                ordered.drop_ordered_index(self._collection, spec["key"])
                lookups.drop_keyed_index(self._collection, spec["key"], kept)

        self._run(drop)

    def __getattr__(self, method: str) -> Callable[..., Any]:
        target = getattr(self._collection, method)
        if not callable(target):
            return target
        if method in _CURSOR_METHODS:
            return lambda *a, **kw: self._run(lambda: list(target(*a, **kw)))
        return lambda *a, **kw: self._run(lambda: target(*a, **kw))


class SerializedDatabase:
    """A database whose collections are SerializedCollections: one call at a time, in all."""

    def __init__(self, database: Any, *, closer: Callable[[], None] | None = None) -> None:
        self._database = database
        self._closer = closer
        # One call at a time, on the caller's own thread. Handing each call to a worker
        # thread and back cost two thread switches and a wait for the GIL per call, the
        # largest share of a small request under 8 busy threads (docs/benchmarks.md).
        self._serial = threading.Lock()
        self._collections: dict[str, SerializedCollection] = {}
        self._lock = threading.Lock()
        self.name = database.name

    def _run(self, call: Callable[[], Any]) -> Any:
        try:
            with self._serial:
                return call()
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


class MongoCollection:
    """A pymongo collection with the embedded store's find_page(); everything else passes on."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.name = collection.name

    def find_page(
        self,
        filter: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]],
        skip: int,
        limit: int,
        projection: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The server sorts, skips, limits and counts (with the collection's indexes)."""
        docs = self._collection.find(filter, projection, sort=list(sort), skip=skip, limit=limit)
        return list(docs), self._collection.count_documents(filter)

    def find_first(
        self,
        filter: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]],
        limit: int,
        projection: Sequence[str],
    ) -> list[dict[str, Any]]:
        """The server sorts and limits: an index on the filter's equalities then the sort
        keys serves it as one range."""
        fields = dict.fromkeys(projection, 1)
        return list(self._collection.find(filter, fields, sort=list(sort), limit=limit))

    def __getattr__(self, method: str) -> Any:
        return getattr(self._collection, method)


class MongoDatabase:
    """A real MongoDB database, with the same ping() and close() as the embedded one."""

    def __init__(self, client: pymongo.MongoClient, name: str) -> None:
        self._client = client
        self._database = client[name]
        self.name = name

    def __getitem__(self, name: str) -> MongoCollection:
        return MongoCollection(self._database[name])

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
    """Open (creating if needed) a litemongo database that survives restarts.

    Its collections answer litemongo's candidate lookups from SQLite indexes (lookups.py),
    so the worker keeps no in-process index of the documents.
    """
    import litemongo  # embedded default only; production never loads it
    from litemongo import sqlite_store

    from services.storage import lookups

    # Calls run on whichever request thread holds SerializedDatabase's lock, so the SQLite
    # connections litemongo opens must accept any thread (sqlite3 is built thread-safe here:
    # `sqlite3.threadsafety == 3`; the lock keeps use one thread at a time anyway).
    sqlite_store.sqlite3 = _AnyThreadSqlite()
    client = litemongo.MongoClient(lookups.KeyedServerStore(directory), tz_aware=True)
    return SerializedDatabase(client[name], closer=client.close)


class _AnyThreadSqlite:
    """The sqlite3 module as litemongo sees it: connections usable from any thread."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        """Open a connection that is not tied to the thread that opened it."""
        connection = sqlite3.connect(*args, **{**kwargs, "check_same_thread": False})
        # Writes to a table with an ordered index call these functions: every connection
        # to the store's files needs them (bsonkey.py, ordered.py).
        bsonkey.register(connection)
        # Pages beyond the cache are read again from the OS's file cache, not the disk.
        connection.execute(f"PRAGMA cache_size = -{_PAGE_CACHE_KIB}")
        return connection
