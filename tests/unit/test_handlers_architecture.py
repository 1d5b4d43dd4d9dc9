"""Structural rules: thin handlers, one composition root."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted((ROOT / "handlers").glob("*.py"))
FORBIDDEN = ("sqlalchemy", "rapidfuzz")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_handlers_import_neither_sqlalchemy_nor_rapidfuzz() -> None:
    assert HANDLERS
    for path in HANDLERS:
        for module in imported_modules(path):
            assert module.split(".")[0] not in FORBIDDEN, f"{path.name} imports {module}"


def test_add_handler_is_called_only_in_the_composition_root() -> None:
    callers = set()
    for package in ("ims_bot", "handlers", "faq"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("add_handler", "add_handlers")
                ):
                    callers.add(path.relative_to(ROOT).as_posix())
    assert callers == {"ims_bot/app.py"}


def test_handlers_are_short() -> None:
    for path in HANDLERS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= 25, f"{path.name}:{node.name} has {length} lines"


def test_callback_handlers_answer_before_anything_else() -> None:
    """In a handler touching `callback_query`, the first awaited call is `.answer(...)` —
    or, where the answer carries the verdict (an alert for a refusal), the screen computed
    in a worker thread (`asyncio.to_thread`) and then `.answer(...)` before anything else."""
    for path in HANDLERS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.AsyncFunctionDef):
                continue
            source = ast.unparse(node)
            if "callback_query" not in source:
                continue
            awaits = [n for n in ast.walk(node) if isinstance(n, ast.Await)]
            if not awaits:
                continue
            awaits.sort(key=lambda n: (n.lineno, n.col_offset))
            first = awaits[0].value
            if (
                isinstance(first, ast.Call)
                and ast.unparse(first.func) == "asyncio.to_thread"
                and len(awaits) > 1
            ):
                first = awaits[1].value
            assert isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute)
            assert first.func.attr == "answer", f"{path.name}:{node.name}"


def test_the_update_trace_takes_updates_only_while_it_logs_at_debug() -> None:
    import logging

    from telegram import Update

    from handlers.trace import TraceHandler, logger

    handler, update = TraceHandler(), Update(update_id=1)
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert not handler.check_update(update)
        logger.setLevel(logging.DEBUG)
        assert handler.check_update(update)
    finally:
        logger.setLevel(level)
