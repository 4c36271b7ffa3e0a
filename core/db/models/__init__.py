"""Every table of Accueil, importable from one place (``from core.db.models import Patient``)."""

from .base import Base, UTCDateTime, utcnow
from .keys import KeyRotation, KeyRotationBlob
from .messages import (
    Attachment,
    EForm,
    FormRequest,
    Message,
    Notification,
    PortalSession,
    ReminderRule,
    ReminderSent,
    Reply,
    SecureContent,
    Template,
    TemplateEForm,
)
from .operations import (
    AuditEntry,
    AuditHead,
    Campaign,
    CampaignConsent,
    CampaignRecipient,
    ChartEntry,
    DomainCheck,
    Event,
    ImportItem,
    OutboxItem,
    PatientCondition,
)
from .patients import Appointment, ConnectedSystem, Patient
from .site import DelegateEmail, Licence, Provider, Site, User

__all__ = [
    "Appointment", "Attachment", "AuditEntry", "AuditHead", "Base", "Campaign", "CampaignConsent", "CampaignRecipient",
    "ChartEntry", "ConnectedSystem", "DelegateEmail", "DomainCheck", "EForm", "Event", "FormRequest",
    "ImportItem", "KeyRotation", "KeyRotationBlob", "Licence", "Message", "Notification", "OutboxItem", "Patient", "PatientCondition",
    "PortalSession", "Provider", "ReminderRule", "ReminderSent", "Reply", "SecureContent", "Site",
    "Template", "TemplateEForm", "UTCDateTime", "User", "utcnow",
]
