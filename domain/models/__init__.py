"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from domain.models.accounts import RefreshToken, User
from domain.models.base import Base
from domain.models.catalogue import Agency, Category, RoutingRule, Unit
from domain.models.cctv import AlertRule, Camera, CctvAlert, CctvEvidence
from domain.models.enums import (
    STATUS_LABELS_ID,
    AlertKind,
    CameraKind,
    CameraSource,
    DevicePlatform,
    EvidenceStatus,
    HistoryKind,
    PhotoKind,
    PhotoStatus,
    PushStatus,
    ReportStatus,
    Role,
    RoutingHandler,
    UnitKind,
)
from domain.models.geo import Kecamatan, Kelurahan, Kota
from domain.models.notifications import Device, Notification
from domain.models.reports import Photo, Report, ReportCell, ReportFollower, ReportStatusChange

__all__ = [
    "STATUS_LABELS_ID",
    "Agency",
    "AlertKind",
    "AlertRule",
    "Base",
    "Camera",
    "CameraKind",
    "CameraSource",
    "Category",
    "CctvAlert",
    "CctvEvidence",
    "Device",
    "DevicePlatform",
    "EvidenceStatus",
    "HistoryKind",
    "Kecamatan",
    "Kelurahan",
    "Kota",
    "Notification",
    "Photo",
    "PhotoKind",
    "PhotoStatus",
    "PushStatus",
    "RefreshToken",
    "Report",
    "ReportCell",
    "ReportFollower",
    "ReportStatus",
    "ReportStatusChange",
    "Role",
    "RoutingHandler",
    "RoutingRule",
    "Unit",
    "UnitKind",
    "User",
]
