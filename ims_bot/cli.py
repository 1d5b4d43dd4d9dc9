"""The `ims-bot` command line: a thin adapter over the same core the bot uses.

`main(argv, env=...)` returns an exit code; every domain error is turned into one clear
line on stderr in one place (`_run`), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum, unique
from pathlib import Path
from typing import IO, Any

from ims_bot.domain import Action, Frequency, Period, Reduction, Section, Status, parse_amount


@unique
class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # refused by the rules, invalid input, file refused, not found
    USAGE = 2  # argparse's own code for bad flags
    CONFLICT = 3  # someone else changed the record
    UNAVAILABLE = 4  # the database (or Telegram) cannot be reached


@dataclass
class Env:
    """What a command may touch: settings source and standard streams (injectable in tests)."""

    environ: Mapping[str, str] | None = None
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def json(self, data: Any) -> None:
        print(json.dumps(data, ensure_ascii=False, default=_json_default), file=self.stdout)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class Usage(Exception):
    """A flag value the parser could not check itself; exits with USAGE."""


# ---------------------------------------------------------------------------- shared helpers


def _settings(env: Env) -> Any:
    from ims_bot.settings import load_settings

    return load_settings(env.environ, dotenv=env.environ is None)


def _database(env: Env) -> Any:
    from ims_bot.db import Database

    db = Database(_settings(env).database_url)
    db.upgrade()
    return db


def _today(env: Env) -> Callable[[], Any]:
    return _settings(env).today


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise Usage(str(exc)) from None


def _money(value: Decimal) -> str:
    from ims_bot.money import rupees

    return rupees(value)


# ---------------------------------------------------------------------------- commands


def cmd_ask(env: Env, args: argparse.Namespace) -> ExitCode:
    from faq.ask import ask_json_lines, format_answer_text
    from faq.kb import load_knowledge_base
    from faq.matcher import Matcher

    matcher = Matcher(load_knowledge_base())
    if args.json:
        lines = env.stdin if args.question in (None, "-") else [args.question]
        for line in ask_json_lines(matcher, lines):
            env.out(line)
        return ExitCode.OK
    if not args.question or args.question == "-":
        raise Usage('ask needs a question, e.g. ims-bot ask "can a credit note be kept pending?"')
    env.out(format_answer_text(matcher.match(args.question)))
    return ExitCode.OK


def cmd_import(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.importer import import_file
    from ims_bot.workspaces import ensure_workspace

    path = Path(args.file)
    db = _database(env)
    frequency = Frequency(args.frequency) if args.frequency else None
    workspace = ensure_workspace(db, args.gstin, frequency=frequency)
    with path.open("rb") as stream:
        report = import_file(db, workspace.id, stream, actor="cli", channel="cli")
    if args.json:
        env.json({"gstin": workspace.gstin, **report.to_json()})
        return ExitCode.OK
    env.out(
        f"Imported {report.total} record(s) for {workspace.gstin}: {report.created} new, "
        f"{report.updated} updated, {report.unchanged} unchanged."
    )
    if report.reset_by_supplier:
        env.out(
            f"{report.reset_by_supplier} record(s) were edited by the supplier after you acted: "
            "they are back to no action."
        )
    for section, count in sorted(report.by_section.items()):
        env.out(f"  {Section(section).label}: {count}")
    if report.not_handled:
        left = ", ".join(f"{k} {n} record(s)" for k, n in sorted(report.not_handled.items()))
        env.out(f"Not handled by IMS Bot (left out): {left}.")
    for warning in report.warnings:
        env.out(f"Warning: {warning}")
    env.out(f"ITC on records needing a decision: {_money(report.open_tax.total)}")
    return ExitCode.OK


def _filter(args: argparse.Namespace) -> Any:
    from ims_bot.records import RecordFilter

    try:
        statuses = tuple(Status(s) for s in (args.status or []))
        sections = tuple(Section(s) for s in (args.section or []))
    except ValueError as exc:
        raise Usage(str(exc)) from None
    return RecordFilter(
        statuses=statuses,
        sections=sections,
        supplier=args.supplier,
        period=_period(args.period) if args.period else None,
        min_value=Decimal(args.min_value) if args.min_value is not None else None,
        max_value=Decimal(args.max_value) if args.max_value is not None else None,
        needs_decision=getattr(args, "open", False),
    )


def _record_line(r: Any) -> str:
    return (
        f"{r.id:>7}  {r.section.value:<6} {r.number:<18} {r.doc_date or ''!s:<10}  "
        f"{r.supplier_label[:24]:<24} {_money(r.tax.total):>14}  {r.status.value}"
    )


def cmd_records(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.errors import InvalidInput
    from ims_bot.records import RecordService, Sort
    from ims_bot.workspaces import get_workspace

    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    service = RecordService(db, _today(env))
    flt = _filter(args)
    if args.json:
        env.json([view.to_json() for view in service.iter_all(workspace.id, flt)])
        return ExitCode.OK
    page = service.list(workspace.id, flt, sort=Sort(args.sort), page=args.page,
                        page_size=args.page_size)
    if not page.items and page.page > 1:
        raise InvalidInput(f"there is no page {args.page}: {page.total_text} record(s) make "
                           f"{page.pages} page(s) of {args.page_size}")
    env.out(f"{page.total} record(s) for {workspace.gstin}, page {page.page}/{page.pages}")
    for view in page.items:
        env.out(_record_line(view))
    return ExitCode.OK


def cmd_supplier(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.suppliers import readable_gstin, rename
    from ims_bot.workspaces import get_workspace

    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    named = rename(db, workspace.id, args.supplier_gstin, " ".join(args.name))
    if args.json:
        env.json(named.to_json())
        return ExitCode.OK
    was = f" (was {named.previous!r})" if named.previous and named.previous != named.name else ""
    env.out(f"Supplier {readable_gstin(named.gstin)} is now named {named.name!r}{was}.")
    return ExitCode.OK


def cmd_act(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.records import RecordService
    from ims_bot.workspaces import get_workspace

    reduction = None
    if args.reduce:
        try:
            reduction = Reduction.parse(args.reduce)
        except ValueError as exc:
            raise Usage(str(exc)) from None
    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    outcome = RecordService(db, _today(env)).act(
        workspace.id,
        args.record_id,
        Action(args.action),
        actor="cli",
        channel="cli",
        remarks=args.remarks,
        reduction=reduction,
        expected_version=args.version,
    )
    record = outcome.record
    if args.json:
        env.json({"changed": outcome.changed, "previous": outcome.previous.value,
                  "record": record.to_json()})
    elif outcome.changed:
        env.out(f"Record {record.id} ({record.number}): {outcome.previous.value} → "
                f"{record.status.value}")
    else:
        env.out(f"Record {record.id} ({record.number}) is already {record.status.value}: "
                "nothing changed.")
    if record.time_barred and not args.json:
        env.out(f"Warning: {record.time_barred} Accepting it brings no ITC.")
    return ExitCode.OK


def cmd_bulk(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.records import RecordService
    from ims_bot.workspaces import get_workspace

    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    service = RecordService(db, _today(env))
    flt = _filter(args)
    action = Action(args.action)
    if not args.yes:
        preview = service.preview_bulk(workspace.id, flt, action, remarks=args.remarks)
        if args.json:
            env.json({"eligible": preview.eligible, "itc": preview.tax.as_dict(),
                      "unchanged": preview.unchanged, "refused": preview.refused})
            return ExitCode.OK
        env.out(f"Would {action.value} {preview.eligible} record(s), ITC "
                f"{_money(preview.tax.total)}; {preview.unchanged} already {action.status.value}.")
        for reason, count in preview.refused.items():
            env.out(f"  {count} not allowed: {reason}")
        env.out("Run again with --yes to apply.")
        return ExitCode.OK
    outcome = service.act_bulk(workspace.id, flt, action, actor="cli", channel="cli",
                               remarks=args.remarks)
    if args.json:
        env.json({"changed": outcome.changed, "batch": outcome.batch,
                  "itc": outcome.tax.as_dict(), "unchanged": outcome.unchanged,
                  "refused": outcome.refused})
        return ExitCode.OK
    env.out(f"{action.value.capitalize()}ed {outcome.changed} record(s), ITC "
            f"{_money(outcome.tax.total)}" if action is not Action.PENDING else
            f"Kept {outcome.changed} record(s) pending, ITC {_money(outcome.tax.total)}")
    for reason, count in outcome.refused.items():
        env.out(f"  {count} left alone: {reason}")
    return ExitCode.OK


def cmd_undo(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.records import RecordService
    from ims_bot.workspaces import get_workspace

    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    service = RecordService(db, _today(env))
    count = service.undo(workspace.id, actor="cli", channel="cli", record_id=args.record_id)
    view = service.get(workspace.id, args.record_id)
    env.out(f"Undone: record {view.id} ({view.number}) is {view.status.value} again."
            if count else "Nothing to undo.")
    return ExitCode.OK


def cmd_history(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.records import RecordService
    from ims_bot.workspaces import get_workspace

    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    service = RecordService(db, _today(env))
    if args.record_id is not None:
        service.get(workspace.id, args.record_id)  # NotFound for a record not in it
    entries = service.history(workspace.id, record_id=args.record_id, limit=args.limit)
    if args.json:
        env.json([e.to_json() for e in entries])
        return ExitCode.OK
    for e in entries:
        change = f"{e.from_status.value if e.from_status else '-'} → " \
                 f"{e.to_status.value if e.to_status else '-'}"
        env.out(f"#{e.id} {e.at:%Y-%m-%d %H:%M} {e.kind:<13} {e.number or '':<18} {change:<24} "
                f"{e.actor}/{e.channel}{'  (undone)' if e.undone and e.kind != 'undo' else ''}"
                f"{'  ' + e.reason if e.reason else ''}")
    if not entries:
        env.out("No actions yet.")
    return ExitCode.OK


def cmd_recompute(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.recompute import BUCKETS, PeriodService
    from ims_bot.workspaces import get_workspace

    period = _period(args.period)
    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    result = PeriodService(db, _today(env)).recompute(workspace.id, period)
    if args.json:
        env.json(result.to_json())
        return ExitCode.OK
    env.out(f"GSTR-2B {result.period} for {workspace.gstin} (recomputed):")
    env.out(f"{'':<22}{'IGST':>14}{'CGST':>14}{'SGST':>14}{'Cess':>12}{'Records':>9}")
    for name in BUCKETS:
        bucket = getattr(result.figures, name)
        t = bucket.tax
        env.out(f"{name.replace('_', ' '):<22}{t.igst:>14,.2f}{t.cgst:>14,.2f}{t.sgst:>14,.2f}"
                f"{t.cess:>12,.2f}{bucket.count:>9}")
    for note in result.notes:
        env.out(f"Note: {note}")
    if result.change is None:
        env.out("First recompute of this period.")
    elif result.unchanged:
        env.out("No change since the last recompute (the portal's IMS2005).")
    else:
        for name in BUCKETS:
            delta = getattr(result.change, name)
            if delta.count or delta.tax.total:
                env.out(f"  {name.replace('_', ' ')}: {delta.tax.total:+,.2f} "
                        f"({delta.count:+d} records)")
    return ExitCode.OK


def cmd_filed(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.recompute import PeriodService
    from ims_bot.workspaces import get_workspace

    period = _period(args.period)
    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    service = PeriodService(db, _today(env))
    if service.is_filed(workspace.id, period):
        env.out(f"GSTR-3B for {period} was already recorded as filed: nothing changed.")
        return ExitCode.OK
    carried = service.mark_filed(workspace.id, period, actor="cli", channel="cli")
    env.out(f"Recorded GSTR-3B for {period} as filed; {carried} pending record(s) carried "
            "forward.")
    return ExitCode.OK


def cmd_annual_return(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.domain import parse_day, parse_financial_year
    from ims_bot.recompute import PeriodService
    from ims_bot.workspaces import get_workspace

    try:
        fy = parse_financial_year(args.fy)
        filed_on = parse_day(args.filed_on)
    except ValueError as exc:
        raise Usage(str(exc)) from None
    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    PeriodService(db, _today(env)).record_annual_return(
        workspace.id, fy, filed_on, actor="cli", channel="cli"
    )
    env.out(f"Recorded the annual return for FY {fy}-{(fy + 1) % 100:02d} as filed on "
            f"{filed_on:%d %b %Y}: ITC of that year can no longer be claimed in a GSTR-3B "
            "filed after it (s.16(4)).")
    return ExitCode.OK


def cmd_export(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.export import build_export
    from ims_bot.workspaces import get_workspace

    db = _database(env)
    workspace = get_workspace(db, args.gstin)
    result = build_export(db, workspace.id)
    save, reset = result.save, result.reset
    text = json.dumps(save, ensure_ascii=False, indent=1)
    count = sum(len(v) for v in save["invdata"].values())
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        env.out(f"Wrote the save request for {count} record(s) to {args.output}.", )
    else:
        env.out(text)
    if reset is not None:
        resets = sum(len(v) for v in reset["invdata"].values())
        target = Path(args.output).with_suffix(".reset.json") if args.output else None
        if target:
            target.write_text(json.dumps(reset, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"{resets} record(s) went back to no action: upload the RESET request "
              f"{'in ' + str(target) if target else '(use -o FILE to write it)'} too.",
              file=env.stderr)
    if result.left_out_note:
        print(result.left_out_note, file=env.stderr)
    return ExitCode.OK


def cmd_deadlines(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.deadline_report import format_text, upcoming
    from ims_bot.workspaces import parse_gstin

    gstin = parse_gstin(args.gstin)
    db = _database(env)
    items = upcoming(db, gstin, _today(env)(),
                     frequency=Frequency(args.frequency) if args.frequency else None)
    if args.json:
        env.json([item.to_json() for item in items])
    else:
        env.out(format_text(items))
    return ExitCode.OK


def cmd_demo_data(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.demo import DEMO_GSTIN, demo_bytes

    data = demo_bytes(args.seed, args.records)
    if args.output:
        Path(args.output).write_bytes(data)
        env.out(f"Wrote {args.records} demo records for GSTIN {DEMO_GSTIN} to {args.output}.")
    else:
        env.out(data.decode())
    return ExitCode.OK


def cmd_chat(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.console import console_main

    output_dir = Path(args.output_dir) if args.output_dir else None
    code = console_main(_settings(env), demo=args.demo, stdin=env.stdin, stdout=env.stdout,
                        output_dir=output_dir)
    return ExitCode(code)


def _bot_settings(env: Env, *secrets: str) -> Any:
    """Settings for talking to Telegram: a token and a usable database URL, or one clear line.

    Logging is set up here, at the configured level, with the token, the database password
    and `secrets` (the webhook's) redacted from every line."""
    from ims_bot.db import parse_database_url
    from ims_bot.logs import configure_logging
    from ims_bot.settings import SettingsError

    settings = _settings(env)
    if settings.token is None:
        raise SettingsError(
            "IMS_BOT_TOKEN is not set: get a token from @BotFather and put it in the environment "
            "or .env (ims-bot chat --demo needs none)"
        )
    password = parse_database_url(settings.database_url).password
    configure_logging(settings.log_level, env.stderr,
                      [settings.token, password and str(password), *secrets,
                       settings.gsp_api_key, settings.gsp_api_secret, settings.secret_key])
    return settings


def cmd_run(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.app import run_polling

    run_polling(_bot_settings(env))
    return ExitCode.OK


def cmd_webhook(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.app import run_webhook

    run_webhook(_bot_settings(env, args.secret), url=args.url, listen=args.listen,
                port=args.port, secret=args.secret, max_connections=args.max_connections)
    return ExitCode.OK


def cmd_doctor(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.doctor import diagnose, has_failures

    checks = diagnose(lambda: _settings(env), upgrade=args.upgrade, timeout=args.timeout)
    for check in checks:
        env.out(check.line())
    return ExitCode.FAILED if has_failures(checks) else ExitCode.OK


def _webhook_url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an https:// (or http://) URL: {text!r}")
    return text


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {value}")
    return value


def _webhook_secret(text: str) -> str:
    import re

    # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", text):
        raise argparse.ArgumentTypeError(
            "the secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    return text


def _max_connections(text: str) -> int:
    # Telegram's range for setWebhook's max_connections.
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"from 1 to 100, got {text[:20]!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError(f"a timeout is between 0 and 60 seconds, got {text}")
    return value


def cmd_reconcile(env: Env, args: argparse.Namespace) -> ExitCode:
    from ims_bot.reconcile_cli import cmd_reconcile as run

    return run(env, args)


def cmd_gsp(env: Env, args: argparse.Namespace) -> ExitCode:
    """`gsp login|logout`, `sync`, `upload`, `regenerate`: ims_bot.gsp.commands."""
    from ims_bot.gsp.commands import run

    return run(env, args)


COMMANDS: dict[str, Callable[[Env, argparse.Namespace], ExitCode]] = {
    "ask": cmd_ask,
    "import": cmd_import,
    "records": cmd_records,
    "supplier": cmd_supplier,
    "act": cmd_act,
    "bulk": cmd_bulk,
    "undo": cmd_undo,
    "history": cmd_history,
    "recompute": cmd_recompute,
    "filed": cmd_filed,
    "annual-return": cmd_annual_return,
    "export": cmd_export,
    "deadlines": cmd_deadlines,
    "demo-data": cmd_demo_data,
    "chat": cmd_chat,
    "run": cmd_run,
    "webhook": cmd_webhook,
    "doctor": cmd_doctor,
    "reconcile": cmd_reconcile,
    "gsp": cmd_gsp,
    "sync": cmd_gsp,
    "upload": cmd_gsp,
    "regenerate": cmd_gsp,
}



# ---------------------------------------------------------------------------- parser


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", action="append", choices=[s.value for s in Status])
    p.add_argument("--section", action="append", choices=[s.value for s in Section])
    p.add_argument("--supplier", help="supplier GSTIN or part of its name")
    p.add_argument("--period", help="GSTR-2B period MMYYYY")
    p.add_argument("--min-value", dest="min_value", type=_decimal)
    p.add_argument("--max-value", dest="max_value", type=_decimal,
                   help="document value strictly below this")
    p.add_argument("--open", action="store_true", help="only records needing a decision")


def _decimal(text: str) -> str:
    try:
        parse_amount(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


MAX_ID = 2**63 - 1  # what a database integer holds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_ID}: {text[:40]!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ims-bot",
        description="IMS Bot: answers about GST IMS, works IMS records, recomputes GSTR-2B.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ask", help="answer an IMS question from the FAQ knowledge base")
    p.add_argument("question", nargs="?", help='the question, or "-" with --json for stdin')
    p.add_argument("--json", action="store_true", help="one JSON object per input line")

    p = sub.add_parser("import", help="import the portal's IMS JSON for a GSTIN")
    p.add_argument("file")
    p.add_argument("--gstin", required=True)
    p.add_argument("--frequency", choices=[f.value for f in Frequency])
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("records", help="list records")
    p.add_argument("--gstin", required=True)
    _add_filters(p)
    p.add_argument("--sort", default="date", choices=["date", "amount", "supplier", "period",
                                                      "credit_notes_first"])
    p.add_argument("--page", type=_positive, default=1)
    p.add_argument("--page-size", dest="page_size", type=_positive, default=20)
    p.add_argument("--json", action="store_true", help="all matching records as JSON")

    p = sub.add_parser("supplier", help="name a supplier (your name wins over any file's)")
    p.add_argument("--gstin", required=True)
    p.add_argument("supplier_gstin", help="the supplier's GSTIN, as on its records")
    p.add_argument("name", nargs="+", help="the name to show for it (at most 100 characters)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("act", help="accept, reject or keep pending one record")
    p.add_argument("--gstin", required=True)
    p.add_argument("record_id", type=_positive)
    p.add_argument("action", choices=[a.value for a in Action])
    p.add_argument("--remarks")
    p.add_argument("--reduce", help="full, nil, or IGST,CGST,SGST,CESS for a partial reduction")
    p.add_argument("--version", type=_positive, help="refuse if the record changed since")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bulk", help="act on every record a filter selects (preview first)")
    p.add_argument("--gstin", required=True)
    p.add_argument("action", choices=[a.value for a in Action])
    _add_filters(p)
    p.add_argument("--remarks")
    p.add_argument("--yes", action="store_true", help="apply (without it: preview only)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("undo", help="undo the latest action on a record (before GSTR-3B)")
    p.add_argument("--gstin", required=True)
    p.add_argument("record_id", type=_positive)

    p = sub.add_parser("history", help="recent actions")
    p.add_argument("--gstin", required=True)
    p.add_argument("record_id", nargs="?", type=_positive)
    p.add_argument("--limit", type=_positive, default=20)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("recompute", help="recompute GSTR-2B of a period")
    p.add_argument("--gstin", required=True)
    p.add_argument("--period", required=True, help="MMYYYY")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("filed", help="record that GSTR-3B of a period is filed")
    p.add_argument("--gstin", required=True)
    p.add_argument("--period", required=True, help="MMYYYY")

    p = sub.add_parser(
        "annual-return", help="record the day the annual return of a year was filed (s.16(4))"
    )
    p.add_argument("--gstin", required=True)
    p.add_argument("--fy", required=True, help="financial year, e.g. 2024-25")
    p.add_argument("--filed-on", required=True, help="YYYY-MM-DD")

    p = sub.add_parser("export", help="write the portal's save request for your actions")
    p.add_argument("--gstin", required=True)
    p.add_argument("-o", "--output")

    p = sub.add_parser("deadlines", help="coming deadlines for a GSTIN")
    p.add_argument("--gstin", required=True)
    p.add_argument("--frequency", choices=[f.value for f in Frequency])
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo-data", help="write the demo portal file")
    p.add_argument("-o", "--output")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--records", type=_positive, default=320)

    p = sub.add_parser("chat", help="talk to the bot in this terminal (offline, no token)")
    p.add_argument("--demo", action="store_true",
                   help="on the demo data set in a throwaway database, dated 16 Dec 2025")
    p.add_argument("--output-dir", dest="output_dir",
                   help="where files the bot sends are saved (default ./ims-bot-output)")

    sub.add_parser("run", help="run the Telegram bot with long polling")

    p = sub.add_parser("webhook", help="run the Telegram bot behind a webhook")
    p.add_argument("--url", required=True, type=_webhook_url,
                   help="public URL Telegram posts updates to, e.g. https://bot.example.com/tg")
    p.add_argument("--listen", default="0.0.0.0", help="address to listen on")
    p.add_argument("--port", type=_port, default=8443, help="port to listen on")
    p.add_argument("--secret", required=True, type=_webhook_secret,
                   help="secret Telegram sends with each update (A-Z a-z 0-9 _ -)")
    p.add_argument("--max-connections", dest="max_connections", type=_max_connections,
                   default=40, help="most updates Telegram sends at once (1-100, default 40)")

    from ims_bot.reconcile_cli import add_parser as add_reconcile

    add_reconcile(sub)

    from ims_bot.gsp.commands import add_parsers

    add_parsers(sub)  # gsp login|logout, sync, upload, regenerate

    p = sub.add_parser("doctor", help="check configuration, database and Telegram access")
    p.add_argument("--upgrade", action="store_true",
                   help="migrate the database to the latest schema")
    p.add_argument("--timeout", type=_seconds, default=5.0, help="Bot API timeout in seconds")
    return parser


# ---------------------------------------------------------------------------- entry point


def _failure(env: Env, message: str, code: ExitCode) -> ExitCode:
    from ims_bot.logs import redact

    # Whatever a failure quotes (a URL, a library's message), no token leaves with it.
    print(f"ims-bot: {redact(message)}", file=env.stderr)
    return code


def _run(env: Env, args: argparse.Namespace) -> ExitCode:
    """Run one command, mapping every expected failure to one line and an exit code."""
    from sqlalchemy.exc import OperationalError

    from ims_bot.db import DatabaseUrlError
    from ims_bot.errors import BotStartFailed, Conflict, ImportRefused, ImsError, Refused
    from ims_bot.portal import PortalFileError
    from ims_bot.settings import SettingsError

    try:
        return COMMANDS[args.command](env, args)
    except Usage as exc:
        return _failure(env, str(exc), ExitCode.USAGE)
    except Refused as exc:
        # The machine code (the portal's, e.g. IMS2B009, where one exists) goes with the reason.
        code = f" [{exc.verdict.code}]" if exc.verdict.code else ""
        faq = f" [FAQ: {exc.verdict.faq_id}]" if exc.verdict.faq_id else ""
        return _failure(env, f"refused: {exc}{code}{faq}", ExitCode.FAILED)
    except Conflict as exc:
        return _failure(env, f"conflict: {exc}", ExitCode.CONFLICT)
    except ImportRefused as exc:
        return _failure(env, str(exc), ExitCode.FAILED)
    except ImsError as exc:
        return _failure(env, str(exc), ExitCode.FAILED)
    except PortalFileError as exc:
        return _failure(env, f"cannot import: {exc}", ExitCode.FAILED)
    except (SettingsError, DatabaseUrlError) as exc:
        return _failure(env, str(exc), ExitCode.FAILED)
    except BotStartFailed as exc:
        return _failure(env, str(exc), ExitCode.UNAVAILABLE if exc.retryable else ExitCode.FAILED)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
        return _failure(env, f"database unavailable: {reason}", ExitCode.UNAVAILABLE)
    except OSError as exc:
        name = exc.filename or ""
        return _failure(env, f"cannot use {name}: {exc.strerror or exc}", ExitCode.FAILED)


def main(argv: list[str] | None = None, *, env: Env | None = None) -> int:
    from ims_bot.logs import install_redaction

    env = env or Env()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_redaction()  # token-shaped text, before settings (and the real token) are known
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage error
        return int(exc.code or 0)
    return int(_run(env, args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
