"""Reading the licence plates stored with busway and no-stopping alerts: enforcement staff only, every read audited.

A plate identifies a vehicle's keeper, so it is personal data (UU 27/2022 on personal data protection): it is read
only where a rule asks for it (``read_plates``, off by default), kept apart from the alert (the command wall, the
staff feed and the public never carry it), shown only to the ENFORCEMENT role, and every look at it leaves a row
saying who, when, which alert and from where, in the same transaction as the read (no read without its audit).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError
from domain.models import AlertPlate, CctvAlert, PlateReadEvent, Role

MAX_ADDRESS = 64


def may_read_plates(role: Role) -> bool:
    return role == Role.ENFORCEMENT


async def alert_plates(
    session: AsyncSession,
    *,
    reader_id: uuid.UUID,
    reader_role: Role,
    alert_id: uuid.UUID,
    client_address: str | None,
    request_id: str | None,
    now: datetime,
) -> list[AlertPlate]:
    """The plates read with one alert, by vehicle (track); the read itself is recorded."""
    if not may_read_plates(reader_role):
        raise DomainError("FORBIDDEN", "Only enforcement staff read licence plates.")
    if await session.scalar(select(CctvAlert.id).where(CctvAlert.id == alert_id)) is None:
        raise DomainError("NOT_FOUND", "No such alert.", field="alertId")
    plates = list(
        await session.scalars(select(AlertPlate).where(AlertPlate.alert_id == alert_id).order_by(AlertPlate.track))
    )
    session.add(
        PlateReadEvent(
            alert_id=alert_id,
            reader_id=reader_id,
            client_address=client_address[:MAX_ADDRESS] if client_address else None,
            request_id=request_id,
            plates=len(plates),
            at=now,
        )
    )
    await session.flush()
    return plates
