"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from domain.models.accounts import RefreshToken, User
from domain.models.base import Base
from domain.models.catalogue import Agency, Category, Unit
from domain.models.enums import PhotoStatus, ReportStatus, Role, UnitKind
from domain.models.geo import Kecamatan, Kelurahan, Kota
from domain.models.reports import Photo, Report, ReportStatusChange

__all__ = [
    "Agency",
    "Base",
    "Category",
    "Kecamatan",
    "Kelurahan",
    "Kota",
    "Photo",
    "PhotoStatus",
    "RefreshToken",
    "Report",
    "ReportStatus",
    "ReportStatusChange",
    "Role",
    "Unit",
    "UnitKind",
    "User",
]
