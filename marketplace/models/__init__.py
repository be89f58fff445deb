"""SQLAlchemy 2 typed models, one module per concept."""

from marketplace.models.audit import AuditEntry
from marketplace.models.catalog import VehicleModel
from marketplace.models.demand import DemandLine, DemandStatus
from marketplace.models.organization import Organization, OrganizationKind, User
from marketplace.models.reference import Region, Segment
from marketplace.models.round import LineService, Round, RoundPhase

__all__ = [
    "AuditEntry",
    "DemandLine",
    "DemandStatus",
    "LineService",
    "Organization",
    "OrganizationKind",
    "Region",
    "Round",
    "RoundPhase",
    "Segment",
    "User",
    "VehicleModel",
]
