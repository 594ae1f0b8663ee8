"""Typed SQLAlchemy 2.0 models, one module per area."""

from domain.models.agenda import AgendaItem, CalendarFeed, ItemKind
from domain.models.apps import AppAuthorizationCode, AppConnection, AppToken, AppUpload
from domain.models.assist import Accompaniment
from domain.models.audit import AuditEvent, AuditHead
from domain.models.base import Base
from domain.models.care import CareRelation, EmergencyAccess
from domain.models.document import SYSTEM_CATEGORIES, AuthorKind, Category, Document
from domain.models.insured import (
    ActivationCode,
    CodeChannel,
    InsuredPerson,
    LegalRepresentative,
    SpaceStatus,
)
from domain.models.messaging import Conversation, Message, MessageAttachment
from domain.models.name_prefix import FamilyNamePrefix
from domain.models.outbox import Channel, OutgoingMessage
from domain.models.profile import Measure, ProfileEntry, ProfileSection, SummaryPdf
from domain.models.sign_in import (
    FactorReset,
    Passkey,
    PasswordReset,
    RecoveryCode,
    SignInDelay,
    SignInStep,
)
from domain.models.tally import Tally
from domain.models.user import (
    EXCLUDED_SECTORS,
    AccountRow,
    Profession,
    Representation,
    Role,
    SecondFactor,
    Sector,
    User,
)
from domain.models.websession import WebSession

__all__ = [
    "AccountRow",
    "AppAuthorizationCode",
    "AppConnection",
    "AppToken",
    "AppUpload",
    "Accompaniment",
    "AgendaItem",
    "CalendarFeed",
    "Channel",
    "OutgoingMessage",
    "Conversation",
    "ItemKind",
    "Message",
    "MessageAttachment",
    "SYSTEM_CATEGORIES",
    "AuthorKind",
    "CareRelation",
    "EmergencyAccess",
    "FactorReset",
    "FamilyNamePrefix",
    "Category",
    "Document",
    "ActivationCode",
    "CodeChannel",
    "InsuredPerson",
    "LegalRepresentative",
    "SpaceStatus",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Measure",
    "Profession",
    "ProfileEntry",
    "ProfileSection",
    "SummaryPdf",
    "Tally",
    "Passkey",
    "PasswordReset",
    "RecoveryCode",
    "Representation",
    "Role",
    "SecondFactor",
    "SignInDelay",
    "SignInStep",
    "Sector",
    "EXCLUDED_SECTORS",
    "User",
    "WebSession",
]
