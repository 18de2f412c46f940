"""What an audit found and what its repair did, as text or as a JSON-ready dict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.core.facts import Finding


@dataclass
class AuditReport:
    """The findings of one audit pass, the repairs made, and the problems left after them."""

    at: datetime
    checked: dict[str, int] = field(default_factory=dict)
    found: list[Finding] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    remaining: list[Finding] | None = None  # after --repair: a second pass

    @property
    def clean(self) -> bool:
        """No problem left: none found, or (after a repair) none remaining."""
        return not (self.found if self.remaining is None else self.remaining)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON types."""
        report: dict[str, Any] = {
            "clean": self.clean,
            "at": self.at.isoformat(),
            "checked": self.checked,
            "problems": [finding.as_dict() for finding in self.found],
            "counts": dict(Counter(finding.check for finding in self.found)),
        }
        if self.remaining is not None:
            report["repaired"] = self.repaired
            report["remaining"] = [finding.as_dict() for finding in self.remaining]
        return report

    def as_text(self) -> str:
        """The report for a person: one line per problem and per repair."""
        checked = ", ".join(f"{n} {what}" for what, n in self.checked.items())
        lines = [f"fsck at {self.at.isoformat()}: checked {checked}"]
        if not self.found:
            lines.append("no problems found")
        for finding in self.found:
            lines.append(f"PROBLEM {finding.check}: {finding.subject}: {finding.detail}")
        if self.remaining is not None:
            lines += [f"REPAIRED {line}" for line in self.repaired] or ["nothing to repair"]
            for finding in self.remaining:
                lines.append(f"REMAINS {finding.check}: {finding.subject}: {finding.detail}")
            lines.append("clean after repair" if self.clean else "problems remain after repair")
        return "\n".join(lines)
