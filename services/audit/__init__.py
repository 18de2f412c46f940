"""The consistency audit (`flask fsck`): quota, objects, leases and events across features."""

from services.audit.report import AuditReport
from services.audit.service import Audit, FeatureSource

__all__ = ["Audit", "AuditReport", "FeatureSource"]
