"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from domain.models.accounts import AccountEvent, RefreshToken, User
from domain.models.base import Base
from domain.models.catalogue import Agency, Category, RoutingRule, Unit
from domain.models.cctv import (
    AlertRule,
    Camera,
    CameraWatch,
    CameraZone,
    CctvAlert,
    CctvEvidence,
    WatchRule,
    ZoneState,
)
from domain.models.community import AbuseFlag, ReportComment, ReportSupport
from domain.models.enums import (
    STATUS_LABELS_ID,
    AccountEventKind,
    AlertKind,
    CameraKind,
    CameraSource,
    CaseArrival,
    CaseEnding,
    DevicePlatform,
    EvidenceStatus,
    ExportStatus,
    HistoryKind,
    PhotoKind,
    PhotoStatus,
    PushStatus,
    ReportStatus,
    Role,
    RoutingHandler,
    UnitKind,
    ZonePurpose,
)
from domain.models.geo import Kecamatan, Kelurahan, Kota
from domain.models.idempotency import IdempotencyKey
from domain.models.limits import RateLimit
from domain.models.notifications import Device, Notification
from domain.models.performance import Export, ReportCase
from domain.models.reports import MapTileVersion, Photo, Report, ReportCell, ReportFollower, ReportStatusChange
from domain.models.templates import ResponseTemplate

__all__ = [
    "STATUS_LABELS_ID",
    "AbuseFlag",
    "AccountEvent",
    "AccountEventKind",
    "Agency",
    "AlertKind",
    "AlertRule",
    "Base",
    "Camera",
    "CameraKind",
    "CameraSource",
    "CameraWatch",
    "CameraZone",
    "CaseArrival",
    "CaseEnding",
    "Category",
    "CctvAlert",
    "CctvEvidence",
    "Device",
    "DevicePlatform",
    "EvidenceStatus",
    "Export",
    "ExportStatus",
    "HistoryKind",
    "IdempotencyKey",
    "Kecamatan",
    "Kelurahan",
    "Kota",
    "MapTileVersion",
    "Notification",
    "Photo",
    "PhotoKind",
    "PhotoStatus",
    "PushStatus",
    "RateLimit",
    "RefreshToken",
    "Report",
    "ReportCase",
    "ReportCell",
    "ReportComment",
    "ReportFollower",
    "ReportStatus",
    "ReportStatusChange",
    "ReportSupport",
    "ResponseTemplate",
    "Role",
    "RoutingHandler",
    "RoutingRule",
    "Unit",
    "UnitKind",
    "User",
    "WatchRule",
    "ZonePurpose",
    "ZoneState",
]
