from __future__ import annotations

import enum


class Role(enum.StrEnum):
    CITIZEN = "CITIZEN"
    OFFICER = "OFFICER"
    AUDITOR = "AUDITOR"
    ADMIN = "ADMIN"


class UnitKind(enum.StrEnum):
    KELURAHAN = "KELURAHAN"
    KECAMATAN = "KECAMATAN"
    KOTA = "KOTA"
    AGENCY = "AGENCY"
    EXTERNAL = "EXTERNAL"


class ReportStatus(enum.StrEnum):
    WAITING = "WAITING"
    COORDINATION = "COORDINATION"
    DISPOSITION = "DISPOSITION"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"
    REOPENED = "REOPENED"


class PhotoStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"  # upload ticket issued, not yet part of a report
    ATTACHED = "ATTACHED"  # part of a report, waiting for the processing job
    READY = "READY"  # processed image and thumbnail stored
    FAILED = "FAILED"  # the file could not be made into a safe image; error_code says why
