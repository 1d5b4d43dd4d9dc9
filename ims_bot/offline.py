"""An in-process stand-in for the Telegram Bot API, for tests and the console demo.

`OfflineBotApi` is a `telegram.request.BaseRequest`: give it to the application builder
instead of the HTTP client and every Bot API call the bot makes is answered here, in memory.
It records each call (`calls`), keeps the messages it has "sent" per chat (so that edits and
button presses refer to real messages), serves registered file bytes to `getFile` and file
downloads, and is as strict as Telegram where bots usually trip up:

* text longer than 4096 characters (after entity parsing) → 400 "message is too long";
* callback data longer than 64 bytes → 400 "BUTTON_DATA_INVALID";
* HTML with unknown or unbalanced tags or a bare `&` / `<` → 400 "can't parse entities";
* an edit that changes nothing → 400 "message is not modified";
* answering a callback query twice, or one that was never delivered → 400 "query is too old".

Errors are returned as Telegram returns them (HTTP 400 and `{"ok": false, ...}`), so
python-telegram-bot raises its real `BadRequest`.

The `*_update` methods build incoming `Update` objects the way Telegram would deliver them;
call `bind(bot)` first (the test harness does) so that replies go through the right bot.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

OFFLINE_TOKEN = "0:offline"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Telegram's HTML subset: https://core.telegram.org/bots/api#html-style
ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "tg-spoiler", "span", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_JSON = dict[str, Any]


class OfflineError(RuntimeError):
    """The offline API was used wrongly by the test or console (not a Telegram error)."""


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart upload (sendDocument, sendPhoto, ...)."""

    file_name: str | None
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request the bot made: method name and decoded parameters.

    `params` holds plain JSON values (reply_markup is a dict); uploaded files appear as
    `UploadedFile` under their parameter name (e.g. `params["document"]`). `error` is the
    description Telegram answered with, or None when the call succeeded; `result` is the
    JSON result of a successful call.
    """

    method: str
    params: Mapping[str, Any]
    error: str | None = None
    result: Any = None

    @property
    def message_id(self) -> int | None:
        """The id of the message sent or edited (from the result, else the params)."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return int(self.result["message_id"])
        value = self.params.get("message_id")
        return int(value) if value is not None else None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str | None:
        return self.params.get("text", self.params.get("caption"))

    def buttons(self) -> list[tuple[str, str | None]]:
        """(label, callback_data) of every inline button, row by row."""
        return _buttons(self.params.get("reply_markup"))


@dataclass
class OfflineMessage:
    """A message as the offline server holds it (the latest version after edits)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    user_id: int | None = None
    text: str | None = None  # as sent, e.g. with HTML tags
    parse_mode: str | None = None
    reply_markup: _JSON | None = None
    document: _JSON | None = None
    photo: list[_JSON] | None = None

    @property
    def plain_text(self) -> str | None:
        """The text as a Telegram client shows it (HTML tags removed, entities decoded)."""
        if self.text is None or (self.parse_mode or "").upper() != "HTML":
            return self.text
        return _html_plain_text(self.text)

    def buttons(self) -> list[tuple[str, str | None]]:
        return _buttons(self.reply_markup)


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(eq=False)
class OfflineBotApi(BaseRequest):
    """The Bot API in memory. One instance serves one bot (both request slots of PTB)."""

    bot_id: int = 777000
    bot_username: str = "ims_offline_bot"
    bot_name: str = "IMS Bot (offline)"
    start_date: int = 1_760_000_000
    calls: list[ApiCall] = field(default_factory=list, repr=False)
    messages: dict[tuple[int, int], OfflineMessage] = field(default_factory=dict, repr=False)
    commands: list[_JSON] = field(default_factory=list, repr=False)
    _bot: Bot | None = field(default=None, repr=False)
    _files: dict[str, _StoredFile] = field(default_factory=dict, repr=False)
    _next_message_id: dict[int, int] = field(default_factory=dict, repr=False)
    _next_update_id: int = field(default=1, repr=False)
    _next_file: int = field(default=1, repr=False)
    _clock: int = field(default=0, repr=False)
    _open_queries: set[str] = field(default_factory=set, repr=False)
    _pending_updates: list[_JSON] = field(default_factory=list, repr=False)
    _update_ready: asyncio.Event | None = field(default=None, repr=False)

    # --- BaseRequest --------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        if self._update_ready is None:
            self._update_ready = asyncio.Event()

    async def shutdown(self) -> None:
        """Nothing to release; recorded calls and messages stay inspectable."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method == "GET":
            return self._download(url)
        api_method = url.rsplit("/", 1)[-1]
        params = _decode_params(request_data)
        handler = getattr(self, f"_api_{api_method.lower()}", None)
        if handler is None:
            self.calls.append(ApiCall(api_method, params, "Not Found"))
            return _failure(HTTPStatus.NOT_FOUND, "Not Found")
        try:
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except BotApiRefusal as exc:
            self.calls.append(ApiCall(api_method, params, exc.description))
            return _failure(exc.status, exc.description)
        self.calls.append(ApiCall(api_method, params, result=result))
        return HTTPStatus.OK, json.dumps({"ok": True, "result": result}).encode()

    # --- inspection ---------------------------------------------------------------------

    def bind(self, bot: Bot) -> None:
        """Use `bot` for the `Update` objects built by the `*_update` methods."""
        self._bot = bot

    def clear(self) -> None:
        """Forget the recorded calls (messages and files stay, so buttons keep working)."""
        self.calls.clear()

    def calls_to(self, *methods: str) -> list[ApiCall]:
        """Recorded calls of the given methods (all calls if none given)."""
        if not methods:
            return list(self.calls)
        wanted = {m.lower() for m in methods}
        return [call for call in self.calls if call.method.lower() in wanted]

    def sent_messages(self, chat_id: int | None = None) -> list[OfflineMessage]:
        """Messages the bot has sent (latest version), oldest first, optionally for one chat."""
        return [
            msg
            for msg in self.messages.values()
            if msg.from_bot and (chat_id is None or msg.chat_id == chat_id)
        ]

    def last_message(self, chat_id: int) -> OfflineMessage:
        sent = self.sent_messages(chat_id)
        if not sent:
            raise OfflineError(f"the bot has sent nothing to chat {chat_id}")
        return sent[-1]

    def message(self, chat_id: int, message_id: int) -> OfflineMessage:
        try:
            return self.messages[(chat_id, message_id)]
        except KeyError:
            raise OfflineError(f"no message {message_id} in chat {chat_id}") from None

    def register_file(
        self, content: bytes, *, file_name: str | None = None, mime_type: str | None = None
    ) -> str:
        """Make `content` available to getFile and downloads; returns its file_id."""
        number = self._next_file
        self._next_file += 1
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[-1]
        stored = _StoredFile(
            file_id=f"offline-file-{number}",
            file_unique_id=f"offline-unique-{number}",
            file_path=f"documents/file_{number}{suffix}",
            content=content,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored.file_id

    def file_content(self, file_id: str) -> bytes:
        try:
            return self._files[file_id].content
        except KeyError:
            raise OfflineError(f"unknown file_id {file_id!r}") from None

    # --- incoming updates ---------------------------------------------------------------

    def text_update(
        self, user_id: int, text: str, chat_id: int | None = None, reply_to: int | None = None
    ) -> Update:
        """A private-chat text message from `user_id`, optionally replying to message
        `reply_to` of the same chat (as a client does for a ForceReply prompt)."""
        content: _JSON = {"text": text}
        if reply_to is not None:
            chat = user_id if chat_id is None else chat_id
            content["reply_to_message"] = self._message_json(self.message(chat, reply_to))
        return self._message_update(user_id, chat_id, content)

    def command_update(
        self, user_id: int, command: str, args: str = "", chat_id: int | None = None
    ) -> Update:
        """`/command args` with the bot_command entity Telegram attaches."""
        name = command.lstrip("/")
        text = f"/{name} {args}".rstrip()
        entity = {"type": "bot_command", "offset": 0, "length": len(name) + 1}
        return self._message_update(user_id, chat_id, {"text": text, "entities": [entity]})

    def document_update(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        mime_type: str,
        chat_id: int | None = None,
        caption: str | None = None,
    ) -> Update:
        """A document upload; its bytes become downloadable through getFile."""
        file_id = self.register_file(content, file_name=file_name, mime_type=mime_type)
        stored = self._files[file_id]
        document = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        extra: _JSON = {"document": document}
        if caption is not None:
            extra["caption"] = caption
        return self._message_update(user_id, chat_id, extra)

    def callback_update(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> Update:
        """A press on a button of message `message_id`, which the bot must have sent.

        `data` is delivered as given (not checked against the message's buttons), so tests
        can forge it; use `press_update` to press a button by its label.
        """
        chat = user_id if chat_id is None else chat_id
        message = self.message(chat, message_id)
        if not message.from_bot:
            raise OfflineError(f"message {message_id} was not sent by the bot")
        query_id = f"offline-query-{self._next_update_id}"
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "chat_instance": f"offline-chat-{chat}",
            "message": self._message_json(message),
            "data": data,
        }
        return self._update({"callback_query": query})

    def press_update(
        self, user_id: int, message_id: int, label: str, chat_id: int | None = None
    ) -> Update:
        """Press the button labelled `label` (exact, or the only one containing it)."""
        chat = user_id if chat_id is None else chat_id
        buttons = self.message(chat, message_id).buttons()
        matches = [b for b in buttons if b[0] == label] or [b for b in buttons if label in b[0]]
        if len(matches) != 1 or matches[0][1] is None:
            labels = [b[0] for b in buttons]
            raise OfflineError(f"no single callback button {label!r} among {labels}")
        return self.callback_update(user_id, message_id, matches[0][1], chat_id=chat_id)

    def queue_update(self, update: Update) -> None:
        """Deliver `update` through getUpdates (for polling against the offline API)."""
        self._pending_updates.append(update.to_dict())
        if self._update_ready is not None:
            self._update_ready.set()

    def _message_update(self, user_id: int, chat_id: int | None, content: _JSON) -> Update:
        chat = user_id if chat_id is None else chat_id
        message = OfflineMessage(
            chat_id=chat,
            message_id=self._new_message_id(chat),
            date=self._tick(),
            from_bot=False,
            user_id=user_id,
            text=content.get("text"),
        )
        self.messages[(chat, message.message_id)] = message
        payload = {**self._message_json(message), **content}
        return self._update({"message": payload})

    def _update(self, content: _JSON) -> Update:
        if self._bot is None:
            raise OfflineError("call OfflineBotApi.bind(application.bot) before building updates")
        update_id = self._next_update_id
        self._next_update_id += 1
        update = Update.de_json({"update_id": update_id, **content}, self._bot)
        assert update is not None
        return update

    # --- Bot API methods ----------------------------------------------------------------

    def _api_getme(self, _params: _JSON) -> _JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_sendmessage(self, params: _JSON) -> _JSON:
        text = _require_text(params.get("text"), params.get("parse_mode"), MAX_TEXT_LENGTH)
        markup = check_markup(params.get("reply_markup"))
        message = self._store_sent(params, text=text, reply_markup=markup)
        return self._message_json(message)

    def _api_editmessagetext(self, params: _JSON) -> _JSON:
        message = self._find_for_edit(params)
        if message.text is None:
            raise BotApiRefusal("Bad Request: there is no text in the message to edit")
        text = _require_text(params.get("text"), params.get("parse_mode"), MAX_TEXT_LENGTH)
        markup = check_markup(params.get("reply_markup"))
        same_text = (text, params.get("parse_mode")) == (message.text, message.parse_mode)
        if same_text and markup == message.reply_markup:
            raise BotApiRefusal(NOT_MODIFIED)
        message.text, message.parse_mode = text, params.get("parse_mode")
        message.reply_markup = markup
        return self._message_json(message)

    def _api_editmessagereplymarkup(self, params: _JSON) -> _JSON:
        message = self._find_for_edit(params)
        markup = check_markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise BotApiRefusal(NOT_MODIFIED)
        message.reply_markup = markup
        return self._message_json(message)

    def _api_deletemessage(self, params: _JSON) -> bool:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise BotApiRefusal("Bad Request: message to delete not found")
        del self.messages[key]
        return True

    def _api_answercallbackquery(self, params: _JSON) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._open_queries:
            raise BotApiRefusal(QUERY_TOO_OLD)
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER_LENGTH:
            raise BotApiRefusal("Bad Request: MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        return True

    def _api_senddocument(self, params: _JSON) -> _JSON:
        caption = _optional_caption(params)
        stored = self._stored_upload(params.get("document"))
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        message = self._store_sent(
            params, caption=caption, reply_markup=check_markup(params.get("reply_markup"))
        )
        message.document = document
        return self._message_json(message)

    def _api_sendphoto(self, params: _JSON) -> _JSON:
        caption = _optional_caption(params)
        stored = self._stored_upload(params.get("photo"))
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "width": 800,
            "height": 600,
        }
        message = self._store_sent(
            params, caption=caption, reply_markup=check_markup(params.get("reply_markup"))
        )
        message.photo = [size]
        return self._message_json(message)

    def _api_getfile(self, params: _JSON) -> _JSON:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise BotApiRefusal("Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _api_sendchataction(self, _params: _JSON) -> bool:
        return True

    def _api_setmycommands(self, params: _JSON) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _api_getmycommands(self, _params: _JSON) -> list[_JSON]:
        return list(self.commands)

    def _api_deletemycommands(self, _params: _JSON) -> bool:
        self.commands = []
        return True

    async def _api_getupdates(self, params: _JSON) -> list[_JSON]:
        offset = int(params.get("offset") or 0)
        self._pending_updates = [u for u in self._pending_updates if u["update_id"] >= offset]
        if not self._pending_updates and self._update_ready is not None:
            self._update_ready.clear()
            timeout = float(params.get("timeout") or 0)
            try:
                await asyncio.wait_for(self._update_ready.wait(), timeout=min(timeout, 1.0))
            except TimeoutError:
                return []
        return list(self._pending_updates)

    def _api_setwebhook(self, _params: _JSON) -> bool:
        return True

    def _api_deletewebhook(self, _params: _JSON) -> bool:
        return True

    def _api_getwebhookinfo(self, _params: _JSON) -> _JSON:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    def _api_close(self, _params: _JSON) -> bool:
        return True

    def _api_logout(self, _params: _JSON) -> bool:
        return True

    # --- helpers ------------------------------------------------------------------------

    def _download(self, url: str) -> tuple[int, bytes]:
        for stored in self._files.values():
            if url.endswith("/" + stored.file_path):
                self.calls.append(ApiCall("download", {"file_path": stored.file_path}))
                return HTTPStatus.OK, stored.content
        return _failure(HTTPStatus.NOT_FOUND, "Not Found")

    def _stored_upload(self, value: object) -> _StoredFile:
        if isinstance(value, UploadedFile):
            file_id = self.register_file(
                value.content, file_name=value.file_name, mime_type=value.mime_type
            )
            return self._files[file_id]
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        raise BotApiRefusal("Bad Request: wrong file identifier/HTTP URL specified")

    def _store_sent(
        self,
        params: _JSON,
        *,
        text: str | None = None,
        caption: str | None = None,
        reply_markup: _JSON | None = None,
    ) -> OfflineMessage:
        chat_id = int(params["chat_id"])
        message = OfflineMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            date=self._tick(),
            from_bot=True,
            text=text if text is not None else caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=reply_markup,
        )
        self.messages[(chat_id, message.message_id)] = message
        return message

    def _find_for_edit(self, params: _JSON) -> OfflineMessage:
        if "inline_message_id" in params:
            raise BotApiRefusal("Bad Request: inline messages are not supported offline")
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise BotApiRefusal("Bad Request: message to edit not found")
        if not message.from_bot:
            raise BotApiRefusal("Bad Request: message can't be edited")
        return message

    def _message_json(self, message: OfflineMessage) -> _JSON:
        data: _JSON = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": _chat(message.chat_id),
        }
        if message.from_bot:
            data["from"] = self._api_getme({})
        elif message.user_id is not None:
            data["from"] = self._user(message.user_id)
        text_key = "caption" if (message.document or message.photo) else "text"
        if message.plain_text is not None:
            data[text_key] = message.plain_text
        # Telegram echoes only inline keyboards; a ForceReply or reply keyboard is not returned.
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.document:
            data["document"] = message.document
        if message.photo:
            data["photo"] = message.photo
        return data

    def _user(self, user_id: int) -> _JSON:
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def _new_message_id(self, chat_id: int) -> int:
        number = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = number + 1
        return number

    def _tick(self) -> int:
        self._clock += 1
        return self.start_date + self._clock


class BotApiRefusal(Exception):
    """What Telegram refuses, with its description; shared with the HTTP stand-in in tests."""

    def __init__(self, description: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


def _chat(chat_id: int) -> _JSON:
    """Telegram's convention: positive ids are private chats with a user, negative are groups."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}


def _failure(status: int, description: str) -> tuple[int, bytes]:
    body = {"ok": False, "error_code": int(status), "description": description}
    return int(status), json.dumps(body).encode()


def _decode_params(request_data: RequestData | None) -> dict[str, Any]:
    """Parameters as plain JSON values, with uploaded files as `UploadedFile`."""
    if request_data is None:
        return {}
    params: dict[str, Any] = json.loads(json.dumps(request_data.parameters))
    for part, (file_name, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        upload = UploadedFile(file_name, data, mime_type)
        attached = [k for k, v in params.items() if v == f"attach://{part}"]
        for key in attached or [part]:
            params[key] = upload
    return params


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _require_text(text: object, parse_mode: object, limit: int) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BotApiRefusal("Bad Request: message text is empty")
    plain = _checked_plain_text(text, parse_mode)
    if not plain.strip():
        raise BotApiRefusal("Bad Request: message text is empty")
    if telegram_length(plain) > limit:
        raise BotApiRefusal("Bad Request: message is too long")
    return text


def _optional_caption(params: _JSON) -> str | None:
    caption = params.get("caption")
    if caption is None:
        return None
    plain = _checked_plain_text(str(caption), params.get("parse_mode"))
    if telegram_length(plain) > MAX_CAPTION_LENGTH:
        raise BotApiRefusal("Bad Request: message caption is too long")
    return str(caption)


def _checked_plain_text(text: str, parse_mode: object) -> str:
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        problem = html_problem(text)
        if problem:
            raise BotApiRefusal(f"Bad Request: can't parse entities: {problem}")
        return _html_plain_text(text)
    return text


def check_markup(markup: object) -> _JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise BotApiRefusal("Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise BotApiRefusal("Bad Request: BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise BotApiRefusal(
                    "Bad Request: text buttons are unallowed in the inline keyboard"
                )
    return markup


def _buttons(markup: object) -> list[tuple[str, str | None]]:
    if not isinstance(markup, dict):
        return []
    return [
        (button.get("text", ""), button.get("callback_data"))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


class _TelegramHtmlChecker(HTMLParser):
    """Checks a text against Telegram's HTML subset; `problem` is None when it is valid."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problem: str | None = None
        self.plain: list[str] = []

    def _fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
            return
        names = dict(attrs)
        if tag == "a" and not names.get("href"):
            self._fail('Can\'t find "href" attribute of tag "a"')
        if tag == "span" and names.get("class") != "tg-spoiler":
            self._fail('Tag "span" must have class "tg-spoiler"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self._fail(f'Unmatched end tag "{tag}"')
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:
            self._fail("Unescaped '<' or '&' in text")
        self.plain.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
            return
        self.plain.append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.plain.append(chr(code))
        except (ValueError, OverflowError):
            self._fail(f'Invalid character reference "&#{name};"')

    def handle_comment(self, data: str) -> None:
        self._fail("Comments are not supported")

    def handle_decl(self, decl: str) -> None:
        self._fail("Declarations are not supported")

    def unknown_decl(self, data: str) -> None:
        self._fail("Declarations are not supported")

    def handle_pi(self, data: str) -> None:
        self._fail("Processing instructions are not supported")


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse `text` with parse_mode HTML, or None if it is fine."""
    for match in re.finditer("&", text):
        if not _ENTITY.match(text, match.start()):
            return f"Can't find end of the entity starting at byte offset {match.start()}"
    checker = _TelegramHtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.rawdata:  # the parser kept an unfinished tag such as "<b" or "a < b"
        return "Unclosed start tag or unescaped '<'"
    if checker.problem is None and checker.stack:
        return f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"'
    return checker.problem


def _html_plain_text(text: str) -> str:
    checker = _TelegramHtmlChecker()
    checker.feed(text)
    checker.close()
    return "".join(checker.plain)


def describe(call: ApiCall) -> str:
    """A one-call transcript line for the console: text plus numbered buttons."""
    lines = [f"[{call.method}]" + (f" ERROR {call.error}" if call.error else "")]
    text = call.text
    if text is not None:
        mode = str(call.params.get("parse_mode") or "")
        lines.append(_html_plain_text(text) if mode.upper() == "HTML" else text)
    lines.extend(f"  [{n}] {label}" for n, (label, _) in enumerate(call.buttons(), start=1))
    return "\n".join(lines)


def button_labels(calls: Iterable[ApiCall]) -> list[str]:
    """All button labels across `calls`, in order."""
    return [label for call in calls for label, _ in call.buttons()]
