"""The one typed way for handlers to reach the application's `Core`.

The composition root installs the Core once (`install_core`, from `post_init`); handlers
read it with `core(context)`. The `bot_data` key lives only here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext

if TYPE_CHECKING:
    from ims_bot.app import Core

_CORE_KEY = "ims_bot.core"


class CoreMissingError(RuntimeError):
    """A handler ran before the composition root installed the Core."""


def install_core(application: Application[Any, Any, Any, Any, Any, Any], value: Core) -> None:
    application.bot_data[_CORE_KEY] = value


def core(context: CallbackContext[Any, Any, Any, Any]) -> Core:
    """The application's Core (settings, knowledge base, matcher, database)."""
    return installed_core(context.application)


def installed_core(application: Application[Any, Any, Any, Any, Any, Any]) -> Core:
    """The Core `install_core` put in `application` (for the composition root's own use)."""
    from ims_bot.app import Core

    value = application.bot_data.get(_CORE_KEY)
    if not isinstance(value, Core):
        raise CoreMissingError("no Core installed: build the app with ims_bot.app")
    return value
