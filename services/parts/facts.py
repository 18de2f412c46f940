"""Part uploads' own facts for the consistency audit (services/audit/)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core.facts import FeatureFacts, Finding
from services.parts.records import COMPLETED, UPLOADING, SessionRecords, session_prefix


def part_facts(sessions: SessionRecords, now: datetime, grace: timedelta) -> FeatureFacts:
    """Every session: its parts are known objects while it exists; what outlived its time.

    A session charges through its hold only (the audit counts holds); once its video has
    landed the video record charges the bytes and the hold is settled.
    """
    facts = FeatureFacts("parts", prefixes=("uploads/",))
    for doc in sessions.every():
        session_id = str(doc["_id"])
        subject = f"{sessions.name}/{session_id}"
        facts.known_prefixes.add(session_prefix(session_id) + "/")
        if doc.get("object_name"):
            facts.known.add(doc["object_name"])  # what a failed complete may have left
        if doc.get("status") == UPLOADING:
            facts.in_progress.add(session_id)
            if doc.get("expires_at") is not None and doc["expires_at"] < now:
                facts.overdue.append(Finding("lease", subject, "upload session past its expiry"))
        elif doc.get("todo"):
            urls_until = doc.get("urls_until")
            if urls_until is None or urls_until < now - grace:
                facts.overdue.append(Finding("lease", subject, "clean-up of an ended session"))
        if doc.get("status") == COMPLETED and doc.get("landed") is None:
            facts.known.add(doc["final"]["name"])
    return facts
