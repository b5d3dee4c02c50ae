"""Response templates: ready public notes, read by staff, written and archived by admins."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.errors import ClientError, ErrorCode
from api.resolvers.common import INT4_MAX, error_code, now, row_id
from api.schema.catalogue import Category
from api.schema.reports import PublicPerson, ReportStatusEnum
from domain import models, templates
from domain.errors import DomainError


@strawberry.type(description="A ready public note for one category (or all) and one target status (or any).")
class ResponseTemplate:
    id: strawberry.ID = strawberry.field(description="Template id.")
    status: ReportStatusEnum | None = strawberry.field(  # type: ignore[valid-type]
        description="The status the officer moves the report to; null: any."
    )
    title: str = strawberry.field(description="Short name the officer picks it by.")
    body_id: str = strawberry.field(description="The note in Indonesian.")
    body_en: str | None = strawberry.field(description="The note in English, when there is one.")
    active: bool = strawberry.field(description="Offered to officers; false once archived.")
    specificity: int = strawberry.field(
        description="3: this category and status; 2: this category; 1: this status; 0: every report."
    )
    updated_at: datetime = strawberry.field(description="Last change.")
    category_id: strawberry.Private[int | None]
    updated_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The category; null: every category.")
    def category(self, info: Info) -> Category | None:
        category_id = self.category_id
        if category_id is None:
            return None
        return info.context.loaders.reference(lambda ref: Category.from_model(ref.categories[category_id]))

    @strawberry.field(description="Who last changed it.")
    async def updated_by(self, info: Info) -> PublicPerson | None:
        if self.updated_by_id is None:
            return None
        user = await info.context.loaders.user.load(self.updated_by_id)
        return PublicPerson(display_name=user.display_name) if user else None

    @classmethod
    def from_model(cls, m: models.ResponseTemplate) -> ResponseTemplate:
        return cls(
            id=strawberry.ID(str(m.id)),
            status=m.status,
            title=m.title,
            body_id=m.body_id,
            body_en=m.body_en,
            active=m.active,
            specificity=templates.specificity(m),
            updated_at=m.updated_at,
            category_id=m.category_id,
            updated_by_id=m.updated_by_id,
        )


@strawberry.input(description="A template's content; every field is replaced when an existing one is saved.")
class ResponseTemplateInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="The template to change; null: a new one.")
    category: str | None = strawberry.field(default=None, description="Category code; null: every category.")
    status: ReportStatusEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="COORDINATION, DISPOSITION, IN_PROGRESS, COMPLETED, REJECTED or DUPLICATE; null: any.",
    )
    title: str = strawberry.field(description=f"Short name, at most {templates.TITLE_MAX} characters.")
    body_id: str = strawberry.field(description=f"The note in Indonesian, at most {templates.BODY_MAX} characters.")
    body_en: str | None = strawberry.field(default=None, description="The note in English (optional).")
    active: bool = strawberry.field(default=True, description="Offered to officers.")


@strawberry.enum(description="Why a template could not be saved or archived.")
class ResponseTemplateErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    INVALID_STATUS = "INVALID_STATUS"
    TITLE_REQUIRED = "TITLE_REQUIRED"
    BODY_REQUIRED = "BODY_REQUIRED"
    TOO_LONG = "TOO_LONG"
    DUPLICATE_TITLE = "DUPLICATE_TITLE"


@strawberry.type(description="A template problem.")
class ResponseTemplateError:
    code: ResponseTemplateErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of saveResponseTemplate or archiveResponseTemplate.")
class ResponseTemplatePayload:
    template: ResponseTemplate | None = strawberry.field(description="The template as saved; null on error.")
    errors: list[ResponseTemplateError] = strawberry.field(description="Empty on success.")


def _require_admin(context: Context) -> None:
    if context.require_viewer().role != models.Role.ADMIN:
        raise DomainError("FORBIDDEN", "Only admins write response templates.")


def _template_id(value: str) -> int:
    found = row_id(value, largest=INT4_MAX)
    if found is None:
        raise DomainError("NOT_FOUND", "No such template.", field="id")
    return found


def _failed(context: Context, exc: DomainError) -> ResponseTemplatePayload:
    code = error_code(context, exc, ResponseTemplateErrorCode)
    return ResponseTemplatePayload(
        template=None, errors=[ResponseTemplateError(code=code, message=exc.message, field=exc.field)]
    )


@strawberry.type
class TemplateQueries:
    @strawberry.field(
        description="Response templates for a report of this category moving to this status (staff): those of the "
        "category and of every category, for the status and for any, most specific first. Without a category "
        "(or status), every one."
    )
    async def response_templates(
        self,
        info: Info,
        category: Annotated[str | None, strawberry.argument(description="Category code.")] = None,
        status: Annotated[
            ReportStatusEnum | None,  # type: ignore[valid-type]
            strawberry.argument(description="The status the report is moved to."),
        ] = None,
        include_archived: Annotated[bool, strawberry.argument(description="Also archived ones.")] = False,
    ) -> list[ResponseTemplate]:
        context: Context = info.context
        context.require_staff()
        category_id = None
        if category is not None:
            found = (await context.resources.reference.get()).category_codes.get(category)
            if found is None:
                raise ClientError(
                    ErrorCode.BAD_USER_INPUT, f"No category {category!r}.", field="category", reason="UNKNOWN_CATEGORY"
                )
            category_id = found.id
        query = templates.templates_query(category_id=category_id, status=status, include_archived=include_archived)

        async def run(session: AsyncSession) -> list[models.ResponseTemplate]:
            return list(await session.scalars(query))

        return [ResponseTemplate.from_model(t) for t in await context.db(run)]


@strawberry.type
class TemplateMutations:
    @strawberry.mutation(description="Create a response template, or replace one's content (admins).")
    async def save_response_template(self, info: Info, input: ResponseTemplateInput) -> ResponseTemplatePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            viewer = context.require_viewer()
            reference = await context.resources.reference.get()
            template_id = _template_id(input.id) if input.id is not None else None
            draft = templates.Draft(
                category_code=input.category,
                status=input.status,
                title=input.title,
                body_id=input.body_id,
                body_en=input.body_en,
                active=input.active,
            )

            async def run(session: AsyncSession) -> models.ResponseTemplate:
                return await templates.save_template(
                    session, reference, actor_id=viewer.user_id, template_id=template_id, draft=draft, now=now()
                )

            row = await context.db(run)
        except DomainError as exc:
            return _failed(context, exc)
        return ResponseTemplatePayload(template=ResponseTemplate.from_model(row), errors=[])

    @strawberry.mutation(description="Take a response template out of use (admins); it is kept, archived.")
    async def archive_response_template(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Template id.")]
    ) -> ResponseTemplatePayload:
        context: Context = info.context
        try:
            _require_admin(context)
            viewer = context.require_viewer()
            template_id = _template_id(id)
            row = await context.db(
                lambda session: templates.archive_template(
                    session, actor_id=viewer.user_id, template_id=template_id, now=now()
                )
            )
        except DomainError as exc:
            return _failed(context, exc)
        return ResponseTemplatePayload(template=ResponseTemplate.from_model(row), errors=[])
