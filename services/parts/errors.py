"""The part upload API's own refusals, and its words for the core's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from services.core.errors import BandwidthExceeded, Conflict, QuotaExceeded
from services.parts.records import ABORTED, COMPLETED

SESSION_NOT_FOUND = "Upload session not found"
# The video API's words (seed 003) for the core's neutral refusals, as the issue asks.
QUOTA_MESSAGE = "Exceeds storage limit, cannot upload video..!!"
BANDWIDTH_MESSAGE = "Bandwidth limit exceeded or some internal upload error"


class SessionBusy(Conflict):
    """Another request holds the session (a complete in progress)."""

    default_message = "Upload session is being completed; try again shortly"


class SessionEnded(Conflict):
    """The session is completed or aborted: presign, register (and abort, if completed) refused."""

    def __init__(self, status: str) -> None:
        super().__init__(ENDED_MESSAGES.get(status, "Upload session is no longer open"))


ENDED_MESSAGES = {
    COMPLETED: "Upload session is already completed",
    ABORTED: "Upload session was aborted",
}


@contextmanager
def refusals_in_api_words() -> Iterator[None]:
    """Reword the core's quota and bandwidth refusals as this API says them."""
    try:
        yield
    except QuotaExceeded as error:
        raise QuotaExceeded(QUOTA_MESSAGE) from error
    except BandwidthExceeded as error:
        raise BandwidthExceeded(BANDWIDTH_MESSAGE) from error
