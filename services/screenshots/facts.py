"""The screenshot feature's own facts for the consistency audit (services/audit/).

Screenshots count toward no user's quota: they add objects and expiries to the audit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core.facts import FeatureFacts, Finding
from services.screenshots.records import COMPLETING, ScreenshotRecords
from services.screenshots.upload import OBJECT_PREFIX


def screenshot_facts(records: ScreenshotRecords, now: datetime, grace: timedelta) -> FeatureFacts:
    """Listed screenshots need their objects; requests and tokens must not outlive expiry."""
    facts = FeatureFacts("screenshots", prefixes=(f"{OBJECT_PREFIX}/",))
    for doc in records.screenshots.find({}, {"object_name": 1}):
        facts.expected.add(doc["object_name"])
        facts.known.add(doc["object_name"])
    for request in records.requests.find({}):
        facts.known |= {shot["object_name"] for shot in request.get("screenshots") or []}
        expired = request.get("expires_at") is not None and request["expires_at"] < now - grace
        if expired and request.get("state") != COMPLETING:
            facts.overdue.append(
                Finding("lease", f"screenshot_requests/{request['_id']}", "expired request kept")
            )
    for token in records.tokens.find({}):
        facts.known |= set(token.get("objects") or [])
        if token.get("expires_at") is not None and token["expires_at"] < now - grace:
            facts.overdue.append(
                Finding("lease", f"screenshot_tokens/{token['_id']}", "expired token kept")
            )
    return facts
