from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.schema.catalogue import Unit, unit_of
from domain import models

RoleEnum = strawberry.enum(models.Role, name="Role", description="What an account may do.")


@strawberry.type(description="The logged-in account.")
class Me:
    id: strawberry.ID = strawberry.field(description="Account id.")
    email: str | None = strawberry.field(description="Login e-mail, lower-case.")
    phone: str | None = strawberry.field(description="Login phone number in E.164 form.")
    display_name: str = strawberry.field(description="Name shown on reports that are not anonymous.")
    role: RoleEnum = strawberry.field(description="Citizen, officer, auditor or admin.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the account was made.")
    unit_id: strawberry.Private[int | None]

    @strawberry.field(description="The office an officer belongs to; null for everyone else.")
    def unit(self, info: Info) -> Unit | None:
        return unit_of(info, self.unit_id)

    @classmethod
    def from_model(cls, m: models.User) -> Me:
        return cls(
            id=strawberry.ID(str(m.id)),
            email=m.email,
            phone=m.phone,
            display_name=m.display_name,
            role=m.role,
            created_at=m.created_at,
            unit_id=m.unit_id,
        )


@strawberry.type(description="A staff account, as admins see it.")
class StaffAccount:
    id: strawberry.ID = strawberry.field(description="Account id.")
    email: str | None = strawberry.field(description="Login e-mail, lower-case.")
    display_name: str = strawberry.field(description="Name.")
    role: RoleEnum = strawberry.field(description="Officer, auditor or admin.")  # type: ignore[valid-type]
    closed_at: datetime | None = strawberry.field(description="When an admin closed the account; null while open.")
    unit_id: strawberry.Private[int | None]

    @strawberry.field(description="The office an officer belongs to; null for everyone else.")
    def unit(self, info: Info) -> Unit | None:
        return unit_of(info, self.unit_id)

    @classmethod
    def from_model(cls, m: models.User) -> StaffAccount:
        return cls(
            id=strawberry.ID(str(m.id)),
            email=m.email,
            display_name=m.display_name,
            role=m.role,
            closed_at=m.closed_at,
            unit_id=m.unit_id,
        )


@strawberry.type(description="Tokens for a logged-in session.")
class AuthSession:
    access_token: str = strawberry.field(description="JWT for the Authorization: Bearer header; short-lived.")
    refresh_token: str = strawberry.field(
        description="Single-use token for refreshToken; each use returns a new one. Keep it secret."
    )
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: Me = strawberry.field(description="The account.")
