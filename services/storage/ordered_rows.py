"""Reading what an ordered-index plan chose (ordered.py): pages, first matches, reads by key.

Rows are decoded once, straight to the form the client asked for (timezone-aware dates or
not), unless a leftover filter needs the engine's own form and matcher.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import bson

from services.storage.ordered import Plan, sqlite_store_of

_CODECS = "_mediastore_codecs"  # an attribute of litemongo's documents table: client codecs


def by_id(collection: Any, doc_id: str) -> dict[str, Any] | None:
    """The document with this string _id, read by its key, as a cursor would return it."""
    store = sqlite_store_of(collection)
    store._remove_expired_documents()  # TTL indexes, as the engine's every read does
    row = store._connection.execute(
        f"SELECT doc FROM {store.DOCUMENTS} WHERE _id = ?",  # nosec
        (store._documents.encode_key(doc_id),),
    ).fetchone()
    return None if row is None else bson.decode(row[0], codec_options=_client_codec(collection))


def readable_by_id(collection: Any, filter: Mapping[str, Any]) -> bool:
    """Whether find_one(filter) can be a read by key: {_id: <string>} on litemongo."""
    return (
        len(filter) == 1
        and type(filter.get("_id")) is str
        and sqlite_store_of(collection) is not None
    )


def decode(collection: Any, blob: bytes) -> dict[str, Any]:
    """A stored document decoded as the engine decodes it."""
    return collection._store._documents._decode_doc(blob)


def page(
    collection: Any,
    engine: Any,
    spec: Mapping[str, Any],
    indexed: tuple[Any, dict[str, Any]],
    sort: Sequence[tuple[str, int]],
    skip: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """The page's documents, freshly decoded as a cursor returns them, and the total."""
    chosen, rest = indexed
    if not rest:
        return _fresh(collection, chosen.rows(sort, limit, skip)), chosen.count()
    # Filters beyond what the index answers: every document it yields is checked.
    docs, total = [], 0
    with contextlib.closing(_matches(collection, engine, spec, chosen, sort, rest)) as found:
        for total, doc in enumerate(found, start=1):
            if skip < total <= skip + limit:
                docs.append(doc)
    return _as_returned(collection, engine, rest, docs), total


def first(
    collection: Any,
    engine: Any,
    spec: Mapping[str, Any],
    indexed: tuple[Any, dict[str, Any]],
    sort: Sequence[tuple[str, int]],
    limit: int,
) -> list[dict[str, Any]]:
    """The first `limit` matches, read in an index's order, freshly decoded as returned."""
    chosen, rest = indexed
    if not rest:
        return _fresh(collection, chosen.rows(sort, limit))
    with contextlib.closing(_matches(collection, engine, spec, chosen, sort, rest)) as found:
        docs = list(itertools.islice(found, limit))
    return _as_returned(collection, engine, rest, docs)


def _matches(
    collection: Any,
    engine: Any,
    spec: Mapping[str, Any],
    chosen: Plan,
    sort: Any,
    rest: Mapping[str, Any],
) -> Iterator[dict[str, Any]]:
    """The documents the index yields in order that meet the whole filter.

    Decoded straight to the client's form when what is left are equalities with strings
    (e.g. a state), which need neither the engine's form nor its matcher; else as stored.
    """
    equalities = _string_equalities(rest)
    rows = chosen.rows(sort)
    try:
        if equalities is not None:
            codec = _client_codec(collection)
            for blob in rows:
                doc = bson.decode(blob, codec_options=codec)
                if all(_equals(doc.get(name), text) for name, text in equalities):
                    yield doc
            return
        for blob in rows:
            doc = decode(collection, blob)
            if engine.filtering.filter_applies(spec, doc):
                yield doc
    finally:
        rows.close()


def _string_equalities(rest: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """The leftover filter as {top-level field: string} equalities, or None if it is more."""
    plain = all(
        type(value) is str and not name.startswith("$") and "." not in name
        for name, value in rest.items()
    )
    return list(rest.items()) if plain else None


def _equals(value: Any, text: str) -> bool:
    """The engine's equality with a string: the value is it, or an array holds it."""
    return value == text or (isinstance(value, list) and text in value)


def _client_codec(collection: Any) -> Any:
    """How the client wants documents decoded (timezone-aware dates or not)."""
    documents, tz_aware = collection._store._documents, collection.codec_options.tz_aware
    base = documents._codec_options
    kept = documents.__dict__.setdefault(_CODECS, {})
    # Made once per base and choice: with_options builds a new CodecOptions each time.
    if tz_aware not in kept or kept[tz_aware][0] is not base:
        kept[tz_aware] = (base, base.with_options(tz_aware=tz_aware))
    return kept[tz_aware][1]


def _fresh(collection: Any, blobs: Iterator[bytes]) -> list[dict[str, Any]]:
    """Rows decoded straight to what the client asked for."""
    codec = _client_codec(collection)
    return [bson.decode(blob, codec_options=codec) for blob in blobs]


def _as_returned(
    collection: Any, engine: Any, rest: Mapping[str, Any], docs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """_matches' documents with dates as the client wants them."""
    if not collection.codec_options.tz_aware or _string_equalities(rest) is not None:
        return docs
    return [engine.helpers.make_datetime_timezone_aware_in_document(doc) for doc in docs]
