"""The composition root: the only place that wires settings, services and handlers together.

`build_application(settings)` returns an un-started python-telegram-bot `Application`;
`run_polling` / `run_webhook` run it (the webhook's HTTP server is `ims_bot.webhook`). Tests
and the console demo build the very same app with `request=OfflineBotApi()` and feed it
updates.

Owned resources follow the application's lifecycle: the FAQ knowledge base is loaded and
the database migrated in `post_init`, the database disposed in `post_shutdown`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from faq.kb import KnowledgeBase, load_knowledge_base
from faq.matcher import Matcher
from handlers import (
    errors,
    fallbacks,
    faq,
    gsp,
    privacy,
    reconciliation,
    records,
    reminder_texts,
    reminders,
    start,
    texts,
    trace,
    workspace,
)
from handlers.callbackdata import (
    BULK_PREFIX,
    FAQ_PREFIX,
    LIST_PREFIX,
    REC_PREFIX,
    RECONCILE_PREFIX,
    WS_PREFIX,
)
from handlers.context import install_core, installed_core
from ims_bot import reminders as reminder_service
from ims_bot import webhook as webhook_server
from ims_bot.access import AccessService
from ims_bot.db import Database
from ims_bot.errors import BotStartFailed
from ims_bot.gsp import schedule as gsp_schedule
from ims_bot.gsp.service import GspService
from ims_bot.offline import OFFLINE_TOKEN
from ims_bot.polling import Poller
from ims_bot.prompts import PromptService
from ims_bot.recompute import PeriodService
from ims_bot.records import RecordService
from ims_bot.settings import Settings, SettingsError
from ims_bot.update_order import PerUserUpdateProcessor

logger = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Callback = Callable[[Update, Any], Coroutine[Any, Any, None]]


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
    prompts: PromptService | None = field(init=False, default=None)
    gsp: GspService | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.db is not None:
            # Frozen dataclass: the derived services are set once, here.
            object.__setattr__(self, "access", AccessService(self.db, self.settings.now))
            object.__setattr__(self, "records", RecordService(self.db, self.settings.today))
            object.__setattr__(self, "periods", PeriodService(self.db, self.settings.today))
            object.__setattr__(self, "prompts", PromptService(self.db, self.settings.now))
            object.__setattr__(self, "gsp", GspService(self.db, self.settings))


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
    private = filters.ChatType.PRIVATE
    private_text = filters.TEXT & ~filters.COMMAND & private
    record_buttons = rf"^({WS_PREFIX}|{REC_PREFIX}|{LIST_PREFIX}|{BULK_PREFIX}):"
    register_files = filters.Document.FileExtension("csv") | filters.Document.FileExtension(
        "xlsx"
    )
    # Everything that shows or changes a GSTIN's data, or where its reminders go, runs only
    # in the user's private chat. A group's members are not the GSTIN's members: a /pending
    # typed in a group was answered there for everyone to read, and a /link, /join or
    # /remind made the group the chat that received the GSTIN's reminders. In any other
    # chat these commands and buttons get only a pointer to the private chat (privacy.py).
    gstin_commands: list[tuple[str, Callback]] = [
        # GSTINs and access: who may see which workspace.
        ("link", workspace.link),
        ("gstin", workspace.gstins),
        ("unlink", workspace.unlink),
        ("invite", workspace.invite),
        ("members", workspace.members),
        ("join", workspace.join),
        ("demo", workspace.demo),
        # Records of the active GSTIN.
        ("pending", records.pending),
        ("history", records.history),
        ("recompute", records.recompute),
        # What was filed outside the bot: GSTR-3B of a period, the annual return (s.16(4)).
        ("filed", records.filed),
        ("annualreturn", records.annual_return),
        ("summary", records.summary),
        ("export", records.export),
        # Naming a supplier (GSTN data has no trade names): a command, not a reply to a
        # prompt, so no state waits on the server and any replica can take it.
        ("supplier", records.supplier),
        # Deadlines and reminder settings.
        ("deadlines", reminders.deadlines),
        ("remind", reminders.remind),
        # The GST portal through the GSP provider (ims_bot.gsp): connect with the portal's
        # OTP, sync, upload decisions, regenerate GSTR-2B, disconnect.
        ("connect", gsp.connect),
        ("sync", gsp.sync),
        ("upload", gsp.upload),
        ("regenerate", gsp.regenerate),
        ("disconnect", gsp.disconnect),
    ]
    return [
        # -- group -1, cross-cutting: sees every update before any feature does.
        (trace.TraceHandler(), -1),
        # -- group -2, cross-cutting: a command ends any wait for typed remarks (group -2 so
        # that it does not compete with the trace handler in group -1).
        (MessageHandler(filters.COMMAND, records.forget_prompt), -2),
        # -- group 0, commands.
        (CommandHandler("start", start.start), 0),
        (CommandHandler("help", start.help_command), 0),
        (CommandHandler("faq", faq.browse), 0),
        *[(CommandHandler(name, run, filters=private), 0) for name, run in gstin_commands],
        # The same commands in a group or channel: only a link to the private chat.
        (
            CommandHandler(
                [name for name, _ in gstin_commands], privacy.command_elsewhere, filters=~private
            ),
            0,
        ),
        # The purchase register (CSV or Excel), sent as a document: reconciled with IMS.
        # Before the IMS file's handler, which takes every other document.
        (MessageHandler(register_files & private, reconciliation.document), 0),
        # The portal's IMS file, sent as a document.
        (MessageHandler(filters.Document.ALL & private, records.document), 0),
        # -- group 0, buttons, routed by prefix; callbackdata parses the rest.
        (CallbackQueryHandler(faq.button, pattern=rf"^{FAQ_PREFIX}:"), 0),
        # Any other button outside a private chat: an alert, and nothing shown (see above).
        (
            privacy.ButtonOutsidePrivateChat(
                privacy.button_elsewhere, pattern=rf"^(?!{FAQ_PREFIX}:)"
            ),
            0,
        ),
        (CallbackQueryHandler(records.button, pattern=record_buttons), 0),
        (CallbackQueryHandler(reconciliation.button, pattern=rf"^{RECONCILE_PREFIX}:"), 0),
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
        # -- group 5, text typed in answer to a prompt (reject remarks, partial reduction, the
        # username and OTP after /connect), found with one read of the prompts table; it
        # raises ApplicationHandlerStop when it consumed the text, so the FAQ stays out.
        (MessageHandler(private_text, records.typed_text), 5),
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
    webhook: bool = False,
) -> AnyApplication:
    """An un-started Application for `settings`.

    `request` replaces the HTTP client (e.g. `OfflineBotApi`) for both API calls and
    getUpdates; then a dummy token is used if none is configured. `core` replaces the one
    post_init would build (tests pass a ready Core). `rate_limiter=False` drops PTB's
    AIORateLimiter, for tests and the console where nothing is throttled. `webhook=True`
    builds it without an Updater: `ims_bot.webhook` feeds it the updates.
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
            if ready.gsp is not None and settings.gsp_api_key and settings.secret_key:
                # Portal sync on the days that matter, for GSTINs with an open session.
                gsp_schedule.schedule(application, ready.gsp, settings.now)
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
        # Different users concurrently, each user's updates in order (see update_order).
        .concurrent_updates(PerUserUpdateProcessor())
    )
    if webhook:
        builder = builder.updater(None)
    if request is not None:
        builder = builder.request(request)
        if not webhook:
            builder = builder.get_updates_request(request)
    if rate_limiter:
        # Retry a request Telegram answered 429 (after its retry_after) instead of losing it.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    for handler, group in handler_table():
        application.add_handler(handler, group=group)
    application.add_error_handler(errors.on_error)
    return application


@contextmanager
def _start_up_errors(settings: Settings) -> Iterator[None]:
    """Turn the Bot API's refusals at start-up into one line for the CLI, without the token
    (PTB's `InvalidToken` message quotes it)."""
    try:
        yield
    except InvalidToken:
        raise BotStartFailed(
            "Telegram rejected the token (IMS_BOT_TOKEN): it was revoked or mistyped; "
            "get the current one from @BotFather",
            retryable=False,
        ) from None
    except (NetworkError, RetryAfter) as exc:
        raise BotStartFailed(
            f"cannot reach the Bot API at {settings.api_url}: {exc.message}", retryable=True
        ) from None
    except TelegramError as exc:
        raise BotStartFailed(f"the Bot API refused: {exc.message}", retryable=False) from None


def run_polling(settings: Settings) -> None:
    """Run the bot with long polling until SIGINT or SIGTERM."""
    with _start_up_errors(settings):
        asyncio.run(_poll(build_application(settings, webhook=True)))


async def _poll(application: AnyApplication) -> None:
    """Start the application without PTB's Updater and poll with `ims_bot.polling`, which
    confirms an update to Telegram only once it is handled. A failure at start-up is raised
    to the CLI (one line) instead of logged with a traceback."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in webhook_server.STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        ledger = webhook_server.update_ledger(installed_core(application).db)
        await Poller(application, ledger).run(stop)
    finally:
        for sig in webhook_server.STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        if application.running:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def run_webhook(
    settings: Settings,
    *,
    url: str,
    listen: str,
    port: int,
    secret: str,
    max_connections: int = webhook_server.DEFAULT_MAX_CONNECTIONS,
) -> None:
    """Run the bot behind its own webhook server until SIGINT or SIGTERM.

    Telegram must present `secret` with every update. The server listens on the path of the
    public `url`, so a reverse proxy can forward it unchanged.
    """
    if not secret:
        raise SettingsError("a webhook needs a secret token")
    application = build_application(settings, webhook=True)

    def ledger() -> webhook_server.UpdateLedger:
        # Called after post_init, once the Core (and its database) is installed.
        return webhook_server.update_ledger(installed_core(application).db)

    with _start_up_errors(settings):
        asyncio.run(
            webhook_server.serve(
                application, url=url, listen=listen, port=port, secret=secret,
                max_connections=max_connections, ledger=ledger,
            )
        )
