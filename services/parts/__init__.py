"""Large uploads in parts (seed 002): sessions, signed part URLs, compose, landing as videos."""

from __future__ import annotations

from services.parts.completion import ListedPart
from services.parts.finishing import Completed
from services.parts.holds import SessionHolds, SweptSessions
from services.parts.records import SessionRecords, part_name, session_prefix
from services.parts.service import Limits, PartUploads, Presigned

__all__ = [
    "Completed",
    "Limits",
    "ListedPart",
    "PartUploads",
    "Presigned",
    "SessionHolds",
    "SessionRecords",
    "SweptSessions",
    "part_name",
    "session_prefix",
]
