from __future__ import annotations

import enum


class Role(enum.StrEnum):
    CITIZEN = "CITIZEN"
    OFFICER = "OFFICER"
    AUDITOR = "AUDITOR"
    ADMIN = "ADMIN"
    # Traffic enforcement (Dishub, police liaison): the only staff who may read the licence plates of busway and
    # no-stopping violators, each read audited (domain/plate_reading.py).
    ENFORCEMENT = "ENFORCEMENT"


class AccountEventKind(enum.StrEnum):
    """What an account audit row records (staff accounts: an admin or an operator changed them)."""

    CLOSED = "CLOSED"  # the account can no longer log in; its sessions and devices are gone
    MOVED = "MOVED"  # its role or unit changed


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
    # The unit completed it and its supervisor (the camat's office for a kelurahan) has yet to accept the work:
    # only in categories that ask for verification (categories.verification_required, domain/verification.py).
    VERIFYING = "VERIFYING"


# As Qlue and CROP show them.
STATUS_LABELS_ID = {
    ReportStatus.WAITING: "Menunggu",
    ReportStatus.COORDINATION: "Koordinasi",
    ReportStatus.DISPOSITION: "Disposisi",
    ReportStatus.IN_PROGRESS: "Proses",
    ReportStatus.COMPLETED: "Selesai",
    ReportStatus.REJECTED: "Ditolak",
    ReportStatus.DUPLICATE: "Duplikat",
    ReportStatus.REOPENED: "Dibuka kembali",
    ReportStatus.VERIFYING: "Menunggu verifikasi",
}


class PhotoStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"  # upload ticket issued, not yet part of a report
    ATTACHED = "ATTACHED"  # part of a report, waiting for the processing job
    READY = "READY"  # processed image and thumbnail stored
    FAILED = "FAILED"  # the file could not be made into a safe image; error_code says why


class HistoryKind(enum.StrEnum):
    """What a report history row records."""

    STATUS = "STATUS"  # a status change (a disposition also moves the report to another unit)
    ASSIGNMENT = "ASSIGNMENT"  # an officer of the unit took the report, or was given it
    ESCALATION = "ESCALATION"  # a missed deadline raised the report to the camat or the walikota office
    REROUTE = "REROUTE"  # an admin sent the report to another unit outside the status machine
    RATING = "RATING"  # the reporter rated the completed work (1 to 5)
    MODERATION = "MODERATION"  # a moderator hid the report from the public, or showed it again (the note says why)


class PhotoKind(enum.StrEnum):
    REPORT = "REPORT"  # taken by the reporter
    AFTER = "AFTER"  # taken by the officer when the work is done


class RoutingHandler(enum.StrEnum):
    """Who handles a category first in an area: an office of the area itself, an agency, or one unit."""

    KELURAHAN = "KELURAHAN"
    KECAMATAN = "KECAMATAN"
    KOTA = "KOTA"
    AGENCY = "AGENCY"  # the agency's office for the report's kota when it has one per kota, else its only office
    UNIT = "UNIT"


class DevicePlatform(enum.StrEnum):
    ANDROID = "ANDROID"
    IOS = "IOS"
    WEB = "WEB"


class PushStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for a delivery job (again, after a transient error: see push_next_at)
    SENDING = "SENDING"  # claimed by a delivery job until push_lease_until; a crash leaves it to be claimed again
    SENT = "SENT"  # FCM accepted it for at least one device
    NO_DEVICE = "NO_DEVICE"  # the user has no registered device: the in-app inbox only
    INBOX_ONLY = "INBOX_ONLY"  # no push service configured (local default): inbox and log only
    FAILED = "FAILED"  # FCM refused it for good, or the retries ran out; push_error says why


class CameraKind(enum.StrEnum):
    FLOODGATE = "FLOODGATE"  # pintu air
    RIVER = "RIVER"
    ROAD = "ROAD"
    INTERSECTION = "INTERSECTION"
    PUBLIC_SPACE = "PUBLIC_SPACE"  # parks, markets, stations


class CameraSource(enum.StrEnum):
    ARCHIVE = "ARCHIVE"  # 10-second segments in object storage under a prefix, as an NVR keeps them
    STREAM = "STREAM"  # a live HLS / RTSP / HTTP stream: recorded forward when a report comes in


class EvidenceStatus(enum.StrEnum):
    PENDING = "PENDING"  # matched; the clip is being fetched and analysed
    READY = "READY"  # clip, snapshot and summary stored
    UNAVAILABLE = "UNAVAILABLE"  # the camera could not give a usable clip; reason says why


class AlertKind(enum.StrEnum):
    CROWD = "CROWD"  # more people than the camera's limit
    CONGESTION = "CONGESTION"  # the congestion index above the limit
    NO_STOPPING = "NO_STOPPING"  # a vehicle stopped in the no-stopping zone for longer than allowed
    # Camera health, from continuous watching (domain/cctv_watch.py): raised once when the state starts.
    CAMERA_OFFLINE = "CAMERA_OFFLINE"  # no media, or no answer, for several samples in a row
    CAMERA_BLACK = "CAMERA_BLACK"  # the picture is black
    CAMERA_FROZEN = "CAMERA_FROZEN"  # the same picture, bit for bit, sample after sample
    CAMERA_COVERED = "CAMERA_COVERED"  # a picture without texture: a bag, a hand, paint, fog on the lens
    CAMERA_MOVED = "CAMERA_MOVED"  # the view no longer matches the camera's reference frame
    BUSWAY = "BUSWAY"  # a vehicle that is not a bus in a TransJakarta lane
    RIVER_GARBAGE = "RIVER_GARBAGE"  # floating debris covering a share of a WATER zone (experimental, off by default)
    FLOODGATE_SIAGA = "FLOODGATE_SIAGA"  # a floodgate's water level entered a higher Siaga level (domain/floodgates.py)


class Siaga(enum.StrEnum):
    """A floodgate's alert level, from calm to worst: Jakarta counts Siaga down from 4 (normal) to 1."""

    NORMAL = "NORMAL"  # below the gate's Siaga 3 level (Siaga 4)
    SIAGA_3 = "SIAGA_3"  # waspada: the river is high
    SIAGA_2 = "SIAGA_2"  # kritis: flooding downstream is likely
    SIAGA_1 = "SIAGA_1"  # bencana: flooding

    @property
    def rank(self) -> int:
        return list(Siaga).index(self)


class ZonePurpose(enum.StrEnum):
    """What a zone drawn on a camera's view is for (domain/cctv_zone_rules.py says which rules each carries)."""

    BUSWAY = "BUSWAY"  # a TransJakarta lane: only buses may be in it
    NO_STOPPING = "NO_STOPPING"  # where vehicles must not stand: angkot ngetem, a junction box, a bus stop's mouth
    CROWD_AREA = "CROWD_AREA"  # where people gather: a plaza, a station entrance, a market
    WATER = "WATER"  # the surface of a river or canal, watched for floating garbage


class CaseArrival(enum.StrEnum):
    """How a unit came to hold a report (a case: one unit's spell with one report)."""

    FILED = "FILED"  # routed to it when the report was filed
    DISPOSED = "DISPOSED"  # passed to it by another unit (disposisi)
    REROUTED = "REROUTED"  # sent to it by an admin


class CaseEnding(enum.StrEnum):
    """How a case ended; NULL while the unit still holds the report (a reopening makes it NULL again)."""

    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"
    PASSED_ON = "PASSED_ON"  # the unit passed it to another unit: outside its remit
    REROUTED = "REROUTED"  # an admin moved it away: it was never the unit's to handle


class ExportStatus(enum.StrEnum):
    PENDING = "PENDING"  # waiting for (or being made by) its job
    READY = "READY"  # the file is in object storage
    FAILED = "FAILED"  # the job gave up; error says why
