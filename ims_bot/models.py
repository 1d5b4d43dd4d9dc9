"""SQLAlchemy 2 typed ORM models: the store of taxpayers, records, periods and the action log.

Money is `Numeric(15, 2)` (rupees and paise, exact). Periods are stored as sortable integers
`YYYYMM` (`Period.key`) and shown as the portal's `MMYYYY`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(15, 2, asdecimal=True)

#: The owner id of workspaces created from the command line (no Telegram user).
LOCAL_OWNER = 0


class Base(DeclarativeBase):
    pass


class Taxpayer(Base):
    """A GSTIN's workspace. Each Telegram user who links a GSTIN gets a workspace of their own,
    so that linking someone else's GSTIN never reveals that person's records."""

    __tablename__ = "taxpayers"
    __table_args__ = (UniqueConstraint("owner_id", "gstin", name="uq_taxpayer_owner_gstin"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gstin: Mapped[str] = mapped_column(String(15), index=True)
    owner_id: Mapped[int] = mapped_column(BigInteger, default=LOCAL_OWNER)
    name: Mapped[str] = mapped_column(String(200), default="")
    state_code: Mapped[str] = mapped_column(String(2))
    frequency: Mapped[str] = mapped_column(String(10), default="monthly")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Membership(Base):
    """Who may see and act on a workspace: its owner and those they invited."""

    __tablename__ = "memberships"

    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10), default="member")  # owner | member
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Invite(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """A Telegram user: their names, active workspace and reminder preferences."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The last chat the user linked or joined from. Not a destination: the bot writes to a
    # user only in their private chat, whose id in Telegram is the user's id.
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # As Telegram gave them when the user last linked or joined (shown to the owner in
    # /members): untrusted text, escaped wherever it is shown.
    name: Mapped[str | None] = mapped_column(String(150))
    username: Mapped[str | None] = mapped_column(String(40))
    active_taxpayer_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    remind_days: Mapped[str] = mapped_column(String(40), default="3,1")
    remind_time: Mapped[str] = mapped_column(String(5), default="09:00")
    remind_kinds: Mapped[str] = mapped_column(
        String(200), default="draft_2b,gstr3b_due,pending_window,itc_time_limit"
    )
    all_clear: Mapped[bool] = mapped_column(Boolean, default=True)


class Record(Base):
    """One IMS record (invoice, note, amendment, e-commerce document or bill of entry)."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("taxpayer_id", "natural_key", name="uq_record_key"),
        Index("ix_records_taxpayer_status_period", "taxpayer_id", "status", "itc_period_key"),
        Index("ix_records_taxpayer_itc_period", "taxpayer_id", "itc_period_key"),
        # Listings: newest first, and credit notes by period (see RecordService.list).
        Index("ix_records_taxpayer_date", "taxpayer_id", "doc_date", "id"),
        Index("ix_records_taxpayer_section", "taxpayer_id", "section", "status", "period_key"),
        Index("ix_records_taxpayer_supplier", "taxpayer_id", "supplier_gstin"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(10))
    # section|supplier|number|financial year: what identifies a document across re-imports.
    natural_key: Mapped[str] = mapped_column(String(120))
    supplier_gstin: Mapped[str] = mapped_column(String(15))
    supplier_name: Mapped[str] = mapped_column(String(200), default="")
    number: Mapped[str] = mapped_column(String(40))
    doc_date: Mapped[date | None] = mapped_column(Date)
    original_number: Mapped[str | None] = mapped_column(String(40))
    original_date: Mapped[date | None] = mapped_column(Date)
    supplier_period: Mapped[str] = mapped_column(String(6))  # rtnprd, MMYYYY
    period_key: Mapped[int] = mapped_column(Integer)  # GSTR-2B period, YYYYMM
    # The GSTR-2B period the record's ITC will land in: its own period, moved on when the
    # record was still pending as GSTR-3B of that period was filed (pending carries forward).
    itc_period_key: Mapped[int] = mapped_column(Integer)
    source_form: Mapped[str | None] = mapped_column(String(4))
    source_filed: Mapped[bool] = mapped_column(Boolean, default=True)
    inv_type: Mapped[str | None] = mapped_column(String(6))
    pos: Mapped[str | None] = mapped_column(String(2))
    doc_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    taxable_value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    igst: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    cgst: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    sgst: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    cess: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # upward | downward, for amendments whose direction the data or the original tells.
    direction: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="no_action")
    # The status the portal holds (from the last import): the export's `prev_status`.
    portal_status: Mapped[str] = mapped_column(String(10), default="no_action")
    remarks: Mapped[str | None] = mapped_column(String(250))
    reduction: Mapped[str | None] = mapped_column(String(10))  # full | partial | nil
    decl_igst: Mapped[Decimal | None] = mapped_column(Money)
    decl_cgst: Mapped[Decimal | None] = mapped_column(Money)
    decl_sgst: Mapped[Decimal | None] = mapped_column(Money)
    decl_cess: Mapped[Decimal | None] = mapped_column(Money)
    pending_blocked: Mapped[bool | None] = mapped_column(Boolean)
    itc_reduction_blocked: Mapped[bool | None] = mapped_column(Boolean)
    remarks_blocked: Mapped[bool | None] = mapped_column(Boolean)
    boe_gstin_amended: Mapped[bool] = mapped_column(Boolean, default=False)
    portal_hash: Mapped[str | None] = mapped_column(String(128))
    # The declaration (reduction and remarks) as the portal holds it, in the form of
    # `portal.decision_fingerprint`: a local change of it must be saved again (A → A).
    portal_decision: Mapped[str | None] = mapped_column(String(400))
    content_hash: Mapped[str] = mapped_column(String(64))
    acted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first import
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative API


class Supplier(Base):
    """A supplier's name in one workspace. GSTN data carries no trade name, so names come
    from wherever the user has one: a provider's `trdnm`, the user's own naming, the
    purchase register. A user's own naming is never overwritten by another source."""

    __tablename__ = "suppliers"

    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), primary_key=True
    )
    gstin: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10))  # portal | register | user
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AnnualReturn(Base):
    """The day a workspace's annual return (GSTR-9) for a financial year was filed: filed
    before 30 Nov, it ends the s.16(4) time limit for that year's ITC earlier."""

    __tablename__ = "annual_returns"

    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), primary_key=True
    )
    fy_start: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    filed_on: Mapped[date] = mapped_column(Date)


class Prompt(Base):
    """What the bot waits for a user to type (reject remarks, a partial reduction, ...).

    Kept here, not in one process's memory, so that any replica can finish the flow; and
    only the bot writes it, so text from a supplier or a user can never point a reply at
    another record. One open prompt per user; it expires."""

    __tablename__ = "prompts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # the prompt message sent
    kind: Mapped[str] = mapped_column(String(20))
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"))
    record_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a webhook retry of one is answered, not redone."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RegisterMapping(Base):
    """How a workspace's purchase register names its columns (field -> header), remembered
    once the user has told the bot which column is which."""

    __tablename__ = "register_mappings"

    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), primary_key=True
    )
    mapping: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReconcileRun(Base):
    """One reconciliation of IMS records with a purchase register: its groups and the
    record ids behind them, so that a button can apply a group on any replica."""

    __tablename__ = "reconcile_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict] = mapped_column(JSON)


class GspSession(Base):
    """A taxpayer's session with the GST portal through a GST Suvidha Provider. The token
    is stored only encrypted (IMS_BOT_SECRET_KEY)."""

    __tablename__ = "gsp_sessions"

    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(100))
    token_enc: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GspPlatformToken(Base):
    """The operator's platform token with a provider (from its API key and secret),
    encrypted, shared by every replica until it expires."""

    __tablename__ = "gsp_platform_tokens"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    token_enc: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GspRequest(Base):
    """A request sent to the portal whose outcome comes later (save, reset, GSTR-2B
    regeneration): polled by reference until done."""

    __tablename__ = "gsp_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # save | reset | regenerate
    reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # sent | done | failed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict | None] = mapped_column(JSON)


class PeriodState(Base):
    """What is known of a GSTIN's GSTR-2B period: the last recompute and whether 3B is filed."""

    __tablename__ = "period_states"

    taxpayer_id: Mapped[int] = mapped_column(
        ForeignKey("taxpayers.id", ondelete="CASCADE"), primary_key=True
    )
    period_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    gstr3b_filed_on: Mapped[date | None] = mapped_column(Date)
    last_recompute_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_figures: Mapped[dict | None] = mapped_column(JSON)


class ActionLog(Base):
    """Append-only history of every status change: who, when, through which channel, why."""

    __tablename__ = "action_log"
    __table_args__ = (
        Index("ix_action_log_taxpayer_at", "taxpayer_id", "id"),
        Index("ix_action_log_record", "record_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(40))  # "tg:<user id>", "cli", "import", ...
    channel: Mapped[str] = mapped_column(String(10))  # telegram | cli | import | system
    kind: Mapped[str] = mapped_column(String(16))  # action|undo|bulk|supplier_edit|portal|filed
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))
    remarks: Mapped[str | None] = mapped_column(String(250))
    reduction: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    batch: Mapped[str | None] = mapped_column(String(36), index=True)
    undone: Mapped[bool] = mapped_column(Boolean, default=False)


class Reminder(Base):
    """A reminder planned for a user about one deadline of one workspace.

    The table is the source of truth: a sweep claims due rows, sends, and marks them sent
    in the same transaction; the unique key makes planning idempotent and double sends
    impossible."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "taxpayer_id", "kind", "deadline", "days_before", name="uq_reminder"
        ),
        Index("ix_reminders_due", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    taxpayer_id: Mapped[int] = mapped_column(ForeignKey("taxpayers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # deadlines.DeadlineKind or "digest"
    period_key: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int] = mapped_column(Integer)
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # planned | sending | sent | uncertain (possibly delivered) | skipped | failed
    status: Mapped[str] = mapped_column(String(10), default="planned")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # sweeper "host:pid"
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(300))
