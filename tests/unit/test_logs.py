"""Secrets never reach a log line: message, arguments, traceback and stack are redacted."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ims_bot.logs import REDACTED, RedactSecrets, redact

TOKEN = "7012345678:AAE_logsTestToken-0123456789abcdefXYZ"
OTHER_TOKEN = "5550001112:AAH_someOtherBotsToken-abcdefghijklmnop"
SECRET = "hook_Secret-42"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactSecrets([TOKEN, SECRET, None]))
    logger = logging.getLogger("tests.logs.redaction")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_a_token_in_the_message_or_its_arguments_is_redacted(log) -> None:
    logger, stream = log
    logger.debug(f"POST https://api.telegram.org/bot{TOKEN}/getUpdates")
    logger.info("HTTP Request: %s %s", "POST", f"https://api.telegram.org/bot{TOKEN}/getMe")
    logger.debug("setWebhook with %r", {"url": "https://x.in/tg", "secret_token": SECRET})

    text = stream.getvalue()
    assert TOKEN not in text and SECRET not in text
    assert text.count(REDACTED) == 3
    assert "getUpdates" in text and "getMe" in text and "secret_token" in text


def test_a_token_in_a_traceback_is_redacted(log) -> None:
    logger, stream = log
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        logger.exception("start-up failed")

    text = stream.getvalue()
    assert "Traceback" in text and "was rejected" in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text


def test_stack_info_is_redacted(log) -> None:
    logger, stream = log
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, "here", None, None,
                               sinfo=f"Stack (most recent call last):\n  start({TOKEN!r})")
    logger.handle(record)

    text = stream.getvalue()
    assert "Stack (most recent call last)" in text and TOKEN not in text


def test_any_token_shaped_string_and_url_encoded_tokens_are_redacted(log) -> None:
    logger, stream = log
    logger.error("another bot's %s and an encoded %s", OTHER_TOKEN, TOKEN.replace(":", "%3A"))

    text = stream.getvalue()
    assert OTHER_TOKEN not in text and OTHER_TOKEN.split(":")[1] not in text
    assert TOKEN.split(":")[1] not in text


def test_a_broken_format_string_still_logs_without_the_secret(log) -> None:
    logger, stream = log
    logger.info("two %s %s but one argument", SECRET)

    text = stream.getvalue()
    assert "but one argument" in text and SECRET not in text


def test_redact_leaves_ordinary_text_alone() -> None:
    line = "update 42: callback from user 7200001 in chat 7200001; GSTIN 27AAPFU0939F1ZV"
    assert redact(line, [SECRET]) == line
