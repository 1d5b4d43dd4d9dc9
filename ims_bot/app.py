"""The composition root: the only place that wires settings, services and handlers together.

`build_application(settings)` returns an un-started python-telegram-bot `Application`;
`run_polling` / `run_webhook` run it. Tests and the console demo build the very same app
with `request=OfflineBotApi()` and feed it updates.

Owned resources follow the application's lifecycle: the FAQ knowledge base is loaded and
the database migrated in `post_init`, the database disposed in `post_shutdown`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from faq.kb import KnowledgeBase, load_knowledge_base
from faq.matcher import Matcher
from handlers import (
    errors,
    fallbacks,
    faq,
    records,
    reminder_texts,
    reminders,
    start,
    texts,
    trace,
    workspace,
)
from handlers.callbackdata import BULK_PREFIX, FAQ_PREFIX, LIST_PREFIX, REC_PREFIX, WS_PREFIX
from handlers.context import install_core
from ims_bot import reminders as reminder_service
from ims_bot.access import AccessService
from ims_bot.db import Database
from ims_bot.offline import OFFLINE_TOKEN
from ims_bot.recompute import PeriodService
from ims_bot.records import RecordService
from ims_bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True)
class Core:
    """Everything handlers may use, built once per application.

    The services over the database are derived from `db` (None when there is none)."""

    settings: Settings
    kb: KnowledgeBase
    matcher: Matcher
    db: Database | None = None
    access: AccessService | None = field(init=False, default=None)
    records: RecordService | None = field(init=False, default=None)
    periods: PeriodService | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.db is not None:
            # Frozen dataclass: the derived services are set once, here.
            object.__setattr__(self, "access", AccessService(self.db, self.settings.now))
            object.__setattr__(self, "records", RecordService(self.db, self.settings.today))
            object.__setattr__(self, "periods", PeriodService(self.db, self.settings.today))


def build_core(settings: Settings, db: Database | None) -> Core:
    """Load the FAQ and build the matcher (reads the data files: call from post_init)."""
    kb = load_knowledge_base()
    return Core(settings=settings, kb=kb, matcher=Matcher(kb), db=db)


def handler_table() -> list[tuple[BaseHandler[Any, Any, Any], int]]:
    """Every handler with its group, in the order PTB tries them.

    Within a group the first matching handler wins; every group gets each update unless a
    handler raises `ApplicationHandlerStop`. Feature handlers for commands and buttons go in
    group 0, *before* the catch-alls at its end.
    """
    private_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    record_buttons = rf"^({WS_PREFIX}|{REC_PREFIX}|{LIST_PREFIX}|{BULK_PREFIX}):"
    return [
        # -- group -1, cross-cutting: sees every update before any feature does.
        (TypeHandler(Update, trace.log_update), -1),
        # -- group -2, cross-cutting: a command ends any wait for typed remarks (group -2 so
        # that it does not compete with the trace handler in group -1).
        (MessageHandler(filters.COMMAND, records.forget_prompt), -2),
        # -- group 0, commands.
        (CommandHandler("start", start.start), 0),
        (CommandHandler("help", start.help_command), 0),
        (CommandHandler("faq", faq.browse), 0),
        # GSTINs and access: who may see which workspace.
        (CommandHandler("link", workspace.link), 0),
        (CommandHandler("gstin", workspace.gstins), 0),
        (CommandHandler("unlink", workspace.unlink), 0),
        (CommandHandler("invite", workspace.invite), 0),
        (CommandHandler("join", workspace.join), 0),
        (CommandHandler("demo", workspace.demo), 0),
        # Records of the active GSTIN.
        (CommandHandler("pending", records.pending), 0),
        (CommandHandler("history", records.history), 0),
        (CommandHandler("recompute", records.recompute), 0),
        (CommandHandler("summary", records.summary), 0),
        (CommandHandler("export", records.export), 0),
        # Deadlines and reminder settings.
        (CommandHandler("deadlines", reminders.deadlines), 0),
        (CommandHandler("remind", reminders.remind), 0),
        # The portal's IMS file, sent as a document.
        (MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE, records.document), 0),
        # -- group 0, buttons, routed by prefix; callbackdata parses the rest.
        (CallbackQueryHandler(faq.button, pattern=rf"^{FAQ_PREFIX}:"), 0),
        (CallbackQueryHandler(records.button, pattern=record_buttons), 0),
        # Buttons under a reminder message (open records / recompute of its GSTIN), and
        # the /remind settings buttons.
        (
            CallbackQueryHandler(
                reminders.from_reminder, pattern=reminder_texts.REMINDER_BUTTONS_PATTERN
            ),
            0,
        ),
        (CallbackQueryHandler(reminders.button, pattern=reminder_texts.SETTINGS_PATTERN), 0),
        # -- group 0, catch-alls: must stay last in group 0, or they would shadow features.
        (CallbackQueryHandler(fallbacks.unknown_button), 0),
        (MessageHandler(filters.COMMAND, fallbacks.unknown_command), 0),
        # -- group 5, text typed in answer to a prompt (reject remarks, partial reduction);
        # it raises ApplicationHandlerStop when it consumed the text, so the FAQ stays out.
        (MessageHandler(private_text, records.typed_reply), 5),
        # -- group 10, free text as an FAQ question. Late on purpose: a flow waiting for
        # text (e.g. a reject remark) registers in an earlier group and raises
        # ApplicationHandlerStop once it has consumed the message.
        (MessageHandler(private_text, faq.question), 10),
    ]


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    core: Core | None = None,
    rate_limiter: bool = True,
) -> AnyApplication:
    """An un-started Application for `settings`.

    `request` replaces the HTTP client (e.g. `OfflineBotApi`) for both API calls and
    getUpdates; then a dummy token is used if none is configured. `core` replaces the one
    post_init would build (tests pass a ready Core). `rate_limiter=False` drops PTB's
    AIORateLimiter, for tests and the console where nothing is throttled.
    """
    token = settings.token or (OFFLINE_TOKEN if request is not None else None)
    if token is None:
        raise SettingsError("IMS_BOT_TOKEN is required to talk to Telegram")
    db = core.db if core is not None else Database(settings.database_url)

    async def post_init(application: AnyApplication) -> None:
        ready = core or build_core(settings, db)
        if ready.db is not None:
            ready.db.upgrade()
        install_core(application, ready)
        if ready.db is not None:
            # The sweep runs once the application starts (run_polling / run_webhook).
            reminder_service.schedule(
                application, ready.db, settings.now, interval_seconds=settings.reminder_interval
            )
        commands = [BotCommand(c.name, c.description) for c in texts.COMMANDS]
        try:
            await application.bot.set_my_commands(commands)
        except TelegramError:
            # The menu is a convenience; a bot that cannot set it should still answer.
            logger.warning("Could not set the bot's command menu", exc_info=True)

    async def post_shutdown(_: AnyApplication) -> None:
        if db is not None:
            db.dispose()

    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limiter:
        # Retry a request Telegram answered 429 (after its retry_after) instead of losing it.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    for handler, group in handler_table():
        application.add_handler(handler, group=group)
    application.add_error_handler(errors.on_error)
    return application


def run_polling(settings: Settings) -> None:
    """Run the bot with long polling until interrupted."""
    build_application(settings).run_polling(allowed_updates=Update.ALL_TYPES)


def run_webhook(settings: Settings, *, url: str, listen: str, port: int, secret: str) -> None:
    """Run PTB's webhook server; Telegram must present `secret` with every update.

    The server listens on the path of the public `url`, so a reverse proxy can forward it
    unchanged.
    """
    if not secret:
        raise SettingsError("a webhook needs a secret token")
    build_application(settings).run_webhook(
        listen=listen,
        port=port,
        url_path=urlsplit(url).path.lstrip("/"),
        webhook_url=url,
        secret_token=secret,
        allowed_updates=Update.ALL_TYPES,
    )
