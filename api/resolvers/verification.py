"""Supervisor verification of completions: the supervisor's verdict, and the admins' setting per category."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.resolvers.common import error_code, now
from api.resolvers.reports import present_reports
from api.resolvers.workflow import CLIENT_REQUEST_ID, Replayable, actor_of, current_report, report_id_of, request_of
from api.schema.catalogue import Category
from api.schema.reports import Report
from domain import idempotency, models, verification
from domain.errors import DomainError


@strawberry.enum(description="Why verifyCompletion failed.")
class VerifyCompletionErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    REASON_REQUIRED = "REASON_REQUIRED"
    NOTE_TOO_LONG = "NOTE_TOO_LONG"
    CONFLICT = "CONFLICT"
    INVALID_CLIENT_REQUEST_ID = "INVALID_CLIENT_REQUEST_ID"


@strawberry.type(description="A problem with a verification.")
class VerifyCompletionError:
    code: VerifyCompletionErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The input field at fault.")


@strawberry.type(description="Result of verifyCompletion.")
class VerifyCompletionPayload:
    report: Report | None = strawberry.field(description="The report after the verdict; null on error.")
    errors: list[VerifyCompletionError] = strawberry.field(description="Empty on success.")


@strawberry.input(description="The supervisor's verdict on a completion waiting for verification (VERIFYING).")
class VerifyCompletionInput:
    report_id: strawberry.ID = strawberry.field(description="The report.")
    accept: bool = strawberry.field(
        description="true: the work is done (COMPLETED; the reporter may rate it); false: send it back to the unit "
        "(IN_PROGRESS)."
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Required to send the work back: what is wrong with it. Staff only: recorded as the history "
        "row's internal note and sent to the unit's officers.",
    )
    public_note: str | None = strawberry.field(default=None, description="Shown to the reporter and the public.")
    internal_note: str | None = strawberry.field(default=None, description="Seen by staff only.")
    client_request_id: str | None = strawberry.field(default=None, description=CLIENT_REQUEST_ID)


@strawberry.enum(description="Why a category setting could not be changed.")
class CategorySettingsErrorCode(enum.Enum):
    FORBIDDEN = "FORBIDDEN"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"


@strawberry.type(description="A problem with a category setting.")
class CategorySettingsError:
    code: CategorySettingsErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="Human-readable explanation.")
    field: str | None = strawberry.field(description="The argument at fault.")


@strawberry.type(description="Result of a change to a category's settings.")
class CategorySettingsPayload:
    category: Category | None = strawberry.field(description="The category as saved; null on error.")
    errors: list[CategorySettingsError] = strawberry.field(description="Empty on success.")


@strawberry.type
class VerificationMutations:
    @strawberry.mutation(
        description="The supervisor (the camat's office for a kelurahan, the walikota office for a kecamatan or a "
        "Suku Dinas) accepts a completion waiting for verification, or sends it back with a reason."
    )
    async def verify_completion(self, info: Info, input: VerifyCompletionInput) -> VerifyCompletionPayload:
        context: Context = info.context
        actor = await actor_of(context)
        reference = await context.resources.reference.get()
        verdict = verification.Verdict(
            accept=input.accept, reason=input.reason, public_note=input.public_note, internal_note=input.internal_note
        )

        # A supervisor's phone replays a verdict given offline with the same id: the replay gets the report as it
        # is now, not INVALID_TRANSITION because the first one already moved it.
        replayable = Replayable("verifyCompletion", input.client_request_id, request_of(input))

        async def run(session: AsyncSession) -> models.Report:
            return await idempotency.once(
                session,
                replayable.key(actor),
                act=lambda: verification.verify_completion(
                    session,
                    reference,
                    actor=actor,
                    report_id=report_id_of(input.report_id),
                    verdict=verdict,
                    jobs=context.jobs,
                    now=now(),
                ),
                record=lambda report: {"reportId": str(report.id)},
                replay=lambda outcome: current_report(session, outcome["reportId"]),
                now=now(),
            )

        try:
            row = await context.db(run)
        except DomainError as exc:
            code = error_code(context, exc, VerifyCompletionErrorCode)
            return VerifyCompletionPayload(
                report=None, errors=[VerifyCompletionError(code=code, message=exc.message, field=exc.field)]
            )
        return VerifyCompletionPayload(report=(await present_reports(context, [row]))[0], errors=[])

    @strawberry.mutation(
        description="Whether a category's completions wait for the supervisor's verification (admins). It counts "
        "for completions made from now on; reports already waiting keep waiting for their verdict."
    )
    async def set_category_verification(
        self,
        info: Info,
        category: Annotated[str, strawberry.argument(description="Category code, e.g. street-vendors.")],
        required: Annotated[bool, strawberry.argument(description="true: completions are verified.")],
    ) -> CategorySettingsPayload:
        context: Context = info.context
        try:
            if context.require_viewer().role != models.Role.ADMIN:
                raise DomainError("FORBIDDEN", "Only admins change category settings.")
            row = await context.db(
                lambda session: verification.set_category_verification(
                    session, category_code=category, required=required
                )
            )
        except DomainError as exc:
            code = error_code(context, exc, CategorySettingsErrorCode)
            return CategorySettingsPayload(
                category=None, errors=[CategorySettingsError(code=code, message=exc.message, field=exc.field)]
            )
        context.on_commit.append(context.resources.reference.invalidate)
        return CategorySettingsPayload(category=Category.from_model(row), errors=[])
