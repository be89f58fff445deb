"""SQLAlchemy 2 typed models, one module per concept."""

from marketplace.models.api import ApiToken, IdempotentRequest
from marketplace.models.audit import AuditEntry
from marketplace.models.award import Allocation, AllocationDelivery, AwardScenario, ConfirmationStatus, UnservedLine
from marketplace.models.backup import Backup, BackupAllocation, FailureCause
from marketplace.models.bidding import (
    Bid,
    BidRevision,
    BidTier,
    PackageBid,
    PackageItem,
    PackageRevision,
    QuarterCapacity,
    RoundCapacity,
)
from marketplace.models.catalog import VehicleModel
from marketplace.models.demand import DemandLine, DemandStatus
from marketplace.models.deposit import Deposit, DepositOutcome, DepositState, StripeEvent
from marketplace.models.notification import Clarification, MailState, Notice, NotifyMode, OutboxMail
from marketplace.models.organization import Approval, Organization, OrganizationKind, User
from marketplace.models.pooling import Lot, LotMember, PoolingRun, RunStatus, UnpooledLine
from marketplace.models.read_model import DataVersion, ReadModel
from marketplace.models.reference import Region, Segment
from marketplace.models.round import FeedbackRule, LineService, Round, RoundPhase

__all__ = [
    "Allocation",
    "AllocationDelivery",
    "ApiToken",
    "Approval",
    "AuditEntry",
    "AwardScenario",
    "Backup",
    "BackupAllocation",
    "Bid",
    "BidRevision",
    "BidTier",
    "Clarification",
    "ConfirmationStatus",
    "DataVersion",
    "DemandLine",
    "DemandStatus",
    "Deposit",
    "DepositOutcome",
    "DepositState",
    "FailureCause",
    "FeedbackRule",
    "IdempotentRequest",
    "LineService",
    "Lot",
    "LotMember",
    "MailState",
    "Notice",
    "NotifyMode",
    "Organization",
    "OrganizationKind",
    "OutboxMail",
    "PackageBid",
    "PackageItem",
    "PackageRevision",
    "PoolingRun",
    "QuarterCapacity",
    "ReadModel",
    "Region",
    "Round",
    "RoundCapacity",
    "RoundPhase",
    "RunStatus",
    "Segment",
    "StripeEvent",
    "UnpooledLine",
    "UnservedLine",
    "User",
    "VehicleModel",
]
