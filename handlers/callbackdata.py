"""Callback data: typed pack/unpack of `prefix:action:field:…`, in one place.

Every inline button's data is one of the dataclasses below, registered with
`@callback_data(prefix, action)`. `pack()` refuses anything Telegram would refuse (more than
64 bytes) or that could not be read back; `parse()` turns a raw string into the typed value
or raises `InvalidCallbackData` — for forged, stale or foreign data alike — so a handler
needs a single `except` to answer "this button is no longer valid".

Fields may be `int` (0…10**9) or `str` (letters, digits, `_ . -`, no `:`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

MAX_BYTES = 64
SEPARATOR = ":"
_TOKEN = re.compile(r"[A-Za-z0-9_.\-]{1,48}")
_INT = re.compile(r"0|[1-9][0-9]{0,8}")


class InvalidCallbackData(ValueError):
    """The button's data is not one this bot packs (forged, outdated or for another prefix)."""


class CallbackData:
    """Base of all button payloads; subclasses are frozen dataclasses."""

    prefix: ClassVar[str]
    action: ClassVar[str]

    def pack(self) -> str:
        parts = [self.prefix, self.action]
        for spec in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, spec.name)
            parts.append(_encode(type(self), spec.name, value))
        raw = SEPARATOR.join(parts)
        if len(raw.encode()) > MAX_BYTES:
            raise ValueError(f"callback data {raw!r} is longer than {MAX_BYTES} bytes")
        return raw


_REGISTRY: dict[tuple[str, str], type[CallbackData]] = {}
T = TypeVar("T", bound=CallbackData)


def callback_data(prefix: str, action: str) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass as the payload for `prefix:action:…`."""
    if not (_TOKEN.fullmatch(prefix) and _TOKEN.fullmatch(action)):
        raise ValueError(f"bad prefix/action {prefix!r}/{action!r}")

    def register(cls: type[T]) -> type[T]:
        key = (prefix, action)
        if key in _REGISTRY:
            raise ValueError(f"callback data {prefix}:{action} is registered twice")
        cls.prefix, cls.action = prefix, action
        _REGISTRY[key] = cls
        return cls

    return register


def parse(raw: str | None) -> CallbackData:
    """The typed payload of `raw`, or `InvalidCallbackData`."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        raise InvalidCallbackData(repr(raw))
    prefix, _, rest = raw.partition(SEPARATOR)
    action, _, tail = rest.partition(SEPARATOR)
    cls = _REGISTRY.get((prefix, action))
    if cls is None:
        raise InvalidCallbackData(repr(raw))
    specs = dataclasses.fields(cls)  # type: ignore[arg-type]
    values = tail.split(SEPARATOR) if tail else []
    if len(values) != len(specs):
        raise InvalidCallbackData(repr(raw))
    pairs = zip(specs, values, strict=True)
    return cls(**{spec.name: _decode(spec, value, raw) for spec, value in pairs})


def _is_int_field(spec: dataclasses.Field[Any]) -> bool:
    return spec.type in (int, "int")


def _encode(cls: type[CallbackData], name: str, value: object) -> str:
    text = str(value)
    ok = _INT.fullmatch(text) if isinstance(value, int) else _TOKEN.fullmatch(text)
    if isinstance(value, bool) or not ok:
        raise ValueError(f"{cls.__name__}.{name}={value!r} cannot be packed")
    return text


def _decode(spec: dataclasses.Field[Any], value: str, raw: str) -> object:
    if _is_int_field(spec):
        if not _INT.fullmatch(value):
            raise InvalidCallbackData(repr(raw))
        return int(value)
    if not _TOKEN.fullmatch(value):
        raise InvalidCallbackData(repr(raw))
    return value


# --- FAQ --------------------------------------------------------------------------------
FAQ_PREFIX = "faq"


@callback_data(FAQ_PREFIX, "topics")
@dataclasses.dataclass(frozen=True)
class FaqTopics(CallbackData):
    """Show the list of FAQ categories."""


@callback_data(FAQ_PREFIX, "cat")
@dataclasses.dataclass(frozen=True)
class FaqCategory(CallbackData):
    """Show one page of the questions of category number `index` (in `kb.categories()`)."""

    index: int
    page: int = 0


@callback_data(FAQ_PREFIX, "ans")
@dataclasses.dataclass(frozen=True)
class FaqAnswer(CallbackData):
    """Show the answer of FAQ entry `entry_id`."""

    entry_id: str
