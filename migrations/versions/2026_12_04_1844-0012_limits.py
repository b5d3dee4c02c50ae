"""Limits that cannot be walked around: rate_limits (GCRA, UNLOGGED) replaces the fixed-window rate_counters;
stored phone numbers re-normalised with phonenumbers, so that every spelling of a number finds one account

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:44:01.358941+00:00
"""

import logging
from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
# As domain/accounts.py; written out here so that this migration does the same whatever that module becomes.
PHONE_REGION = "ID"


def _e164(phone: str) -> str | None:
    try:
        number = phonenumbers.parse(phone, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phones(connection: Connection) -> None:
    """Every stored phone in E.164 as phonenumbers writes it. Where two accounts turn out to hold one number, the
    account that already holds it in that form keeps it (the one today's logins find), else the oldest; the
    others lose the phone if they can log in by e-mail, and keep what they had, with a warning, if not. A number
    phonenumbers does not accept is kept as it was, with a warning: its account can log in by e-mail only."""
    rows = connection.execute(
        sa.text("SELECT id, phone, email IS NOT NULL FROM users WHERE phone IS NOT NULL ORDER BY created_at, id")
    ).all()
    holders: dict[str, list[tuple[object, str, bool]]] = {}
    for user_id, phone, has_email in rows:
        canonical = _e164(phone)
        if canonical is None:
            log.warning("users %s: phone %s is not a valid number; kept as it was", user_id, phone)
            continue
        holders.setdefault(canonical, []).append((user_id, phone, has_email))
    set_phone = sa.text("UPDATE users SET phone = :phone WHERE id = :id")
    for canonical, accounts in holders.items():
        keeper = next((a for a in accounts if a[1] == canonical), accounts[0])
        for user_id, phone, has_email in accounts:
            if user_id == keeper[0]:
                continue
            if has_email:
                log.warning(
                    "users %s: phone %s is also account %s's; dropped (e-mail login stays)", user_id, phone, keeper[0]
                )
                connection.execute(set_phone, {"phone": None, "id": user_id})
            else:
                log.warning("users %s: phone %s is also account %s's; kept as it was", user_id, phone, keeper[0])
        if keeper[1] != canonical:
            connection.execute(set_phone, {"phone": canonical, "id": keeper[0]})


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column(
            "tat",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="theoretical arrival time: when the key is back to its full allowance",
        ),
        sa.Column("tolerance", sa.Interval(), nullable=False, comment="how far ahead of now the TAT may be"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
        prefixes=["UNLOGGED"],
    )
    op.drop_table("rate_counters")
    normalise_phones(op.get_bind())


def downgrade() -> None:
    # The phones stay in E.164, which the earlier code reads as well.
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_counters")),
        prefixes=["UNLOGGED"],
    )
    op.drop_table("rate_limits")
