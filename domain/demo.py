"""Realistic report histories for demonstrations, the dashboard and the performance benchmark.

Pure simulation: given the reference data, a working calendar and a random generator, it lays out what a report's
life would have been (filing, the unit's response, dispositions to agencies, escalations when deadlines pass,
completion, ratings, reopenings), as the rows the workflow would have written, cut off at ``now``. cli/demo.py
writes them. Units differ: each has its own speed, diligence, quality and habit of passing reports on, drawn from
the seed, so the leaderboard has a spread to show.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain import sla
from domain.models import Category, ReportStatus, Unit, UnitKind
from domain.reference import ReferenceData
from domain.routing import Area, first_unit
from domain.workflow import supervising_unit, unit_deadlines

S = ReportStatus

# Share of reports per category code, from the mix Qlue's public data showed (garbage, roads, vendors, floods
# first); a category not named here is rare.
CATEGORY_WEIGHTS = {
    "garbage": 18.0,
    "damaged-road": 12.0,
    "street-vendors": 10.0,
    "flood": 9.0,
    "traffic": 8.0,
    "illegal-parking": 8.0,
    "street-light": 6.0,
    "public-facilities": 6.0,
    "rule-violation": 5.0,
    "fallen-tree": 4.0,
    "utilities": 4.0,
    "beggars": 3.0,
    "building-permit": 2.0,
    "unlicensed-ads": 2.0,
    "transjakarta": 1.0,
    "crime": 1.0,
}
RARE_WEIGHT = 0.3
# The rainy season (December to March) brings floods and fallen trees.
RAINY_MONTHS = frozenset({12, 1, 2, 3})
RAINY_BOOST = {"flood": 3.0, "fallen-tree": 2.0}
# Share of the completions a supervisor sends back (verified categories only): the work was not as claimed.
SENT_BACK = 0.15
# Reports per local hour of the day, relative: few at night, most in the morning and after work.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 7, 7, 7, 7, 7, 8, 9, 8, 6, 5, 4, 3, 2)

DETAILS = (
    "sudah beberapa hari",
    "mohon segera ditindaklanjuti",
    "mengganggu warga sekitar",
    "dekat sekolah",
    "di depan pasar",
    "sejak pagi tadi",
    "sudah dilaporkan ke RT",
    "membahayakan pengendara motor",
)


@dataclass(frozen=True)
class UnitProfile:
    """How a unit works, drawn once per unit from the seed."""

    speed: float  # multiplies the category's hours: below 1 is faster than the SLA asks
    diligence: float  # chance that work started is completed
    quality: float  # mean rating the reporters give
    reopen: float  # chance that a completed report is reopened as not fixed
    passes_on: float  # chance that a kelurahan passes a report to the agency (outside its remit)


def unit_profiles(units: Sequence[Unit], seed: int) -> dict[int, UnitProfile]:
    profiles = {}
    for unit in sorted(units, key=lambda u: u.code):
        rng = random.Random(f"{seed}:{unit.code}")
        skill = rng.gauss(0, 1)  # good units are fast, diligent and well rated together, mostly
        profiles[unit.id] = UnitProfile(
            speed=math.exp(rng.gauss(-0.3 * skill, 0.45)),
            diligence=min(0.99, max(0.45, rng.gauss(0.86 + 0.06 * skill, 0.06))),
            quality=min(4.8, max(1.8, rng.gauss(3.7 + 0.4 * skill, 0.35))),
            reopen=min(0.2, max(0.01, rng.gauss(0.06 - 0.015 * skill, 0.02))),
            passes_on=min(0.35, max(0.03, rng.gauss(0.15, 0.06))),
        )
    return profiles


@dataclass(frozen=True)
class Cast:
    """The people in the histories: citizens who report, one officer per unit."""

    citizens: Sequence[uuid.UUID]
    officers: dict[int, uuid.UUID]


# The columns cli/demo.py copies, in order.
REPORT_COLUMNS = (
    "id",
    "reporter_id",
    "client_request_id",
    "fingerprint",
    "category_id",
    "description",
    "lon",
    "lat",
    "kelurahan_id",
    "kecamatan_id",
    "kota_id",
    "unit_id",
    "status",
    "anonymous",
    "confidential",
    "created_at",
    "updated_at",
    "duplicate_of_id",
    "response_due_at",
    "completion_due_at",
    "due_at",
    "first_response_at",
    "closed_at",
    "escalation_level",
)
HISTORY_COLUMNS = (
    "report_id",
    "from_status",
    "to_status",
    "actor_id",
    "at",
    "public_note",
    "internal_note",
    "kind",
    "from_unit_id",
    "to_unit_id",
    "escalation_level",
    "response_due_at",
    "completion_due_at",
    "rating",
)


@dataclass
class _Life:
    """One report being simulated; rows are appended only for what happened before ``now``."""

    report_id: uuid.UUID
    category: Category
    area: Area
    now: datetime
    calendar: sla.WorkingCalendar
    reference: ReferenceData
    status: ReportStatus = S.WAITING
    unit_id: int = 0
    response_due: datetime | None = None
    completion_due: datetime | None = None
    first_response: datetime | None = None
    closed: datetime | None = None
    escalation: int = 0
    last: datetime | None = None
    duplicate_of: uuid.UUID | None = None
    rows: list[tuple[object, ...]] = field(default_factory=list)

    def open(self) -> bool:
        return self.status not in (S.COMPLETED, S.REJECTED, S.DUPLICATE)

    def _escalate_until(self, at: datetime) -> None:
        """The escalations the minute-by-minute sweep would have written before ``at``. A report waiting for
        verification has no deadline; sent back, it is raised at the next sweep if its deadline passed meanwhile."""
        while self.open() and self.status != S.VERIFYING and self.escalation < 2:
            candidates = []
            if self.escalation < 1 and self.first_response is None and self.response_due is not None:
                candidates.append((self.response_due, 1))
            if self.completion_due is not None:
                candidates.append((self.completion_due, 2))
            due = [(max(when, self.last or when) + timedelta(minutes=1), level) for when, level in candidates]
            due = [(when, level) for when, level in due if when < at and when <= self.now]
            if not due:
                return
            when, level = min(due)
            for step in range(self.escalation + 1, level + 1):
                kind = UnitKind.KECAMATAN if step == 1 else UnitKind.KOTA
                area_id = self.area.kecamatan_id if step == 1 else self.area.kota_id
                office = self.reference.office(kind, area_id)
                note = "Tanggapan pertama terlambat" if step == 1 else "Penyelesaian terlambat"
                self._row(when, "ESCALATION", None, internal=note, to_unit=office.id, level=step)
            self.escalation = level

    def _row(
        self,
        at: datetime,
        kind: str,
        actor: uuid.UUID | None,
        *,
        to: ReportStatus | None = None,
        public: str | None = None,
        internal: str | None = None,
        from_unit: int | None = None,
        to_unit: int | None = None,
        level: int | None = None,
        due: sla.Deadlines | None = None,
        rating: int | None = None,
    ) -> None:
        before = None if not self.rows else self.status
        after = to or self.status
        self.rows.append(
            (
                self.report_id,
                before,
                after,
                actor,
                at,
                public,
                internal,
                kind,
                from_unit,
                to_unit,
                level,
                due.respond_by if due else None,
                due.complete_by if due else None,
                rating,
            )
        )
        self.status, self.last = after, at

    def happen(self, at: datetime) -> bool:
        """Whether an event at ``at`` happened yet; escalations due before it are written first."""
        self._escalate_until(at)
        return at <= self.now

    def file(self, at: datetime, reporter: uuid.UUID, unit_id: int) -> None:
        due = unit_deadlines(self.category, self.calendar, at)
        self.unit_id, self.response_due, self.completion_due = unit_id, due.respond_by, due.complete_by
        self._row(at, "STATUS", reporter, to=S.WAITING, to_unit=unit_id, due=due)

    def move(
        self,
        at: datetime,
        actor: uuid.UUID,
        to: ReportStatus,
        *,
        public: str | None = None,
        internal: str | None = None,
    ) -> None:
        if self.first_response is None:
            self.first_response = at
        self._row(at, "STATUS", actor, to=to, public=public, internal=internal)
        if to in (S.COMPLETED, S.REJECTED, S.DUPLICATE):
            self.closed = at
        if to == S.REOPENED:
            self.closed = None
            self.completion_due = sla.add_working_hours(self.calendar, at, self.category.completion_hours)

    def dispose(self, at: datetime, actor: uuid.UUID, target: Unit) -> None:
        if self.first_response is None:
            self.first_response = at
        due = unit_deadlines(self.category, self.calendar, at)
        self._row(
            at,
            "STATUS",
            actor,
            to=S.DISPOSITION,
            from_unit=self.unit_id,
            to_unit=target.id,
            public=f"Diteruskan ke {target.name}",
            due=due,
        )
        self.unit_id = target.id

    def rate(self, at: datetime, reporter: uuid.UUID, rating: int) -> None:
        self._row(at, "RATING", reporter, rating=rating)

    def finish(self) -> None:
        self._escalate_until(self.now + timedelta(microseconds=1))

    @property
    def due_at(self) -> datetime | None:
        if not self.open() or self.status == S.VERIFYING:
            return None
        return self.response_due if self.first_response is None else self.completion_due


@dataclass(frozen=True)
class Simulated:
    report: tuple[object, ...]  # REPORT_COLUMNS
    history: list[tuple[object, ...]]  # HISTORY_COLUMNS, in order


class Simulator:
    def __init__(
        self,
        reference: ReferenceData,
        calendar: sla.WorkingCalendar,
        cast: Cast,
        *,
        seed: int,
        now: datetime,
    ) -> None:
        self.reference, self.calendar, self.cast, self.now = reference, calendar, cast, now
        self.rng = random.Random(seed)
        self.profiles = unit_profiles(list(reference.units.values()), seed)
        self.categories = sorted(
            (c for c in reference.categories.values() if c.active), key=lambda c: (c.sort_order, c.code)
        )
        # The last original report of each (kelurahan, category), and when it was filed: what a later one may
        # duplicate.
        self._latest: dict[tuple[int, int], tuple[uuid.UUID, datetime]] = {}

    def category_at(self, at: datetime) -> Category:
        rainy = at.astimezone(sla.JAKARTA).month in RAINY_MONTHS
        weights = [
            CATEGORY_WEIGHTS.get(c.code, RARE_WEIGHT) * (RAINY_BOOST.get(c.code, 1.0) if rainy else 1.0)
            for c in self.categories
        ]
        return self.rng.choices(self.categories, weights)[0]

    def filing_times(self, n: int, start: datetime, q_from: float, q_to: float) -> list[datetime]:
        """``n`` filing times, sorted, between two quantiles of the whole span from ``start`` to now.

        Reports grow by half over the span as the app spread (density 1 + 0.5 x), and follow the hours of the
        day. Consecutive quantile ranges give consecutive stretches of time, so batches come in time order.
        """
        span = (self.now - start).total_seconds()
        times = []
        for _ in range(n):
            q = self.rng.uniform(q_from, q_to)
            x = (-1 + math.sqrt(1 + 1.25 * q)) / 0.5  # the inverse of F(x) = (x + x^2 / 4) / 1.25
            local = (start + timedelta(seconds=x * span)).astimezone(sla.JAKARTA)
            hour = self.rng.choices(range(24), HOUR_WEIGHTS)[0]
            moment = local.replace(hour=hour, minute=self.rng.randrange(60), second=self.rng.randrange(60))
            times.append(min(moment.astimezone(self.now.tzinfo), self.now - timedelta(minutes=1)))
        return sorted(times)

    def _hours(self, base_hours: float, speed: float, spread: float) -> timedelta:
        # Wall-clock time runs about three times faster than the working hours an SLA counts (nights and
        # weekends); a typical unit takes half of what it is allowed.
        median = max(0.1, base_hours) * 1.5 * speed
        return timedelta(hours=self.rng.lognormvariate(math.log(median), spread))

    def simulate(self, *, lon: float, lat: float, area: Area, created_at: datetime) -> Simulated:
        rng, ref = self.rng, self.reference
        category = self.category_at(created_at)
        reporter = rng.choice(self.cast.citizens)
        report_id = uuid.uuid4()  # not from the seed: a second run adds reports, it does not collide
        life = _Life(report_id, category, area, self.now, self.calendar, ref)
        unit = first_unit(ref, category, area)
        life.file(created_at, reporter, unit.id)
        earlier = self._latest.get((area.kelurahan_id, category.id))
        original = earlier[0] if earlier is not None and earlier[1] < created_at else None
        t = created_at
        for hop in range(2):
            profile = self.profiles[life.unit_id]
            officer = self.cast.officers[life.unit_id]
            t = t + self._hours(category.response_hours, profile.speed, 0.9)
            if not life.happen(t):
                break
            here = ref.units[life.unit_id]
            agency = ref.agency_office(category.agency_code, area.kota_id)
            draw = rng.random()
            if hop == 0 and here.kind == UnitKind.KELURAHAN and agency.id != here.id and draw < profile.passes_on:
                life.dispose(t, officer, agency)
                continue
            if draw > 0.97:
                life.move(t, officer, S.REJECTED, public="Bukan kewenangan / laporan tidak jelas")
                break
            if draw > 0.95 and original is not None:
                life.duplicate_of = original
                life.move(t, officer, S.DUPLICATE)
                break
            if rng.random() < 0.2:
                life.move(t, officer, S.COORDINATION, public="Sedang dikoordinasikan")
                t += self._hours(2, profile.speed, 0.7)
                if not life.happen(t):
                    break
            life.move(t, officer, S.IN_PROGRESS, public="Petugas menuju lokasi")
            self._work(life, t, profile, officer, reporter)
            break
        life.finish()
        if life.status != S.DUPLICATE:
            self._latest[(area.kelurahan_id, category.id)] = (report_id, created_at)
        return Simulated(self._report_row(life, reporter, lon, lat, created_at), life.rows)

    def _work(self, life: _Life, t: datetime, profile: UnitProfile, officer: uuid.UUID, reporter: uuid.UUID) -> None:
        rng, category = self.rng, life.category
        for round_ in range(2):
            if rng.random() > profile.diligence * (0.9 if round_ else 1.0):
                return  # the work stalls: the report stays in progress
            t = t + self._hours(category.completion_hours - category.response_hours, profile.speed, 1.0)
            if not life.happen(t):
                return
            completed = self._complete(life, t, profile, officer)
            if completed is None:
                return
            t = completed
            if rng.random() < profile.reopen:
                t = t + timedelta(hours=rng.uniform(6, 240))
                if not life.happen(t):
                    return
                life.move(t, reporter, S.REOPENED, public="Belum beres, masih sama")
                t = t + self._hours(category.response_hours, profile.speed, 0.7)
                if not life.happen(t):
                    return
                life.move(t, officer, S.IN_PROGRESS, public="Ditangani ulang")
                continue
            if rng.random() < 0.35:
                t = t + timedelta(hours=rng.uniform(1, 72))
                if life.happen(t):
                    stars = round(rng.gauss(profile.quality, 0.9))
                    life.rate(t, reporter, min(5, max(1, stars)))
            return

    def _complete(self, life: _Life, t: datetime, profile: UnitProfile, officer: uuid.UUID) -> datetime | None:
        """The unit completes the work at ``t``. Where its category is verified and the unit has a supervisor, the
        completion waits for the supervisor, who accepts it or sends it back (the unit works again and completes
        again, up to three times). Returns when the report became COMPLETED; None when now came first, or the
        work was sent back for the last time."""
        category = life.category
        supervisor = supervising_unit(self.reference.units[life.unit_id], self.reference)
        if not category.verification_required or supervisor is None:
            life.move(t, officer, S.COMPLETED, public="Sudah ditangani")
            return t
        checker, pace = self.cast.officers[supervisor.id], self.profiles[supervisor.id].speed
        for _ in range(3):
            life.move(t, officer, S.VERIFYING, public="Sudah ditangani")
            t = t + self._hours(category.response_hours, pace, 0.8)
            if not life.happen(t):
                return None
            if self.rng.random() >= SENT_BACK:
                life.move(t, checker, S.COMPLETED, public="Hasil penanganan sudah diverifikasi")
                return t
            life.move(t, checker, S.IN_PROGRESS, internal="Foto hasil tidak sesuai dengan kondisi di lokasi")
            t = t + self._hours(category.response_hours, profile.speed, 0.7)
            if not life.happen(t):
                return None
        return None

    def _report_row(
        self, life: _Life, reporter: uuid.UUID, lon: float, lat: float, created_at: datetime
    ) -> tuple[object, ...]:
        rng, area, category = self.rng, life.area, life.category
        kelurahan = self.reference.kelurahan[area.kelurahan_id]
        description = f"{category.name_id} di {kelurahan.name}, {rng.choice(DETAILS)}."
        return (
            life.report_id,
            reporter,
            f"demo-{life.report_id}",
            life.report_id.hex + life.report_id.hex,
            category.id,
            description,
            lon,
            lat,
            area.kelurahan_id,
            area.kecamatan_id,
            area.kota_id,
            life.unit_id,
            life.status.value,
            rng.random() < 0.1,
            category.confidential or rng.random() < 0.01,
            created_at,
            life.last or created_at,
            life.duplicate_of,
            # The report keeps its first deadlines, as the workflow does; a reopening renews completion's.
            life.response_due,
            life.completion_due,
            life.due_at,
            life.first_response,
            life.closed,
            life.escalation,
        )
