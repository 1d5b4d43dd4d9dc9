"""The offline Bot API answers like Telegram, including Telegram's refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from ims_bot.offline import (
    OFFLINE_TOKEN,
    ApiCall,
    OfflineBotApi,
    OfflineError,
    UploadedFile,
    describe,
    html_problem,
)

CHAT = 4401


@pytest.fixture
async def offline() -> AsyncIterator[tuple[Bot, OfflineBotApi]]:
    api = OfflineBotApi()
    bot = Bot(OFFLINE_TOKEN, request=api, get_updates_request=api)
    await bot.initialize()
    api.bind(bot)
    api.clear()
    yield bot, api
    await bot.shutdown()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


async def test_get_me_describes_the_offline_bot(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    assert bot.username == api.bot_username
    assert (await bot.get_me()).id == api.bot_id


async def test_send_message_is_recorded_with_parsed_params(
    offline: tuple[Bot, OfflineBotApi],
) -> None:
    bot, api = offline
    markup = keyboard(("Yes", "q:yes"), ("No", "q:no"))
    sent = await bot.send_message(CHAT, "<b>Ready?</b>", parse_mode="HTML", reply_markup=markup)
    [call] = api.calls
    assert call.method == "sendMessage"
    assert call.chat_id == CHAT
    assert call.text == "<b>Ready?</b>"
    assert call.buttons() == [("Yes", "q:yes"), ("No", "q:no")]
    assert sent.text == "Ready?"  # Telegram returns the text without markup
    assert sent.reply_markup == markup


async def test_message_ids_increase_per_chat(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, _ = offline
    first = await bot.send_message(CHAT, "one")
    second = await bot.send_message(CHAT, "two")
    assert second.message_id == first.message_id + 1


async def test_too_long_text_is_refused(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert api.calls[-1].error == "Bad Request: message is too long"
    await bot.send_message(CHAT, "x" * 4096)


async def test_length_counts_text_after_html_parsing(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, _ = offline
    await bot.send_message(CHAT, "<b>" + "&amp;" * 4096 + "</b>", parse_mode=ParseMode.HTML)


async def test_callback_data_over_64_bytes_is_refused(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, _ = offline
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(CHAT, "pick", reply_markup=keyboard(("A", "a" * 65)))
    await bot.send_message(CHAT, "pick", reply_markup=keyboard(("A", "a" * 64)))


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<b>unclosed",
        "<b><i>crossed</b></i>",
        "fish & chips",
        "a < b",
        "&nbsp;",
        "<a>no href</a>",
        "<span>not a spoiler</span>",
    ],
)
async def test_malformed_html_is_refused(offline: tuple[Bot, OfflineBotApi], text: str) -> None:
    bot, _ = offline
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    "text",
    [
        "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code> <pre>p</pre>",
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        '<span class="tg-spoiler">hidden</span> <tg-spoiler>too</tg-spoiler>',
        "&lt;script&gt; &amp; &quot; &#39; &#x1F600;",
        "<blockquote>quoted</blockquote>",
    ],
)
def test_telegram_html_is_accepted(text: str) -> None:
    assert html_problem(text) is None


async def test_plain_text_mode_does_not_parse_html(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, _ = offline
    sent = await bot.send_message(CHAT, "<script> & co")
    assert sent.text == "<script> & co"


async def test_edit_with_identical_content_is_not_modified(
    offline: tuple[Bot, OfflineBotApi],
) -> None:
    bot, _ = offline
    markup = keyboard(("A", "x:a"))
    sent = await bot.send_message(CHAT, "same", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("same", CHAT, sent.message_id, reply_markup=markup)
    edited = await bot.edit_message_text("changed", CHAT, sent.message_id, reply_markup=markup)
    assert isinstance(edited, object) and edited.text == "changed"  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=markup)


async def test_edit_keeps_the_latest_version_of_the_message(
    offline: tuple[Bot, OfflineBotApi],
) -> None:
    bot, api = offline
    sent = await bot.send_message(CHAT, "v1", reply_markup=keyboard(("A", "x:a")))
    await bot.edit_message_text("v2", CHAT, sent.message_id, reply_markup=keyboard(("B", "x:b")))
    message = api.message(CHAT, sent.message_id)
    assert (message.text, message.buttons()) == ("v2", [("B", "x:b")])
    assert api.last_message(CHAT) is message


async def test_editing_an_unknown_message_fails(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, _ = offline
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)


async def test_delete_message_removes_it(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    sent = await bot.send_message(CHAT, "bye")
    assert await bot.delete_message(CHAT, sent.message_id)
    assert api.sent_messages(CHAT) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


async def test_callback_update_carries_the_bots_message(
    offline: tuple[Bot, OfflineBotApi],
) -> None:
    bot, api = offline
    sent = await bot.send_message(CHAT, "pick", reply_markup=keyboard(("A", "x:a")))
    update = api.callback_update(CHAT, sent.message_id, "x:a")
    query = update.callback_query
    assert query is not None and query.data == "x:a"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.from_user.id == CHAT
    assert await query.answer()


async def test_callback_query_can_be_answered_once(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    sent = await bot.send_message(CHAT, "pick", reply_markup=keyboard(("A", "x:a")))
    query = api.callback_update(CHAT, sent.message_id, "x:a").callback_query
    assert query is not None
    await query.answer()
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer()


async def test_callback_answer_text_is_limited(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    sent = await bot.send_message(CHAT, "pick", reply_markup=keyboard(("A", "x:a")))
    query = api.callback_update(CHAT, sent.message_id, "x:a").callback_query
    assert query is not None
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await query.answer("x" * 201, show_alert=True)


def test_callback_on_a_message_the_bot_never_sent_is_a_test_error(
    offline: tuple[Bot, OfflineBotApi],
) -> None:
    _, api = offline
    with pytest.raises(OfflineError):
        api.callback_update(CHAT, 12345, "x:a")


async def test_press_update_finds_the_button_by_label(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    sent = await bot.send_message(CHAT, "pick", reply_markup=keyboard(("Alpha", "x:a")))
    query = api.press_update(CHAT, sent.message_id, "Alpha").callback_query
    assert query is not None and query.data == "x:a"
    with pytest.raises(OfflineError):
        api.press_update(CHAT, sent.message_id, "Beta")


def test_command_update_has_a_bot_command_entity(offline: tuple[Bot, OfflineBotApi]) -> None:
    _, api = offline
    message = api.command_update(CHAT, "start", "deep-link").message
    assert message is not None
    assert message.text == "/start deep-link"
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start")
    assert message.chat.type == "private" and message.chat.id == CHAT


def test_text_update_in_another_chat(offline: tuple[Bot, OfflineBotApi]) -> None:
    _, api = offline
    update = api.text_update(CHAT, "hello", chat_id=-100)
    assert update.effective_chat is not None and update.effective_chat.id == -100
    assert update.effective_user is not None and update.effective_user.id == CHAT


def test_updates_need_a_bound_bot() -> None:
    with pytest.raises(OfflineError, match="bind"):
        OfflineBotApi().text_update(CHAT, "hello")


async def test_document_update_bytes_are_downloadable(offline: tuple[Bot, OfflineBotApi]) -> None:
    _, api = offline
    content = b'{"imsDetails": {}}'
    update = api.document_update(CHAT, "ims.json", content, "application/json")
    assert update.message is not None and update.message.document is not None
    assert update.message.document.file_name == "ims.json"
    file = await update.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == content
    assert [call.method for call in api.calls] == ["getFile", "download"]


async def test_send_document_records_the_upload(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    sent = await bot.send_document(
        CHAT, b"a,b\n1,2\n", filename="report.csv", caption="<b>Report</b>", parse_mode="HTML"
    )
    [call] = api.calls
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile)
    assert (upload.file_name, upload.content) == ("report.csv", b"a,b\n1,2\n")
    assert sent.document is not None and sent.caption == "Report"
    assert api.file_content(sent.document.file_id) == b"a,b\n1,2\n"


async def test_send_photo_records_the_upload(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    sent = await bot.send_photo(CHAT, b"\x89PNG fake", caption="chart")
    upload = api.calls[-1].params["photo"]
    assert isinstance(upload, UploadedFile) and upload.content == b"\x89PNG fake"
    assert sent.photo and sent.caption == "chart"


async def test_misc_methods_succeed(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    assert await bot.send_chat_action(CHAT, "typing")
    assert await bot.set_my_commands([("faq", "Browse")])
    assert [c.command for c in await bot.get_my_commands()] == ["faq"]
    assert await bot.delete_webhook()
    assert await bot.set_webhook("https://example.org/hook")
    assert [c.method for c in api.calls_to("setMyCommands", "deleteWebhook")] == [
        "setMyCommands",
        "deleteWebhook",
    ]


async def test_get_updates_returns_queued_updates(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, api = offline
    assert await bot.get_updates(timeout=0) == ()
    queued = api.text_update(CHAT, "hello")
    api.queue_update(queued)
    [received] = await bot.get_updates(timeout=0)
    assert received.update_id == queued.update_id
    assert await bot.get_updates(offset=queued.update_id + 1, timeout=0) == ()


async def test_unknown_method_is_not_found(offline: tuple[Bot, OfflineBotApi]) -> None:
    bot, _ = offline
    with pytest.raises(TelegramError, match="Not Found"):
        await bot.send_dice(CHAT)


def test_describe_numbers_the_buttons() -> None:
    call = ApiCall(
        "sendMessage",
        {
            "chat_id": CHAT,
            "text": "<b>Pick</b> &amp; go",
            "parse_mode": "HTML",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "x:a"}]]},
        },
    )
    assert describe(call) == "[sendMessage]\nPick & go\n  [1] A"
