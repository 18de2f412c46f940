"""The entity library's own facts for the consistency audit (services/audit/).

Entities are one shared library: their files count toward no user's quota, so they add
objects and leases to the audit, never charges.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core.claims import STORED, UPLOADING
from services.core.facts import FeatureFacts, Finding
from services.entities.files import OBJECT_PREFIX, EntityFiles
from services.entities.records import EntityRecords
from services.previews.service import SUFFIX


def entity_facts(
    records: EntityRecords, files: EntityFiles, now: datetime, grace: timedelta
) -> FeatureFacts:
    """Objects every version of every entity keeps, upload claims, deletes left half way."""
    facts = FeatureFacts("entities", prefixes=(f"{OBJECT_PREFIX}/",))
    for doc in records.every():
        names = set((doc.get("files") or {}).values())
        facts.known |= names | {name + SUFFIX for name in names}
        if doc.get("purging"):
            started = doc.get("purge_started")
            if started is None or started < now - grace:
                facts.overdue.append(
                    Finding("tombstone", f"entities/{doc['_id']}", "delete left half way")
                )
        else:
            facts.expected |= names
    for claim in files.claims.collection.find({}):
        subject = f"{files.claims.name}/{claim['_id']}"
        facts.known.add(claim["object_name"])
        if claim.get("state") == UPLOADING and claim.get("lease_until") is not None:
            if claim["lease_until"] < now:
                facts.overdue.append(Finding("lease", subject, "upload claim past its lease"))
        elif claim.get("state") == STORED:
            bound_at = claim.get("bound_at")
            if bound_at is not None and bound_at < now - files.claims.lease - grace:
                facts.overdue.append(Finding("lease", subject, "bound upload not released"))
    return facts
