"""The FAQ: browsing by topic, answers to free text, suggestions and declines."""

from __future__ import annotations

import html

from faq.kb import FaqEntry, KnowledgeBase
from faq.matcher import Decision
from handlers import texts
from handlers.callbackdata import FaqAnswer, FaqCategory, parse
from handlers.faq_views import MAX_QUERY_CHARS, MAX_RELATED, PAGE_SIZE
from ims_bot.offline import ApiCall, html_problem
from tests.botkit import (
    OTHER_USER,
    USER,
    FixedMatcher,
    bot_harness,
    make_core,
    only,
    real_kb,
)


def assert_valid_reply(call: ApiCall) -> None:
    assert call.error is None, call.error
    assert call.text is not None and len(call.text) < 4096
    assert call.params.get("parse_mode") == "HTML"
    assert html_problem(call.text) is None


def assert_answered_first(calls: list[ApiCall], *, alert: bool = False) -> None:
    assert calls, "the press caused no call at all"
    first = calls[0]
    assert first.method == "answerCallbackQuery" and first.error is None
    assert bool(first.params.get("show_alert")) is alert
    assert len([c for c in calls if c.method == "answerCallbackQuery"]) == 1


def entry_with(predicate: object) -> FaqEntry:
    return next(e for e in real_kb().entries if predicate(e))  # type: ignore[operator]


async def test_faq_lists_every_topic_as_a_button() -> None:
    async with bot_harness() as bot:
        message = only(await bot.command(USER, "faq"), "sendMessage")
        assert_valid_reply(message)
        labels = [label for label, _ in message.buttons()]
        assert len(labels) == len(real_kb().categories())
        for label, category in zip(labels, real_kb().categories(), strict=True):
            assert label.startswith(category)


async def test_browse_topic_then_question_shows_the_answer() -> None:
    kb = real_kb()
    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        category = kb.categories()[0]
        calls = await bot.press(USER, topics.message_id, category)
        assert_answered_first(calls)
        page = only(calls, "editMessageText")
        assert_valid_reply(page)
        assert html.escape(category) in page.text
        first = kb.in_category(category)[0]
        assert parse(page.buttons()[0][1]) == FaqAnswer(first.id)

        calls = await bot.callback(USER, topics.message_id, FaqAnswer(first.id).pack())
        assert_answered_first(calls)
        answer = only(calls, "editMessageText")
        assert_valid_reply(answer)
        assert f"<b>{html.escape(first.question)}</b>" in answer.text
        assert "Source" in answer.text
        # Each source shows its title and, when it has one, its address.
        cited = first.citations[0]
        assert html.escape(cited.title) in answer.text
        assert cited.address is None or html.escape(cited.address) in answer.text


async def test_big_topics_are_paginated_both_ways() -> None:
    kb = real_kb()
    index, category = next(
        (i, c) for i, c in enumerate(kb.categories()) if len(kb.in_category(c)) > PAGE_SIZE
    )
    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        message_id = topics.message_id
        first = only(await bot.press(USER, message_id, category), "editMessageText")
        labels = [label for label, _ in first.buttons()]
        assert texts.BUTTON_NEXT in labels and texts.BUTTON_PREVIOUS not in labels
        assert len([d for _, d in first.buttons() if d and d.startswith("faq:ans:")]) == PAGE_SIZE

        calls = await bot.press(USER, message_id, texts.BUTTON_NEXT)
        assert_answered_first(calls)
        second = only(calls, "editMessageText")
        assert "page 2" in second.text
        assert texts.BUTTON_PREVIOUS in [label for label, _ in second.buttons()]
        shown = {parse(d) for _, d in second.buttons() if d and d.startswith("faq:ans:")}
        expected = {FaqAnswer(e.id) for e in kb.in_category(category)[PAGE_SIZE:][:PAGE_SIZE]}
        assert shown == expected

        back = only(await bot.press(USER, message_id, texts.BUTTON_PREVIOUS), "editMessageText")
        assert parse([d for _, d in back.buttons()][-2] or "") == FaqCategory(index, 1)


async def test_all_topics_button_returns_to_the_list() -> None:
    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        await bot.press(USER, topics.message_id, real_kb().categories()[0])
        calls = await bot.press(USER, topics.message_id, texts.BUTTON_ALL_TOPICS)
        assert_answered_first(calls)
        assert only(calls, "editMessageText").text == texts.TOPICS_TITLE


async def test_pressing_the_same_button_twice_is_tolerated() -> None:
    async with bot_harness() as bot:
        topics = only(await bot.command(USER, "faq"), "sendMessage")
        data = topics.buttons()[0][1] or ""
        await bot.callback(USER, topics.message_id, data)
        calls = await bot.callback(USER, topics.message_id, data)
        assert_answered_first(calls)
        edit = only(calls, "editMessageText")
        assert edit.error is not None and "not modified" in edit.error
        assert not bot.api.calls_to("sendMessage")[1:], "no error message was sent"


async def test_free_text_answer_has_source_and_related_buttons() -> None:
    kb = real_kb()
    entry = entry_with(lambda e: len(e.related) >= 2)
    core = make_core(matcher=FixedMatcher(Decision.ANSWER, entry))
    async with bot_harness(core) as bot:
        reply = only(await bot.text(USER, "tell me about this"), "sendMessage")
        assert_valid_reply(reply)
        assert reply.text.startswith(f"<b>{html.escape(entry.question)}</b>")
        assert html.escape(entry.answer[:40]) in reply.text
        for cited in entry.citations:
            assert html.escape(cited.title) in reply.text
            assert cited.address is None or html.escape(cited.address) in reply.text
        related = [parse(d) for _, d in reply.buttons() if d and d.startswith("faq:ans:")]
        wanted = [FaqAnswer(i) for i in entry.related if kb.get(i)][:MAX_RELATED]
        assert related == wanted
        assert reply.params["link_preview_options"] == {"is_disabled": True}


async def test_answer_notes_the_period_it_applies_from() -> None:
    entry = entry_with(lambda e: e.applies_from == "2025-10")
    core = make_core(matcher=FixedMatcher(Decision.ANSWER, entry))
    async with bot_harness(core) as bot:
        reply = only(await bot.text(USER, "new rules"), "sendMessage")
        assert "Applies from the Oct 2025 tax period" in reply.text


async def test_related_button_opens_that_answer() -> None:
    kb = real_kb()
    entry = entry_with(lambda e: e.related)
    core = make_core(matcher=FixedMatcher(Decision.ANSWER, entry))
    async with bot_harness(core) as bot:
        reply = only(await bot.text(USER, "question"), "sendMessage")
        target = kb.get(entry.related[0])
        assert target is not None
        calls = await bot.callback(USER, reply.message_id, FaqAnswer(target.id).pack())
        assert_answered_first(calls)
        assert html.escape(target.question) in only(calls, "editMessageText").text


async def test_unsure_match_offers_did_you_mean_buttons() -> None:
    kb = real_kb()
    suggestions = kb.entries[:3]
    core = make_core(matcher=FixedMatcher(Decision.SUGGEST, suggestions=suggestions))
    async with bot_harness(core) as bot:
        reply = only(await bot.text(USER, "pendng credt"), "sendMessage")
        assert_valid_reply(reply)
        assert "Did you mean" in reply.text and "pendng credt" in reply.text
        offered = [parse(d) for _, d in reply.buttons() if d and d.startswith("faq:ans:")]
        assert offered == [FaqAnswer(e.id) for e in suggestions]
        calls = await bot.press(USER, reply.message_id, texts.question_button(suggestions[1]))
        assert_answered_first(calls)
        assert html.escape(suggestions[1].question) in only(calls, "editMessageText").text


async def test_unrelated_question_is_declined_politely() -> None:
    core = make_core(matcher=FixedMatcher(Decision.DECLINE))
    async with bot_harness(core) as bot:
        reply = only(await bot.text(USER, "best cricket bat?"), "sendMessage")
        assert_valid_reply(reply)
        assert "Sorry" in reply.text and "/help" in reply.text
        assert "best cricket bat?" in reply.text


async def test_query_with_html_is_escaped_in_the_reply() -> None:
    query = "<script>alert('x')</script> & <b>"
    for decision in (Decision.DECLINE, Decision.SUGGEST):
        core = make_core(matcher=FixedMatcher(decision, suggestions=real_kb().entries[:1]))
        async with bot_harness(core) as bot:
            reply = only(await bot.text(USER, query), "sendMessage")
            assert_valid_reply(reply)
            assert "&lt;script&gt;" in reply.text and "&amp;" in reply.text
            assert "<script>" not in reply.text


async def test_real_matcher_replies_validly_to_odd_questions() -> None:
    queries = [
        "Can I keep a credit note pending?",
        "<script>alert(1)</script> & ims",
        "weather in delhi",
        "?",
        "ims kya hai",
    ]
    async with bot_harness() as bot:
        for query in queries:
            assert_valid_reply(only(await bot.text(USER, query), "sendMessage"))


async def test_message_longer_than_telegram_allows_is_handled() -> None:
    matcher = FixedMatcher(Decision.DECLINE)
    async with bot_harness(make_core(matcher=matcher)) as bot:
        reply = only(await bot.text(USER, "credit note pending " * 300), "sendMessage")
        assert_valid_reply(reply)
        assert len(matcher.queries[0]) <= MAX_QUERY_CHARS


async def test_blank_text_asks_for_a_question() -> None:
    matcher = FixedMatcher(Decision.DECLINE)
    async with bot_harness(make_core(matcher=matcher)) as bot:
        reply = only(await bot.text(USER, "   \n "), "sendMessage")
        assert reply.text == texts.EMPTY_QUERY
        assert matcher.queries == []


async def test_very_long_answer_is_shortened_to_fit() -> None:
    entry = FaqEntry(
        id="long-one",
        category="Basics",
        question="A long <question> & more?",
        variants=("long",),
        keywords=(),
        answer="Accept & reject <carefully>. " * 400,
        sources=("https://example.org/a?b=1&c=2",),
        related=(),
    )
    kb = KnowledgeBase(entries=(entry,))
    core = make_core(kb=kb, matcher=FixedMatcher(Decision.ANSWER, entry))
    async with bot_harness(core) as bot:
        reply = only(await bot.text(USER, "long"), "sendMessage")
        assert_valid_reply(reply)
        assert "Source" in reply.text


async def test_text_in_a_group_is_not_answered() -> None:
    matcher = FixedMatcher(Decision.DECLINE)
    async with bot_harness(make_core(matcher=matcher)) as bot:
        assert await bot.feed(bot.api.text_update(USER, "hello all", chat_id=-100123)) == []


async def test_another_user_can_browse_from_a_stale_answer_message() -> None:
    async with bot_harness() as bot:
        topics = only(await bot.command(OTHER_USER, "faq"), "sendMessage")
        calls = await bot.press(OTHER_USER, topics.message_id, real_kb().categories()[-1])
        assert_answered_first(calls)
