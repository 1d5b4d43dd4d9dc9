"""A stand-in Telegram Bot API server over real HTTP, for black-box tests of `ims-bot run`.

    server = TelegramServer(token="123:TEST").start()   # aiohttp on 127.0.0.1, own thread
    env["IMS_BOT_API_URL"] = server.api_url               # http://127.0.0.1:PORT/bot
    server.user_sends(USER, "/start")
    message = await server.wait_for_message(USER, lambda m: "Namaste" in m.plain_text)

It serves `/bot<token>/<method>` (GET or POST; form, JSON or multipart bodies) and file
downloads at `/file/bot<token>/<path>`, and is as strict as Telegram where bots trip up — the
rules of `ims_bot.offline`, answered with Telegram's JSON error shape:

* text over 4096 characters (after entity parsing) → 400 "message is too long";
* callback data over 64 bytes → 400 "BUTTON_DATA_INVALID";
* HTML that Telegram cannot parse → 400 "can't parse entities: …";
* an edit that changes nothing → 400 "message is not modified";
* answering a callback query twice, or one never delivered → 400 "query is too old".

Faults are switched on per method for the next N calls (`fail`): 429 with
`parameters.retry_after`, any 5xx, a dropped connection, or a slow answer.

The server runs its own event loop in a daemon thread, so tests in any loop (or none) can
drive it; its state is guarded by one lock and every test-facing method is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ims_bot.offline import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    BotApiRefusal,
    check_markup,
    html_problem,
    telegram_length,
)

BOT_ID = 4_242_000
BOT_USERNAME = "ims_e2e_bot"
_JSON = dict[str, Any]
# Parameters PTB sends JSON-encoded inside a form body.
_JSON_PARAMS = frozenset(
    {
        "reply_markup", "commands", "entities", "caption_entities", "link_preview_options",
        "allowed_updates", "reply_parameters", "scope", "media",
    }
)  # fmt: skip
_TAG = re.compile(r"<[^>]*>")


class ApiError(Exception):
    """A Bot API refusal, answered as Telegram does: HTTP status and `{"ok": false, ...}`."""

    def __init__(self, description: str, status: int = 400, **parameters: Any) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.parameters = parameters


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request (sendDocument, sendPhoto)."""

    file_name: str | None
    content: bytes
    mime_type: str | None


@dataclass(frozen=True)
class Call:
    """One request the bot made: method, decoded parameters, and the answer it got."""

    seq: int
    at: float
    method: str
    params: Mapping[str, Any]
    error: str | None = None
    status: int = 200
    result: Any = None

    @property
    def text(self) -> str | None:
        value = self.params.get("text", self.params.get("caption"))
        return None if value is None else str(value)


@dataclass
class Message:
    """A message in a chat, as the server holds it (the latest version after edits)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    seq: int  # bumped on every send or edit, for "newer than" waits
    user_id: int | None = None
    text: str | None = None  # as sent, e.g. with HTML tags
    parse_mode: str | None = None
    reply_markup: _JSON | None = None
    document: _JSON | None = None
    photo: list[_JSON] | None = None
    edits: int = 0

    @property
    def plain_text(self) -> str:
        """The text as a client shows it (HTML tags removed, entities decoded)."""
        if self.text is None:
            return ""
        if (self.parse_mode or "").upper() == "HTML":
            return html.unescape(_TAG.sub("", self.text))
        return self.text

    def buttons(self) -> list[tuple[str, str | None]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b.get("text", ""), b.get("callback_data")) for row in rows for b in row]

    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons()]


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Fault:
    kind: str  # "429", "5xx" status as text, "drop" or "slow"
    remaining: int
    retry_after: int = 1
    delay: float = 0.0


@dataclass
class TelegramServer:
    """The Bot API over HTTP for one bot token, with a Python API for playing users."""

    token: str = "123:TEST"
    host: str = "127.0.0.1"
    calls: list[Call] = field(default_factory=list, repr=False)
    messages: dict[tuple[int, int], Message] = field(default_factory=dict, repr=False)
    commands: list[_JSON] = field(default_factory=list, repr=False)
    port: int = 0
    polls: int = 0  # getUpdates calls answered or waiting: the bot is up once this grows
    arrived: dict[str, int] = field(default_factory=dict, repr=False)  # requests per method
    # Users' names as Telegram sends them in `from` (first_name, last_name, username).
    profiles: dict[int, _JSON] = field(default_factory=dict, repr=False)
    _released: int = 0  # bumped to end every long poll in flight at once
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _files: dict[str, _File] = field(default_factory=dict, repr=False)
    _updates: list[_JSON] = field(default_factory=list, repr=False)
    _confirmed: int = 0  # update ids below this were confirmed by an offset
    _next_update: int = 1
    _next_message: dict[int, int] = field(default_factory=dict, repr=False)
    _next_file: int = 1
    _seq: int = 0
    _open_queries: set[str] = field(default_factory=set, repr=False)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _update_ready: asyncio.Event | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> TelegramServer:
        """Listen on an ephemeral port of 127.0.0.1 (returns once it accepts connections)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=serve, name="telegram-server", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _listen(self) -> None:
        self._update_ready = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # --- faults -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        kind: str | int,
        *,
        times: int = 1,
        retry_after: int = 1,
        delay: float = 2.0,
    ) -> None:
        """Make the next `times` calls of `method` fail: kind 429 (with `retry_after`), a 5xx
        status, "drop" (close the connection unanswered) or "slow" (answer after `delay`)."""
        fault = _Fault(str(kind), times, retry_after, delay)
        with self._lock:
            self._faults.setdefault(method.lower(), []).append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            faults = self._faults.get(method.lower(), [])
            while faults and faults[0].remaining <= 0:
                faults.pop(0)
            if not faults:
                return None
            faults[0].remaining -= 1
            return faults[0]

    # --- playing users ------------------------------------------------------------------

    def set_profile(
        self, user_id: int, first_name: str, last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        """What Telegram will say of `user_id` in the `from` of their updates."""
        profile: _JSON = {"first_name": first_name}
        if last_name is not None:
            profile["last_name"] = last_name
        if username is not None:
            profile["username"] = username
        with self._lock:
            self.profiles[user_id] = profile

    def user_sends(
        self, user_id: int, text: str, *, reply_to: int | None = None, chat_id: int | None = None
    ) -> int:
        """A message from `user_id` in their private chat, or in group `chat_id` (a negative
        id, as Telegram's groups have); a `/command` gets its entity. Returns the server's
        sequence number, for `wait_for_message(..., since=...)`."""
        content: _JSON = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        with self._lock:
            if reply_to is not None:
                chat = user_id if chat_id is None else chat_id
                content["reply_to_message"] = self._message_json(self.messages[(chat, reply_to)])
            return self._user_message(user_id, content, chat_id)

    def user_sends_document(
        self, user_id: int, name: str, content: bytes, mime_type: str = "application/json"
    ) -> int:
        with self._lock:
            stored = self._store_file(content, name, mime_type)
            document = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_name": name,
                "mime_type": mime_type,
                "file_size": len(content),
            }
            return self._user_message(user_id, {"document": document})

    def user_presses(self, user_id: int, message_id: int, button: str) -> int:
        """Press a button of a bot message in the user's chat, named by its exact label, the
        only label containing `button`, or its exact callback data."""
        with self._lock:
            buttons = self.messages[(user_id, message_id)].buttons()
            matches = [b for b in buttons if b[0] == button] or [
                b for b in buttons if button in b[0]
            ] or [b for b in buttons if b[1] == button]
            if len(matches) != 1 or matches[0][1] is None:
                labels = [label for label, _ in buttons]
                raise LookupError(f"no single callback button {button!r} among {labels}")
            return self.user_sends_callback(user_id, message_id, matches[0][1])

    def user_sends_callback(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> int:
        """A press carrying `data` as given, under bot message `message_id` of the user's
        private chat or of group `chat_id` (forged or replayed data); returns the sequence
        number before the press."""
        with self._lock:
            message = self.messages[(user_id if chat_id is None else chat_id, message_id)]
            query_id = f"q{self._next_update}"
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": self._user_json(user_id),
                "chat_instance": f"ci{message.chat_id}",
                "message": self._message_json(message),
                "data": data,
            }
            self._queue({"callback_query": query})
            return self._seq

    def take_updates(self) -> list[_JSON]:
        """Remove and return the queued updates, for a test to post to a webhook itself."""
        with self._lock:
            taken, self._updates = self._updates, []
            return taken

    def arrivals(self, method: str) -> int:
        """How many requests of `method` reached the server, answered or not (yet)."""
        with self._lock:
            return self.arrived.get(method.lower(), 0)

    def release_polls(self) -> None:
        """Answer every waiting getUpdates now (empty), as when a bot is being stopped."""
        with self._lock:
            self._released += 1
        if self._loop is not None and self._update_ready is not None:
            self._loop.call_soon_threadsafe(self._update_ready.set)

    def mark(self) -> int:
        """The current sequence number: messages sent or edited later are newer than it."""
        with self._lock:
            return self._seq

    # --- inspection ---------------------------------------------------------------------

    def bot_messages(self, chat_id: int, since: int = 0) -> list[Message]:
        """The bot's messages in a chat (latest versions), oldest first; with `since`, only
        those sent or edited after that sequence number."""
        with self._lock:
            return sorted(
                (m for m in self.messages.values()
                 if m.from_bot and m.chat_id == chat_id and m.seq > since),
                key=lambda m: m.message_id,
            )

    def calls_to(self, *methods: str, since: int = 0) -> list[Call]:
        wanted = {m.lower() for m in methods}
        with self._lock:
            return [c for c in self.calls
                    if c.seq > since and (not wanted or c.method.lower() in wanted)]

    def answers(self, since: int = 0) -> list[Call]:
        """answerCallbackQuery calls (with their toast or alert text)."""
        return self.calls_to("answerCallbackQuery", since=since)

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id].content

    def pending_updates(self) -> int:
        with self._lock:
            return len([u for u in self._updates if u["update_id"] >= self._confirmed])

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[Message], bool] = lambda _: True,
        timeout: float = 20.0,
        *,
        since: int = 0,
    ) -> Message:
        """The first bot message in `chat_id` (newer than `since`) satisfying `predicate`."""
        return await self._wait(
            lambda: next((m for m in self.bot_messages(chat_id, since) if predicate(m)), None),
            timeout, f"no message in chat {chat_id} matched",
            lambda: [m.plain_text[:200] for m in self.bot_messages(chat_id)][-5:],
        )

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda _: True,
        timeout: float = 20.0,
        *,
        since: int = 0,
    ) -> Call:
        return await self._wait(
            lambda: next((c for c in self.calls_to(method, since=since) if predicate(c)), None),
            timeout, f"no {method} call matched",
            lambda: [(c.method, c.error) for c in self.calls_to(since=since)][-10:],
        )

    async def _wait(
        self, probe: Callable[[], Any], timeout: float, what: str, context: Callable[[], Any]
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {timeout}s; latest: {context()}")
            await asyncio.sleep(0.02)

    # --- HTTP ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error_response(ApiError("Unauthorized", 401))
        method = request.match_info["method"]
        with self._lock:
            self.arrived[method.lower()] = self.arrived.get(method.lower(), 0) + 1
        params = await _params(request)
        fault = self._take_fault(method)
        if fault is not None:
            answer = await self._inject(request, method, params, fault)
            if answer is not None:
                return answer
        handler = getattr(self, f"_api_{method.lower()}", None)
        try:
            if handler is None:
                raise ApiError("Not Found", 404)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            self._record(method, params, error=exc.description, status=exc.status)
            return _error_response(exc)
        except (KeyError, ValueError, TypeError) as exc:
            error = ApiError(f"Bad Request: {type(exc).__name__}: {exc}")
            self._record(method, params, error=error.description, status=400)
            return _error_response(error)
        if method.lower() != "getupdates" or result:
            self._record(method, params, result=result)
        return web.json_response({"ok": True, "result": result})

    async def _inject(
        self, request: web.Request, method: str, params: _JSON, fault: _Fault
    ) -> web.StreamResponse | None:
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            return None
        if fault.kind == "drop":
            self._record(method, params, error="connection dropped", status=0)
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # aiohttp: nothing more is written
        if fault.kind == "429":
            error = ApiError(
                f"Too Many Requests: retry after {fault.retry_after}", 429,
                retry_after=fault.retry_after,
            )
        else:
            error = ApiError("Internal Server Error", int(fault.kind))
        self._record(method, params, error=error.description, status=error.status)
        return _error_response(error)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error_response(ApiError("Unauthorized", 401))
        path = request.match_info["path"]
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return _error_response(ApiError("Not Found", 404))
        self._record("download", {"file_path": path})
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _record(self, method: str, params: Mapping[str, Any], **outcome: Any) -> None:
        with self._lock:
            self._seq += 1
            self.calls.append(Call(self._seq, time.monotonic(), method, dict(params), **outcome))

    # --- Bot API methods ----------------------------------------------------------------

    def _api_getme(self, _params: _JSON) -> _JSON:
        return {
            "id": BOT_ID, "is_bot": True, "first_name": "IMS Bot (e2e)",
            "username": BOT_USERNAME, "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
        }  # fmt: skip

    async def _api_getupdates(self, params: _JSON) -> list[_JSON]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        assert self._update_ready is not None
        with self._lock:
            self.polls += 1
            released = self._released
        while True:
            with self._lock:
                if offset:
                    self._confirmed = max(self._confirmed, offset)
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
                if ready or time.monotonic() >= deadline or self._released != released:
                    return ready
                self._update_ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_ready.wait(), deadline - time.monotonic())

    def _api_sendmessage(self, params: _JSON) -> _JSON:
        text = _checked_text(params.get("text"), params.get("parse_mode"), MAX_TEXT_LENGTH)
        markup = _checked_markup(params.get("reply_markup"))
        with self._lock:
            message = self._bot_message(params, text, markup)
            return self._message_json(message)

    def _api_editmessagetext(self, params: _JSON) -> _JSON:
        text = _checked_text(params.get("text"), params.get("parse_mode"), MAX_TEXT_LENGTH)
        markup = _checked_markup(params.get("reply_markup"))
        with self._lock:
            message = self._editable(params)
            if message.text is None or message.document or message.photo:
                raise ApiError("Bad Request: there is no text in the message to edit")
            same = (text, params.get("parse_mode")) == (message.text, message.parse_mode)
            if same and markup == message.reply_markup:
                raise ApiError(NOT_MODIFIED)
            message.text, message.parse_mode, message.reply_markup = (
                text, params.get("parse_mode"), markup,
            )
            self._touch(message)
            return self._message_json(message)

    def _api_editmessagereplymarkup(self, params: _JSON) -> _JSON:
        markup = _checked_markup(params.get("reply_markup"))
        with self._lock:
            message = self._editable(params)
            if markup == message.reply_markup:
                raise ApiError(NOT_MODIFIED)
            message.reply_markup = markup
            self._touch(message)
            return self._message_json(message)

    def _api_deletemessage(self, params: _JSON) -> bool:
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            if self.messages.pop(key, None) is None:
                raise ApiError("Bad Request: message to delete not found")
        return True

    def _api_answercallbackquery(self, params: _JSON) -> bool:
        with self._lock:
            query_id = params.get("callback_query_id")
            if query_id not in self._open_queries:
                raise ApiError(QUERY_TOO_OLD)
            if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
                raise ApiError("Bad Request: MESSAGE_TOO_LONG")
            self._open_queries.discard(query_id)
        return True

    def _api_senddocument(self, params: _JSON) -> _JSON:
        return self._send_file(params, "document")

    def _api_sendphoto(self, params: _JSON) -> _JSON:
        return self._send_file(params, "photo")

    def _send_file(self, params: _JSON, kind: str) -> _JSON:
        caption = params.get("caption")
        if caption is not None:
            caption = _checked_text(caption, params.get("parse_mode"), MAX_CAPTION_LENGTH,
                                    what="message caption")
        upload = params.get(kind)
        if not isinstance(upload, Upload):
            raise ApiError("Bad Request: wrong file identifier/HTTP URL specified")
        markup = _checked_markup(params.get("reply_markup"))
        with self._lock:
            stored = self._store_file(upload.content, upload.file_name, upload.mime_type)
            message = self._bot_message(params, caption, markup)
            info = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.content)}
            if kind == "photo":
                message.photo = [{**info, "width": 800, "height": 600}]
            else:
                message.document = {**info, "file_name": upload.file_name or "file",
                                    "mime_type": upload.mime_type or "application/octet-stream"}
            return self._message_json(message)

    def _api_getfile(self, params: _JSON) -> _JSON:
        with self._lock:
            stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError("Bad Request: invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content), "file_path": stored.file_path}

    def _api_setmycommands(self, params: _JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError("Bad Request: can't parse commands JSON object")
        with self._lock:
            self.commands = commands
        return True

    def _api_getmycommands(self, _params: _JSON) -> list[_JSON]:
        return list(self.commands)

    def _api_deletemycommands(self, _params: _JSON) -> bool:
        return True

    def _api_sendchataction(self, params: _JSON) -> bool:
        int(params["chat_id"])
        return True

    def _api_deletewebhook(self, _params: _JSON) -> bool:
        return True

    def _api_setwebhook(self, _params: _JSON) -> bool:
        return True

    def _api_getwebhookinfo(self, _params: _JSON) -> _JSON:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _api_close(self, _params: _JSON) -> bool:
        return True

    def _api_logout(self, _params: _JSON) -> bool:
        return True

    # --- helpers (called with the lock held) -------------------------------------------

    def _queue(self, content: _JSON) -> None:
        update = {"update_id": self._next_update, **content}
        self._next_update += 1
        self._updates.append(update)
        if self._loop is not None and self._update_ready is not None:
            self._loop.call_soon_threadsafe(self._update_ready.set)

    def _user_message(self, user_id: int, content: _JSON, chat_id: int | None = None) -> int:
        chat = user_id if chat_id is None else chat_id
        self._seq += 1
        message = Message(chat, self._new_id(chat), int(time.time()), False, self._seq,
                          user_id=user_id, text=content.get("text"))
        self.messages[(chat, message.message_id)] = message
        self._queue({"message": {**self._message_json(message), **content}})
        return self._seq

    def _bot_message(self, params: _JSON, text: str | None, markup: _JSON | None) -> Message:
        chat_id = int(params["chat_id"])
        self._seq += 1
        message = Message(chat_id, self._new_id(chat_id), int(time.time()), True, self._seq,
                          text=text, parse_mode=params.get("parse_mode"), reply_markup=markup)
        self.messages[(chat_id, message.message_id)] = message
        return message

    def _editable(self, params: _JSON) -> Message:
        if "inline_message_id" in params:
            raise ApiError("Bad Request: inline messages are not supported here")
        message = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
        if message is None:
            raise ApiError("Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError("Bad Request: message can't be edited")
        return message

    def _touch(self, message: Message) -> None:
        self._seq += 1
        message.seq = self._seq
        message.edits += 1

    def _store_file(self, content: bytes, name: str | None, mime: str | None) -> _File:
        number = self._next_file
        self._next_file += 1
        suffix = "." + name.rsplit(".", 1)[-1] if name and "." in name else ""
        stored = _File(f"file-{number}", f"unique-{number}", f"documents/file_{number}{suffix}",
                       content, name, mime)
        self._files[stored.file_id] = stored
        return stored

    def _user_json(self, user_id: int) -> _JSON:
        profile = self.profiles.get(user_id, {"first_name": f"User {user_id}"})
        return {"id": user_id, "is_bot": False, **profile}

    def _new_id(self, chat_id: int) -> int:
        number = self._next_message.get(chat_id, 1)
        self._next_message[chat_id] = number + 1
        return number

    def _message_json(self, message: Message) -> _JSON:
        data: _JSON = {"message_id": message.message_id, "date": message.date,
                       "chat": _chat(message.chat_id)}
        data["from"] = (self._api_getme({}) if message.from_bot
                        else self._user_json(message.user_id or 0))
        if message.text is not None:
            key = "caption" if (message.document or message.photo) else "text"
            data[key] = message.plain_text
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.document:
            data["document"] = message.document
        if message.photo:
            data["photo"] = message.photo
        return data


# --- request decoding and Telegram's rules ---------------------------------------------------


async def _params(request: web.Request) -> _JSON:
    """Parameters of a GET query, a JSON body, or a form/multipart body (files → Upload)."""
    params: _JSON = dict(request.query)
    if request.method == "POST":
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                params[key] = value
    for key in list(params):
        value = params[key]
        if key in _JSON_PARAMS and isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise ApiError(f"Bad Request: can't parse {key} JSON object") from None
        elif isinstance(value, str) and value.startswith("attach://"):
            params[key] = params.get(value.removeprefix("attach://"), value)
    return params


def _error_response(error: ApiError) -> web.Response:
    body: _JSON = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


def _checked_text(text: object, parse_mode: object, limit: int, what: str = "message") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ApiError("Bad Request: message text is empty")
    plain = text
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        problem = html_problem(text)
        if problem:
            raise ApiError(f"Bad Request: can't parse entities: {problem}")
        plain = html.unescape(_TAG.sub("", text))
    if not plain.strip():
        raise ApiError("Bad Request: message text is empty")
    if telegram_length(plain) > limit:
        raise ApiError(f"Bad Request: {what} is too long")
    return text


def _checked_markup(markup: object) -> _JSON | None:
    try:
        return check_markup(markup)
    except BotApiRefusal as refusal:
        raise ApiError(refusal.description, refusal.status) from None


def _chat(chat_id: int) -> _JSON:
    """Telegram's convention: positive ids are private chats with a user, negative are groups."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
