"""`ims-bot chat`: talk to the real bot in a terminal, without Telegram or a token.

The console builds the very application the Telegram bot runs (`build_application`) on the
in-process `OfflineBotApi`, turns each typed line into an `Update` for `process_update`, and
prints the Bot API calls the handlers made as a transcript. Nothing here answers a user: the
handlers do, so what works in the console works in Telegram.

With `demo=True` the console starts on the demo data set in a throwaway SQLite database
(deleted at exit), on the demo's fixed date, with the demo GSTIN as the user's active
workspace.

Input lines:
* `/command args` and free text go to the bot as Telegram would deliver them;
* a number `N` presses button N of the latest message that shows buttons;
* `/send FILE [caption]` uploads a file; `/say TEXT` sends TEXT even if it is a number;
* `/quit`, `/exit` or end of input ends the session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import mimetypes
import re
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from telegram import Update

from ims_bot.app import AnyApplication, build_application
from ims_bot.db import Database
from ims_bot.offline import ApiCall, OfflineBotApi, OfflineError
from ims_bot.settings import Settings

if TYPE_CHECKING:
    from ims_bot.importer import ImportReport
    from ims_bot.workspaces import Workspace

#: The Telegram user (and private chat) the console speaks as.
CONSOLE_USER_ID = 1_000_001
PROMPT = "you> "
DEFAULT_OUTPUT_DIR = Path("ims-bot-output")
QUIT_COMMANDS = frozenset({"/quit", "/exit"})
INDENT = "     "

BANNER_DEMO = """\
IMS Bot console - offline demo (no Telegram, nothing leaves this computer).
Demo taxpayer: {name}, GSTIN {gstin}, {records} IMS records; today is {today}.
Try: /start, /pending, 1, what is IMS?, /recompute 112025, /deadlines, /help
Type a number to press that button of the latest message with buttons.
/send FILE uploads a file, /say TEXT sends text as typed, /quit ends the demo.
Portal sync without a provider account: in a checkout, run `python -m tests.e2e.gsp_server`
(a stand-in provider), start this demo with the IMS_BOT_GSP_* and IMS_BOT_SECRET_KEY it
prints, then /connect (any username, OTP 575757), /sync, /upload, /regenerate 112025."""

BANNER_PLAIN = """\
IMS Bot console (offline: no Telegram; database {database}).
Try: /start, /help, what is IMS?
Type a number to press that button of the latest message with buttons.
/send FILE uploads a file, /say TEXT sends text as typed, /quit ends."""

_SILENT_METHODS = frozenset(
    {"getme", "getfile", "download", "sendchataction", "setmycommands", "getmycommands",
     "deletemycommands", "getupdates", "deletewebhook", "close", "logout"}
)  # fmt: skip
_PRESS = re.compile(r"^\s*(\d{1,3})\s*$")
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Button:
    """A callback button the user can press by its number."""

    label: str
    data: str


@dataclass
class Transcript:
    """Renders Bot API calls as readable lines and remembers what a number presses."""

    api: OfflineBotApi
    out: IO[str]
    chat_id: int
    output_dir: Path
    #: (message_id, buttons) of the latest message shown with buttons.
    keyboard: tuple[int, list[Button]] | None = None
    saved: list[Path] = field(default_factory=list)

    def write(self, text: str = "") -> None:
        print(text, file=self.out)

    def show(self, calls: list[ApiCall]) -> None:
        shown = 0
        for call in calls:
            shown += self._show_one(call)
        if not shown:
            self.write("(no reply)\n")
        self._forget_stale_keyboard()
        self.out.flush()

    def _show_one(self, call: ApiCall) -> bool:
        """Print one call; False when it is not something a user would see."""
        method = call.method.lower()
        if method in _SILENT_METHODS:
            return False
        if call.error is not None:
            self.write(f"[bot API refused {call.method}: {call.error}]")
        elif method == "answercallbackquery":
            text = call.params.get("text")
            if not text:
                return False
            kind = "alert" if call.params.get("show_alert") else "notice"
            self.write(f"bot ({kind}): {text}")
        elif method in ("sendmessage", "senddocument", "sendphoto"):
            self._show_message(_result(call), edited=False)
        elif method in ("editmessagetext", "editmessagecaption", "editmessagereplymarkup"):
            self._show_message(_result(call), edited=True)
        elif method == "deletemessage":
            self.write(f"bot deleted message #{call.params.get('message_id')}")
        else:
            self.write(f"[bot called {call.method}]")
        return True

    def _show_message(self, message: Mapping[str, Any], *, edited: bool) -> None:
        chat_id = int((message.get("chat") or {}).get("id", self.chat_id))
        message_id = int(message.get("message_id", 0))
        who = "bot" if chat_id == self.chat_id else f"bot -> chat {chat_id}"
        if edited:
            who += f" (updated message #{message_id})"
        body = message.get("text") or message.get("caption") or ""
        attachment = self._save_attachment(message)
        if edited or not body:
            self.write(f"{who}:")
            lines = [body] if body else []
        else:
            self.write(f"{who}: " + _indent(body.split("\n", 1)[0]))
            lines = body.split("\n", 1)[1:]
        for text in [*lines, attachment or ""]:
            if text:
                self.write(_indent(text, first=True))
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        if chat_id == self.chat_id:
            self._show_keyboard(message_id, rows)
        self.write()

    def _show_keyboard(self, message_id: int, rows: list[list[Mapping[str, Any]]]) -> None:
        buttons: list[Button] = []
        for row in rows:
            cells = []
            for button in row:
                label = str(button.get("text", ""))
                if button.get("callback_data") is not None:
                    buttons.append(Button(label, str(button["callback_data"])))
                    cells.append(f"[{len(buttons)}] {label}")
                elif button.get("url"):
                    cells.append(f"({label}: {button['url']})")
                else:
                    cells.append(f"({label})")
            self.write(INDENT + "  ".join(cells))
        if buttons:
            self.keyboard = (message_id, buttons)
        elif self.keyboard is not None and self.keyboard[0] == message_id:
            self.keyboard = None  # the buttons we would press are gone

    def _forget_stale_keyboard(self) -> None:
        if self.keyboard is None:
            return
        message = self.api.messages.get((self.chat_id, self.keyboard[0]))
        if message is None or not message.buttons():
            self.keyboard = None

    def _save_attachment(self, message: Mapping[str, Any]) -> str | None:
        document = message.get("document")
        photos = message.get("photo")
        if document:
            file_id, name = document["file_id"], document.get("file_name") or "document"
        elif photos:
            file_id, name = photos[-1]["file_id"], f"photo-{message.get('message_id', 0)}.png"
        else:
            return None
        content = self.api.file_content(str(file_id))
        path = _free_path(self.output_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        self.saved.append(path)
        kind = "document" if document else "photo"
        return f"[{kind} {name}, {len(content):,} bytes, saved to {path}]"


def _result(call: ApiCall) -> Mapping[str, Any]:
    return call.result if isinstance(call.result, dict) else {}


def _indent(text: str, *, first: bool = False) -> str:
    """Continuation lines (and the first, if asked) indented under `bot: `, no trailing blanks."""
    lines = [INDENT + line if line.strip() else "" for line in text.split("\n")]
    if not first:
        lines[0] = lines[0][len(INDENT) :] if lines[0] else ""
    return "\n".join(lines)


def _free_path(directory: Path, name: str) -> Path:
    """`directory/name`, or `name-2`, `name-3`... when taken; never outside `directory`."""
    base = Path(name).name or "file"
    candidate = directory / base
    stem, suffix = Path(base).stem, Path(base).suffix
    number = 2
    while candidate.exists():
        candidate = directory / f"{stem}-{number}{suffix}"
        number += 1
    return candidate


@contextmanager
def _demo_database(settings: Settings) -> Iterator[tuple[Settings, str]]:
    """Settings on a fresh, seeded demo database in a temp dir (removed on exit), and a
    one-line description of the demo taxpayer for the banner."""
    from ims_bot.demo import DEMO_TODAY

    with tempfile.TemporaryDirectory(prefix="ims-bot-demo-") as directory:
        demo = dataclasses.replace(
            settings,
            database_url=f"sqlite:///{Path(directory) / 'demo.sqlite3'}",
            today_override=settings.today_override or DEMO_TODAY,
        )
        db = Database(demo.database_url)
        try:
            db.upgrade()
            workspace, report = seed_demo(db, demo)
        finally:
            db.dispose()
        banner = BANNER_DEMO.format(
            name=workspace.name,
            gstin=workspace.gstin,
            records=report.total,
            today=demo.today().strftime("%d %b %Y"),
        )
        yield demo, banner


def seed_demo(db: Database, settings: Settings) -> tuple[Workspace, ImportReport]:
    """Load the demo data set for the console user and make it their active workspace."""
    from ims_bot.access import AccessService
    from ims_bot.demo import load_demo

    workspace, report = load_demo(db, CONSOLE_USER_ID, today=settings.today)
    AccessService(db, settings.now).adopt(CONSOLE_USER_ID, CONSOLE_USER_ID, workspace.id)
    return workspace, report


class Console:
    """One console session over an initialized application."""

    def __init__(self, app: AnyApplication, api: OfflineBotApi, transcript: Transcript) -> None:
        self.app = app
        self.api = api
        self.transcript = transcript
        self.user_id = transcript.chat_id

    async def handle(self, line: str) -> bool:
        """Act on one input line; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        command, _, rest = text.partition(" ")
        command = command.lower()
        if command in QUIT_COMMANDS:
            return False
        if command == "/send":
            await self._send_file(rest.strip())
        elif command == "/say":
            if rest.strip():
                await self._feed(self.api.text_update(self.user_id, rest.strip()))
            else:
                self.transcript.write("(usage: /say TEXT)\n")
        elif (press := _PRESS.match(text)) and self.transcript.keyboard is not None:
            await self._press(int(press.group(1)))
        elif text.startswith("/") and len(text) > 1:
            name = command[1:].split("@", 1)[0]
            await self._feed(self.api.command_update(self.user_id, name, rest.strip()))
        else:
            await self._feed(self.api.text_update(self.user_id, text))
        return True

    async def _press(self, number: int) -> None:
        assert self.transcript.keyboard is not None
        message_id, buttons = self.transcript.keyboard
        if not 1 <= number <= len(buttons):
            self.transcript.write(
                f"(no button {number}: the latest buttons are numbered 1-{len(buttons)};"
                " /say TEXT sends a number as text)\n"
            )
            return
        button = buttons[number - 1]
        self.transcript.write(f"(pressed [{number}] {button.label})")
        try:
            update = self.api.callback_update(self.user_id, message_id, button.data)
        except OfflineError as exc:
            self.transcript.write(f"(cannot press: {exc})\n")
            return
        await self._feed(update)

    async def _send_file(self, argument: str) -> None:
        path_text, caption = _split_file_argument(argument)
        if not path_text:
            self.transcript.write("(usage: /send FILE [caption])\n")
            return
        try:
            path = Path(path_text).expanduser()
            content = _read_upload(path)
        except (OSError, ValueError, RuntimeError) as exc:
            # ValueError: a NUL in the name; RuntimeError: `~nobody` has no home directory.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            shown = path_text if len(path_text) <= 80 else path_text[:79] + "…"
            self.transcript.write(f"(cannot read {shown!r}: {reason})\n")
            return
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.transcript.write(f"(sending {path.name}, {len(content):,} bytes)")
        update = self.api.document_update(
            self.user_id, path.name, content, mime, caption=caption or None
        )
        await self._feed(update)

    async def _feed(self, update: Update) -> None:
        start = len(self.api.calls)
        try:
            await self.app.process_update(update)
        except Exception as exc:  # the transcript must survive a failing handler
            self.transcript.write(f"(the bot failed on this input: {type(exc).__name__}: {exc})")
        self.transcript.show(self.api.calls[start:])


class UploadRefused(ValueError):
    """A file the console will not send: not a regular file, or over the upload limit."""


def _read_upload(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_UPLOAD bytes (what the bot takes).

    Devices, pipes and directories are refused before they are opened: `/dev/zero` would be
    read without end, and opening a FIFO waits for a writer."""
    from handlers.screens import MAX_UPLOAD

    if not stat.S_ISREG(path.stat().st_mode):
        raise UploadRefused("not a regular file")
    with path.open("rb") as stream:
        content = stream.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise UploadRefused(f"over {MAX_UPLOAD // (1024 * 1024)} MB, more than the bot takes")
    return content


def _split_file_argument(argument: str) -> tuple[str, str]:
    """`"my file.json" caption` or `file.json caption` -> (path, caption)."""
    argument = argument.strip()
    if argument[:1] in ("'", '"'):
        quote = argument[0]
        end = argument.find(quote, 1)
        if end > 0:
            return argument[1:end], argument[end + 1 :].strip()
    path, _, caption = argument.partition(" ")
    try:
        whole = Path(argument).expanduser().exists()  # a path with spaces, typed unquoted
    except (OSError, ValueError, RuntimeError):  # too long, a NUL, `~nobody`
        whole = False
    if whole:
        return argument, ""
    return path, caption.strip()


def _read_line(stdin: IO[str], stdout: IO[str], interactive: bool) -> str | None:
    """The next input line, or None at the end of input. Bytes that were not UTF-8 (kept
    as lone surrogates by Python's surrogateescape) come back as U+FFFD."""
    if interactive:
        try:
            line = input(PROMPT) if _is_std(stdin, stdout) else _prompted(stdin, stdout)
        except EOFError:
            return None
        return _SURROGATES.sub("\ufffd", line)
    line = stdin.readline()
    return None if line == "" else _SURROGATES.sub("\ufffd", line.rstrip("\r\n"))


def _tolerate_bad_bytes(stdin: IO[str], stdout: IO[str]) -> None:
    """Input that is not UTF-8 reads as U+FFFD, and output the terminal cannot encode is
    escaped, instead of either ending the session with a traceback."""
    for stream, errors in ((stdin, "replace"), (stdout, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(ValueError, OSError):  # a closed or odd stream: keep it as it is
                reconfigure(errors=errors)


def _is_std(stdin: IO[str], stdout: IO[str]) -> bool:
    return stdin is sys.stdin and stdout is sys.stdout


def _prompted(stdin: IO[str], stdout: IO[str]) -> str:
    stdout.write(PROMPT)
    stdout.flush()
    line = stdin.readline()
    if line == "":
        raise EOFError
    return line.rstrip("\r\n")


async def run_console(
    settings: Settings,
    *,
    demo: bool,
    stdin: IO[str],
    stdout: IO[str],
    output_dir: Path | None = None,
) -> int:
    """Chat with the bot on `stdin`/`stdout` until /quit or end of input; the exit code.

    When `stdin` is not a terminal each input line is echoed as `> line` before the bot's
    replies, so that a piped script yields a readable transcript.
    """
    interactive = _isatty(stdin)
    _tolerate_bad_bytes(stdin, stdout)
    # Never use a configured token offline: nothing must reach Telegram from here.
    settings = dataclasses.replace(settings, token=None)
    with _session_settings(settings, demo) as (session_settings, banner):
        api = OfflineBotApi()
        app = build_application(session_settings, request=api, rate_limiter=False)
        await app.initialize()
        try:
            # post_init is what run_polling would run: migrations, Core, command menu.
            if app.post_init is not None:
                await app.post_init(app)
            api.bind(app.bot)
            api.clear()
            transcript = Transcript(api, stdout, CONSOLE_USER_ID, output_dir or DEFAULT_OUTPUT_DIR)
            console = Console(app, api, transcript)
            transcript.write(banner + "\n")
            await _loop(console, stdin, stdout, interactive)
        finally:
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
    stdout.flush()
    return 0


async def _loop(console: Console, stdin: IO[str], stdout: IO[str], interactive: bool) -> None:
    while True:
        try:
            line = _read_line(stdin, stdout, interactive)
        except KeyboardInterrupt:
            line = None
        except UnicodeDecodeError:  # a stream that could not be told to replace bad bytes
            console.transcript.write("(the input is not UTF-8 text: the session ends)")
            return
        if line is None:
            if interactive:
                console.transcript.write()
            return
        if not interactive:
            console.transcript.write(f"> {line}")
        try:
            if not await console.handle(line):
                return
        except KeyboardInterrupt:
            return


@contextmanager
def _session_settings(settings: Settings, demo: bool) -> Iterator[tuple[Settings, str]]:
    if demo:
        with _demo_database(settings) as prepared:
            yield prepared
    else:
        yield settings, BANNER_PLAIN.format(database=_safe_url(settings.database_url))


def _safe_url(url: str) -> str:
    from ims_bot.db import parse_database_url

    return parse_database_url(url).render_as_string(hide_password=True)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def console_main(
    settings: Settings,
    *,
    demo: bool,
    stdin: IO[str],
    stdout: IO[str],
    output_dir: Path | None = None,
) -> int:
    """Synchronous entry point for the CLI: runs `run_console` in a fresh event loop."""
    try:
        return asyncio.run(
            run_console(settings, demo=demo, stdin=stdin, stdout=stdout, output_dir=output_dir)
        )
    except KeyboardInterrupt:
        return 0
