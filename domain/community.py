"""Citizens around a report: similar reports before filing, "me too" supports, public comments (moderators
hide them: domain/moderation.py), nearby and trending reports.

Everything public here leaves confidential reports out, as every public view does.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from domain import notifications
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import Report, ReportComment, ReportSupport, Role
from domain.workflow import OPEN, Actor, load_for_update

SIMILAR_RADIUS_M = 250.0  # FixMyStreet's rule: the same category within 250 m, at most 5, nearest first
SIMILAR_LIMIT = 5
COMMENT_MAX = 1000
NEARBY_MAX_RADIUS_M = 5000.0
# The geometry index narrows the search with a distance in degrees that surely holds the radius (a degree of
# longitude is shortest, 111.32 km x cos(latitude)); the exact geodesic distance then decides.
METRES_PER_DEGREE = 110_574.0  # the shortest degree of latitude (at the equator)


def _point(lat: float, lon: float):  # type: ignore[no-untyped-def]
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def _metres(lat: float, lon: float):  # type: ignore[no-untyped-def]
    return func.ST_Distance(cast(Report.location, Geography), cast(_point(lat, lon), Geography))


def _near(lat: float, lon: float, radius_m: float):  # type: ignore[no-untyped-def]
    shortest = min(METRES_PER_DEGREE, 111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    box = radius_m / shortest * 1.01
    return and_(
        func.ST_DWithin(Report.location, _point(lat, lon), box),
        func.ST_DWithin(cast(Report.location, Geography), cast(_point(lat, lon), Geography), radius_m),
    )


def check_point(lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DomainError("INVALID_LOCATION", "Latitude is -90..90 and longitude -180..180.", field="location")


@dataclass(frozen=True)
class Nearby:
    report: Report
    distance_m: float


async def similar_reports(session: AsyncSession, *, lat: float, lon: float, category_id: int) -> list[Nearby]:
    """Open public reports of the category within 250 m, nearest first, at most 5: one to support instead of
    filing a duplicate."""
    check_point(lat, lon)
    distance = _metres(lat, lon).label("distance")
    rows = await session.execute(
        select(Report, distance)
        .where(
            Report.category_id == category_id,
            Report.status.in_(sorted(OPEN)),
            Report.confidential.is_(False),
            _near(lat, lon, SIMILAR_RADIUS_M),
        )
        .order_by(distance, Report.id)
        .limit(SIMILAR_LIMIT)
    )
    return [Nearby(report, float(metres)) for report, metres in rows]


async def nearby_reports(
    session: AsyncSession,
    *,
    lat: float,
    lon: float,
    radius_m: float,
    after: tuple[float, uuid.UUID] | None,
    limit: int,
) -> list[Nearby]:
    """Public reports within ``radius_m``, nearest first (ties by id); ``after`` is the last (distance, id) seen."""
    check_point(lat, lon)
    if not 0 < radius_m <= NEARBY_MAX_RADIUS_M:
        raise DomainError(
            "INVALID_RADIUS", f"radiusM is more than 0 and at most {NEARBY_MAX_RADIUS_M:.0f}.", field="radiusM"
        )
    distance = _metres(lat, lon)
    wanted: list[ColumnElement[bool]] = [Report.confidential.is_(False)]
    if after is not None:
        last_distance, last_id = after
        wanted.append(or_(distance > last_distance, and_(distance == last_distance, Report.id > last_id)))
    reach = await _reach(session, lat=lat, lon=lon, radius_m=radius_m, wanted=wanted, limit=limit)
    query = select(Report, distance.label("distance")).where(*wanted, _near(lat, lon, reach))
    rows = await session.execute(query.order_by(distance, Report.id).limit(limit))
    return [Nearby(report, float(metres)) for report, metres in rows]


async def _reach(
    session: AsyncSession, *, lat: float, lon: float, radius_m: float, wanted: list[ColumnElement[bool]], limit: int
) -> float:
    """How far the nearest ``limit`` reports can be: the farthest of any ``limit`` wanted reports within the
    radius, found by the index in order of its planar distance (a few index probes, where a dense kilometre
    holds thousands of reports whose geodesic distances would all be computed). At least ``limit`` reports lie
    within it, so the nearest ``limit`` do too; with fewer, all of them do, and the radius stays."""
    planar = select(_metres(lat, lon).label("metres")).where(*wanted, _near(lat, lon, radius_m))
    candidates = planar.order_by(Report.location.op("<->")(_point(lat, lon))).limit(limit).subquery()
    found = (await session.execute(select(func.count(), func.max(candidates.c.metres)))).one()
    if found[0] < limit or found[1] is None:
        return radius_m
    # A hair over the farthest: the geodesic distance within ST_DWithin may round otherwise than ST_Distance's.
    return min(radius_m, float(found[1]) * (1 + 1e-9) + 0.001)


@dataclass(frozen=True)
class Trending:
    report: Report
    supports: int
    comments: int


async def trending_reports(session: AsyncSession, *, since: datetime, limit: int) -> list[Trending]:
    """Open public reports with the most supports and comments since ``since`` (a support counts twice)."""
    supports = (
        select(ReportSupport.report_id, func.count().label("n"))
        .where(ReportSupport.created_at >= since)
        .group_by(ReportSupport.report_id)
        .subquery()
    )
    comments = (
        select(ReportComment.report_id, func.count().label("n"))
        .where(ReportComment.created_at >= since, ReportComment.hidden_at.is_(None))
        .group_by(ReportComment.report_id)
        .subquery()
    )
    activity = (
        select(
            func.coalesce(supports.c.report_id, comments.c.report_id).label("report_id"),
            func.coalesce(supports.c.n, 0).label("supports"),
            func.coalesce(comments.c.n, 0).label("comments"),
        )
        .select_from(supports.join(comments, supports.c.report_id == comments.c.report_id, full=True))
        .subquery()
    )
    score = 2 * activity.c.supports + activity.c.comments
    rows = await session.execute(
        select(Report, activity.c.supports, activity.c.comments)
        .join(activity, activity.c.report_id == Report.id)
        .where(Report.confidential.is_(False), Report.status.in_(sorted(OPEN)))
        .order_by(score.desc(), Report.created_at.desc(), Report.id)
        .limit(limit)
    )
    return [Trending(report, supports_n, comments_n) for report, supports_n, comments_n in rows]


# --- supports --------------------------------------------------------------------------------------------


def visible_to(report: Report, actor: Actor) -> bool:
    return not report.confidential or actor.role in (Role.OFFICER, Role.ADMIN) or report.reporter_id == actor.user_id


async def support(session: AsyncSession, *, actor: Actor, report_id: uuid.UUID, on: bool, now: datetime) -> Report:
    """Adds (or takes back) the actor's "me too". The reporter cannot support their own report; a closed
    report takes no new supports."""
    report = await load_for_update(session, report_id)
    if not visible_to(report, actor):
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    if on:
        if report.reporter_id == actor.user_id:
            raise DomainError("OWN_REPORT", "You filed this report: it counts as yours already.", field="reportId")
        if report.status not in OPEN:
            raise DomainError("INVALID_TRANSITION", "This report is closed.", field="reportId")
        added = await session.scalar(
            pg_insert(ReportSupport)
            .values(report_id=report.id, user_id=actor.user_id, created_at=now)
            .on_conflict_do_nothing()
            .returning(ReportSupport.user_id)
        )
        if added is not None:
            report.updated_at = now
    else:
        existing = await session.get(ReportSupport, (report.id, actor.user_id))
        if existing is not None:
            await session.delete(existing)
            report.updated_at = now
    await session.flush()
    return report


async def support_counts(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(ReportSupport.report_id, func.count())
        .where(ReportSupport.report_id.in_(report_ids))
        .group_by(ReportSupport.report_id)
    )
    return {report_id: int(count) for report_id, count in rows}


async def supported_by(session: AsyncSession, user_id: uuid.UUID, report_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.scalars(
        select(ReportSupport.report_id).where(ReportSupport.user_id == user_id, ReportSupport.report_id.in_(report_ids))
    )
    return set(rows)


# --- comments ----------------------------------------------------------------------------------------------


async def add_comment(
    session: AsyncSession, *, actor: Actor, report_id: uuid.UUID, body: str, jobs: JobBuffer, now: datetime
) -> ReportComment:
    report = await session.get(Report, report_id)
    if report is None or not visible_to(report, actor):
        raise DomainError("NOT_FOUND", "No such report.", field="reportId")
    text = body.strip()
    if not text:
        raise DomainError("BODY_REQUIRED", "Write something.", field="body")
    if len(text) > COMMENT_MAX:
        raise DomainError("BODY_TOO_LONG", f"A comment takes at most {COMMENT_MAX} characters.", field="body")
    comment = ReportComment(id=uuid.uuid4(), report_id=report.id, author_id=actor.user_id, body=text, created_at=now)
    session.add(comment)
    report.updated_at = now
    if report.reporter_id is not None:
        await notifications.notify_users(
            session,
            [report.reporter_id],
            notifications.Message("COMMENTED", "Komentar baru pada laporan Anda", text[:200], report.id),
            jobs=jobs,
            now=now,
            skip=actor.user_id,
        )
    await session.flush()
    return comment


async def comments_page(
    session: AsyncSession, *, report_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[ReportComment]:
    """A report's comments, oldest first; ``after`` is the last (created_at, id) seen."""
    query = select(ReportComment).where(ReportComment.report_id == report_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(ReportComment.created_at > at, and_(ReportComment.created_at == at, ReportComment.id > last_id))
        )
    return list(await session.scalars(query.order_by(ReportComment.created_at, ReportComment.id).limit(limit)))
