"""The video library's own facts for the consistency audit (services/audit/)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core.claims import DELETING, STORED, UPLOADING
from services.core.facts import ChargedFile, FeatureFacts, Finding
from services.previews.service import SUFFIX
from services.videos.library import VideoLibrary


def video_facts(library: VideoLibrary, now: datetime, grace: timedelta) -> FeatureFacts:
    """Every video record: what it charges, which object it needs, what outlived its lease.

    Videos landed from part uploads are records here like any other (their `_id` is the
    session's id, which is also the id of the hold that paid for them).
    """
    collection = library.files.name
    facts = FeatureFacts("videos", prefixes=("videos/",))
    fields = {"owner": 1, "state": 1, "size": 1, "object_name": 1, "lease_until": 1}
    for doc in library.files.find({}, {**fields, "deleting_since": 1}):
        name, record_id = doc.get("object_name"), str(doc["_id"])
        if name:
            facts.known |= {name, name + SUFFIX}
        state = doc.get("state")
        if state == UPLOADING:
            facts.in_progress.add(record_id)
            if doc.get("lease_until") is not None and doc["lease_until"] < now:
                facts.overdue.append(
                    Finding("lease", f"{collection}/{record_id}", "upload claim past its lease")
                )
        elif state == STORED:
            facts.expected.add(name)
            facts.charged.append(ChargedFile(doc["owner"], record_id, doc["size"]))
        elif state == DELETING:
            tombstone = f"{collection}.{record_id}"
            facts.charged.append(ChargedFile(doc["owner"], record_id, doc["size"], tombstone))
            since = doc.get("deleting_since")
            if since is None or since < now - grace:
                facts.overdue.append(
                    Finding("tombstone", f"{collection}/{record_id}", "delete left half way")
                )
    return facts
