"""One typed settings object, loaded from the environment (and an optional `.env`) in one place.

No other module reads `os.environ`: the settings object is passed down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

INDIA = ZoneInfo("Asia/Kolkata")


def india(moment: datetime) -> datetime:
    """`moment` in India's time zone; a naive value (SQLite reads them back so) is India's."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=INDIA)
    return moment.astimezone(INDIA)


#: The days IMS_BOT_TODAY may fix "today" to.
TODAY_FROM = date(2017, 7, 1)
TODAY_UNTIL = date(2099, 12, 31)
TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    token: str | None = None
    api_url: str = TELEGRAM_API_URL
    file_url: str = TELEGRAM_FILE_URL
    today_override: date | None = None
    admin_chat_id: int | None = None
    log_level: str = "INFO"
    reminder_interval: float = 60.0  # seconds between reminder sweeps
    # The GST Suvidha Provider (ims_bot.gsp): base URL, the operator's API key and secret,
    # and the key that encrypts stored tokens (without it the bot refuses to connect).
    gsp_url: str = "https://api.sandbox.co.in"
    gsp_api_key: str | None = field(default=None, repr=False)
    gsp_api_secret: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    extra: Mapping[str, str] = field(default_factory=dict)

    def today(self) -> date:
        """Today in India, or the fixed `IMS_BOT_TODAY` for demos and tests."""
        return self.today_override or datetime.now(INDIA).date()

    def now(self) -> datetime:
        """Now in India; on a fixed `IMS_BOT_TODAY`, the current time of day on that date."""
        current = datetime.now(INDIA)
        if self.today_override is None:
            return current
        return datetime.combine(self.today_override, current.timetz())


def default_database_url() -> str:
    from platformdirs import user_data_dir

    directory = Path(user_data_dir("ims-bot", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'ims-bot.sqlite3'}"


def _api_base(url: str, suffix: str, variable: str) -> str:
    """Accept `http://host:port`, `http://host:port/bot` or a `{token}` template.

    python-telegram-bot appends the token to the base URL, so a bare server address gets
    Telegram's `/bot` (or `/file/bot`) path added, as a self-hosted Bot API server expects.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (
            parts.port is None or parts.port > 0
        )
    except ValueError:  # e.g. a port that is not a number
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise SettingsError(
            f"{variable} must be an http:// or https:// URL, e.g. http://127.0.0.1:8081{suffix}, "
            f"got {url[:80]!r}"
        )
    if "{token}" in url or url.rstrip("/").endswith(suffix):
        return url
    return url.rstrip("/") + suffix


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Build settings from `environ` (default: the process environment plus `.env`)."""
    if environ is None:
        if dotenv:
            from dotenv import dotenv_values

            file_values = {k: v for k, v in dotenv_values(".env").items() if v is not None}
            environ = {**file_values, **os.environ}
        else:
            environ = dict(os.environ)

    database_url = environ.get("IMS_BOT_DATABASE_URL") or default_database_url()
    today_text = environ.get("IMS_BOT_TODAY", "").strip()
    try:
        today_override = date.fromisoformat(today_text) if today_text else None
    except ValueError:
        today_override = date.min  # reported below, with the range
    if today_override is not None and not TODAY_FROM <= today_override <= TODAY_UNTIL:
        # Deadlines, periods and s.16(4) limits are computed around today: far outside GST's
        # years they would not even be dates (9999-12-31 plus two months).
        raise SettingsError(
            f"IMS_BOT_TODAY must be a date YYYY-MM-DD from {TODAY_FROM} (GST began) to "
            f"{TODAY_UNTIL}, got {today_text[:40]!r}"
        )
    admin_text = environ.get("IMS_BOT_ADMIN_CHAT_ID", "").strip()
    try:
        admin_chat_id = int(admin_text) if admin_text else None
    except ValueError:
        raise SettingsError(
            f"IMS_BOT_ADMIN_CHAT_ID must be a Telegram chat id (a number), got {admin_text!r}"
        ) from None
    log_level = environ.get("IMS_BOT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError(
            f"IMS_BOT_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}"
        )
    interval_text = environ.get("IMS_BOT_REMINDER_INTERVAL", "").strip()
    try:
        reminder_interval = float(interval_text) if interval_text else 60.0
    except ValueError:
        reminder_interval = -1.0
    if not 1 <= reminder_interval <= 3600:
        raise SettingsError(
            f"IMS_BOT_REMINDER_INTERVAL must be seconds from 1 to 3600, got {interval_text!r}"
        )
    return Settings(
        database_url=database_url,
        reminder_interval=reminder_interval,
        token=environ.get("IMS_BOT_TOKEN", "").strip() or None,
        api_url=_api_base(
            environ.get("IMS_BOT_API_URL") or TELEGRAM_API_URL, "/bot", "IMS_BOT_API_URL"
        ),
        file_url=_api_base(
            environ.get("IMS_BOT_FILE_URL") or TELEGRAM_FILE_URL, "/file/bot", "IMS_BOT_FILE_URL"
        ),
        today_override=today_override,
        admin_chat_id=admin_chat_id,
        log_level=log_level,
        gsp_url=_gsp_url(environ.get("IMS_BOT_GSP_URL", "")),
        gsp_api_key=environ.get("IMS_BOT_GSP_API_KEY", "").strip() or None,
        gsp_api_secret=environ.get("IMS_BOT_GSP_API_SECRET", "").strip() or None,
        secret_key=environ.get("IMS_BOT_SECRET_KEY", "").strip() or None,
    )


def _gsp_url(text: str) -> str:
    url = text.strip() or "https://api.sandbox.co.in"
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise SettingsError(
            f"IMS_BOT_GSP_URL must be an http:// or https:// URL, e.g. "
            f"https://api.sandbox.co.in, got {url[:80]!r}"
        )
    return url.rstrip("/")
