"""Whatever a user types or presses, the bot answers, changes nothing it should not, and
never reaches its error handler; Telegram (the offline API, as strict) refuses no reply.

One application (the production wiring on the in-process OfflineBotApi, SQLite store) serves
every example; a linked user with records types random text, Unicode, over-long messages,
unknown commands, and presses forged and replayed buttons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from handlers import texts
from ims_bot.db import Database
from ims_bot.models import ActionLog, Invite, Membership, Record, Taxpayer
from ims_bot.offline import NOT_MODIFIED, ApiCall, html_problem
from tests.botkit import BotHarness, bot_harness, make_core, make_settings
from tests.factories import RECIPIENT, SUPPLIER_B, invoice, note, portal_file

USER = 5_660_001
OTHER = 5_660_002
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class Bot:
    loop: asyncio.AbstractEventLoop
    harness: BotHarness
    db: Database
    own: int  # the user's workspace id
    foreign: int  # another user's workspace id

    def run(self, coroutine: Any) -> list[ApiCall]:
        return self.loop.run_until_complete(coroutine)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    path: Path = tmp_path_factory.mktemp("chat") / "chat.sqlite3"
    db = Database(f"sqlite:///{path}")
    core = make_core(make_settings(today_override=None, database_url=str(db.url)), db=db)
    loop = asyncio.new_event_loop()
    context: AbstractAsyncContextManager[BotHarness] = bot_harness(core)
    harness = loop.run_until_complete(context.__aenter__())
    data = portal_file(b2b=[invoice("INV-1"), invoice("INV-2", supplier=SUPPLIER_B)],
                       b2bcn=[note("CN-1")])
    for user in (USER, OTHER):
        loop.run_until_complete(harness.command(user, "link", RECIPIENT))
        loop.run_until_complete(harness.document(user, "ims.json", data, "application/json"))
    assert core.access is not None
    own, foreign = core.access.active(USER).id, core.access.active(OTHER).id
    try:
        yield Bot(loop, harness, db, own, foreign)
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()
        db.dispose()


def state(db: Database) -> tuple[Any, ...]:
    """Everything an action could change, read through a new session."""
    with db.begin() as session:
        records = sorted(tuple(row) for row in session.execute(
            select(Record.id, Record.status, Record.version, Record.remarks)))
        counts = tuple(session.scalar(select(func.count()).select_from(model))
                       for model in (ActionLog, Taxpayer, Membership, Invite))
    return tuple(records), counts


def assert_answered_cleanly(calls: list[ApiCall], *, button: bool = False) -> None:
    """A reply (or the query's answer), Telegram refused nothing, no apology."""
    methods = [c.method for c in calls]
    if button:
        assert "answerCallbackQuery" in methods, methods
    else:
        assert "sendMessage" in methods, methods
    # "Not modified" is Telegram's answer to redrawing the same screen: harmless, tolerated.
    refused = [(c.method, c.error) for c in calls if c.error and c.error != NOT_MODIFIED]
    assert refused == []
    for call in calls:
        assert call.text not in (texts.ERROR_APOLOGY, texts.DATABASE_UNAVAILABLE), (
            "the error handler was reached")
        if call.text and str(call.params.get("parse_mode", "")).upper() == "HTML":
            assert html_problem(call.text) is None


# ------------------------------------------------------------------------------ typing

unicode_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
    max_size=300,
)
scripts = st.sampled_from([
    "आईएमएस में क्रेडिट नोट को पेंडिंग कैसे रखें?", "இன்வாய்ஸ் நிராகரிப்பு", "ما هو IMS؟",
    "שלום IMS", "🙏🧾💸 accept?", "‮reject‬", "<b>accept</b> & <script>", "&amp; &#0; &#xD800;",
    "a\u0000b", "\u200b\u200d\ufeff", "ＩＭＳ ｐｅｎｄｉｎｇ", "/", "//", "/ pending", "@bot",
])
typed = st.one_of(
    unicode_text,
    scripts,
    st.builds(lambda text, n: (text * n)[:5000], scripts | unicode_text, st.integers(1, 400)),
    st.just("क" * 4097),
    st.just("🧾" * 3000),
)


@FUZZ
@given(text=typed)
def test_any_text_gets_a_reply_and_changes_nothing(bot: Bot, text: str) -> None:
    if not text.strip() or text.startswith("/"):
        text = "q " + text  # a command is the next test's business
    before = state(bot.db)
    calls = bot.run(bot.harness.text(USER, text))
    assert_answered_cleanly(calls)
    assert state(bot.db) == before


# /invite (a new code) and /demo (a demo workspace) change state by design: not here.
command_names = st.one_of(
    st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
    st.sampled_from(["pending", "history", "recompute", "link", "join", "faq", "help", "start",
                     "export", "gstin", "deadlines", "summary", "unlink", "remind"]),
).filter(lambda name: name not in ("invite", "demo"))
# One word far longer than a message may be: echoed back, it must be fitted (issue 11).
long_words = st.builds(lambda unit, n: unit * n, st.sampled_from(["x", "<&>", "🧾", "क", "&amp;"]),
                       st.integers(min_value=1000, max_value=5000))
command_args = st.one_of(st.just(""), unicode_text.map(lambda t: t.replace("\n", " ")),
                         st.sampled_from(["13-2025", "002025", "999999", "27AAPFU0939F1ZA",
                                          "x" * 300, "-1", "0", "abc def", "%s%n"]),
                         long_words)


@FUZZ
@given(name=command_names | st.just("remind"), args=command_args)
def test_any_command_with_any_arguments_gets_a_reply_and_changes_nothing(
    bot: Bot, name: str, args: str
) -> None:
    before = state(bot.db)
    calls = bot.run(bot.harness.command(USER, name, args.strip()))
    assert_answered_cleanly(calls)
    if name != "summary":  # /summary also sends its chart
        assert len([c for c in calls if c.method == "sendMessage"]) == 1
    assert state(bot.db) == before


# ------------------------------------------------------------------------------ pressing


def _forgeries(own: int, foreign: int) -> st.SearchStrategy[str]:
    number = st.integers(min_value=-(10**12), max_value=10**30).map(str) | st.sampled_from(
        ["", "x", "1e3", "0x1", "-0", " 1", "١"])
    token = st.from_regex(r"[A-Za-z0-9_-]{0,8}", fullmatch=True)
    writes = st.builds(
        lambda kind, w, r, v, a, x: f"{kind}:{w}:{r}:{v}:{a}:{x}",
        st.sampled_from(["rec:ok", "rec:act", "rec:undo", "rec:remark", "bulk:apply",
                         "bulk:undo", "ws:unlinkok", "ws:revoke", "ws:freq"]),
        st.sampled_from([foreign, 10**9]) | number, number, number,
        st.sampled_from(["A", "R", "P", "Z", ""]) | token, token,
    )
    # Read-only screens may even name the user's own workspace.
    reads = st.builds(
        lambda kind, w, rest: f"{kind}:{w}:{rest}",
        st.sampled_from(["pend:page", "pend:filter", "rec:open", "bulk:preview", "faq:ans",
                         "faq:cat", "rm:pending"]),
        st.sampled_from([own, foreign]) | number,
        st.lists(number | token, max_size=5).map(":".join),
    )
    raw = st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64)
    # Bulk amounts no amount can reach or that are not whole rupees, on the user's own
    # workspace: these once committed the bulk and then crashed drawing the result.
    huge = st.integers(min_value=10**12, max_value=10**40).map(str) | st.sampled_from(
        ["9" * 30, "1000000000000", "²", "١٢", "1e3", "-5", "50000.5", ""])
    bulk = st.builds(lambda kind, w, arg: f"bulk:{kind}:{w}:under:{arg}",
                     st.sampled_from(["do", "ask"]), st.just(own), huge)
    return st.one_of(writes, reads, raw, bulk).filter(lambda s: 0 < len(s.encode()) <= 64)


@FUZZ
@given(data=st.data())
def test_forged_button_data_is_answered_and_changes_nothing(bot: Bot, data: st.DataObject) -> None:
    forged = data.draw(_forgeries(bot.own, bot.foreign))
    listing = bot.run(bot.harness.command(USER, "pending"))
    message_id = next(c.message_id for c in listing if c.method == "sendMessage")
    assert message_id is not None
    before = state(bot.db)
    calls = bot.run(bot.harness.callback(USER, message_id, forged))
    assert_answered_cleanly(calls, button=True)
    assert state(bot.db) == before


# A typed partial reduction holding an amount no rupee column holds, or not an amount at all.
hostile_amount = st.one_of(
    st.integers(min_value=10**12, max_value=10**60).map(str),
    st.sampled_from(["1e27", "1e400", "-1e400", "0.001", "NaN", "sNaN", "-Infinity", "1e-400",
                     "9" * 200, "1_000_000_000_000", "₹5", "", "0x10", "1e999999999"]),
    st.decimals(allow_nan=True).map(str),
)
some_amount = st.one_of(hostile_amount, st.sampled_from(["0", "45", "45.5"]))


@st.composite
def hostile_reductions(draw: st.DrawFn) -> str:
    parts = [draw(some_amount) for _ in range(4)]
    parts[draw(st.integers(0, 3))] = draw(hostile_amount.filter(lambda a: a not in ("", "0")))
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, 4)), draw(some_amount))  # five amounts
    return ",".join(parts)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed=hostile_reductions())
def test_a_hostile_partial_reduction_gets_exactly_one_clean_reply(bot: Bot, typed: str) -> None:
    listing = bot.run(bot.harness.command(USER, "pending"))
    message_id = next(c.message_id for c in listing if c.method == "sendMessage")
    assert message_id is not None
    bot.run(bot.harness.press(USER, message_id, "CN-1"))
    bot.run(bot.harness.press(USER, message_id, texts.BUTTON_ACCEPT))
    calls = bot.run(bot.harness.press(USER, message_id, texts.BUTTON_REDUCE_PARTIAL))
    prompt = next(c for c in calls if c.method == "sendMessage")
    before = state(bot.db)
    calls = bot.run(bot.harness.feed(bot.harness.api.text_update(
        USER, typed, reply_to=prompt.message_id)))
    assert_answered_cleanly(calls)
    replies = [c for c in calls if c.method == "sendMessage"]
    assert len(replies) == 1 and (replies[0].text or "").startswith("⚠️"), replies
    assert state(bot.db) == before


@settings(max_examples=10, deadline=None)
@given(replays=st.integers(min_value=1, max_value=4), which=st.sampled_from(
    [texts.BUTTON_PENDING, texts.BUTTON_REJECT, texts.BUTTON_ACCEPT]))
def test_a_replayed_action_button_acts_once(bot: Bot, replays: int, which: str) -> None:
    listing = bot.run(bot.harness.command(USER, "pending"))
    message_id = next(c.message_id for c in listing if c.method == "sendMessage")
    assert message_id is not None
    labels = [label for label, _ in bot.harness.api.message(USER, message_id).buttons()]
    if not any(label.startswith("INV-") for label in labels):
        return  # every invoice has been decided by earlier examples
    card = bot.run(bot.harness.press(USER, message_id, "INV-"
                                     if sum(label.startswith("INV-") for label in labels) == 1
                                     else next(label for label in labels
                                               if label.startswith("INV-"))))
    assert_answered_cleanly(card, button=True)
    buttons = dict(bot.harness.api.message(USER, message_id).buttons())
    data = buttons.get(which)
    if data is None:
        return
    first = bot.run(bot.harness.callback(USER, message_id, data))
    assert_answered_cleanly(first, button=True)
    confirm = dict(bot.harness.api.message(USER, message_id).buttons()).get(
        texts.BUTTON_CONFIRM_REJECT)
    if confirm is not None:
        data = confirm
        assert_answered_cleanly(bot.run(bot.harness.callback(USER, message_id, data)),
                                button=True)
    after_first = state(bot.db)
    for _ in range(replays):
        again = bot.run(bot.harness.callback(USER, message_id, data))
        assert_answered_cleanly(again, button=True)
        assert state(bot.db) == after_first
