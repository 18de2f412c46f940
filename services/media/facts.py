"""The media API's own facts for the consistency audit (services/audit/)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core.claims import DELETING, STORED, UPLOADING
from services.core.facts import ChargedFile, FeatureFacts, Finding
from services.media.records import COLLECTION, MediaRecords


def media_facts(records: MediaRecords, now: datetime, grace: timedelta) -> FeatureFacts:
    """Every media record (uploads and invoices): charges, objects, leases, tombstones.

    Only uploads are charged (`charged`); invoices count toward nobody's quota. A stored
    file past its expiry is one the purge has not reached yet: overdue.
    """
    facts = FeatureFacts("media", prefixes=("media/", "invoices/"))
    for doc in records.every():
        name, record_id = doc.get("object_name"), str(doc["_id"])
        subject = f"{COLLECTION}/{record_id}"
        if name:
            facts.known.add(name)
        state = doc.get("state")
        if state == UPLOADING:
            facts.in_progress.add(record_id)
            if doc.get("lease_until") is not None and doc["lease_until"] < now:
                facts.overdue.append(Finding("lease", subject, "upload claim past its lease"))
            continue
        charged = bool(doc.get("charged"))
        if state == STORED:
            facts.expected.add(name)
            if charged:
                facts.charged.append(
                    ChargedFile(doc["owner"], record_id, doc["file_size"], kind=COLLECTION)
                )
            expires_at = doc.get("expires_at")
            if expires_at is not None and expires_at < now - grace:
                facts.overdue.append(Finding("lease", subject, "expired file not purged"))
        elif state == DELETING:
            if charged:
                facts.charged.append(
                    ChargedFile(
                        doc["owner"],
                        record_id,
                        doc["file_size"],
                        f"{COLLECTION}.{record_id}",
                        kind=COLLECTION,
                    )
                )
            since = doc.get("deleting_since")
            if since is None or since < now - grace:
                facts.overdue.append(Finding("tombstone", subject, "delete left half way"))
    return facts
