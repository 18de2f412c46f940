"""What a feature tells the consistency audit about its own records (services/audit/)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One inconsistency: which check found it, what it concerns, and what is wrong."""

    check: str  # quota | missing_object | orphan_object | lease | tombstone | outbox
    subject: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class ChargedFile:
    """A stored file whose bytes count toward its owner's quota.

    `record_id` is also the id of the hold that paid for it (a hold still open under that
    id is already counted here). `tombstone` ("<collection>.<id>") is set while the file
    is being deleted: its bytes stop counting once the account notes that tombstone freed.
    `kind` is the counted kind (`stored.<kind>` on the account), if any.
    """

    owner: str
    record_id: str
    size: int
    tombstone: str | None = None
    kind: str | None = None


@dataclass
class FeatureFacts:
    """A feature's own account of its records, gathered by the feature itself."""

    feature: str
    prefixes: tuple[str, ...] = ()  # object name prefixes the feature owns
    charged: list[ChargedFile] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)  # objects its records say exist
    known: set[str] = field(default_factory=set)  # objects it may hold (in flight too)
    known_prefixes: set[str] = field(default_factory=set)  # every object under these is known
    in_progress: set[str] = field(default_factory=set)  # ids of claims/sessions uploading
    overdue: list[Finding] = field(default_factory=list)  # leases run out, tombstones left

    def knows(self, name: str) -> bool:
        """True when the object is one of the feature's (a record or an upload names it)."""
        if name in self.known:
            return True
        segments = name.split("/")
        return any(
            "/".join(segments[:i]) + "/" in self.known_prefixes for i in range(1, len(segments))
        )
