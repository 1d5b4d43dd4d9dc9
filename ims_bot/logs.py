"""Logging for the bot process: one format, and no secret in any line, at any level.

Bot API URLs carry the token (`.../bot<TOKEN>/getUpdates`), PTB logs `setWebhook`'s
parameters (the webhook secret among them) at DEBUG, and a token Telegram rejects comes back
inside `InvalidToken`'s message. So a filter on every handler rewrites each record before it
is formatted: its message with the arguments merged in, its exception text and its stack
text, with the configured secrets and anything shaped like a bot token replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import IO
from urllib.parse import quote

REDACTED = "<redacted>"
# BotFather tokens are "<bot id>:<35 characters>"; ":" may come URL-encoded.
TOKEN_SHAPE = re.compile(r"\d+(?::|%3[Aa])[A-Za-z0-9_-]{30,}")
# A message whose whole text is 4-8 digits may be a GST portal OTP typed after /connect:
# PTB logs each update's text at DEBUG before any handler can delete the message.
OTP_TEXT = re.compile(r"""(['"]text['"]:\s*['"])\s*\d{4,8}\s*(['"])""")
# Libraries that log a line per HTTP request (with its URL, hence the token) at INFO/DEBUG.
_CHATTY = ("httpx", "httpcore")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret and every token-shaped string replaced by `<redacted>`."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        encoded = quote(secret, safe="")
        if encoded != secret:
            text = text.replace(encoded, REDACTED)
    return OTP_TEXT.sub(rf"\g<1>{REDACTED}\g<2>", TOKEN_SHAPE.sub(REDACTED, text))


class RedactSecrets(logging.Filter):
    """Rewrites a record so that no handler can format a secret out of it."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the line, nor leak args
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info:
            # Render the traceback now, redacted, and drop the live exception: a handler
            # given `exc_info` would render it again, secrets included.
            record.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install_redaction(secrets: Iterable[str | None] = ()) -> RedactSecrets:
    """Put one `RedactSecrets` on every handler of the root logger (replacing an earlier one)
    and on the last-resort handler."""
    redactor = RedactSecrets(secrets)
    handlers = [*logging.getLogger().handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    return redactor


def configure_logging(level: str, stream: IO[str], secrets: Iterable[str | None] = ()) -> None:
    """The bot's logging: `level` for everything but per-request lines, secrets redacted."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=stream,
        force=True,
    )
    for name in _CHATTY:
        # One line per Bot API call says nothing PTB's own DEBUG lines do not, and its URL is
        # the token: kept at WARNING even when IMS_BOT_LOG_LEVEL=DEBUG.
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction(secrets)


def register_secret(*values: str | None) -> None:
    """Redact `values` too, from now on, in every handler's redaction filter: secrets learnt
    at run time (a provider's platform token, a taxpayer's session token, an OTP)."""
    handlers = [*logging.getLogger().handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        for redactor in handler.filters:
            if isinstance(redactor, RedactSecrets):
                redactor.secrets = tuple({*redactor.secrets, *(v for v in values if v)})
