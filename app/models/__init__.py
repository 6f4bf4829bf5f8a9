"""Database tables (Flask-SQLAlchemy, typed). State guards live on the models."""
from . import derived  # noqa: E402,F401,I001 — registers the derived columns' events
from .agency import LEVEL_ORDER, Agency, AgencyLineage, AgencyParent, Level
from .aggregate import Aggregate, AggregateStamp, CenterView, RecordVersion
from .audit import AuditEntry
from .catalogue import Disaggregation, Indicator, Regime, RegimeDraft, RegimeIndicator, RegimeVersion
from .job import Job
from .quality import FollowUp, FollowUpComment, KpiPick, QualityFeatures
from .reminder import MailMessage, Notification, ReminderEvent
from .signing import AgencyCertificate, PendingSignature, SignedDocument
from .submission import (
    AgencyKey,
    ReportRequest,
    RequestTarget,
    Submission,
    SubmissionEvent,
    SubmissionValue,
    SubmissionVersion,
)
from .user import ROLE_LABELS_VI, ApiToken, Role, User, UserSession

__all__ = [
    "Aggregate", "AggregateStamp", "CenterView", "AuditEntry", "Job", "FollowUp", "FollowUpComment", "KpiPick", "QualityFeatures", "RecordVersion", "AgencyCertificate", "PendingSignature", "SignedDocument",
    "Agency", "AgencyLineage", "AgencyParent", "ApiToken", "Disaggregation", "Indicator", "LEVEL_ORDER",
    "Level", "Regime", "RegimeDraft", "RegimeIndicator", "RegimeVersion", "ROLE_LABELS_VI", "Role", "User", "UserSession", "AgencyKey",
    "ReportRequest", "RequestTarget", "MailMessage", "Notification", "ReminderEvent", "Submission", "SubmissionEvent", "SubmissionValue", "SubmissionVersion",
]
