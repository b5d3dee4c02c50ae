"""Open311 GeoReport v2 at /open311/v2/, in JSON and XML, so that existing civic apps and data portals can use
the city's reports (http://wiki.open311.org/GeoReport_v2).

- services are the report categories; each has three attributes that map onto createReport's choices
  (anonymous, confidential, the location's accuracy);
- requests are the reports, under the privacy rules of every public view: no confidential (or hidden) report,
  no reporter identity, sensitive categories at a position rounded to about 110 m;
- status is open or closed, with status_notes saying the status as Qlue shows it and the last public note;
- POST needs an api_key (`JSC_OPEN311_API_KEYS`: key -> the citizen account that files for that app), in the
  form or in the query string (the spec does not say which; the `open311` client on PyPI puts it in the URL);
  the report is filed at once, so the token of a request is its id;
- POST is idempotent with a key of the client's (the `Idempotency-Key` header or `attribute[idempotency_key]`):
  a retry with the same key and content gets the same service_request_id, the same key with other content a 409;
- POST is rate limited per app and per client address (`open311Post` in JSC_RATE_LIMITS): 429 and Retry-After;
- errors are the spec's list of {code, description} with the HTTP status as code.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import orjson
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.schema.reports import PUBLIC_SENSITIVE_DECIMALS
from domain import idempotency, rate_limits
from domain import reports as report_rules
from domain.errors import DomainError
from domain.jobs import JobBuffer
from domain.models import STATUS_LABELS_ID, Category, Report, ReportStatusChange, User
from domain.reference import ReferenceData
from domain.resources import Resources
from domain.workflow import CLOSED
from workers.queue import defer_in_transaction

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00Z"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_DAYS = 90  # the spec's default window when no dates are given
PAGE_SIZE_MAX = 100
IDEMPOTENCY_PREFIX = "open311:"  # apart from the clientRequestIds the app's account uses through GraphQL
IDEMPOTENCY_KEY_MAX = idempotency.CLIENT_REQUEST_ID_MAX - len(IDEMPOTENCY_PREFIX)
YES_NO = [{"key": "true", "name": "Ya (yes)"}, {"key": "false", "name": "Tidak (no)"}]


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers or {}


# --- rendering ---------------------------------------------------------------------------------------------


def _document(top: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def _xml(root: str, item: str, rows: Sequence[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        _xml_fields(ET.SubElement(top, item), row)
    return _document(top)


# How a list is written in XML: its element, and the element of each entry.
XML_LISTS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _xml_fields(parent: ET.Element, row: dict[str, Any]) -> None:
    for name, value in row.items():
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            for entry in value:
                sub = ET.SubElement(child, XML_LISTS[name])
                if isinstance(entry, dict):
                    _xml_fields(sub, entry)
                else:
                    sub.text = str(entry)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def _send(fmt: str, body: bytes, status: int = 200) -> Response:
    # Cross-origin access is the CORS middleware's (JSC_CORS_ALLOWED_ORIGINS), as for every other route.
    return Response(body, status_code=status, media_type=FORMATS[fmt])


def _respond(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    """A list: a JSON array, or <root><item>...</item>...</root>."""
    return _send(fmt, orjson.dumps(rows) if fmt == "json" else _xml(root, item, rows), status)


def _respond_one(fmt: str, root: str, row: dict[str, Any]) -> Response:
    """One object (discovery, a service definition): a JSON object, or <root>...</root>."""
    if fmt == "json":
        return _send(fmt, orjson.dumps(row))
    top = ET.Element(root)
    _xml_fields(top, row)
    return _send(fmt, _document(top))


def _error(fmt: str, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    response = _respond(
        fmt if fmt in FORMATS else "json", "errors", "error", [{"code": status, "description": description}], status
    )
    response.headers.update(headers or {})
    return response


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


# --- services ---------------------------------------------------------------------------------------------


def _service(c: Category) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.name_id,
        "description": c.name_en,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(part for part in (c.code, c.name_en.lower()) if part),
        "group": c.first_handler.value.lower(),
    }


def _attributes() -> list[dict[str, Any]]:
    common = {"variable": True, "required": False}
    return [
        {
            **common,
            "code": "anonymous",
            "datatype": "singlevaluelist",
            "datatype_description": "true or false",
            "order": 1,
            "description": "Hide the reporter from the public (default true).",
            "values": YES_NO,
        },
        {
            **common,
            "code": "confidential",
            "datatype": "singlevaluelist",
            "datatype_description": "true or false",
            "order": 2,
            "description": "Keep the whole report from every public view (default false).",
            "values": YES_NO,
        },
        {
            **common,
            "code": "accuracy_m",
            "datatype": "number",
            "datatype_description": "metres",
            "order": 3,
            "description": "The stated accuracy of lat/long in metres.",
            "values": [],
        },
        {
            **common,
            "code": "idempotency_key",
            "datatype": "string",
            "datatype_description": f"1 to {IDEMPOTENCY_KEY_MAX} characters, e.g. a UUID",
            "order": 4,
            "description": "A key of the client's for this request (or the Idempotency-Key header): a retry with "
            "the same key and content files nothing new and gets the same service_request_id; the same key with "
            "other content is refused with 409.",
            "values": [],
        },
    ]


# --- requests --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    ids: list[uuid.UUID] | None
    service_codes: list[str] | None
    status: str | None
    start: datetime
    end: datetime
    page: int
    page_size: int


def _parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} is not a W3C date-time, e.g. 2026-11-01T00:00:00Z") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise Open311Error(400, f"{name} is not a number") from exc
    if not low <= number <= high:
        raise Open311Error(400, f"{name} is {low} to {high}")
    return number


def parse_query(params: Any, now: datetime) -> Query:
    ids = None
    if params.get("service_request_id"):
        try:
            ids = [uuid.UUID(v.strip()) for v in params["service_request_id"].split(",") if v.strip()]
        except ValueError as exc:
            raise Open311Error(400, "service_request_id is a comma-separated list of ids") from exc
    codes = [c.strip() for c in params["service_code"].split(",") if c.strip()] if params.get("service_code") else None
    status = params.get("status")
    if status is not None and status not in ("open", "closed"):
        raise Open311Error(400, "status is open or closed")
    end = _parse_time(params["end_date"], "end_date") if params.get("end_date") else now
    start = (
        _parse_time(params["start_date"], "start_date") if params.get("start_date") else end - timedelta(DEFAULT_DAYS)
    )
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    return Query(
        ids=ids,
        service_codes=codes,
        status=status,
        start=start,
        end=end,
        page=_int(params.get("page"), "page", 1, 1, 100_000),
        page_size=_int(params.get("page_size"), "page_size", 50, 1, PAGE_SIZE_MAX),
    )


async def find_requests(session: AsyncSession, reference: ReferenceData, q: Query) -> list[Report]:
    query = select(Report).where(Report.confidential.is_(False))
    if q.ids is not None:
        query = query.where(Report.id.in_(q.ids))
    else:
        query = query.where(Report.created_at >= q.start, Report.created_at <= q.end)
    if q.service_codes is not None:
        wanted = [reference.category_codes[c].id for c in q.service_codes if c in reference.category_codes]
        query = query.where(Report.category_id.in_(wanted or [-1]))
    if q.status == "closed":
        query = query.where(Report.status.in_(sorted(CLOSED)))
    elif q.status == "open":
        query = query.where(Report.status.not_in(sorted(CLOSED)))
    query = query.order_by(Report.created_at.desc(), Report.id.desc())
    query = query.offset((q.page - 1) * q.page_size).limit(q.page_size)
    return list(await session.scalars(query))


async def _last_notes(session: AsyncSession, report_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The newest public note of each report."""
    rows = await session.execute(
        select(ReportStatusChange.report_id, ReportStatusChange.public_note)
        .where(ReportStatusChange.report_id.in_(report_ids), ReportStatusChange.public_note.is_not(None))
        .order_by(ReportStatusChange.report_id, ReportStatusChange.id.desc())
        .ext(distinct_on(ReportStatusChange.report_id))
    )
    return {report_id: note or "" for report_id, note in rows}


def _request_row(r: Report, reference: ReferenceData, note: str | None) -> dict[str, Any]:
    category = reference.categories[r.category_id]
    point = to_shape(r.location)
    lat, lon = point.y, point.x
    if category.sensitive:
        lat, lon = round(lat, PUBLIC_SENSITIVE_DECIMALS), round(lon, PUBLIC_SENSITIVE_DECIMALS)
    kelurahan = reference.kelurahan[r.kelurahan_id]
    place = [kelurahan.name, reference.kecamatan[r.kecamatan_id].name, reference.kota[r.kota_id].name]
    label = STATUS_LABELS_ID[r.status]
    closed = r.status in CLOSED
    return {
        "service_request_id": str(r.id),
        "status": "closed" if closed else "open",
        "status_notes": f"{label}: {note}" if note else label,
        "service_name": category.name_id,
        "service_code": category.code,
        "description": r.description,
        "agency_responsible": reference.units[r.unit_id].name,
        "service_notice": (
            f"Respons {category.response_hours:g} jam kerja, selesai {category.completion_hours:g} jam kerja"
        ),
        "requested_datetime": _time(r.created_at),
        "updated_datetime": _time(r.updated_at),
        "expected_datetime": None if closed else _time(r.completion_due_at),
        "address": ", ".join(place),
        "address_id": kelurahan.code,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }


def _client_request_id(header: str | None, attribute: dict[str, str]) -> str:
    """createReport's clientRequestId for a POST: the client's idempotency key if it gave one (the header or the
    attribute, the same if both), else a fresh one, so that every POST without a key files a report."""
    keys = {k.strip() for k in (header, attribute.get("idempotency_key")) if k is not None}
    if len(keys) > 1:
        raise Open311Error(400, "the Idempotency-Key header and attribute[idempotency_key] differ")
    key = keys.pop() if keys else None
    if key is None:
        return f"open311-{uuid.uuid4()}"
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise Open311Error(400, f"an idempotency key has 1 to {IDEMPOTENCY_KEY_MAX} characters")
    return IDEMPOTENCY_PREFIX + key


# --- the routes ------------------------------------------------------------------------------------------


def open311_routes(resources: Resources) -> list[Route]:
    def handler(fn: Callable[..., Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            fmt = request.path_params.get("fmt", "json")
            if fmt not in FORMATS:
                return _error("json", 404, "formats are json and xml")
            try:
                response: Response = await fn(request, fmt)
                return response
            except Open311Error as exc:
                return _error(fmt, exc.status, exc.description, exc.headers)

        return endpoint

    async def discovery(request: Request, fmt: str) -> Response:
        base = str(request.base_url).rstrip("/") + "/open311/v2/"
        row = {
            "changeset": CHANGESET,
            "contact": "Jakarta Smart City: https://smartcity.jakarta.go.id",
            "key_service": "Ask the city's Smart City office for an api_key to POST requests.",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production" if resources.settings.environment == "production" else "test",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return _respond_one(fmt, "discovery", row)

    async def services(request: Request, fmt: str) -> Response:
        reference = await resources.reference.get()
        active = sorted((c for c in reference.categories.values() if c.active), key=lambda c: (c.sort_order, c.code))
        return _respond(fmt, "services", "service", [_service(c) for c in active])

    async def service(request: Request, fmt: str) -> Response:
        reference = await resources.reference.get()
        category = reference.active_category(request.path_params["code"])
        if category is None:
            raise Open311Error(404, "no such service_code")
        return _respond_one(fmt, "service_definition", {"service_code": category.code, "attributes": _attributes()})

    async def requests_list(request: Request, fmt: str) -> Response:
        if request.method == "POST":
            return await post_request(request, fmt)
        reference = await resources.reference.get()
        query = parse_query(request.query_params, datetime.now(UTC))

        async def read(session: AsyncSession) -> tuple[list[Report], dict[uuid.UUID, str]]:
            found = await find_requests(session, reference, query)
            return found, await _last_notes(session, [r.id for r in found])

        # Public and anonymous: the replica's answer, at most JSC_READ_REPLICA_MAX_LAG_S old, will do.
        found, notes = await resources.public_read(read)
        return _respond(
            fmt, "service_requests", "request", [_request_row(r, reference, notes.get(r.id)) for r in found]
        )

    async def one_request(request: Request, fmt: str) -> Response:
        try:
            report_id = uuid.UUID(request.path_params["id"])
        except ValueError as exc:
            raise Open311Error(404, "no such service_request_id") from exc
        reference = await resources.reference.get()

        async def read(session: AsyncSession) -> tuple[Report | None, dict[uuid.UUID, str]]:
            report = await session.get(Report, report_id)
            if report is None or report.confidential:
                return None, {}
            return report, await _last_notes(session, [report.id])

        report, notes = await resources.public_read(read)
        if report is None:
            # A client asks for the request it has just filed: a replica that has not replayed it yet is no
            # answer, the primary is.
            async with resources.sessions() as session:
                report, notes = await read(session)
        if report is None:
            raise Open311Error(404, "no such service_request_id")
        return _respond(fmt, "service_requests", "request", [_request_row(report, reference, notes.get(report.id))])

    async def token(request: Request, fmt: str) -> Response:
        # Requests are filed at once: the token POST gave back is the request's id.
        try:
            report_id = uuid.UUID(request.path_params["id"])
        except ValueError as exc:
            raise Open311Error(404, "no such token") from exc
        async with resources.unit_of_work() as session:
            report = await session.get(Report, report_id)
        if report is None or report.confidential:
            raise Open311Error(404, "no such token")
        return _respond(
            fmt, "service_requests", "request", [{"service_request_id": str(report.id), "token": str(report.id)}]
        )

    async def post_request(request: Request, fmt: str) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise Open311Error(400, "send the request as application/x-www-form-urlencoded")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        api_key = str(form.get("api_key") or request.query_params.get("api_key") or "")
        email = resources.settings.open311_api_keys.get(api_key)
        # Before the key is judged, so that guessing keys is limited per address too.
        await _rate_limit(request, app=email)
        if email is None:
            raise Open311Error(403, "api_key missing or not valid")
        reference = await resources.reference.get()
        code = str(form.get("service_code") or "")
        if reference.active_category(code) is None:
            raise Open311Error(404 if code else 400, "service_code missing or not a service")
        try:
            lat, lon = float(str(form.get("lat"))), float(str(form.get("long")))
        except ValueError as exc:
            raise Open311Error(400, "lat and long are required (addresses are not geocoded here)") from exc
        attribute = {k[len("attribute[") : -1]: str(v) for k, v in form.items() if k.startswith("attribute[")}
        accuracy = attribute.get("accuracy_m")
        data = report_rules.NewReport(
            client_request_id=_client_request_id(request.headers.get("idempotency-key"), attribute),
            category=code,
            description=str(form.get("description") or "").strip() or reference.category_codes[code].name_id,
            lat=lat,
            lon=lon,
            accuracy_m=float(accuracy) if accuracy and accuracy.replace(".", "", 1).isdigit() else None,
            anonymous=attribute.get("anonymous", "true") != "false",
            confidential=attribute.get("confidential", "false") == "true",
        )
        jobs = JobBuffer()
        try:
            async with resources.unit_of_work() as session:
                reporter = await session.scalar(select(User.id).where(User.email == email))
                if reporter is None:
                    raise Open311Error(403, "the account of this api_key is gone")
                filed = await report_rules.create_report(
                    session,
                    resources.storage,
                    resources.settings,
                    reference,
                    reporter_id=reporter,
                    data=data,
                    jobs=jobs,
                    now=datetime.now(UTC),
                )
                await defer_in_transaction(session, jobs.drain())
        except DomainError as exc:
            if exc.code == "CONFLICT":
                raise Open311Error(409, "this idempotency key was already used for a different request") from exc
            raise Open311Error(400, f"{exc.code}: {exc.message}") from exc
        category = reference.category_codes[code]
        notice = (
            f"Diteruskan ke {reference.units[filed.report.unit_id].name}; respons {category.response_hours:g} jam kerja"
        )
        rows = [{"service_request_id": str(filed.report.id), "service_notice": notice, "account_id": None}]
        return _respond(fmt, "service_requests", "request", rows, status=201)

    async def _rate_limit(request: Request, *, app: str | None) -> None:
        client = request.client
        who = {"ip": client.host if client else None, "app": app}
        try:
            await rate_limits.check(resources.engine, resources.settings, "open311Post", who, now=datetime.now(UTC))
        except rate_limits.Limited as exc:
            raise Open311Error(
                429, f"too many requests; try again in {exc.retry_after} s", {"Retry-After": str(exc.retry_after)}
            ) from exc

    prefix = "/open311/v2"
    return [
        Route(f"{prefix}/discovery.{{fmt}}", handler(discovery), methods=["GET"]),
        Route(f"{prefix}/services.{{fmt}}", handler(services), methods=["GET"]),
        Route(f"{prefix}/services/{{code}}.{{fmt}}", handler(service), methods=["GET"]),
        Route(f"{prefix}/requests.{{fmt}}", handler(requests_list), methods=["GET", "POST"]),
        Route(f"{prefix}/requests/{{id}}.{{fmt}}", handler(one_request), methods=["GET"]),
        Route(f"{prefix}/tokens/{{id}}.{{fmt}}", handler(token), methods=["GET"]),
    ]
